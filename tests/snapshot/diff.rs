//! `netlens diff` end to end: two snapshots of a world around a handful of typical incident
//! changes (a link down, an address gone, a route, ip_forward, a NAT rule, resolv.conf), then
//! the exact report, its JSON form and the exit codes.

use crate::common;

use std::time::{Duration, Instant};

use common::snap::{netlens, ns_sh};
use common::world::{in_world, private_etc_netns, sh};
use netlens::model::diff::{ChangeKind, ObjectKind, SnapshotDiff};

/// Waits until `ip` reports `state STATE` for the link: operational state follows an admin
/// change asynchronously (the kernel's linkwatch runs up to a second later), and a snapshot
/// taken in between would see a half-done change.
fn wait_oper_state(ns: &str, link: &str, state: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let want = format!(" state {state} ");
    loop {
        if ns_sh(ns, &["ip", "link", "show", link]).contains(&want) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{link} in {ns} never reached state {state}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn save_snapshot(path: &std::path::Path) {
    let out = netlens(&["snapshot", "--json"]);
    assert!(
        out.status.success(),
        "snapshot failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(path, &out.stdout).expect("write snapshot");
}

#[test]
fn diff_reports_incident_changes() {
    in_world("diff::diff_reports_incident_changes", || {
        build_red_blue();

        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("old.json");
        let new = dir.path().join("new.json");
        save_snapshot(&old);

        make_incident_changes();
        save_snapshot(&new);

        let (o, n) = (old.to_str().unwrap(), new.to_str().unwrap());
        let out = netlens(&["diff", o, n]);
        let text = String::from_utf8(out.stdout).unwrap();
        assert_eq!(out.status.code(), Some(1), "{text}");
        assert!(out.stderr.is_empty());
        // The local table's broadcast routes differ between kernel versions (older ones also
        // add one for the network address); check the ones every kernel has, then the rest
        // line for line.
        let (local, lines): (Vec<&str>, Vec<&str>) = text
            .lines()
            .partition(|l| l.starts_with("  - route local "));
        for want in [
            "  - route local 10.0.0.1/32 (local dev vr proto kernel)",
            "  - route local 10.0.0.255/32 (broadcast dev vr proto kernel)",
            "  - route local 10.0.0.255/32 (broadcast dev vb proto kernel)",
        ] {
            assert!(local.contains(&want), "{want:?} missing:\n{text}");
        }
        assert_eq!(
            lines,
            [
                "blue:",
                "  ~ link vb: flags UP,BROADCAST,RUNNING,MULTICAST,LOWER_UP → BROADCAST,MULTICAST; oper_state UP → DOWN",
                "  - route main 10.0.0.0/24 (dev vb proto kernel)",
                "red:",
                "  ~ link vr: flags UP,BROADCAST,RUNNING,MULTICAST,LOWER_UP → UP,BROADCAST,MULTICAST; oper_state UP → DOWN",
                "  - address 10.0.0.1/24 dev vr",
                "  - route main 10.0.0.0/24 (dev vr proto kernel)",
                "  + route main 192.168.50.0/24 (via 172.16.0.254 dev d0 proto boot)",
                "  ~ sysctl ip_forward: 0 → 1",
                "  + firewall_rule nat POSTROUTING -s 10.0.0.0/24 -j MASQUERADE",
                "  ~ dns_file resolv.conf: changed lines",
                "      - nameserver 10.0.0.53",
                "      + nameserver 1.1.1.1",
                &format!("2 added, {} removed, 4 changed", 3 + local.len()),
            ],
            "full report:\n{text}"
        );

        let out = netlens(&["diff", "--json", o, n]);
        assert_eq!(out.status.code(), Some(1));
        let d: SnapshotDiff = serde_json::from_slice(&out.stdout).expect("diff JSON");
        let find = |ns: &str, object: ObjectKind, key: &str| {
            d.changes
                .iter()
                .find(|c| c.namespace == ns && c.object == object && c.key == key)
                .unwrap_or_else(|| panic!("no {object:?} {key} in {ns}: {:#?}", d.changes))
        };
        let vr = find("red", ObjectKind::Link, "vr");
        assert_eq!(vr.kind, ChangeKind::Changed);
        assert_eq!(vr.fields, ["flags", "oper_state"]);
        let fwd = find("red", ObjectKind::Sysctl, "ip_forward");
        assert_eq!(
            (fwd.before.as_deref(), fwd.after.as_deref()),
            (Some("0"), Some("1"))
        );
        let addr = find("red", ObjectKind::Address, "10.0.0.1/24 dev vr");
        assert_eq!(addr.kind, ChangeKind::Removed);
        let route = find("red", ObjectKind::Route, "main 192.168.50.0/24");
        assert_eq!(route.kind, ChangeKind::Added);
        let nat = find(
            "red",
            ObjectKind::FirewallRule,
            "nat POSTROUTING -s 10.0.0.0/24 -j MASQUERADE",
        );
        assert_eq!(nat.kind, ChangeKind::Added);
        let dns = find("red", ObjectKind::DnsFile, "resolv.conf");
        assert_eq!(
            (dns.before.as_deref(), dns.after.as_deref()),
            (Some("nameserver 10.0.0.53"), Some("nameserver 1.1.1.1"))
        );
        assert_eq!(d.changes.len(), lines.len() - 5 + local.len());

        let same = netlens(&["diff", o, o]);
        assert_eq!(same.status.code(), Some(0));
        assert_eq!(String::from_utf8_lossy(&same.stdout), "no changes\n");
    });
}

/// `red` and `blue` joined by a veth, `red` with a second leg and its own resolv.conf, no IPv6, all links up.
fn build_red_blue() {
    private_etc_netns(&["red"]);
    std::fs::write("/etc/netns/red/resolv.conf", "nameserver 10.0.0.53\n").unwrap();
    for n in ["red", "blue"] {
        sh(&["ip", "netns", "add", n]);
        // No IPv6: its link-local addresses and routes come and go with link state and
        // would make the expected report depend on DAD timing.
        ns_sh(n, &["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"]);
        ns_sh(
            n,
            &["sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"],
        );
        ns_sh(n, &["ip", "link", "set", "lo", "up"]);
    }
    sh(&[
        "ip", "link", "add", "vr", "netns", "red", "type", "veth", "peer", "name", "vb", "netns",
        "blue",
    ]);
    ns_sh("red", &["ip", "addr", "add", "10.0.0.1/24", "dev", "vr"]);
    ns_sh("blue", &["ip", "addr", "add", "10.0.0.2/24", "dev", "vb"]);
    // A second leg for the new route (no dummy module everywhere: a veth pair).
    ns_sh(
        "red",
        &[
            "ip", "link", "add", "d0", "type", "veth", "peer", "name", "d1",
        ],
    );
    ns_sh("red", &["ip", "addr", "add", "172.16.0.1/24", "dev", "d0"]);
    for (n, l) in [("red", "vr"), ("blue", "vb"), ("red", "d0"), ("red", "d1")] {
        ns_sh(n, &["ip", "link", "set", l, "up"]);
    }

    for (n, l) in [("red", "vr"), ("blue", "vb"), ("red", "d0"), ("red", "d1")] {
        wait_oper_state(n, l, "UP");
    }
}

/// The incident: a link down, an address gone, a route, ip_forward, a NAT rule and resolv.conf changed; then both veth ends are down.
fn make_incident_changes() {
    ns_sh("blue", &["ip", "link", "set", "vb", "down"]);
    ns_sh("red", &["ip", "addr", "del", "10.0.0.1/24", "dev", "vr"]);
    ns_sh(
        "red",
        &[
            "ip",
            "route",
            "add",
            "192.168.50.0/24",
            "via",
            "172.16.0.254",
        ],
    );
    ns_sh("red", &["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
    ns_sh(
        "red",
        &[
            "iptables",
            "-t",
            "nat",
            "-A",
            "POSTROUTING",
            "-s",
            "10.0.0.0/24",
            "-j",
            "MASQUERADE",
        ],
    );
    std::fs::write("/etc/netns/red/resolv.conf", "nameserver 1.1.1.1\n").unwrap();
    wait_oper_state("blue", "vb", "DOWN");
    // vr lost its carrier with its peer.
    wait_oper_state("red", "vr", "DOWN");
}

/// Runs `netlens diff OLD NEW` and returns (exit code, stderr).
fn diff_fails(old: &std::path::Path, new: &std::path::Path) -> (Option<i32>, String) {
    let out = netlens(&["diff", old.to_str().unwrap(), new.to_str().unwrap()]);
    assert!(out.stdout.is_empty());
    (out.status.code(), String::from_utf8(out.stderr).unwrap())
}

#[test]
fn bad_input_exits_2_with_one_line_naming_the_file() {
    // No namespaces needed: runs anywhere.
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.json");
    std::fs::write(
        &good,
        r#"{"schema_version":1,"taken_at":1,"hostname":"h","namespaces":[]}"#,
    )
    .unwrap();
    let missing = dir.path().join("missing.json");
    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, "{not json").unwrap();
    let future = dir.path().join("future.json");
    std::fs::write(
        &future,
        r#"{"schema_version":99,"taken_at":1,"hostname":"h","namespaces":[]}"#,
    )
    .unwrap();
    let wrong = dir.path().join("wrong.json");
    std::fs::write(&wrong, r#"{"schema_version":1,"namespaces":"x"}"#).unwrap();

    for (old, new, bad, says) in [
        (&missing, &good, &missing, "cannot read"),
        (&good, &garbage, &garbage, "not valid JSON"),
        (&good, &future, &future, "schema_version 99"),
        (&wrong, &good, &wrong, "not a netlens snapshot"),
    ] {
        let (code, stderr) = diff_fails(old, new);
        assert_eq!(code, Some(2), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains(&bad.display().to_string()) && stderr.contains(says),
            "{stderr}"
        );
    }

    let out = netlens(&["diff", good.to_str().unwrap(), good.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "no changes\n");
}

#[test]
fn diff_ignores_traffic_noise() {
    in_world("diff::diff_ignores_traffic_noise", || {
        for n in ["red", "blue"] {
            sh(&["ip", "netns", "add", n]);
            ns_sh(n, &["ip", "link", "set", "lo", "up"]);
        }
        sh(&[
            "ip", "link", "add", "vr", "netns", "red", "type", "veth", "peer", "name", "vb",
            "netns", "blue",
        ]);
        ns_sh("red", &["ip", "addr", "add", "10.0.0.1/24", "dev", "vr"]);
        ns_sh("blue", &["ip", "addr", "add", "10.0.0.2/24", "dev", "vb"]);
        ns_sh("red", &["ip", "link", "set", "vr", "up"]);
        ns_sh("blue", &["ip", "link", "set", "vb", "up"]);
        wait_oper_state("red", "vr", "UP");
        wait_oper_state("blue", "vb", "UP");
        // Counting rules in both backends' views, and conntrack entries from the pings.
        ns_sh(
            "blue",
            &["iptables", "-A", "INPUT", "-p", "icmp", "-j", "ACCEPT"],
        );
        ns_sh(
            "blue",
            &[
                "iptables",
                "-A",
                "INPUT",
                "-m",
                "conntrack",
                "--ctstate",
                "NEW",
                "-j",
                "ACCEPT",
            ],
        );
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("old.json");
        let new = dir.path().join("new.json");
        ns_sh("red", &["ping", "-c2", "-i0.2", "-W1", "10.0.0.2"]);
        save_snapshot(&old);
        // More packets: counters and neighbour state move, nothing is configured differently.
        ns_sh("red", &["ping", "-c3", "-i0.2", "-W1", "10.0.0.2"]);
        ns_sh("blue", &["ping", "-c1", "-W1", "10.0.0.1"]);
        save_snapshot(&new);

        let out = netlens(&["diff", old.to_str().unwrap(), new.to_str().unwrap()]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(text, "no changes\n");
        assert_eq!(out.status.code(), Some(0));
        // The noise was really there to be ignored.
        let (a, b) = (
            std::fs::read_to_string(&old).unwrap(),
            std::fs::read_to_string(&new).unwrap(),
        );
        assert_ne!(a, b);
    });
}

/// `--snapshot`/`--since` belong to the TUI (no command). Before a command they used to be
/// ignored: `netlens --snapshot F doctor` examined the live node while its user believed it
/// read F. Now refused with clap's usage error, exit 2, before anything runs.
#[test]
fn tui_options_before_a_command_are_refused_not_ignored() {
    let saved = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo-bridge.json");
    for args in [
        vec!["--snapshot", saved, "doctor"],
        vec!["--since", saved, "snapshot", "--json"],
    ] {
        let out = netlens(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "netlens {args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "netlens {args:?} ran anyway");
        assert!(stderr.contains("cannot be used with"), "{stderr}");
    }
}
