fn main() {
    println!("netlens");
}
