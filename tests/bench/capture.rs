//! Benchmark: the `netlens capture` command (the release binary, as a process) against
//! `tcpdump` on the same veth, same offered load, same window, both writing a pcap on tmpfs.
//!
//! Inside a throwaway net+mount namespace two namespaces are joined by a veth; one thread sends
//! 32-byte UDP datagrams at a fixed, sustainable rate (paced, so every tool sees the same
//! packets), 10% of them to port 9998 and the rest to 9999 (sockets there take them unread, so
//! nothing comes back). Each tool runs alone on the receiving end; its CPU is utime + stime of
//! the process from /proc/PID/stat (all threads) over the window. Rows:
//!
//! - `-w FILE` with no filter;
//! - `-w FILE udp dst port 9998` (drops 90% of the packets; same expression for both);
//! - the decoding display (`netlens capture` printing to /dev/null, against `tcpdump -n`).
//!
//! CPU per packet is over the packets offered in the window (those the filter selects).
//!
//!     cargo bench --bench capture
//!     NETLENS_BENCH_SECS=20 NETLENS_BENCH_ROUNDS=5 NETLENS_BENCH_PPS=100000 cargo bench --bench capture

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
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

fn enter(ns: &str) {
    let f = File::open(format!("/run/netns/{ns}")).expect("netns");
    nix::sched::setns(f.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Packets sent so far: all, and those to port 9998.
struct Sent {
    all: AtomicU64,
    selected: AtomicU64,
}

/// Sends `pps` datagrams a second from `benchl` to `benchr`, every tenth to port 9998, paced
/// in 1 ms slices, until `stop`.
fn sender(pps: u64, stop: Arc<AtomicBool>, sent: Arc<Sent>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        enter("benchl");
        let s = UdpSocket::bind("10.92.0.1:0").expect("bind");
        let buf = [0x5au8; 32];
        let t = Instant::now();
        let mut n = 0u64;
        while !stop.load(Ordering::Relaxed) {
            let due = (t.elapsed().as_secs_f64() * pps as f64) as u64;
            while n < due {
                let to = if n.is_multiple_of(10) {
                    "10.92.0.2:9998"
                } else {
                    "10.92.0.2:9999"
                };
                if s.send_to(&buf, to).is_ok() {
                    sent.all.fetch_add(1, Ordering::Relaxed);
                    if n.is_multiple_of(10) {
                        sent.selected.fetch_add(1, Ordering::Relaxed);
                    }
                }
                n += 1;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    })
}

/// Clock ticks (user + system, all threads) used so far by process `pid`.
fn ticks(pid: u32) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the `(comm)`: utime and stime are the 14th and 15th of the line.
    let rest = text.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    [11, 12]
        .iter()
        .filter_map(|&i| f.get(i).and_then(|v| v.parse::<u64>().ok()))
        .sum()
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Write,
    Filtered,
    Display,
}

fn command(netlens: bool, mode: Mode) -> Command {
    let mut c = if netlens {
        let mut c = Command::new(env!("CARGO_BIN_EXE_netlens"));
        c.args(["capture", "--ns", "benchr", "-i", "r0"]);
        if mode != Mode::Display {
            c.args(["-q", "-w", "/run/netlens.pcap"]);
        }
        c
    } else {
        let mut c = Command::new("ip");
        // `-Z root`: tcpdump would otherwise drop to a user that cannot create the file.
        c.args([
            "netns", "exec", "benchr", "tcpdump", "-Z", "root", "-i", "r0", "-n",
        ]);
        if mode != Mode::Display {
            c.args(["-w", "/run/tcpdump.pcap"]);
        }
        c
    };
    if mode == Mode::Filtered {
        c.args(["udp", "dst", "port", "9998"]);
    }
    c
}

/// One measured run of one tool.
struct Round {
    ticks: u64,
    offered: u64,
    captured: u64,
    drops: u64,
    rss: (u64, u64),
}

/// The number before `what` on the line of `text` that has it.
fn number_before(text: &str, what: &str) -> u64 {
    let line = text
        .lines()
        .find(|l| l.contains(what))
        .unwrap_or_else(|| panic!("no `{what}` in: {text}"));
    let before = &line[..line.find(what).unwrap()];
    before
        .split(|c: char| !c.is_ascii_digit())
        .rfind(|w| !w.is_empty())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no number before `{what}`: {line}"))
}

fn measure(netlens: bool, mode: Mode, secs: f64, sent: &Sent) -> Round {
    let mut child: Child = command(netlens, mode)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("capture tool");
    let pid = child.id();
    let mut err = BufReader::new(child.stderr.take().expect("stderr"));
    // Ready once it says it listens (tcpdump may say something else first).
    let mut line = String::new();
    while !(line.contains("capturing on") || line.contains("listening on")) {
        line.clear();
        assert!(err.read_line(&mut line).expect("stderr") > 0, "tool ended");
    }
    std::thread::sleep(Duration::from_millis(500));
    let counter = if mode == Mode::Filtered {
        &sent.selected
    } else {
        &sent.all
    };
    let (t0, s0) = (ticks(pid), counter.load(Ordering::Relaxed));
    let mut rss = (u64::MAX, 0);
    let start = Instant::now();
    while start.elapsed().as_secs_f64() < secs {
        std::thread::sleep(Duration::from_millis(250));
        let r = rss_kib(pid);
        rss = (rss.0.min(r), rss.1.max(r));
    }
    let (t1, s1) = (ticks(pid), counter.load(Ordering::Relaxed));
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGINT,
    );
    let mut text = String::new();
    std::io::Read::read_to_string(&mut err, &mut text).expect("stderr");
    assert!(child.wait().expect("wait").success(), "{text}");
    let (captured, drops) = if netlens {
        (
            number_before(&text, "matched"),
            number_before(&text, "dropped by the kernel"),
        )
    } else {
        (
            number_before(&text, "packets captured"),
            number_before(&text, "dropped by kernel"),
        )
    };
    Round {
        ticks: t1 - t0,
        offered: s1 - s0,
        captured,
        drops,
        rss,
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn setup() {
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
    // No ARP in the measurement, and sockets that take the datagrams (never read).
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
    std::thread::spawn(|| {
        enter("benchr");
        let a = UdpSocket::bind("10.92.0.2:9999").expect("sink");
        let b = UdpSocket::bind("10.92.0.2:9998").expect("sink");
        std::thread::sleep(Duration::from_secs(1 << 20));
        drop((a, b));
    });
    std::thread::sleep(Duration::from_millis(200));
}

fn inside_world() {
    setup();
    let secs: f64 = env_or("NETLENS_BENCH_SECS", 20.0);
    let rounds: usize = env_or("NETLENS_BENCH_ROUNDS", 5);
    let pps: u64 = env_or("NETLENS_BENCH_PPS", 100_000);
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(Sent {
        all: AtomicU64::new(0),
        selected: AtomicU64::new(0),
    });
    let load = sender(pps, stop.clone(), sent.clone());
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    println!("offered {pps} packets/s, {secs} s windows, {rounds} rounds, {hz} ticks/s\n");
    println!("| row | round | tool | ticks | offered | µs/packet | captured (whole run) | kernel drops | RSS KiB min–max |");
    println!("|---|---|---|---|---|---|---|---|---|");
    let rows = [
        (Mode::Write, "-w FILE"),
        (
            Mode::Filtered,
            "-w FILE udp dst port 9998 (90% filtered out)",
        ),
        (Mode::Display, "decoding display to /dev/null (tcpdump -n)"),
    ];
    let mut summary = Vec::new();
    // NETLENS_BENCH_ROWS=2: only the second row (1-based, comma-separated).
    let only: Vec<usize> = std::env::var("NETLENS_BENCH_ROWS")
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_default();
    for (i, (mode, label)) in rows.into_iter().enumerate() {
        if !only.is_empty() && !only.contains(&(i + 1)) {
            continue;
        }
        let (mut ratios, mut drops) = (Vec::new(), (0, 0));
        for r in 1..=rounds {
            let mut us = [0.0; 2];
            for (i, netlens) in [true, false].into_iter().enumerate() {
                let m = measure(netlens, mode, secs, &sent);
                us[i] = m.ticks as f64 / hz * 1e6 / m.offered.max(1) as f64;
                if netlens {
                    drops.0 += m.drops
                } else {
                    drops.1 += m.drops
                }
                let tool = if netlens { "netlens" } else { "tcpdump" };
                let rss = if netlens {
                    format!("{}–{}", m.rss.0, m.rss.1)
                } else {
                    String::new()
                };
                println!(
                    "| {label} | {r} | {tool} | {} | {} | {:.3} | {} | {} | {rss} |",
                    m.ticks, m.offered, us[i], m.captured, m.drops
                );
            }
            ratios.push(us[0] / us[1]);
        }
        let spread = ratios.iter().cloned().fold(f64::MAX, f64::min)
            ..=ratios.iter().cloned().fold(0.0, f64::max);
        summary.push(format!(
            "{label}: netlens/tcpdump CPU per packet median {:.2}× (spread {:.2}–{:.2}×), kernel drops netlens {} / tcpdump {}",
            median(&mut ratios),
            spread.start(),
            spread.end(),
            drops.0,
            drops.1
        ));
    }
    stop.store(true, Ordering::SeqCst);
    let _ = load.join();
    println!();
    for s in summary {
        println!("{s}");
    }
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
