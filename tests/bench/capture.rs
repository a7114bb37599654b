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
//! CPU per packet is over the packets offered in the window (those the filter selects). CPU is
//! read two ways: clock ticks (utime + stime, 10 ms each) and the scheduler's nanoseconds on CPU
//! summed over the process's threads (/proc/PID/task/*/schedstat); the ratio is taken from the
//! nanoseconds, and the ticks are shown so a reader can see the window was long enough.
//! The filtered row selects a tenth of the packets, so it runs `NETLENS_BENCH_SECS_FILTERED`
//! (default 3 × `NETLENS_BENCH_SECS`) to give each tool the same order of ticks. Both pcaps of
//! the `-w` rows are read back: the packets in them, and how many are UDP to port 9998 (all of
//! them in the filtered row, for both tools, or the two did not apply the same filter).
//!
//!     cargo bench --bench capture
//!     NETLENS_BENCH_SECS=20 NETLENS_BENCH_ROUNDS=5 NETLENS_BENCH_PPS=100000 cargo bench --bench capture
//!     NETLENS_BENCH_ROWS=2 NETLENS_BENCH_SECS_FILTERED=120 NETLENS_BENCH_PPS_FILTERED=250000 cargo bench --bench capture

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

/// Sends `pps` datagrams a second (read again every slice: a row may change it) from `benchl`
/// to `benchr`, every tenth to port 9998, paced in 1 ms slices, until `stop`.
fn sender(
    pps: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    sent: Arc<Sent>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        enter("benchl");
        let s = UdpSocket::bind("10.92.0.1:0").expect("bind");
        let buf = [0x5au8; 32];
        let (mut t, mut n, mut rate) = (Instant::now(), 0u64, pps.load(Ordering::Relaxed));
        while !stop.load(Ordering::Relaxed) {
            if pps.load(Ordering::Relaxed) != rate {
                (t, n, rate) = (Instant::now(), 0, pps.load(Ordering::Relaxed));
            }
            let due = (t.elapsed().as_secs_f64() * rate as f64) as u64;
            // A sender that falls behind its pace (a loaded machine) still sees `stop` and a
            // rate change: at most one slice's worth of packets per pass.
            let due = due.min(n + rate / 1000 + 1);
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

/// Nanoseconds on CPU so far of every thread of process `pid` (the scheduler's own count, not
/// sampled by ticks).
fn cpu_ns(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// Context switches so far (voluntary + not) of every thread of `pid`: about one per wake-up.
fn switches(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("status")).ok())
        .flat_map(|s| {
            s.lines()
                .filter(|l| l.contains("ctxt_switches:"))
                .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                .collect::<Vec<_>>()
        })
        .sum()
}

/// Packets in a pcap file, and how many of them are IPv4 UDP to port 9998 (the filtered row's
/// selection), read back to check what each tool wrote.
fn pcap_count(path: &str) -> (u64, u64) {
    let Ok(b) = std::fs::read(path) else {
        return (0, 0);
    };
    let le = b.get(..4) == Some(&[0xd4, 0xc3, 0xb2, 0xa1][..])
        || b.get(..4) == Some(&[0x4d, 0x3c, 0xb2, 0xa1][..]);
    let u32_at = |o: usize| {
        let w = [b[o], b[o + 1], b[o + 2], b[o + 3]];
        if le {
            u32::from_le_bytes(w)
        } else {
            u32::from_be_bytes(w)
        }
    };
    let (mut all, mut selected, mut at) = (0, 0, 24);
    while at + 16 <= b.len() {
        let incl = u32_at(at + 8) as usize;
        let f = &b[(at + 16).min(b.len())..(at + 16 + incl).min(b.len())];
        all += 1;
        let hl = f.get(14).map_or(0, |v| usize::from(v & 0xf) * 4);
        if f.get(12..14) == Some(&[8, 0][..])
            && f.get(23) == Some(&17)
            && f.get(14 + hl + 2..14 + hl + 4) == Some(&9998u16.to_be_bytes()[..])
        {
            selected += 1;
        }
        at += 16 + incl;
    }
    (all, selected)
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
    /// Nanoseconds on CPU in the window (all threads).
    ns: u64,
    /// Context switches in the window (all threads).
    switches: u64,
    offered: u64,
    captured: u64,
    drops: u64,
    /// RSS at the first and the last sample of the window, and the largest.
    rss: (u64, u64, u64),
    /// Packets the filter selects that were offered while the tool ran (start to exit).
    offered_run: u64,
    /// The pcap read back: packets, of them UDP to port 9998.
    pcap: (u64, u64),
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
    let counter = if mode == Mode::Filtered {
        &sent.selected
    } else {
        &sent.all
    };
    let run0 = counter.load(Ordering::Relaxed);
    let mut err = BufReader::new(child.stderr.take().expect("stderr"));
    // Ready once it says it listens (tcpdump may say something else first).
    let mut line = String::new();
    while !(line.contains("capturing on") || line.contains("listening on")) {
        line.clear();
        assert!(err.read_line(&mut line).expect("stderr") > 0, "tool ended");
    }
    std::thread::sleep(Duration::from_millis(500));
    let (t0, n0, s0) = (ticks(pid), cpu_ns(pid), counter.load(Ordering::Relaxed));
    let w0 = switches(pid);
    let mut rss = (0, 0, 0);
    let start = Instant::now();
    while start.elapsed().as_secs_f64() < secs {
        // Sampled once a second: the sampling is part of neither tool's CPU.
        std::thread::sleep(Duration::from_millis(1000));
        let r = rss_kib(pid);
        if rss.0 == 0 {
            rss.0 = r;
        }
        rss = (rss.0, r, rss.2.max(r));
    }
    let (t1, n1, s1) = (ticks(pid), cpu_ns(pid), counter.load(Ordering::Relaxed));
    let w1 = switches(pid);
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGINT,
    );
    let mut text = String::new();
    std::io::Read::read_to_string(&mut err, &mut text).expect("stderr");
    assert!(child.wait().expect("wait").success(), "{text}");
    let offered_run = counter.load(Ordering::Relaxed) - run0;
    let pcap = match (mode, netlens) {
        (Mode::Display, _) => (0, 0),
        (_, true) => pcap_count("/run/netlens.pcap"),
        (_, false) => pcap_count("/run/tcpdump.pcap"),
    };
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
        ns: n1 - n0,
        switches: w1 - w0,
        offered: s1 - s0,
        captured,
        drops,
        rss,
        offered_run,
        pcap,
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
    let filtered_secs: f64 = env_or("NETLENS_BENCH_SECS_FILTERED", 3.0 * secs);
    // The filtered row selects a tenth: it may run at a higher rate to give each tool ticks.
    let filtered_pps: u64 = env_or("NETLENS_BENCH_PPS_FILTERED", pps);
    let rate = Arc::new(AtomicU64::new(pps));
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(Sent {
        all: AtomicU64::new(0),
        selected: AtomicU64::new(0),
    });
    let load = sender(rate.clone(), stop.clone(), sent.clone());
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    println!(
        "offered {pps} packets/s ({filtered_pps} in the filtered row), {secs} s windows ({filtered_secs} s filtered), {rounds} rounds, {hz} ticks/s\n"
    );
    println!("| row | round | tool | ticks | CPU ms | offered | µs/packet | selected offered while it ran | captured | pcap packets (to 9998) | kernel drops | RSS KiB first / last / max | wake-ups/s |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
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
        let (window, row_pps) = if mode == Mode::Filtered {
            (filtered_secs, filtered_pps)
        } else {
            (secs, pps)
        };
        rate.store(row_pps, Ordering::Relaxed);
        // Let the sender settle at the row's rate.
        std::thread::sleep(Duration::from_millis(300));
        let (mut ratios, mut drops) = (Vec::new(), (0, 0));
        let mut tick_range = [(u64::MAX, 0), (u64::MAX, 0)];
        for r in 1..=rounds {
            let mut us = [0.0; 2];
            for (i, netlens) in [true, false].into_iter().enumerate() {
                let m = measure(netlens, mode, window, &sent);
                us[i] = m.ns as f64 / 1e3 / m.offered.max(1) as f64;
                tick_range[i] = (tick_range[i].0.min(m.ticks), tick_range[i].1.max(m.ticks));
                if netlens {
                    drops.0 += m.drops
                } else {
                    drops.1 += m.drops
                }
                let tool = if netlens { "netlens" } else { "tcpdump" };
                let pcap = if mode == Mode::Display {
                    String::new()
                } else {
                    format!("{} ({})", m.pcap.0, m.pcap.1)
                };
                println!(
                    "| {label} | {r} | {tool} | {} | {:.1} | {} | {:.4} | {} | {} | {pcap} | {} | {} / {} / {} | {:.1} |",
                    m.ticks,
                    m.ns as f64 / 1e6,
                    m.offered,
                    us[i],
                    m.offered_run,
                    m.captured,
                    m.drops,
                    m.rss.0,
                    m.rss.1,
                    m.rss.2,
                    m.switches as f64 / window
                );
            }
            ratios.push(us[0] / us[1]);
        }
        let spread = ratios.iter().cloned().fold(f64::MAX, f64::min)
            ..=ratios.iter().cloned().fold(0.0, f64::max);
        summary.push(format!(
            "{label} ({window} s windows, {row_pps} packets/s offered): netlens/tcpdump CPU per packet median {:.2}× (spread {:.2}–{:.2}×, {} rounds), ticks per window netlens {}–{} / tcpdump {}–{}, kernel drops netlens {} / tcpdump {}",
            median(&mut ratios),
            spread.start(),
            spread.end(),
            rounds,
            tick_range[0].0,
            tick_range[0].1,
            tick_range[1].0,
            tick_range[1].1,
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
