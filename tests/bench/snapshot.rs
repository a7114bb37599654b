//! Benchmark: `netlens snapshot --json` against the best way to read the same facts by hand,
//! on tests/bench/node_world.sh's node shape (CNI-named pods on cni0 with IPv6 link-local,
//! kube-proxy-sized iptables, per-pod resolv.conf, listening sockets), built inside a throwaway
//! net+mount+pid namespace and grown from one size to the next; it vanishes on exit.
//!
//! Two comparisons, each netlens mode against by-hand work that gathers the same facts:
//!
//! - **Same facts** (the headline): `netlens snapshot --json --ip-only` (links, addresses,
//!   routes of every table, neighbours, veth peers paired) against one `ip -n NS -j -batch FILE`
//!   per namespace (FILE: `link show`, `addr show`, `route show table all`, `neigh show`) plus
//!   the host's, or `ip -all netns exec ip -j -batch FILE`, whichever costs less (iproute2's
//!   `route show table all` lists both families, as netlens reads them).
//! - **The whole snapshot**: `netlens snapshot --json` against a per-namespace shell script,
//!   tests/bench/snapshot_whole.sh (`nsenter --net=/run/netns/NS sh snapshot_whole.sh NS FILE`,
//!   and `sh snapshot_whole.sh host FILE` for the host), that
//!   reads what netlens reads, the cheapest way a careful person would: one `ip -j -batch` (the
//!   four above and `rule show`), `nft list tables` and then only the tools for the tables that
//!   exist — `iptables-save -c` / `ip6tables-save -c` for iptables-nft's tables, `nft -j list
//!   table` for each other one, `iptables-legacy-save` where `/proc/net/ip_tables_names` lists
//!   tables (netlens checks the same way and spawns nothing in an empty namespace) — `ss -Htulnp`
//!   (listeners and their processes), the forwarding, rp_filter (all, default, per link) and
//!   conntrack sysctls read with the shell's own `read`, and one `cat` of resolv.conf (the
//!   namespace's /etc/netns override when it has one), hosts and nsswitch.conf. Not done by
//!   hand: CNI configs and leases (read once per node, not per namespace), veth peer pairing,
//!   ctnetlink's insert_failed, bridge-nf-call and arp_* sysctls (read only where a bridge is).
//!   `ip -batch` alone (the first comparison's baseline) is printed against the whole snapshot
//!   too, and the old loop — `ip -n NS -j link`, `addr`, `route show table all`, `neigh`: four
//!   processes per namespace — as the second row of both.
//!
//! Every way runs NETLENS_BENCH_RUNS times (5) per size after one warm-up; each run is timed
//! twice: CPU time of the whole process tree (getrusage RUSAGE_CHILDREN: user + system of every
//! process and thread, once reaped) and wall time. CPU is the headline: it is what the node
//! pays, and it does not move when the other tenants of this shared VM compile beside the
//! bench, as wall time does; it also does not reward netlens for using several threads where
//! the by-hand loop uses one. Ratios are by hand ÷ netlens, as the ratio of medians, with the
//! widest spread the runs allow (one side's slowest over the other's fastest).
//!
//!     cargo bench --bench snapshot                        # 200, 1000 and 3000 namespaces
//!     NETLENS_BENCH_NS=200,1000 NETLENS_BENCH_RUNS=7 cargo bench --bench snapshot
//!     NETLENS_BENCH_LOOP_MAX=1000 …    # skip the (slow) four-command loop above 1000
//!     NETLENS_BENCH_WHOLE_MAX=1000 …   # skip the (slow) by-hand whole snapshot above 1000
//!
//! Lines starting with `RESULT` are the summary tests/bench/all.sh collects.

use nix::sys::resource::{getrusage, UsageWho};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const FACTS: &str = "link show\naddr show\nroute show table all\nneigh show\n";
const FACTS_WHOLE: &str = "link show\naddr show\nroute show table all\nneigh show\nrule show\n";

fn run(argv: &[&str]) {
    let status = Command::new(argv[0])
        .args(&argv[1..])
        .stdout(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("{}: {e}", argv.join(" ")));
    assert!(status.success(), "{} failed", argv.join(" "));
}

fn world(args: &[&str]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bench/node_world.sh");
    let status = Command::new("bash")
        .arg(&script)
        .args(args)
        .status()
        .expect("bash");
    assert!(status.success(), "node_world.sh {} failed", args.join(" "));
}

/// CPU time (user + system) of every child process reaped so far, threads included.
fn children_cpu() -> Duration {
    let ru = getrusage(UsageWho::RUSAGE_CHILDREN).expect("getrusage");
    let tv =
        |t: nix::sys::time::TimeVal| Duration::new(t.tv_sec() as u64, t.tv_usec() as u32 * 1000);
    tv(ru.user_time()) + tv(ru.system_time())
}

/// The named namespaces of the world (pods and the uplink), as `ip netns list` shows them.
fn namespaces() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir("/run/netns")
        .expect("/run/netns")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// What a way stands for in the comparisons.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    /// `netlens snapshot --json --ip-only`: the same facts as `ip -batch`.
    NetlensIp,
    /// `netlens snapshot --json`: the whole snapshot.
    NetlensWhole,
    /// `--no-firewall`, kept for comparison with earlier rounds.
    NetlensNoFirewall,
    /// One of the two `ip -batch` ways: the cheaper is the baseline.
    IpBatch,
    /// The by-hand whole snapshot.
    WholeByHand,
    /// Four `ip` processes per namespace.
    Loop,
}

struct Way {
    name: &'static str,
    role: Role,
    /// Runs the whole read once; returns when every process it started has been reaped.
    go: Box<dyn Fn()>,
}

/// Where the world keeps the batch files and the by-hand script.
struct Files {
    batch: &'static str,
    batch_whole: &'static str,
    whole_sh: &'static str,
}

fn netlens(name: &'static str, role: Role, bin: &'static str, extra: &'static str) -> Way {
    Way {
        name,
        role,
        go: Box::new(move || {
            let mut argv = vec![bin, "snapshot", "--json"];
            argv.extend(Some(extra).filter(|e| !e.is_empty()));
            run(&argv);
        }),
    }
}

fn ip_batch_ways(batch: &'static str) -> Vec<Way> {
    vec![
        Way {
            name: "ip -n NS -j -batch FILE, per namespace",
            role: Role::IpBatch,
            go: Box::new(move || {
                run(&["ip", "-j", "-batch", batch]);
                for ns in namespaces() {
                    run(&["ip", "-n", &ns, "-j", "-batch", batch]);
                }
            }),
        },
        Way {
            name: "ip -all netns exec ip -j -batch FILE",
            role: Role::IpBatch,
            go: Box::new(move || {
                run(&["ip", "-j", "-batch", batch]);
                run(&["ip", "-all", "netns", "exec", "ip", "-j", "-batch", batch]);
            }),
        },
    ]
}

fn whole_by_hand(f: &'static Files) -> Way {
    Way {
        name: "nsenter --net=NS sh snapshot_whole.sh, per namespace",
        role: Role::WholeByHand,
        go: Box::new(move || {
            run(&["sh", f.whole_sh, "host", f.batch_whole]);
            for ns in namespaces() {
                let net = format!("--net=/run/netns/{ns}");
                run(&["nsenter", &net, "sh", f.whole_sh, &ns, f.batch_whole]);
            }
        }),
    }
}

fn four_command_loop() -> Way {
    Way {
        name: "ip -n NS -j link/addr/route/neigh, 4 per namespace",
        role: Role::Loop,
        go: Box::new(|| {
            let four = |pre: &[&str]| {
                for obj in [
                    &["link"][..],
                    &["addr"],
                    &["route", "show", "table", "all"],
                    &["neigh"],
                ] {
                    let argv: Vec<&str> = ["ip"]
                        .iter()
                        .chain(pre)
                        .chain(&["-j"])
                        .chain(obj)
                        .copied()
                        .collect();
                    run(&argv);
                }
            };
            four(&[]);
            for ns in namespaces() {
                four(&["-n", &ns]);
            }
        }),
    }
}

fn ways(bin: &'static str, f: &'static Files, loop_too: bool, whole_too: bool) -> Vec<Way> {
    let mut v = vec![
        netlens(
            "netlens snapshot --json --ip-only",
            Role::NetlensIp,
            bin,
            "--ip-only",
        ),
        netlens("netlens snapshot --json", Role::NetlensWhole, bin, ""),
        netlens(
            "netlens snapshot --json --no-firewall",
            Role::NetlensNoFirewall,
            bin,
            "--no-firewall",
        ),
    ];
    v.extend(ip_batch_ways(f.batch));
    if whole_too {
        v.push(whole_by_hand(f));
    }
    if loop_too {
        v.push(four_command_loop());
    }
    v
}

/// One way's runs: (cpu, wall) each.
fn measure(way: &Way, runs: usize) -> Vec<(Duration, Duration)> {
    (way.go)(); // warm the page cache and the kernel's dentries
    (0..runs)
        .map(|_| {
            let (c0, t0) = (children_cpu(), Instant::now());
            (way.go)();
            (children_cpu() - c0, t0.elapsed())
        })
        .collect()
}

/// Median, min and max in milliseconds.
fn stats(v: impl Iterator<Item = Duration>) -> (f64, f64, f64) {
    let mut ms: Vec<f64> = v.map(|d| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    (ms[ms.len() / 2], ms[0], ms[ms.len() - 1])
}

struct Row {
    name: &'static str,
    role: Role,
    cpu: (f64, f64, f64),
    wall: (f64, f64, f64),
}

/// "r× (lo–hi)": how many times `other` costs `netlens`, as the ratio of medians and the widest
/// ratio the runs allow (one side's slowest against the other's fastest), so the spread is
/// honest about the noise of both.
fn ratio(other: (f64, f64, f64), netlens: (f64, f64, f64)) -> String {
    format!(
        "{:.1}× ({:.1}–{:.1})",
        other.0 / netlens.0,
        other.1 / netlens.2,
        other.2 / netlens.1
    )
}

fn print_size(n: usize, runs: usize, rows: &[Row]) {
    println!("\n{n} pod namespaces (+ host, uplink), {runs} runs each; ms as median (min–max)");
    println!("| way | CPU ms | wall ms |");
    println!("|---|---|---|");
    for r in rows {
        println!(
            "| {} | {:.0} ({:.0}–{:.0}) | {:.0} ({:.0}–{:.0}) |",
            r.name, r.cpu.0, r.cpu.1, r.cpu.2, r.wall.0, r.wall.1, r.wall.2
        );
    }
    let one = |role: Role| rows.iter().find(|r| r.role == role);
    // The `ip -batch` baseline: the cheaper of its two ways, by CPU.
    let best_batch = rows
        .iter()
        .filter(|r| r.role == Role::IpBatch)
        .min_by(|a, b| a.cpu.0.total_cmp(&b.cpu.0));
    let (Some(ip_only), Some(whole), Some(nofw), Some(batch)) = (
        one(Role::NetlensIp),
        one(Role::NetlensWhole),
        one(Role::NetlensNoFirewall),
        best_batch,
    ) else {
        return;
    };
    let by_hand_whole = one(Role::WholeByHand);
    let four = one(Role::Loop);
    // (what netlens read, netlens' row, the baselines in order: headline first)
    let comparisons = [
        ("same facts, --ip-only", ip_only, vec![Some(batch), four]),
        (
            "whole snapshot",
            whole,
            vec![by_hand_whole, Some(batch), four],
        ),
        ("--no-firewall", nofw, vec![Some(batch)]),
    ];
    for (label, nl, bases) in comparisons {
        for base in bases.into_iter().flatten() {
            println!(
                "RESULT snapshot n={n} {label}: {} / netlens: CPU {}, wall {}",
                base.name,
                ratio(base.cpu, nl.cpu),
                ratio(base.wall, nl.wall)
            );
        }
    }
}

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn inside_world() {
    world(&["mounts"]);
    let files: &'static Files = &Files {
        batch: "/run/node-world/facts.batch",
        batch_whole: "/run/node-world/facts-whole.batch",
        whole_sh: "/run/node-world/snapshot_whole.sh",
    };
    std::fs::write(files.batch, FACTS).expect("write batch file");
    std::fs::write(files.batch_whole, FACTS_WHOLE).expect("write batch file");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bench/snapshot_whole.sh");
    std::fs::copy(script, files.whole_sh).expect("copy snapshot_whole.sh");
    let bin = env!("CARGO_BIN_EXE_netlens");
    let sizes: Vec<usize> = std::env::var("NETLENS_BENCH_NS")
        .unwrap_or_else(|_| "200,1000,3000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let runs = env_num("NETLENS_BENCH_RUNS", 5);
    let loop_max = env_num("NETLENS_BENCH_LOOP_MAX", usize::MAX);
    let whole_max = env_num("NETLENS_BENCH_WHOLE_MAX", usize::MAX);
    let mut built = 0;
    for n in sizes {
        assert!(n > built, "sizes must grow");
        let t = Instant::now();
        if built == 0 {
            world(&["build", &n.to_string()]);
        } else {
            world(&["pods", &built.to_string(), &n.to_string()]);
            world(&["listeners", &n.to_string()]);
        }
        println!(
            "\nbuilt the world up to {n} pods in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        built = n;
        // Let DAD and the first router solicitations settle, as on a node that has been up.
        std::thread::sleep(Duration::from_secs(3));
        let rows: Vec<Row> = ways(bin, files, n <= loop_max, n <= whole_max)
            .iter()
            .map(|w| {
                let m = measure(w, runs);
                Row {
                    name: w.name,
                    role: w.role,
                    cpu: stats(m.iter().map(|x| x.0)),
                    wall: stats(m.iter().map(|x| x.1)),
                }
            })
            .collect();
        print_size(n, runs, &rows);
    }
}

fn main() {
    if std::env::var_os("NETLENS_WORLD").is_some() {
        inside_world();
        return;
    }
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without it,
    // and a test run must not spend minutes building 1000 namespaces.
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
