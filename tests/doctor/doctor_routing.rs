//! The routing rules of `netlens doctor` on hand-built topologies, in throwaway worlds: the
//! kernel is the oracle. Each fault is proved with a real ping that worked before; the doctor
//! must name the fault's object, `fix all --yes` must make the ping work again with the doctor
//! clean, and `undo --yes` must bring the failure back.

use crate::common;

use common::world::{in_world, netlens_bin, sh, try_sh};

/// Runs netlens with its journal and sysctl.d inside the world (tmpfs on /run).
fn netlens(args: &[&str]) -> std::process::Output {
    std::process::Command::new(netlens_bin())
        .args(args)
        .env("NETLENS_STATE_DIR", "/run/netlens-state")
        .env("NETLENS_SYSCTL_DIR", "/run/netlens-sysctl.d")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run netlens")
}

/// `doctor --json`: (exit code, findings of severity error or warning).
fn doctor() -> (i32, Vec<serde_json::Value>) {
    let out = netlens(&["doctor", "--json"]);
    let code = out.status.code().unwrap_or(-1);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "doctor JSON: {e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let findings = v["findings"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|f| f["severity"] == "error" || f["severity"] == "warning")
        .collect();
    (code, findings)
}

fn ids(findings: &[serde_json::Value]) -> Vec<String> {
    findings
        .iter()
        .map(|f| f["id"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn ip(ns: &str, args: &[&str]) {
    let mut argv = vec!["ip", "-n", ns];
    argv.extend_from_slice(args);
    sh(&argv);
}

fn ping_ok(ns: &str, dst: &str) -> bool {
    try_sh(&["ip", "netns", "exec", ns, "ping", "-c1", "-W1", dst])
        .status
        .success()
}

fn namespaces(names: &[&str]) {
    for n in names {
        sh(&["ip", "netns", "add", n]);
        ip(n, &["link", "set", "lo", "up"]);
    }
}

/// A veth pair `a`@`ns_a` ⇄ `b`@`ns_b`, addressed and up.
fn wire(ns_a: &str, a: &str, cidr_a: &str, ns_b: &str, b: &str, cidr_b: &str) {
    sh(&[
        "ip", "link", "add", a, "netns", ns_a, "type", "veth", "peer", "name", b, "netns", ns_b,
    ]);
    for (ns, l, c) in [(ns_a, a, cidr_a), (ns_b, b, cidr_b)] {
        if !c.is_empty() {
            ip(ns, &["addr", "add", c, "dev", l]);
        }
        ip(ns, &["link", "set", l, "up"]);
    }
}

fn forward(ns: &str) {
    sh(&[
        "ip",
        "netns",
        "exec",
        ns,
        "sysctl",
        "-qw",
        "net.ipv4.ip_forward=1",
    ]);
}

fn assert_clean(what: &str) {
    let (code, findings) = doctor();
    assert_eq!(code, 0, "{what}: doctor must be clean: {findings:#?}");
    assert!(findings.is_empty(), "{what}: {findings:#?}");
}

/// The fault is real (the ping fails), the doctor names `expected` (and no other error),
/// `fix all --yes` repairs it (the ping works, the doctor is clean), `undo --yes` brings it
/// back. Returns the finding.
fn drill(what: &str, from: &str, dst: &str, expected: &str) -> serde_json::Value {
    drill_probes(what, &[(from, dst)], expected)
}

/// [`drill`] with several probes, each of which must fail and then work again.
fn drill_probes(what: &str, probes: &[(&str, &str)], expected: &str) -> serde_json::Value {
    drill_probes_also(what, probes, expected, "")
}

/// [`drill_probes`], with other findings allowed when their id starts with `also`.
fn drill_probes_also(
    what: &str,
    probes: &[(&str, &str)],
    expected: &str,
    also: &str,
) -> serde_json::Value {
    let all_fail = || probes.iter().all(|(from, dst)| !ping_ok(from, dst));
    assert!(all_fail(), "{what}: {probes:?} do not all fail");
    let (code, findings) = doctor();
    println!("{what}: {:?}", ids(&findings));
    assert_eq!(code, 1, "{what}: doctor must exit 1: {findings:#?}");
    let finding = findings
        .iter()
        .find(|f| f["id"] == expected)
        .unwrap_or_else(|| panic!("{what}: expected {expected} in {findings:#?}"))
        .clone();
    let unrelated: Vec<String> = ids(&findings)
        .into_iter()
        .filter(|id| id != expected && (also.is_empty() || !id.starts_with(also)))
        .collect();
    assert!(unrelated.is_empty(), "{what}: unrelated {unrelated:?}");
    let out = netlens(&["fix", "all", "--yes"]);
    assert!(
        out.status.success(),
        "{what}: fix all: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for (from, dst) in probes {
        assert!(ping_ok(from, dst), "{what}: {from} → {dst} fails after fix");
    }
    assert_clean(&format!("{what} after fix"));
    let out = netlens(&["undo", "--yes"]);
    assert!(
        out.status.success(),
        "{what}: undo: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(all_fail(), "{what}: undo must bring it back");
    finding
}

/// Two separate segments reuse 10.50.0.0/24 and 10.99.0.0/24: a reaches s through r on one
/// of them; b1/b2 and c1/c2 are unrelated pairs on the others. Nothing there is wrong.
fn reused_subnets() {
    namespaces(&["a", "r", "s", "b1", "b2", "c1", "c2"]);
    wire("a", "eth0", "10.50.0.2/24", "r", "eth0", "10.50.0.1/24");
    wire("r", "eth1", "10.99.0.1/24", "s", "eth0", "10.99.0.2/24");
    forward("r");
    ip("a", &["route", "add", "10.99.0.0/24", "via", "10.50.0.1"]);
    ip("s", &["route", "add", "default", "via", "10.99.0.1"]);
    // Same subnets, other segments: b2 forwards, b1 goes out through it; c1 goes out
    // through c2, which holds the address that is r's gateway address on the first segment.
    wire("b1", "eth0", "10.50.0.3/24", "b2", "eth0", "10.50.0.4/24");
    forward("b2");
    ip("b1", &["route", "add", "default", "via", "10.50.0.4"]);
    wire("c1", "eth0", "10.99.0.5/24", "c2", "eth0", "10.99.0.1/24");
    ip("c1", &["route", "add", "default", "via", "10.99.0.1"]);
}

#[test]
fn reused_subnet_on_another_segment_is_not_a_gateway() {
    in_world(
        "doctor_routing::reused_subnet_on_another_segment_is_not_a_gateway",
        || {
            reused_subnets();
            assert!(ping_ok("a", "10.99.0.2"));
            assert_clean("two segments reusing one subnet");

            // A real fault: s loses its way back. The fix must use the gateway on s's segment
            // (r's 10.99.0.1), which the ping proves.
            ip("s", &["route", "del", "default"]);
            let f = drill(
                "s loses its default route",
                "a",
                "10.99.0.2",
                "no-route:s:10.50.0.0/24",
            );
            let steps = f["fix"]["steps"].to_string();
            assert!(steps.contains("10.99.0.1"), "{steps}");
        },
    );
}

fn masquerade(ns: &str, src: &str, out: &str) {
    sh(&[
        "ip",
        "netns",
        "exec",
        ns,
        "iptables",
        "-t",
        "nat",
        "-A",
        "POSTROUTING",
        "-s",
        src,
        "-o",
        out,
        "-j",
        "MASQUERADE",
    ]);
}

/// h behind r (masquerading onto the uplink), r behind u, u behind "the internet" i holding
/// 8.8.8.8 (u masquerades onto it); a server s on u's other side.
///
/// ```text
/// h 10.1.0.2 ── 10.1.0.1 r 10.2.0.2 ── 10.2.0.1 u 10.3.0.1 ── 10.3.0.2 i (8.8.8.8 on lo)
///                                               u 10.4.0.1 ── 10.4.0.2 s
/// ```
fn chain() {
    namespaces(&["h", "r", "u", "i", "s"]);
    wire("h", "eth0", "10.1.0.2/24", "r", "eth0", "10.1.0.1/24");
    wire("r", "eth1", "10.2.0.2/24", "u", "eth0", "10.2.0.1/24");
    wire("u", "eth1", "10.3.0.1/24", "i", "eth0", "10.3.0.2/24");
    wire("u", "eth2", "10.4.0.1/24", "s", "eth0", "10.4.0.2/24");
    ip("i", &["addr", "add", "8.8.8.8/32", "dev", "lo"]);
    forward("r");
    forward("u");
    masquerade("r", "10.1.0.0/24", "eth1");
    masquerade("u", "10.0.0.0/8", "eth1");
    ip("h", &["route", "add", "default", "via", "10.1.0.1"]);
    ip("r", &["route", "add", "default", "via", "10.2.0.1"]);
    ip("u", &["route", "add", "default", "via", "10.3.0.2"]);
    // "The internet" forwards: it is where u's default route leads.
    forward("i");
    ip("s", &["route", "add", "default", "via", "10.4.0.1"]);
    assert!(ping_ok("h", "8.8.8.8"));
    assert!(ping_ok("h", "10.4.0.2"));
    assert_clean("healthy chain");
}

#[test]
fn lone_host_behind_masquerading_router_loses_default() {
    in_world(
        "doctor_routing::lone_host_behind_masquerading_router_loses_default",
        || {
            chain();
            ip("h", &["route", "del", "default"]);
            let f = drill("h loses its default route", "h", "8.8.8.8", "no-default:h");
            let steps = f["fix"]["steps"].to_string();
            assert!(steps.contains("0.0.0.0/0"), "a default route: {steps}");
        },
    );
}

#[test]
fn router_its_hosts_use_loses_default() {
    in_world("doctor_routing::router_its_hosts_use_loses_default", || {
        chain();
        ip("r", &["route", "del", "default"]);
        drill("r loses its default route", "h", "8.8.8.8", "no-default:r");
    });
}

/// Oracle seed 132: the last router before "the internet" loses its default route. i holds
/// 8.8.8.8 and has no default route of its own (nothing lies beyond it), yet it is where u's
/// way out leads.
#[test]
fn uplink_router_loses_default_towards_the_end_of_the_line() {
    in_world(
        "doctor_routing::uplink_router_loses_default_towards_the_end_of_the_line",
        || {
            chain();
            ip("u", &["route", "del", "default"]);
            drill("u loses its default route", "h", "8.8.8.8", "no-default:u");
        },
    );
}

/// Oracle seed 182: the middle router of a chain loses its default route but keeps its route
/// to the LAN further in; the LAN's hosts send everything through it.
///
/// ```text
/// h 10.1.0.2 ── 10.1.0.1 a 10.9.1.2 ── 10.9.1.1 b 10.9.2.2 ── 10.9.2.1 c 198.51.100.2 ── inet
/// ```
#[test]
fn middle_router_of_a_chain_loses_default() {
    in_world(
        "doctor_routing::middle_router_of_a_chain_loses_default",
        || {
            namespaces(&["h", "a", "b", "c", "inet"]);
            wire("h", "eth0", "10.1.0.2/24", "a", "eth0", "10.1.0.1/24");
            wire("a", "up0", "10.9.1.2/30", "b", "dn0", "10.9.1.1/30");
            wire("b", "up0", "10.9.2.2/30", "c", "dn0", "10.9.2.1/30");
            wire(
                "c",
                "up0",
                "198.51.100.2/24",
                "inet",
                "dn0",
                "198.51.100.1/24",
            );
            ip("inet", &["addr", "add", "203.0.113.10/32", "dev", "lo"]);
            for r in ["a", "b", "c"] {
                forward(r);
            }
            ip("h", &["route", "add", "default", "via", "10.1.0.1"]);
            ip("a", &["route", "add", "default", "via", "10.9.1.1"]);
            ip("b", &["route", "add", "10.1.0.0/24", "via", "10.9.1.2"]);
            ip("b", &["route", "add", "default", "via", "10.9.2.1"]);
            ip("c", &["route", "add", "10.0.0.0/8", "via", "10.9.2.2"]);
            ip("c", &["route", "add", "default", "via", "198.51.100.1"]);
            masquerade("c", "10.0.0.0/8", "up0");
            assert!(ping_ok("h", "203.0.113.10"));
            assert_clean("a chain of three routers");
            ip("b", &["route", "del", "default"]);
            drill_probes_also(
                "b loses its default route",
                &[("h", "203.0.113.10")],
                "no-default:b",
                "no-route:b:",
            );
        },
    );
}

/// As above with an upstream that forwards nothing: it still holds what r0's hosts reach.
#[test]
fn uplink_router_loses_default_towards_a_server() {
    in_world(
        "doctor_routing::uplink_router_loses_default_towards_a_server",
        || {
            two_link_uplink();
            ip("r0", &["route", "del", "default"]);
            drill(
                "r0 loses its default route",
                "h",
                "203.0.113.10",
                "no-default:r0",
            );
        },
    );
}

#[test]
fn server_behind_uplink_loses_default() {
    in_world("doctor_routing::server_behind_uplink_loses_default", || {
        chain();
        ip("s", &["route", "del", "default"]);
        drill("s loses its default route", "h", "10.4.0.2", "no-default:s");
    });
}

#[test]
fn link_down_fix_brings_back_the_flushed_default_route() {
    in_world(
        "doctor_routing::link_down_fix_brings_back_the_flushed_default_route",
        || {
            chain();
            // Taken down by hand: netlens has no record of the default route the kernel drops.
            ip("h", &["link", "set", "eth0", "down"]);
            drill("h's eth0 down", "h", "8.8.8.8", "link-down:h:eth0");
        },
    );
}

/// Oracle seed 173: the link towards a plain router is taken down by hand, which flushes the
/// route to the router's LAN through it. Setting the link up alone leaves k → h broken: the
/// fix must put the route back (the rules, run on the fixed copy, say which). Meanwhile r,
/// whose gateway is on the down link, must not be told to masquerade (that "fix" would
/// repair h → k and leave k → h broken).
#[test]
fn link_down_fix_brings_back_the_route_to_the_lan_behind_it() {
    in_world(
        "doctor_routing::link_down_fix_brings_back_the_route_to_the_lan_behind_it",
        || {
            plain_routers();
            let probes = [("k", "10.1.0.2"), ("h", "10.3.0.2")];
            for (from, dst) in probes {
                assert!(ping_ok(from, dst), "healthy: {from} → {dst}");
            }
            ip("u", &["link", "set", "eth0", "down"]);
            // r's gateway does not answer ARP indeed (gateway-neigh, a warning, no fix).
            let f = drill_probes_also(
                "u's eth0 down",
                &probes,
                "link-down:u:eth0",
                "gateway-neigh",
            );
            let steps = f["fix"]["steps"].to_string();
            assert!(steps.contains("10.1.0.0/24"), "the route back: {steps}");
        },
    );
}

/// h behind r, a plain router (no NAT), behind u, which routes h's subnet back through r;
/// k on u's other side.
///
/// ```text
/// h 10.1.0.2 ── 10.1.0.1 r 10.2.0.2 ── 10.2.0.1 u 10.3.0.1 ── 10.3.0.2 k
/// ```
#[test]
fn upstream_route_back_deleted_is_a_route_not_a_masquerade() {
    in_world(
        "doctor_routing::upstream_route_back_deleted_is_a_route_not_a_masquerade",
        || {
            plain_routers();
            let probes = [("h", "10.3.0.2"), ("k", "10.1.0.2")];
            for (from, dst) in probes {
                assert!(ping_ok(from, dst), "healthy: {from} → {dst}");
            }
            assert_clean("plain routers");

            ip("u", &["route", "del", "10.1.0.0/24"]);
            // Masquerading at r would repair h → k only: k → h needs the route back.
            drill_probes("u loses its route back", &probes, "no-route:u:10.1.0.0/24");
        },
    );
}

/// `path --from NS DST` exit code (0: delivered).
fn path_delivers(from: &str, dst: &str) -> bool {
    let out = netlens(&["path", "--from", from, dst]);
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 1,
        "path --from {from} {dst}: exit {code}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    code == 0
}

/// h's mask is too wide (/8): it ARPs on its bridge for r's address on r's other interface,
/// and Linux answers for any local address while arp_ignore is 0. `path` must agree with the
/// kernel, before and after arp_ignore=1 stops the answers.
///
/// ```text
/// h 10.0.0.2/8 ── port of br0 10.0.0.1/24 in r, r eth1 10.1.0.1/24 ── 10.1.0.2 s
/// ```
#[test]
fn path_follows_arp_answers_for_an_address_on_another_interface() {
    in_world(
        "doctor_routing::path_follows_arp_answers_for_an_address_on_another_interface",
        || {
            namespaces(&["h", "r", "s"]);
            ip("r", &["link", "add", "br0", "type", "bridge"]);
            ip("r", &["addr", "add", "10.0.0.1/24", "dev", "br0"]);
            ip("r", &["link", "set", "br0", "up"]);
            wire("h", "eth0", "10.0.0.2/8", "r", "port-h", "");
            ip("r", &["link", "set", "port-h", "master", "br0"]);
            wire("r", "eth1", "10.1.0.1/24", "s", "eth0", "10.1.0.2/24");
            forward("r");
            ip("s", &["route", "add", "default", "via", "10.1.0.1"]);
            // Reality first, then path, for each destination.
            let check = |what: &str| {
                for dst in ["10.1.0.1", "10.0.0.1", "10.1.0.2"] {
                    let real = ping_ok("h", dst);
                    assert_eq!(
                        path_delivers("h", dst),
                        real,
                        "{what}: path h → {dst} must say what ping says ({real})"
                    );
                }
            };
            assert!(ping_ok("h", "10.1.0.1"), "the kernel answers ARP for it");
            check("arp_ignore 0");
            sh(&[
                "ip",
                "netns",
                "exec",
                "r",
                "sysctl",
                "-qw",
                "net.ipv4.conf.all.arp_ignore=1",
            ]);
            sh(&["ip", "-n", "h", "neigh", "flush", "dev", "eth0"]);
            assert!(!ping_ok("h", "10.1.0.1"), "arp_ignore=1 stops the answer");
            check("arp_ignore 1");
        },
    );
}

/// Asymmetric routes: h's traffic to s goes a → b, b's replies go back through c. With strict
/// rp_filter in b, packets from h (not b's neighbour: a routes them without NAT) arriving on
/// b's eth0 are dropped, since b routes h's subnet back out of eth2.
///
/// ```text
/// h 10.1.0.2 ── 10.1.0.1 a 10.2.0.2 ── 10.2.0.1 b 10.3.0.1 ── 10.3.0.2 s
///                        a 10.5.0.1 ── 10.5.0.2 c 10.4.0.2 ── 10.4.0.1 b
/// ```
#[test]
fn strict_rp_filter_judged_by_the_sources_that_arrive() {
    in_world(
        "doctor_routing::strict_rp_filter_judged_by_the_sources_that_arrive",
        || {
            namespaces(&["h", "a", "b", "c", "s"]);
            wire("h", "eth0", "10.1.0.2/24", "a", "eth0", "10.1.0.1/24");
            wire("a", "eth1", "10.2.0.2/24", "b", "eth0", "10.2.0.1/24");
            wire("b", "eth1", "10.3.0.1/24", "s", "eth0", "10.3.0.2/24");
            wire("b", "eth2", "10.4.0.1/24", "c", "eth0", "10.4.0.2/24");
            wire("a", "eth2", "10.5.0.1/24", "c", "eth1", "10.5.0.2/24");
            for n in ["a", "b", "c"] {
                forward(n);
            }
            ip("h", &["route", "add", "default", "via", "10.1.0.1"]);
            ip("a", &["route", "add", "10.3.0.0/24", "via", "10.2.0.1"]);
            ip("b", &["route", "add", "10.1.0.0/24", "via", "10.4.0.2"]);
            ip("c", &["route", "add", "10.1.0.0/24", "via", "10.5.0.1"]);
            // a and b reach each other's far links through c too.
            ip("a", &["route", "add", "10.4.0.0/24", "via", "10.5.0.2"]);
            ip("b", &["route", "add", "10.5.0.0/24", "via", "10.4.0.2"]);
            ip("s", &["route", "add", "default", "via", "10.3.0.1"]);
            assert!(ping_ok("h", "10.3.0.2"), "asymmetric but working");
            assert_clean("asymmetric routes, rp_filter off");

            sh(&[
                "ip",
                "netns",
                "exec",
                "b",
                "sysctl",
                "-qw",
                "net.ipv4.conf.all.rp_filter=1",
            ]);
            drill(
                "strict rp_filter in b",
                "h",
                "10.3.0.2",
                "rp-filter-strict:b:eth0",
            );
        },
    );
}

fn sysctl(ns: &str, kv: &str) {
    sh(&["ip", "netns", "exec", ns, "sysctl", "-qw", kv]);
}

/// "The internet" holding 203.0.113.10 on lo behind a masquerading router r0; r1 behind r0
/// over two links: r0 routes h's subnet to r1 over t1, r1 sends everything back over a1.
/// inet forwards nothing and has nothing beyond it to forward to.
///
/// ```text
/// inet 198.51.100.1 ── 198.51.100.2 r0 10.1.255.1 ── 10.1.255.2 r1 (up0) 10.1.0.1 ── 10.1.0.2 h
///                                   r0 10.1.254.1 ── 10.1.254.2 r1 (up1)
/// ```
fn two_link_uplink() {
    namespaces(&["inet", "r0", "r1", "h"]);
    inet_uplink();
    wire("r0", "t1", "10.1.255.1/30", "r1", "up0", "10.1.255.2/30");
    wire("r0", "a1", "10.1.254.1/30", "r1", "up1", "10.1.254.2/30");
    wire("r1", "eth0", "10.1.0.1/24", "h", "eth0", "10.1.0.2/24");
    forward("r0");
    forward("r1");
    masquerade("r0", "10.0.0.0/8", "up0");
    ip("r0", &["route", "add", "default", "via", "198.51.100.1"]);
    ip("r0", &["route", "add", "10.1.0.0/24", "via", "10.1.255.2"]);
    ip("r1", &["route", "add", "default", "via", "10.1.254.1"]);
    ip("h", &["route", "add", "default", "via", "10.1.0.1"]);
    assert!(ping_ok("h", "203.0.113.10"), "asymmetric but working");
}

#[test]
fn default_gateway_with_nothing_beyond_it_need_not_forward() {
    in_world(
        "doctor_routing::default_gateway_with_nothing_beyond_it_need_not_forward",
        || {
            two_link_uplink();
            // inet has ip_forward=0: r0's default route leads to it, but it only delivers.
            assert_clean("inet forwards nothing and has nowhere to forward to");
            // Given somewhere to forward to (a second link), it is a gateway that drops.
            namespaces(&["far"]);
            wire(
                "inet",
                "eth1",
                "192.0.2.1/24",
                "far",
                "eth0",
                "192.0.2.2/24",
            );
            ip("far", &["route", "add", "default", "via", "192.0.2.1"]);
            ip(
                "r0",
                &["route", "add", "192.0.2.0/24", "via", "198.51.100.1"],
            );
            drill(
                "inet forwards nothing",
                "h",
                "192.0.2.2",
                "forwarding-off:inet",
            );
        },
    );
}

/// Oracle seed 203: r0's uplink taken down by hand flushes its default route, while its
/// routes to the LAN behind r1 stay. Setting up0 up alone leaves h cut off from inet: the fix
/// must put the default route back.
#[test]
fn link_down_fix_brings_back_the_default_route_of_a_router_with_lan_routes() {
    in_world(
        "doctor_routing::link_down_fix_brings_back_the_default_route_of_a_router_with_lan_routes",
        || {
            two_link_uplink();
            ip("r0", &["link", "set", "up0", "down"]);
            let f = drill("r0's up0 down", "h", "203.0.113.10", "link-down:r0:up0");
            let steps = f["fix"]["steps"].to_string();
            assert!(steps.contains("0.0.0.0/0"), "the default route: {steps}");
        },
    );
}

/// Strict rp_filter in r1: the replies from 203.0.113.10 (de-masqueraded by r0, their source
/// kept) arrive on up0, while r1 routes 203.0.113.10 out of up1.
#[test]
fn strict_rp_filter_judges_replies_from_upstream() {
    in_world(
        "doctor_routing::strict_rp_filter_judges_replies_from_upstream",
        || {
            two_link_uplink();
            assert_clean("asymmetric routes, rp_filter off");
            sysctl("r1", "net.ipv4.conf.all.rp_filter=1");
            drill(
                "strict rp_filter in r1",
                "h",
                "203.0.113.10",
                "rp-filter-strict:r1:up0",
            );
        },
    );
}

/// A router with a public uplink address and private subnets behind it, translating nothing,
/// whose upstream routes none of them back: the MASQUERADE is missing. (So would be a route
/// back deleted upstream, which leaves the same state: the doctor may name that too.)
#[test]
fn private_subnets_behind_a_public_uplink_want_masquerade() {
    in_world(
        "doctor_routing::private_subnets_behind_a_public_uplink_want_masquerade",
        || {
            inet_r0_h();
            forward("inet");
            forward("r0");
            ip("r0", &["route", "add", "default", "via", "198.51.100.1"]);
            ip("h", &["route", "add", "default", "via", "10.1.0.1"]);
            masquerade("r0", "10.0.0.0/8", "up0");
            assert!(ping_ok("h", "203.0.113.10"));
            assert_clean("masquerading router");
            sh(&[
                "ip",
                "netns",
                "exec",
                "r0",
                "iptables",
                "-t",
                "nat",
                "-F",
                "POSTROUTING",
            ]);
            drill_probes_also(
                "r0 loses its MASQUERADE",
                &[("h", "203.0.113.10")],
                "no-masquerade:r0:10.1.0.0/24",
                "no-route:inet:",
            );
        },
    );
}

/// Oracle seeds 52 and 82: r0 routes its private subnet out without NAT to "the internet",
/// a server that forwards nothing and routes 10.0.0.0/8 back; that route is deleted. Only the
/// route back repairs inet → h; the doctor must name it (beside the MASQUERADE that would
/// repair h → inet alone), not the MASQUERADE only.
#[test]
fn server_upstream_loses_its_route_back() {
    in_world(
        "doctor_routing::server_upstream_loses_its_route_back",
        || {
            inet_r0_h();
            forward("r0");
            ip("r0", &["route", "add", "default", "via", "198.51.100.1"]);
            ip("h", &["route", "add", "default", "via", "10.1.0.1"]);
            ip(
                "inet",
                &["route", "add", "10.0.0.0/8", "via", "198.51.100.2"],
            );
            let probes = [("inet", "10.1.0.2"), ("h", "203.0.113.10")];
            for (from, dst) in probes {
                assert!(ping_ok(from, dst), "healthy: {from} → {dst}");
            }
            assert_clean("a plain router before a server that routes back");
            ip("inet", &["route", "del", "10.0.0.0/8"]);
            drill_probes_also(
                "inet loses its route back",
                &probes,
                "no-route:inet:10.1.0.0/24",
                "no-masquerade:r0:",
            );
        },
    );
}

/// h's mask is wider than its segment's (/16 where r is on /24): re-adding the address that
/// way flushed h's default route. The doctor names the mask and puts both back.
#[test]
fn mask_wider_than_the_segment() {
    in_world("doctor_routing::mask_wider_than_the_segment", || {
        chain();
        ip("h", &["addr", "del", "10.1.0.2/24", "dev", "eth0"]);
        ip("h", &["addr", "add", "10.1.0.2/16", "dev", "eth0"]);
        let f = drill("h's mask is /16", "h", "8.8.8.8", "wrong-subnet:h:eth0");
        let steps = f["fix"]["steps"].to_string();
        assert!(steps.contains("10.1.0.2/24"), "{steps}");
        assert!(steps.contains("10.1.0.1"), "the default route: {steps}");
    });
}

/// As above, but u has a default route of its own (towards k): that default leads away from
/// r, so it is no way back to h's subnet once u loses its route back.
#[test]
fn upstream_default_route_is_no_route_back() {
    in_world(
        "doctor_routing::upstream_default_route_is_no_route_back",
        || {
            plain_routers();
            ip("u", &["route", "add", "default", "via", "10.3.0.2"]);
            let probes = [("h", "10.3.0.2"), ("k", "10.1.0.2")];
            for (from, dst) in probes {
                assert!(ping_ok(from, dst), "healthy: {from} → {dst}");
            }
            // k is u's default gateway with ip_forward=0, but nothing lies beyond k.
            assert_clean("plain routers, u's default towards k");

            ip("u", &["route", "del", "10.1.0.0/24"]);
            drill_probes("u loses its route back", &probes, "no-route:u:10.1.0.0/24");
        },
    );
}

/// r0's uplink up0 (198.51.100.2) to inet dn0 (198.51.100.1, with 203.0.113.10 on lo); both
/// namespaces exist already.
fn inet_uplink() {
    wire(
        "r0",
        "up0",
        "198.51.100.2/24",
        "inet",
        "dn0",
        "198.51.100.1/24",
    );
    ip("inet", &["addr", "add", "203.0.113.10/32", "dev", "lo"]);
}

/// inet (198.51.100.1, with 203.0.113.10 on lo) — r0 (198.51.100.2 / 10.1.0.1) — h (10.1.0.2):
/// addresses only; each test adds its own routes, forwarding and NAT.
fn inet_r0_h() {
    namespaces(&["inet", "r0", "h"]);
    inet_uplink();
    wire("r0", "eth0", "10.1.0.1/24", "h", "eth0", "10.1.0.2/24");
}

/// h — r — u — k: two plain routers (forwarding, no NAT), u routing h's subnet back via r.
fn plain_routers() {
    namespaces(&["h", "r", "u", "k"]);
    wire("h", "eth0", "10.1.0.2/24", "r", "eth0", "10.1.0.1/24");
    wire("r", "eth1", "10.2.0.2/24", "u", "eth0", "10.2.0.1/24");
    wire("u", "eth1", "10.3.0.1/24", "k", "eth0", "10.3.0.2/24");
    forward("r");
    forward("u");
    ip("h", &["route", "add", "default", "via", "10.1.0.1"]);
    ip("r", &["route", "add", "default", "via", "10.2.0.1"]);
    ip("u", &["route", "add", "10.1.0.0/24", "via", "10.2.0.2"]);
    ip("k", &["route", "add", "default", "via", "10.3.0.1"]);
}

/// n on a switch with two routers: r1 leads to "the internet" (8.8.8.8 on i), r2 to
/// 10.9.0.0/16 (k); each router knows the other's side. n's default route goes via r1, its static route to 10.9.0.0/16 via r2,
/// both through n's one veth. The snapshot taken while healthy is `/run/before.json`.
///
/// ```text
///                  ┌ 10.7.0.1 r1 10.8.0.1 ── 10.8.0.2 i (8.8.8.8)
/// n 10.7.0.2 ── sw ┤
///                  └ 10.7.0.3 r2 10.9.0.1 ── 10.9.0.2 k
/// ```
fn two_routers_and_a_saved_snapshot() -> &'static str {
    namespaces(&["n", "sw", "r1", "r2", "i", "k"]);
    ip("sw", &["link", "add", "br0", "type", "bridge"]);
    ip("sw", &["link", "set", "br0", "up"]);
    for (ns, cidr, port) in [
        ("n", "10.7.0.2/24", "p-n"),
        ("r1", "10.7.0.1/24", "p-r1"),
        ("r2", "10.7.0.3/24", "p-r2"),
    ] {
        wire(ns, "eth0", cidr, "sw", port, "");
        ip("sw", &["link", "set", port, "master", "br0"]);
    }
    wire("r1", "eth1", "10.8.0.1/24", "i", "eth0", "10.8.0.2/24");
    wire("r2", "eth1", "10.9.0.1/24", "k", "eth0", "10.9.0.2/24");
    ip("i", &["addr", "add", "8.8.8.8/32", "dev", "lo"]);
    ip("i", &["route", "add", "default", "via", "10.8.0.1"]);
    ip("k", &["route", "add", "default", "via", "10.9.0.1"]);
    forward("r1");
    forward("r2");
    forward("i");
    ip("r1", &["route", "add", "default", "via", "10.8.0.2"]);
    ip("r1", &["route", "add", "10.9.0.0/16", "via", "10.7.0.3"]);
    ip("r2", &["route", "add", "default", "via", "10.7.0.1"]);
    ip("n", &["route", "add", "default", "via", "10.7.0.1"]);
    ip("n", &["route", "add", "10.9.0.0/16", "via", "10.7.0.3"]);
    for dst in ["8.8.8.8", "10.9.0.2"] {
        assert!(ping_ok("n", dst), "healthy: n → {dst}");
    }
    assert_clean("two routers");
    let out = netlens(&["snapshot", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = "/run/before.json";
    std::fs::write(path, &out.stdout).expect("save the snapshot");
    path
}

fn doctor_args(args: &[&str]) -> (i32, Vec<serde_json::Value>) {
    let mut argv = vec!["doctor", "--json"];
    argv.extend_from_slice(args);
    let out = netlens(&argv);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("doctor JSON: {e}: {}", String::from_utf8_lossy(&out.stderr)));
    let findings = v["findings"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|f| f["severity"] == "error" || f["severity"] == "warning")
        .collect();
    (out.status.code().unwrap_or(-1), findings)
}

fn n_probes_fail() -> bool {
    ["8.8.8.8", "10.9.0.2"].iter().all(|d| !ping_ok("n", d))
}

fn n_probes_work() -> bool {
    ["8.8.8.8", "10.9.0.2"].iter().all(|d| ping_ok("n", d))
}

/// `fix ID --yes --before FILE` succeeds, both probes work, the doctor (with the same file)
/// is clean; `undo --yes` brings the failure back.
fn fix_with_before_then_undo(id: &str, before: &str) {
    let out = netlens(&["fix", id, "--yes", "--before", before]);
    assert!(
        out.status.success(),
        "fix {id}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(n_probes_work(), "{id}: both routes must work after the fix");
    let (code, left) = doctor_args(&["--before", before]);
    assert_eq!((code, ids(&left)), (0, vec![]), "{id}: {left:#?}");
    let out = netlens(&["undo", "--yes"]);
    assert!(
        out.status.success(),
        "undo: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(n_probes_fail(), "{id}: undo must bring the failure back");
}

#[test]
fn link_down_fix_restores_the_routes_a_saved_snapshot_had() {
    in_world(
        "doctor_routing::link_down_fix_restores_the_routes_a_saved_snapshot_had",
        || {
            let before = two_routers_and_a_saved_snapshot();
            // The kernel flushes both gateway routes with the link.
            ip("n", &["link", "set", "eth0", "down"]);
            assert!(n_probes_fail(), "the fault is real");
            // Without --before nothing knows the static route: the old fix stands.
            let (code, plain) = doctor_args(&[]);
            assert_eq!(code, 1);
            let f = plain
                .iter()
                .find(|f| f["id"] == "link-down:n:eth0")
                .expect("link-down");
            assert!(!f["fix"].to_string().contains("10.9.0.0/16"), "{f:#}");

            let (code, found) = doctor_args(&["--before", before]);
            assert_eq!(
                (code, ids(&found)),
                (1, vec!["link-down:n:eth0".to_string()])
            );
            let steps = found[0]["fix"]["steps"].to_string();
            for want in ["0.0.0.0/0", "10.7.0.1", "10.9.0.0/16", "10.7.0.3"] {
                assert!(steps.contains(want), "{want} in {steps}");
            }
            assert!(found[0]["explanation"]
                .to_string()
                .contains("10.9.0.0/16 via 10.7.0.3"));
            fix_with_before_then_undo("link-down:n:eth0", before);
        },
    );
}

#[test]
fn routes_lost_to_a_link_set_down_and_up_by_hand_are_named_with_before() {
    in_world(
        "doctor_routing::routes_lost_to_a_link_set_down_and_up_by_hand_are_named_with_before",
        || {
            let before = two_routers_and_a_saved_snapshot();
            ip("n", &["link", "set", "eth0", "down"]);
            ip("n", &["link", "set", "eth0", "up"]);
            assert!(n_probes_fail(), "up again, but without its routes");
            let (_, plain) = doctor_args(&[]);
            assert!(
                !plain.iter().any(|f| f.to_string().contains("10.9.0.0/16")),
                "only the saved snapshot knows the static route: {plain:#?}"
            );
            let (code, found) = doctor_args(&["--before", before]);
            assert_eq!((code, ids(&found)), (1, vec!["route-lost:n".to_string()]));
            assert_eq!(found[0]["severity"], "error", "n has no way out");
            let text = found[0].to_string();
            for want in [
                "default via 10.7.0.1 dev eth0",
                "10.9.0.0/16 via 10.7.0.3 dev eth0",
            ] {
                assert!(text.contains(want), "{want} in {text}");
            }
            fix_with_before_then_undo("route-lost:n", before);
        },
    );
}

#[test]
fn a_bad_before_file_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, b"{\"schema_version\": 1, \"namespaces\": 7").unwrap();
    let saved = dir.path().join("saved.json");
    std::fs::write(&saved, include_str!("../../assets/demo-bridge.json")).unwrap();
    let missing = dir.path().join("missing.json");
    for bad in [&garbage, &missing, &dir.path().to_path_buf()] {
        let bad = bad.to_str().unwrap();
        for cmd in [
            vec![
                "doctor",
                "--snapshot",
                saved.to_str().unwrap(),
                "--before",
                bad,
            ],
            vec!["fix", "all", "--dry-run", "--before", bad],
        ] {
            let out = netlens(&cmd);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{cmd:?}: {err}");
            assert_eq!(err.lines().count(), 1, "{cmd:?}: {err}");
            assert!(err.contains("--before"), "{err}");
        }
    }
}

/// The kernel's reverse-path lookup for a forwarded packet has the packet's destination as
/// its source and the link it is forwarded out of as its input interface. A `from` rule for
/// b's subnet sending that lookup for a's address out of eth2:
/// - with `iif lo` it never matches forwarded traffic: strict rp_filter passes a's packets;
/// - with `fwmark 0` (b's replies are marked on the way in, so only the lookup takes it) it
///   does: strict rp_filter drops a's packets, although the main table routes a back
///   through eth0.
///
/// ```text
/// a 10.1.0.2 ── 10.1.0.1 r 10.2.0.1 ── 10.2.0.2 b
///                        r 10.3.0.1 ── 10.3.0.2 c
/// ```
#[test]
fn strict_rp_filter_follows_source_rules_of_the_reverse_lookup() {
    in_world(
        "doctor_routing::strict_rp_filter_follows_source_rules_of_the_reverse_lookup",
        || {
            namespaces(&["a", "r", "b", "c"]);
            wire("a", "eth0", "10.1.0.2/24", "r", "eth0", "10.1.0.1/24");
            wire("r", "eth1", "10.2.0.1/24", "b", "eth0", "10.2.0.2/24");
            wire("r", "eth2", "10.3.0.1/24", "c", "eth0", "10.3.0.2/24");
            forward("r");
            ip("a", &["route", "add", "10.2.0.0/24", "via", "10.1.0.1"]);
            ip("b", &["route", "add", "default", "via", "10.2.0.1"]);
            ip(
                "r",
                &["route", "add", "10.1.0.0/24", "dev", "eth2", "table", "100"],
            );
            sysctl("r", "net.ipv4.conf.all.rp_filter=1");
            let rule = |how: &str, sel: &[&str]| {
                let mut argv = vec!["rule", how, "pref", "100", "from", "10.2.0.0/24"];
                argv.extend_from_slice(sel);
                argv.extend_from_slice(&["table", "100"]);
                ip("r", &argv);
            };
            rule("add", &["iif", "lo"]);
            assert!(ping_ok("a", "10.2.0.2"), "an iif lo rule: delivered");
            assert_clean("strict rp_filter, a source rule for iif lo");

            rule("del", &["iif", "lo"]);
            sh(&[
                "ip",
                "netns",
                "exec",
                "r",
                "iptables",
                "-t",
                "mangle",
                "-A",
                "PREROUTING",
                "-i",
                "eth1",
                "-j",
                "MARK",
                "--set-mark",
                "1",
            ]);
            rule("add", &["fwmark", "0/0xffffffff"]);
            drill(
                "strict rp_filter with a source rule",
                "a",
                "10.2.0.2",
                "rp-filter-strict:r:eth0",
            );
        },
    );
}

/// u reaches h's LAN over t1, with a1 as a second link to r (r's default goes out a1).
/// t1 set down loses u's route to the LAN: `link-down` (set t1 up, put the route back) and
/// `no-route` (route the LAN through a1) are both true. `fix all` used to run both fixes and
/// the kernel refused the second route to the same LAN, rolling everything back (oracle seed
/// 459); the fixes are now composed on a copy first, so the route is added once.
///
/// ```text
/// k 10.9.0.2 ── 10.9.0.1 u ═ t1 10.1.255.1/30 ═ a1 10.1.254.1/30 ═ r 10.1.0.1 ── 10.1.0.2 h
/// ```
#[test]
fn fix_all_composes_the_link_down_and_no_route_fixes() {
    in_world(
        "doctor_routing::fix_all_composes_the_link_down_and_no_route_fixes",
        || {
            namespaces(&["k", "u", "r", "h"]);
            wire("k", "eth0", "10.9.0.2/24", "u", "eth0", "10.9.0.1/24");
            wire("u", "t1", "10.1.255.1/30", "r", "t1", "10.1.255.2/30");
            wire("u", "a1", "10.1.254.1/30", "r", "a1", "10.1.254.2/30");
            wire("r", "eth1", "10.1.0.1/24", "h", "eth0", "10.1.0.2/24");
            forward("u");
            forward("r");
            ip("k", &["route", "add", "10.1.0.0/16", "via", "10.9.0.1"]);
            ip("u", &["route", "add", "10.1.0.0/24", "via", "10.1.255.2"]);
            ip("r", &["route", "add", "default", "via", "10.1.254.1"]);
            ip("h", &["route", "add", "default", "via", "10.1.0.1"]);
            assert!(ping_ok("k", "10.1.0.2"), "healthy: k → h");
            ip("u", &["link", "set", "t1", "down"]);
            let f = drill_probes_also(
                "u's t1 down",
                &[("k", "10.1.0.2")],
                "link-down:u:t1",
                "no-route:u:",
            );
            let steps = f["fix"]["steps"].to_string();
            assert!(steps.contains("10.1.0.0/24"), "the route back: {steps}");
        },
    );
}
