//! Benchmark: how fast `netlens capture` captures and decodes, against `tcpdump -w /dev/null`
//! on the same load in the same run, with the kernel's drop counts for both, and netlens'
//! memory while it runs.
//!
//! Inside a throwaway net+mount namespace it joins two namespaces with a veth and has one
//! thread blast small UDP datagrams from one to the other (a socket there takes them without
//! reading, so no ICMP comes back) for a fixed time; the capture runs on the receiving end.
//!
//!     cargo bench --bench capture
//!     NETLENS_BENCH_SECS=5 NETLENS_BENCH_ROUNDS=3 cargo bench --bench capture

use std::fs::File;
use std::net::UdpSocket;
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use netlens::trace::capture::{Capture, Spec};

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

fn enter(ns: &str) {
    let f = File::open(format!("/run/netns/{ns}")).expect("netns");
    nix::sched::setns(f.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
}

/// Sends 32-byte datagrams from `benchl` to `benchr` until `stop`; counts them.
fn blaster(stop: Arc<AtomicBool>, sent: Arc<AtomicU64>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        enter("benchl");
        let s = UdpSocket::bind("10.92.0.1:0").expect("bind");
        let buf = [0x5au8; 32];
        while !stop.load(Ordering::Relaxed) {
            for _ in 0..64 {
                if s.send_to(&buf, "10.92.0.2:9999").is_ok() {
                    sent.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    })
}

/// CPU seconds (user + system) used so far by the task whose /proc stat file is `path`.
fn cpu_secs(path: &str) -> f64 {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    // Fields after the `(comm)`, which may contain spaces: utime and stime are 14th and 15th.
    let rest = text.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&i| f.get(i).and_then(|v| v.parse::<f64>().ok()))
        .sum();
    // SAFETY: sysconf has no preconditions.
    ticks / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64
}

/// The stat file of this process's capture thread.
fn capture_thread_stat() -> String {
    for e in std::fs::read_dir("/proc/self/task")
        .expect("tasks")
        .flatten()
    {
        let comm = std::fs::read_to_string(e.path().join("comm")).unwrap_or_default();
        if comm.trim() == "netlens-captur" || comm.trim() == "netlens-capture" {
            return e.path().join("stat").display().to_string();
        }
    }
    panic!("no capture thread")
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

struct Load {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
    thread: std::thread::JoinHandle<()>,
}

fn start_load() -> Load {
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let thread = blaster(stop.clone(), sent.clone());
    // Let the sender reach its pace before measuring.
    std::thread::sleep(Duration::from_millis(300));
    Load { stop, sent, thread }
}

impl Load {
    fn end(self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.thread.join();
    }
}

/// (packets captured per second, kernel drops, sent per second, CPU µs per packet, rss min
/// KiB, rss max KiB)
fn netlens_round(secs: f64) -> (f64, u64, f64, f64, u64, u64) {
    let load = start_load();
    let ns = File::open("/run/netns/benchr").expect("netns");
    let cap = Capture::start(Spec::new(ns, "benchr", "r0")).expect("capture");
    let stat = capture_thread_stat();
    let matched0 = cap.stats().matched;
    let cpu0 = cpu_secs(&stat);
    let sent0 = load.sent.load(Ordering::Relaxed);
    let t = Instant::now();
    let (mut lo, mut hi) = (u64::MAX, 0);
    let mut decoded = 0usize;
    while t.elapsed().as_secs_f64() < secs {
        // The reader a TUI or the CLI would be: takes what the ring holds, now and then.
        let (batch, _) = cap.next_batch(Duration::from_millis(100));
        decoded += batch.len();
        let r = rss_kib();
        lo = lo.min(r);
        hi = hi.max(r);
    }
    let elapsed = t.elapsed().as_secs_f64();
    let sent = load.sent.load(Ordering::Relaxed) - sent0;
    let cpu = cpu_secs(&stat) - cpu0;
    let matched = cap.stats().matched - matched0;
    let stats = cap.finish().expect("capture ok");
    load.end();
    assert!(decoded > 0, "nothing reached the reader");
    (
        matched as f64 / elapsed,
        stats.kernel_drops,
        sent as f64 / elapsed,
        cpu * 1e6 / matched.max(1) as f64,
        lo,
        hi,
    )
}

/// (packets captured per second, kernel drops, sent per second, CPU µs per packet) for
/// tcpdump.
fn tcpdump_round(secs: f64) -> (f64, u64, f64, f64) {
    let load = start_load();
    let child = Command::new("ip")
        .args([
            "netns",
            "exec",
            "benchr",
            "tcpdump",
            "-i",
            "r0",
            "-n",
            "-w",
            "/dev/null",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tcpdump");
    // tcpdump prints "listening on …" once its socket is open.
    std::thread::sleep(Duration::from_millis(300));
    // `ip netns exec` execs tcpdump: same pid.
    let stat = format!("/proc/{}/stat", child.id());
    let cpu0 = cpu_secs(&stat);
    let sent0 = load.sent.load(Ordering::Relaxed);
    let t = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(secs));
    let cpu = cpu_secs(&stat) - cpu0;
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    );
    let sent = load.sent.load(Ordering::Relaxed) - sent0;
    let elapsed = t.elapsed().as_secs_f64();
    let out = child.wait_with_output().expect("tcpdump output");
    load.end();
    let err = String::from_utf8_lossy(&out.stderr);
    let num = |what: &str| -> u64 {
        err.lines()
            .find(|l| l.contains(what))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("tcpdump said no `{what}`: {err}"))
    };
    // tcpdump counts from its start, 0.3 s before the window: scale to the window.
    let captured = num("packets captured");
    let drops = num("dropped by kernel");
    let pps = captured as f64 / (elapsed + 0.3);
    (
        pps,
        drops,
        sent as f64 / elapsed,
        cpu * 1e6 / (pps * elapsed),
    )
}

fn inside_world() {
    run(&["mount", "-t", "tmpfs", "tmpfs", "/run"]);
    run(&["ip", "link", "set", "lo", "up"]);
    run(&["ip", "netns", "add", "benchl"]);
    run(&["ip", "netns", "add", "benchr"]);
    run(&[
        "ip", "link", "add", "l0", "netns", "benchl", "type", "veth", "peer", "name", "r0",
        "netns", "benchr",
    ]);
    run(&[
        "ip",
        "-n",
        "benchl",
        "addr",
        "add",
        "10.92.0.1/24",
        "dev",
        "l0",
    ]);
    run(&[
        "ip",
        "-n",
        "benchr",
        "addr",
        "add",
        "10.92.0.2/24",
        "dev",
        "r0",
    ]);
    for (ns, dev) in [("benchl", "l0"), ("benchr", "r0")] {
        run(&["ip", "-n", ns, "link", "set", dev, "up"]);
    }
    // No ARP in the measurement, and a socket that takes the datagrams (never read).
    run(&[
        "ip",
        "-n",
        "benchl",
        "neigh",
        "add",
        "10.92.0.2",
        "dev",
        "l0",
        "lladdr",
        &mac("benchr", "r0"),
    ]);
    let _sink = std::thread::spawn(|| {
        enter("benchr");
        let s = UdpSocket::bind("10.92.0.2:9999").expect("sink");
        std::thread::sleep(Duration::from_secs(3600));
        drop(s);
    });
    std::thread::sleep(Duration::from_millis(200));

    let secs: f64 = std::env::var("NETLENS_BENCH_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3.0);
    let rounds: usize = std::env::var("NETLENS_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    println!(
        "| round | tool | captured/s | kernel drops | offered/s | CPU µs/packet | netlens RSS min–max |"
    );
    println!("|---|---|---|---|---|---|---|");
    let mut ratios = Vec::new();
    for r in 1..=rounds {
        let (pps, drops, sent, us, lo, hi) = netlens_round(secs);
        println!(
            "| {r} | netlens capture (decode + filter + ring) | {pps:.0} | {drops} | {sent:.0} | {us:.2} | {:.1}–{:.1} MiB |",
            lo as f64 / 1024.0,
            hi as f64 / 1024.0
        );
        let (tpps, tdrops, tsent, tus) = tcpdump_round(secs);
        println!("| {r} | tcpdump -w /dev/null | {tpps:.0} | {tdrops} | {tsent:.0} | {tus:.2} | |");
        ratios.push(us / tus);
    }
    println!(
        "\nCPU per packet, netlens / tcpdump: {}",
        ratios
            .iter()
            .map(|r| format!("{r:.2}×"))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

fn mac(ns: &str, dev: &str) -> String {
    let out = Command::new("ip")
        .args(["-n", ns, "-j", "link", "show", dev])
        .output()
        .expect("ip link");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("ip -j");
    v[0]["address"].as_str().expect("mac").to_string()
}

fn main() {
    if std::env::var_os("NETLENS_WORLD").is_some() {
        inside_world();
        return;
    }
    if !std::env::args().any(|a| a == "--bench") {
        println!("capture benchmark: run it with `cargo bench --bench capture`");
        return;
    }
    let exe: PathBuf = std::env::current_exe().expect("current exe");
    let status = Command::new("unshare")
        .args(["--net", "--mount", "--propagation", "private", "--"])
        .arg(&exe)
        .env("NETLENS_WORLD", "1")
        .status()
        .expect("unshare (needs root)");
    assert!(status.success(), "benchmark world failed");
}
