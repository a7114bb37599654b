//! conntrack-full and conntrack-insert-failed against the kernel's own per-namespace
//! counters.

use crate::common::rules::*;
use crate::common::world::{in_world, sh};

/// Sends one UDP datagram from namespace `ns` to each of `count` distinct (source port,
/// destination port) pairs on its loopback: each is a new conntrack entry (unreplied; the
/// ports are closed). Runs on a thread of its own that enters `ns` (setns is per thread).
fn fill_conntrack(ns: &str, count: usize) {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let fd = std::fs::File::open(&path).expect("open the namespace");
        nix::sched::setns(&fd, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
        let sockets: Vec<std::net::UdpSocket> = (0..count.div_ceil(60_000))
            .map(|_| std::net::UdpSocket::bind("127.0.0.1:0").expect("bind"))
            .collect();
        for i in 0..count {
            let port = 1024 + (i % 60_000) as u16;
            // A closed port answers with ICMP, which may refuse the next send: ignore it.
            let _ = sockets[i / 60_000].send_to(b"x", ("127.0.0.1", port));
        }
    })
    .join()
    .expect("fill conntrack");
}

/// Writes `value` to `path` from a thread inside namespace `ns` (/proc/sys/net is the
/// namespace of the task that opens it).
fn write_in(ns: &str, path: &str, value: &str) -> std::io::Result<()> {
    let (ns_path, path, value) = (
        format!("/run/netns/{ns}"),
        path.to_string(),
        value.to_string(),
    );
    std::thread::spawn(move || {
        let fd = std::fs::File::open(&ns_path)?;
        nix::sched::setns(&fd, nix::sched::CloneFlags::CLONE_NEWNET)?;
        std::fs::write(&path, value)
    })
    .join()
    .expect("write thread")
}

/// Column `name` of /proc/net/stat/nf_conntrack in `ns`, summed over the CPUs (hex).
fn kernel_ct_stat(ns: &str, name: &str) -> u64 {
    let text = sh(&[
        "ip",
        "netns",
        "exec",
        ns,
        "cat",
        "/proc/net/stat/nf_conntrack",
    ]);
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split_whitespace().collect();
    let col = header.iter().position(|h| *h == name).expect("stat column");
    lines
        .filter_map(|l| l.split_whitespace().nth(col))
        .map(|v| u64::from_str_radix(v, 16).expect("hex"))
        .sum()
}

fn ct_count(ns: &str) -> u64 {
    let v = crate::common::world::sh(&[
        "ip",
        "netns",
        "exec",
        ns,
        "cat",
        "/proc/sys/net/netfilter/nf_conntrack_count",
    ]);
    v.trim().parse().expect("nf_conntrack_count")
}

#[test]
fn conntrack_full_found_from_the_kernels_own_count() {
    in_world(
        "doctor_rules::conntrack::conntrack_full_found_from_the_kernels_own_count",
        || {
            netns("busy");
            // Conntrack tracks a namespace once a rule there uses it; unreplied UDP entries live
            // nf_conntrack_udp_timeout (per namespace) seconds: long enough for the doctor.
            sh(&[
                "ip",
                "netns",
                "exec",
                "busy",
                "iptables",
                "-A",
                "OUTPUT",
                "-m",
                "conntrack",
                "--ctstate",
                "NEW",
                "-j",
                "ACCEPT",
            ]);
            sysctl("busy", "net.netfilter.nf_conntrack_udp_timeout", "120");
            let max: u64 = std::fs::read_to_string("/proc/sys/net/netfilter/nf_conntrack_max")
                .expect("nf_conntrack_max")
                .trim()
                .parse()
                .unwrap();
            // Healthy control: a namespace using conntrack, far from full.
            fill_conntrack("busy", 1000);
            assert!(ct_count("busy") >= 1000);
            expect_clean_of("conntrack-full");

            // 80% of the table: a warning. The count is per namespace, the limit global: this
            // namespace's entries die with it and the host's table is not limited by them.
            let target = max * 80 / 100;
            fill_conntrack("busy", (target - ct_count("busy") + 500) as usize);
            let count = ct_count("busy");
            assert!(
                count >= max * 75 / 100 && count < max * 90 / 100,
                "{count}/{max}"
            );
            let f = expect_finding(
                "conntrack-full",
                "warning",
                "busy",
                ("sysctl", "net.netfilter.nf_conntrack_max"),
            );
            let why = f["explanation"].as_str().unwrap();
            assert!(why.contains(&format!("of nf_conntrack_max {max}")), "{why}");
            // nf_conntrack_max can be set only from the initial namespace: the kernel refuses it
            // here (even the value it has), so a fix that sets it in `busy` would change nothing.
            assert!(
                write_in(
                    "busy",
                    "/proc/sys/net/netfilter/nf_conntrack_max",
                    &max.to_string()
                )
                .is_err(),
                "the kernel let busy set nf_conntrack_max"
            );
            assert!(f.get("fix").is_none(), "a fix the kernel refuses: {f:#}");

            // conntrack-insert-failed follows the kernel's own per-namespace counter.
            let failed = kernel_ct_stat("busy", "insert_failed");
            let (_, findings) = doctor();
            let said = of_rule(&findings, "conntrack-insert-failed");
            assert_eq!(
                said.len(),
                usize::from(failed > 0),
                "insert_failed={failed}: {said:#?}"
            );
        },
    );
}
