//! Runs the real tools through `collect_in_current_netns` — inside a throwaway network
//! namespace, never the machine's own.
//!
//! Each test body runs in a world (`common::world`): a fresh, empty network namespace where it
//! adds rules and checks what the collector reports; everything disappears with the world.

use std::path::Path;

use netlens::firewall::{collect_in_current_netns, Backend, IpFamily, XtSource};

use crate::common;

use common::world::in_world;

/// Runs a fixed command (no shell) and panics with its stderr if it fails.
fn sh(program: &str, args: &[&str]) {
    let mut argv = vec![program];
    argv.extend_from_slice(args);
    common::world::sh(&argv);
}

/// Sets PATH for the duration of `f` (the child runs one test on one thread, so changing
/// the process environment is safe there).
fn with_path<T>(path: &Path, f: impl FnOnce() -> T) -> T {
    let old = std::env::var_os("PATH");
    std::env::set_var("PATH", path);
    let result = f();
    match old {
        Some(p) => std::env::set_var("PATH", p),
        None => std::env::remove_var("PATH"),
    }
    result
}

#[test]
fn collect_empty_then_populated_namespace() {
    in_world(
        "collect_netns::collect_empty_then_populated_namespace",
        || {
            let empty_bin = tempfile::tempdir().expect("tempdir");

            // 1. A fresh namespace has no tables: nothing is spawned, so even a PATH without any
            //    tool gives no errors.
            let fw = with_path(empty_bin.path(), collect_in_current_netns);
            assert!(fw.backends.is_empty(), "{fw:?}");
            assert!(fw.errors.is_empty(), "spawned something: {:?}", fw.errors);
            assert!(fw.iptables.is_empty() && fw.nft.is_empty());

            add_rules_in_all_three_backends();
            assert_rules_in_all_three_backends();

            // 3. Tools missing while tables exist: errors, no panic.
            let fw = with_path(empty_bin.path(), collect_in_current_netns);
            assert!(
                fw.errors
                    .iter()
                    .any(|e| e == "iptables-nft-save not found: install iptables"),
                "{:?}",
                fw.errors
            );
            assert!(
                fw.errors
                    .iter()
                    .any(|e| e == "nft not found: install nftables"),
                "{:?}",
                fw.errors
            );
            assert!(fw.iptables.is_empty() && fw.backends.is_empty());
        },
    );
}

/// Rules in all three backends: iptables-nft (v4 nat, v6 filter), iptables-legacy and native nft.
fn add_rules_in_all_three_backends() {
    sh(
        "iptables-nft",
        &[
            "-t",
            "nat",
            "-A",
            "POSTROUTING",
            "-s",
            "192.168.15.0/24",
            "-m",
            "comment",
            "--comment",
            "netlens test",
            "-j",
            "MASQUERADE",
        ],
    );
    sh(
        "ip6tables-nft",
        &["-A", "INPUT", "!", "-s", "fd00::/8", "-j", "DROP"],
    );
    sh(
        "iptables-legacy",
        &["-A", "FORWARD", "-i", "veth0", "-j", "ACCEPT"],
    );
    sh("nft", &["add", "table", "inet", "nltest"]);
    sh(
        "nft",
        &[
            "add",
            "chain",
            "inet",
            "nltest",
            "input",
            "{ type filter hook input priority 0 ; policy accept ; }",
        ],
    );
    sh(
        "nft",
        &[
            "add", "rule", "inet", "nltest", "input", "tcp", "dport", "22", "counter", "accept",
        ],
    );
}

/// Each backend's rule is read back: iptables-nft (with counters), ip6tables, legacy, native nft.
fn assert_rules_in_all_three_backends() {
    let fw = collect_in_current_netns();
    assert!(fw.errors.is_empty(), "{:?}", fw.errors);
    assert_eq!(
        fw.backends,
        vec![Backend::Nft, Backend::IptablesNft, Backend::IptablesLegacy]
    );

    let masq: Vec<_> = fw
        .nat_rules()
        .filter(|r| r.rule.target.as_deref() == Some("MASQUERADE"))
        .collect();
    assert_eq!(masq.len(), 1, "{fw:#?}");
    assert_eq!(masq[0].table.source, XtSource::Nft);
    assert_eq!(masq[0].table.family, IpFamily::V4);
    assert_eq!(masq[0].chain.name, "POSTROUTING");
    assert_eq!(masq[0].rule.comment.as_deref(), Some("netlens test"));
    assert_eq!(
        masq[0].rule.source.as_ref().map(|c| c.value.as_str()),
        Some("192.168.15.0/24")
    );
    // `iptables-save -c` output carries counters.
    assert_eq!(masq[0].rule.packets, Some(0));

    let v6 = fw
        .xt_rules()
        .find(|r| r.table.family == IpFamily::V6)
        .expect("ip6tables rule");
    assert_eq!(v6.chain.name, "INPUT");
    assert!(v6.rule.source.as_ref().is_some_and(|c| c.negated));

    let legacy = fw
        .xt_rules()
        .find(|r| r.table.source == XtSource::Legacy)
        .expect("legacy rule");
    assert_eq!(legacy.table.name, "filter");
    assert_eq!(legacy.chain.name, "FORWARD");
    assert_eq!(legacy.rule.target.as_deref(), Some("ACCEPT"));

    let native = fw
        .nft
        .iter()
        .find(|t| t.family == "inet" && t.name == "nltest")
        .expect("native table");
    let input = native.chain("input").expect("input chain");
    assert_eq!(input.hook.as_deref(), Some("input"));
    assert_eq!(
        input.rules[0].expr_summary,
        "tcp dport 22 counter packets 0 bytes 0 accept"
    );
    // iptables-nft's own tables are read once, from iptables-nft-save: nft lists only the
    // native table (it would render the compat tables' rules as opaque `xt` statements).
    let names: Vec<(&str, &str)> = fw
        .nft
        .iter()
        .map(|t| (t.family.as_str(), t.name.as_str()))
        .collect();
    assert_eq!(names, vec![("inet", "nltest")], "{fw:#?}");
}

/// The real caller enters a namespace on one thread while the process stays elsewhere: the
/// netlink socket, `/proc/thread-self` and spawned tools must all follow the thread.
#[test]
fn collect_follows_the_calling_threads_namespace() {
    in_world(
        "collect_netns::collect_follows_the_calling_threads_namespace",
        || {
            let fw = std::thread::spawn(|| {
                // Only this thread moves to a new network namespace.
                nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).expect("unshare netns");
                sh(
                    "iptables-legacy",
                    &[
                        "-t",
                        "nat",
                        "-A",
                        "PREROUTING",
                        "-p",
                        "tcp",
                        "--dport",
                        "8080",
                        "-j",
                        "DNAT",
                        "--to-destination",
                        "10.0.0.7:80",
                    ],
                );
                sh("nft", &["add", "table", "ip", "thread_only"]);
                let started = std::time::Instant::now();
                let fw = collect_in_current_netns();
                eprintln!("collect with rules: {:?}", started.elapsed());
                fw
            })
            .join()
            .expect("thread");
            assert!(fw.errors.is_empty(), "{:?}", fw.errors);
            let dnat: Vec<_> = fw.nat_rules().collect();
            assert_eq!(dnat.len(), 1, "{fw:#?}");
            assert_eq!(dnat[0].table.source, XtSource::Legacy);
            assert_eq!(
                dnat[0].rule.target_args,
                vec![("--to-destination".to_string(), "10.0.0.7:80".to_string())]
            );
            // An empty table holds no rules, so only legacy counts as a backend.
            assert_eq!(fw.backends, vec![Backend::IptablesLegacy]);
            assert_eq!(fw.nft.len(), 1);
            assert_eq!(fw.nft[0].name, "thread_only");

            // The process's own namespace (this thread) saw none of that, and costs no spawn.
            let started = std::time::Instant::now();
            let here = collect_in_current_netns();
            eprintln!("collect, empty namespace: {:?}", started.elapsed());
            assert_eq!(here, netlens::firewall::Firewall::default());
        },
    );
}
