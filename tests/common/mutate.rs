//! Damage for property tests: one random edit of a real sample, at char boundaries, which
//! reaches much deeper into a parser than random text does.

/// Applies one edit to `text`: truncate at `pos`, delete `len` chars there, replace them with
/// `insert`, or insert `insert` (chosen by `kind`).
pub fn mutate(text: &str, pos: usize, len: usize, insert: &str, kind: u8) -> String {
    let chars: Vec<char> = text.chars().collect();
    let pos = if chars.is_empty() {
        0
    } else {
        pos % (chars.len() + 1)
    };
    let end = (pos + len).min(chars.len());
    let head: String = chars[..pos].iter().collect();
    let tail: String = chars[end..].iter().collect();
    match kind % 4 {
        0 => head,
        1 => format!("{head}{tail}"),
        2 => format!("{head}{insert}{tail}"),
        _ => format!("{head}{insert}{}", &text[head.len()..]),
    }
}
