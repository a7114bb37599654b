//! Cases the random-topology oracle left open, each rebuilt by hand so it is deterministic:
//! kernel state a fault leaves behind (seed 365), a route back lost behind a port-forward
//! router (seed 232), and a stub router with no default route. Addresses 10.74.x; the kernel
//! (ping, TCP connect) decides each time.

use crate::common::rules::*;
use crate::common::world::{in_world, sh};

fn path_delivers(from: &str, dst: &str) -> bool {
    let out = netlens(&["path", "--json", "--from", from, dst]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("path json: {e}: {}", String::from_utf8_lossy(&out.stderr)));
    v["delivers"].as_bool().expect("delivers")
}

/// Host `h` at `10.74.0.<n>` on bridge br0 in `r` through port `port`, whose MAC is set so the
/// bridge's own MAC (the lowest of its ports' unless set) is predictable.
fn host_on_bridge(h: &str, n: u8, port: &str, mac: &str) {
    netns(h);
    veth(h, "eth0", "r", port);
    sh(&["ip", "-n", "r", "link", "set", port, "address", mac]);
    sh(&["ip", "-n", "r", "link", "set", port, "master", "br0"]);
    addr(h, &format!("10.74.0.{n}/24"), "eth0");
    route(h, &["default", "via", "10.74.0.1"]);
}

/// Oracle seed 365: a bridge with no MAC of its own takes its lowest port's; detaching that
/// port changes the bridge's MAC, and a host that resolved the gateway before still sends to
/// the old MAC (its entry stays REACHABLE, then STALE, until the kernel probes again), which
/// no port has now: its frames are flooded and lost. `path` must say so from the snapshot
/// (the host's neighbour entry against the bridge's MAC), and still deliver when the detached
/// port was not the one whose MAC the bridge had.
#[test]
fn a_neighbour_entry_left_on_a_bridges_old_mac_loses_frames() {
    in_world(
        "doctor_rules::oracle_cases::a_neighbour_entry_left_on_a_bridges_old_mac_loses_frames",
        || {
            for n in ["r", "s"] {
                netns(n);
            }
            sh(&["ip", "-n", "r", "link", "add", "br0", "type", "bridge"]);
            sh(&["ip", "-n", "r", "link", "set", "br0", "up"]);
            addr("r", "10.74.0.1/24", "br0");
            host_on_bridge("h1", 11, "v1", "02:00:00:74:00:01");
            host_on_bridge("h2", 12, "v2", "02:00:00:74:00:02");
            host_on_bridge("h3", 13, "v3", "02:00:00:74:00:03");
            veth("r", "u0", "s", "eth0");
            addr("r", "10.74.1.1/24", "u0");
            addr("s", "10.74.1.2/24", "eth0");
            route("s", &["default", "via", "10.74.1.1"]);
            sysctl("r", "net.ipv4.ip_forward", "1");
            assert!(ping_ok("h2", "10.74.1.2", None), "healthy");
            assert!(path_delivers("h2", "10.74.1.2"), "path, healthy");

            // v3 had not the lowest MAC: the bridge keeps its MAC, h2's entry stays right.
            sh(&["ip", "-n", "r", "link", "set", "v3", "nomaster"]);
            assert!(
                path_delivers("h2", "10.74.1.2"),
                "path, bridge MAC unchanged"
            );
            assert!(
                ping_ok("h2", "10.74.1.2", None),
                "kernel, bridge MAC unchanged"
            );

            // v1 had it: the bridge now answers to v2's MAC, h2 still sends to v1's.
            sh(&["ip", "-n", "r", "link", "set", "v1", "nomaster"]);
            let out = sh(&["ip", "-n", "r", "-br", "link", "show", "br0"]);
            assert!(
                out.contains("02:00:00:74:00:02"),
                "the bridge took v2's MAC: {out}"
            );
            let path = path_delivers("h2", "10.74.1.2");
            let kernel = ping_ok("h2", "10.74.1.2", None);
            assert!(
                !kernel,
                "the kernel loses h2's frames to the bridge's old MAC"
            );
            assert_eq!(path, kernel, "path against the kernel");
        },
    );
}

/// Segment 10.74.10.0/24 (bridge br0 in `sw`): gateway r0 (.1, masquerading out of its
/// default route to `inet`, which holds 10.74.99.1), host h (.10, default via r0) and stub router r1 (.2, forwarding, no
/// default route) with its stub LAN 10.74.20.0/24 where s (.2) lives. r0 and h route the
/// stub LAN via r1; s routes only the segment via r1.
fn stub_router() {
    for n in ["sw", "r0", "h", "r1", "s", "inet"] {
        netns(n);
    }
    sh(&["ip", "-n", "sw", "link", "add", "br0", "type", "bridge"]);
    sh(&["ip", "-n", "sw", "link", "set", "br0", "up"]);
    for (n, port, a) in [
        ("r0", "p0", "10.74.10.1/24"),
        ("r1", "p1", "10.74.10.2/24"),
        ("h", "p2", "10.74.10.10/24"),
    ] {
        veth(n, "eth0", "sw", port);
        sh(&["ip", "-n", "sw", "link", "set", port, "master", "br0"]);
        addr(n, a, "eth0");
    }
    veth("r0", "u0", "inet", "eth0");
    addr("r0", "10.74.30.1/24", "u0");
    addr("inet", "10.74.30.2/24", "eth0");
    addr("inet", "10.74.99.1/32", "lo");
    let masq = [
        "-t",
        "nat",
        "-A",
        "POSTROUTING",
        "-o",
        "u0",
        "-j",
        "MASQUERADE",
    ];
    sh(&[&["ip", "netns", "exec", "r0", "iptables"][..], &masq[..]].concat());
    route("r0", &["default", "via", "10.74.30.2"]);
    veth("r1", "l0", "s", "eth0");
    addr("r1", "10.74.20.1/24", "l0");
    addr("s", "10.74.20.2/24", "eth0");
    route("s", &["10.74.10.0/24", "via", "10.74.20.1"]);
    for n in ["r0", "h"] {
        route(n, &["10.74.20.0/24", "via", "10.74.10.2"]);
    }
    route("h", &["default", "via", "10.74.10.1"]);
    for n in ["r0", "r1"] {
        sysctl(n, "net.ipv4.ip_forward", "1");
    }
}

/// A stub router with no default route carries all it is asked to (its LAN and the segment,
/// both ways): only its own traffic beyond is lost. That is worth a warning, not an error.
/// Once its LAN's host sends everything through it, traffic is really lost there: an error.
#[test]
fn a_stub_router_without_a_default_route_is_a_warning_until_somebody_needs_one() {
    in_world(
        "doctor_rules::oracle_cases::a_stub_router_without_a_default_route_is_a_warning_until_somebody_needs_one",
        || {
            stub_router();
            for (from, dst) in [
                ("s", "10.74.10.10"),
                ("h", "10.74.20.2"),
                ("r0", "10.74.20.2"),
            ] {
                assert!(
                    ping_ok(from, dst, None),
                    "{from} → {dst}: the stub carries it"
                );
            }
            assert!(ping_ok("h", "10.74.99.1", None), "h's way out");
            assert!(!ping_ok("r1", "10.74.99.1", None), "r1's own way out");
            let f = expect_finding("no-default", "warning", "r1", ("route", "default"));
            assert_eq!(f["fix"]["steps"].as_array().map(Vec::len), Some(1), "{f:#}");

            route("s", &["default", "via", "10.74.20.1"]);
            assert!(
                !ping_ok("s", "10.74.99.1", None),
                "s sends everything through r1"
            );
            expect_finding("no-default", "error", "r1", ("route", "default"));
            route("r1", &["default", "via", "10.74.10.1"]);
            assert!(ping_ok("s", "10.74.99.1", None), "with r1's default route");
        },
    );
}

/// Oracle seed 232: r0 routes its private LAN 10.74.40.0/24 out of a public uplink without NAT
/// (inet routes the LAN back through r0) and port-forwards 198.51.100.2:8081 to h. Then inet
/// loses its route back. A NAT router that lost its MASQUERADE looks the same (a port-forward
/// and no MASQUERADE), so the doctor names both: the masquerade (error: outbound is lost
/// either way) and inet's route back (a warning: only plausible). `fix all` applies both, and
/// then the kernel delivers both ways, as it did before the fault.
#[test]
fn a_lost_route_back_behind_a_port_forwarding_router_is_named_beside_the_masquerade() {
    in_world(
        "doctor_rules::oracle_cases::a_lost_route_back_behind_a_port_forwarding_router_is_named_beside_the_masquerade",
        || {
            let _state = crate::common::plan::private_state();
            for n in ["inet", "r0", "h"] {
                netns(n);
            }
            veth("r0", "up0", "inet", "dn0");
            addr("inet", "198.51.100.1/24", "dn0");
            addr("inet", "203.0.113.10/32", "lo");
            addr("r0", "198.51.100.2/24", "up0");
            route("r0", &["default", "via", "198.51.100.1"]);
            veth("h", "eth0", "r0", "l1");
            addr("r0", "10.74.40.1/24", "l1");
            addr("h", "10.74.40.11/24", "eth0");
            route("h", &["default", "via", "10.74.40.1"]);
            sysctl("r0", "net.ipv4.ip_forward", "1");
            let dnat = [
                "-t", "nat", "-A", "PREROUTING", "-i", "up0", "-d", "198.51.100.2", "-p", "tcp",
                "--dport", "8081", "-j", "DNAT", "--to-destination", "10.74.40.11:8080",
            ];
            sh(&[&["ip", "netns", "exec", "r0", "iptables"][..], &dnat[..]].concat());
            route("inet", &["10.74.40.0/24", "via", "198.51.100.2"]);
            let both_ways = || {
                (
                    ping_ok("h", "203.0.113.10", None),
                    ping_ok("inet", "10.74.40.11", None),
                )
            };
            assert_eq!(both_ways(), (true, true), "healthy, routed");
            expect_clean_of("no-masquerade");

            sh(&["ip", "-n", "inet", "route", "del", "10.74.40.0/24"]);
            assert_eq!(both_ways(), (false, false), "inet lost its route back");
            let (_, findings) = doctor();
            let named = |rule: &str, ns: &str, sev: &str| {
                of_rule(&findings, rule)
                    .iter()
                    .any(|f| f["namespace"] == ns && f["severity"] == sev && f["fix"].is_object())
            };
            assert!(named("no-masquerade", "r0", "error"), "{findings:#?}");
            assert!(named("no-route", "inet", "warning"), "{findings:#?}");

            let out = netlens(&["fix", "all", "--yes"]);
            assert!(
                out.status.success(),
                "fix all: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(both_ways(), (true, true), "after fix all");
            let (code, after) = doctor();
            let left: Vec<&serde_json::Value> = after
                .iter()
                .filter(|f| f["severity"] == "error" || f["severity"] == "warning")
                .collect();
            assert!(left.is_empty() && code == 0, "after fix all: {after:#?}");
            undo();
            assert_eq!(both_ways(), (false, false), "after undo");
        },
    );
}
