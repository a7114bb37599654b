//! Benchmark: `netlens snapshot --json` against the iproute2 way of reading the same
//! namespaces (`ip -n NS -j link/addr/route/neigh` for each), in the same run, medians.
//!
//! It builds N pod-like namespaces (one veth each to a bridge, an address, a default route;
//! a MASQUERADE rule and a listening socket in the root) inside a throwaway
//! net+mount+pid namespace, so nothing touches the machine and everything vanishes on exit.
//!
//!     cargo bench --bench snapshot                       # 200 and 1000 namespaces
//!     NETLENS_BENCH_NS=200 NETLENS_BENCH_RUNS=7 cargo bench --bench snapshot

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn run(argv: &[&str]) {
    let out = Command::new(argv[0])
        .args(&argv[1..])
        .stdout(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", argv.join(" ")));
    assert!(
        out.status.success(),
        "{} failed: {}",
        argv.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `ip [-n NS] -batch -` over `lines` (batch lines cannot switch namespace themselves).
fn ip_batch(ns: Option<&str>, lines: &[String]) {
    let mut cmd = Command::new("ip");
    if let Some(ns) = ns {
        cmd.args(["-n", ns]);
    }
    let mut child = cmd
        .args(["-force", "-batch", "-"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("ip -batch");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(lines.join("\n").as_bytes())
        .expect("write batch");
    assert!(child.wait().expect("wait").success(), "ip -batch failed");
}

fn build_root() {
    run(&["ip", "link", "add", "cni0", "type", "bridge"]);
    run(&["ip", "addr", "add", "10.88.0.1/16", "dev", "cni0"]);
    run(&["ip", "link", "set", "cni0", "up"]);
    run(&[
        "iptables",
        "-t",
        "nat",
        "-A",
        "POSTROUTING",
        "-s",
        "10.88.0.0/16",
        "!",
        "-o",
        "cni0",
        "-j",
        "MASQUERADE",
    ]);
}

/// Adds pod namespaces `from..to`: a veth to cni0, an address and a default route each.
fn add_pods(from: usize, to: usize) {
    let mut host = Vec::new();
    for i in from..to {
        run(&["ip", "netns", "add", &format!("pod{i}")]);
        host.push(format!(
            "link add veth{i} type veth peer name eth0 netns pod{i}"
        ));
        host.push(format!("link set veth{i} master cni0 up"));
    }
    ip_batch(None, &host);
    for i in from..to {
        let (hi, lo) = (2 + i / 250, 2 + i % 250);
        ip_batch(
            Some(&format!("pod{i}")),
            &[
                "link set lo up".to_string(),
                "link set eth0 up".to_string(),
                format!("addr add 10.88.{hi}.{lo}/16 dev eth0"),
                "route add default via 10.88.0.1".to_string(),
            ],
        );
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time_netlens(bin: &str, runs: usize) -> Duration {
    let mut times = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        run(&[bin, "snapshot", "--json"]);
        times.push(t.elapsed());
    }
    median(times)
}

fn time_iproute2(n: usize, runs: usize) -> Duration {
    let mut times = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        for i in 0..n {
            let ns = format!("pod{i}");
            for obj in ["link", "addr", "route", "neigh"] {
                run(&["ip", "-n", &ns, "-j", obj]);
            }
        }
        times.push(t.elapsed());
    }
    median(times)
}

fn inside_world() {
    run(&["mount", "-t", "tmpfs", "tmpfs", "/run"]);
    run(&["ip", "link", "set", "lo", "up"]);
    let bin = env!("CARGO_BIN_EXE_netlens");
    let sizes: Vec<usize> = std::env::var("NETLENS_BENCH_NS")
        .unwrap_or_else(|_| "200,1000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let runs: usize = std::env::var("NETLENS_BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    // A listening socket in the root namespace, so the socket/process scan has work to do.
    let _sock = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    println!("| namespaces | netlens snapshot --json (median of {runs}) | ip -n NS -j link/addr/route/neigh loop (median of 3) | ratio |");
    println!("|---|---|---|---|");
    build_root();
    let mut built = 0;
    for n in sizes {
        assert!(n >= built, "sizes must grow");
        // Grow the world to n namespaces by building only the new ones.
        add_pods(built, n);
        built = n;
        // Warm up page cache for both binaries.
        run(&[bin, "snapshot", "--json"]);
        run(&["ip", "-n", "pod0", "-j", "link"]);
        let nl = time_netlens(bin, runs);
        let ip = time_iproute2(n, 3);
        println!(
            "| {n} | {:.1} ms | {:.0} ms | {:.1}× |",
            nl.as_secs_f64() * 1000.0,
            ip.as_secs_f64() * 1000.0,
            ip.as_secs_f64() / nl.as_secs_f64()
        );
    }
}

fn main() {
    if std::env::var_os("NETLENS_WORLD").is_some() {
        inside_world();
        return;
    }
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without it,
    // and a test run must not spend a minute building 1000 namespaces.
    if !std::env::args().any(|a| a == "--bench") {
        println!("snapshot benchmark: run it with `cargo bench --bench snapshot`");
        return;
    }
    let exe: PathBuf = std::env::current_exe().expect("current exe");
    let status = Command::new("unshare")
        .args([
            "--net",
            "--mount",
            "--pid",
            "--fork",
            "--mount-proc",
            "--propagation",
            "private",
            "--",
        ])
        .arg(&exe)
        .env("NETLENS_WORLD", "1")
        .status()
        .expect("unshare (needs root)");
    assert!(status.success(), "benchmark world failed");
}
