//! Faults that throw packets away where the first ten oracle kinds never looked: routes of
//! type blackhole/unreachable/prohibit (`drop-route`), policy rules (`policy-rule`), DROPs in
//! the raw and mangle tables and a filter DROP keyed on a mangle mark (`raw-mangle-drop`).
//! Addresses 10.72.x; the kernel (ping) decides each time.

use crate::common::flows::{connect_ok, listen, path};
use crate::common::plan::private_state;
use crate::common::rules::*;
use crate::common::world::{in_world, sh};

/// h (10.72.0.2) — r (router) — s (10.72.1.2, with 10.72.9.1/32 on lo). r's default points
/// at s, which routes back: every namespace has its way out.
fn line() {
    for n in ["h", "r", "s"] {
        netns(n);
    }
    veth("h", "eth0", "r", "g0");
    veth("r", "u0", "s", "s0");
    addr("h", "10.72.0.2/24", "eth0");
    addr("r", "10.72.0.1/24", "g0");
    addr("r", "10.72.1.1/24", "u0");
    addr("s", "10.72.1.2/24", "s0");
    addr("s", "10.72.9.1/32", "lo");
    route("h", &["default", "via", "10.72.0.1"]);
    route("r", &["default", "via", "10.72.1.2"]);
    route("s", &["10.72.0.0/24", "via", "10.72.1.1"]);
    sysctl("r", "net.ipv4.ip_forward", "1");
    sysctl("s", "net.ipv4.ip_forward", "1");
    assert!(ping_ok("h", "10.72.9.1", None), "healthy line");
}

fn ipt(ns: &str, args: &[&str]) {
    let mut argv = vec!["ip", "netns", "exec", ns, "iptables"];
    argv.extend_from_slice(args);
    sh(&argv);
}

/// In r: mangle PREROUTING marks what `selector` matches with 0x7, filter FORWARD drops 0x7.
fn mark_and_drop(selector: &[&str]) {
    let mut mark = vec!["-t", "mangle", "-A", "PREROUTING"];
    mark.extend_from_slice(selector);
    mark.extend(["-j", "MARK", "--set-mark", "0x7"]);
    ipt("r", &mark);
    ipt(
        "r",
        &["-A", "FORWARD", "-m", "mark", "--mark", "0x7", "-j", "DROP"],
    );
}

/// `fix` the finding: `works` must hold after it (and the doctor be clean of `clean_of`), and
/// fail again after `undo`.
fn fix_then_undo(f: &serde_json::Value, clean_of: Option<&str>, works: impl Fn() -> bool) {
    fix(f["id"].as_str().unwrap());
    assert!(works(), "after the fix of {}", f["id"]);
    if let Some(rule) = clean_of {
        expect_clean_of(rule);
    }
    undo();
    assert!(!works(), "after undo of {}", f["id"]);
}

#[test]
fn drop_route_found_and_fix_deletes_it() {
    in_world(
        "doctor_rules::drops::drop_route_found_and_fix_deletes_it",
        || {
            let _state = private_state();
            line();
            // Control: a null route for space nobody holds (an aggregate, Calico's IPAM block).
            route("r", &["blackhole", "10.72.200.0/24"]);
            expect_clean_of("drop-route");

            route("r", &["blackhole", "10.72.9.0/25"]);
            assert!(!ping_ok("h", "10.72.9.1", None), "through the blackhole");
            let f = expect_finding(
                "drop-route",
                "error",
                "r",
                ("route", "blackhole 10.72.9.0/25"),
            );
            fix_then_undo(&f, Some("drop-route"), || ping_ok("h", "10.72.9.1", None));
            sh(&["ip", "-n", "r", "route", "del", "10.72.9.0/25"]);

            // The default route itself replaced: the fix puts one back through the gateway.
            sh(&[
                "ip",
                "-n",
                "h",
                "route",
                "replace",
                "unreachable",
                "default",
            ]);
            assert!(!ping_ok("h", "10.72.9.1", None), "unreachable default");
            let f = expect_finding("drop-route", "error", "h", ("route", "unreachable default"));
            fix(f["id"].as_str().unwrap());
            assert!(ping_ok("h", "10.72.9.1", None), "after the default is back");
            expect_clean_of("drop-route");
        },
    );
}

#[test]
fn policy_rule_that_drops_found_and_fixed() {
    in_world(
        "doctor_rules::drops::policy_rule_that_drops_found_and_fixed",
        || {
            let _state = private_state();
            line();
            // Control: a rule whose table is empty falls through to main; nothing breaks.
            sh(&[
                "ip",
                "-n",
                "r",
                "rule",
                "add",
                "to",
                "10.72.9.0/24",
                "lookup",
                "101",
            ]);
            assert!(ping_ok("h", "10.72.9.1", None), "empty table falls through");
            expect_clean_of("policy-rule");

            sh(&[
                "ip",
                "-n",
                "r",
                "route",
                "add",
                "blackhole",
                "default",
                "table",
                "100",
            ]);
            sh(&[
                "ip",
                "-n",
                "r",
                "rule",
                "add",
                "from",
                "10.72.0.0/24",
                "lookup",
                "100",
            ]);
            assert!(!ping_ok("h", "10.72.9.1", None), "through table 100");
            let f = expect_finding(
                "policy-rule",
                "error",
                "r",
                ("rule", "32764: from 10.72.0.0/24 lookup 100"),
            );
            assert!(
                f.get("fix").is_some(),
                "deleting the rule is the fix: {f:#}"
            );
            fix_then_undo(&f, Some("policy-rule"), || ping_ok("h", "10.72.9.1", None));
            let rules = sh_out(&["ip", "-n", "r", "rule", "show", "pref", "32764"]);
            assert!(rules.contains("from 10.72.0.0/24 lookup 100"), "{rules}");
            sh(&["ip", "-n", "r", "rule", "del", "pref", "32764"]);
            assert!(ping_ok("h", "10.72.9.1", None), "rule removed by hand");

            two_rules_share_a_priority_only_the_dropping_one_goes();
            rule_on_the_hosts_own_source_address();
        },
    );
}

/// Two rules share a priority; only the one that loses traffic goes.
fn two_rules_share_a_priority_only_the_dropping_one_goes() {
    for to in ["10.72.200.0/24", "10.72.9.1"] {
        sh(&[
            "ip", "-n", "h", "rule", "add", "pref", "500", "to", to, "prohibit",
        ]);
    }
    assert!(!ping_ok("h", "10.72.9.1", None), "prohibit rule");
    let f = expect_finding(
        "policy-rule",
        "error",
        "h",
        ("rule", "500: from all to 10.72.9.1/32 prohibit"),
    );
    fix(f["id"].as_str().unwrap());
    assert!(ping_ok("h", "10.72.9.1", None), "after deleting the rule");
    let left = sh_out(&["ip", "-n", "h", "rule", "show", "pref", "500"]);
    assert!(
        left.contains("10.72.200.0/24") && !left.contains("10.72.9.1"),
        "only the rule that drops goes: {left}"
    );
    undo();
    assert!(!ping_ok("h", "10.72.9.1", None), "undo puts it back");
    sh(&["ip", "-n", "h", "rule", "flush", "pref", "500"]);
}

/// A rule on the host's own source address: a socket's packets are routed again with
/// the source the first lookup chose, so they take it (oracle seed 8).
fn rule_on_the_hosts_own_source_address() {
    sh(&[
        "ip",
        "-n",
        "h",
        "route",
        "add",
        "unreachable",
        "default",
        "table",
        "100",
    ]);
    sh(&[
        "ip",
        "-n",
        "h",
        "rule",
        "add",
        "from",
        "10.72.0.2",
        "lookup",
        "100",
    ]);
    assert!(!ping_ok("h", "10.72.9.1", None), "from-rule on the host");
    assert!(!path_delivers("h", "10.72.9.1"), "path takes the from-rule");
    let f = expect_finding(
        "policy-rule",
        "error",
        "h",
        ("rule", "32765: from 10.72.0.2/32 lookup 100"),
    );
    fix(f["id"].as_str().unwrap());
    assert!(
        ping_ok("h", "10.72.9.1", None),
        "after deleting the from-rule"
    );
    assert!(path_delivers("h", "10.72.9.1"), "path after the fix");
}

/// The stdout of a command that must succeed.
fn sh_out(argv: &[&str]) -> String {
    let out = std::process::Command::new(argv[0])
        .args(&argv[1..])
        .output()
        .expect("run");
    assert!(out.status.success(), "{argv:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn raw_and_mangle_drops_found_and_fixed() {
    in_world(
        "doctor_rules::drops::raw_and_mangle_drops_found_and_fixed",
        || {
            let _state = private_state();
            line();
            // Control: a drop for addresses nobody here holds.
            ipt(
                "r",
                &[
                    "-t",
                    "raw",
                    "-A",
                    "PREROUTING",
                    "-s",
                    "10.99.99.0/24",
                    "-j",
                    "DROP",
                ],
            );
            expect_clean_of("raw-mangle-drop");

            ipt(
                "r",
                &[
                    "-t",
                    "raw",
                    "-A",
                    "PREROUTING",
                    "-s",
                    "10.72.0.2",
                    "-p",
                    "icmp",
                    "-j",
                    "DROP",
                ],
            );
            assert!(!ping_ok("h", "10.72.9.1", None), "raw drop");
            let f = expect_finding(
                "raw-mangle-drop",
                "error",
                "r",
                (
                    "rule",
                    "raw PREROUTING: -A PREROUTING -s 10.72.0.2/32 -p icmp -j DROP",
                ),
            );
            fix_then_undo(&f, Some("raw-mangle-drop"), || {
                ping_ok("h", "10.72.9.1", None)
            });
            ipt("r", &["-t", "raw", "-F", "PREROUTING"]);

            // Marked in mangle, dropped by the mark in filter FORWARD: forward-drop's, through
            // the one evaluator (it follows marks), not this rule's.
            ipt(
                "r",
                &[
                    "-t",
                    "mangle",
                    "-A",
                    "PREROUTING",
                    "-s",
                    "10.72.0.2",
                    "-j",
                    "MARK",
                    "--set-mark",
                    "0x7",
                ],
            );
            ipt(
                "r",
                &["-A", "FORWARD", "-m", "mark", "--mark", "0x7", "-j", "DROP"],
            );
            assert!(!ping_ok("h", "10.72.9.1", None), "mark drop");
            let f = expect_finding("forward-drop", "error", "r", ("namespace", ""));
            assert!(
                f["explanation"]
                    .as_str()
                    .unwrap()
                    .contains("--mark 0x7 -j DROP"),
                "{f:#}"
            );
            fix(f["id"].as_str().unwrap());
            assert!(
                ping_ok("h", "10.72.9.1", None),
                "after the forward-drop fix"
            );
        },
    );
}

/// `netlens path --json --from FROM DST`: whether it says the packet is delivered.
fn path_delivers(from: &str, dst: &str) -> bool {
    let out = netlens(&["path", "--json", "--from", from, dst]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("path json: {e}: {}", String::from_utf8_lossy(&out.stderr)));
    v["delivers"].as_bool().expect("delivers")
}

#[test]
fn wrong_permanent_neighbour_found_and_path_says_lost() {
    in_world(
        "doctor_rules::drops::wrong_permanent_neighbour_found_and_path_says_lost",
        || {
            let _state = private_state();
            line();
            let mac = "02:00:00:00:00:99";
            // The gateway's entry on the host points at a MAC nobody has.
            sh(&[
                "ip",
                "-n",
                "h",
                "neigh",
                "replace",
                "10.72.0.1",
                "lladdr",
                mac,
                "nud",
                "permanent",
                "dev",
                "eth0",
            ]);
            assert!(!ping_ok("h", "10.72.9.1", None), "through the wrong MAC");
            assert!(
                !path_delivers("h", "10.72.9.1"),
                "path through the wrong MAC"
            );
            let f = expect_finding("gateway-neigh", "error", "h", ("neighbor", "10.72.0.1"));
            // The fix deletes the entry, so ARP finds the gateway's real MAC; undo pins the
            // wrong one again.
            fix_then_undo(&f, Some("gateway-neigh"), || {
                ping_ok("h", "10.72.9.1", None)
            });
            let pinned = sh_out(&["ip", "-n", "h", "neigh", "show", "10.72.0.1"]);
            assert!(
                pinned.contains(mac) && pinned.contains("PERMANENT"),
                "{pinned}"
            );
            sh(&["ip", "-n", "h", "neigh", "del", "10.72.0.1", "dev", "eth0"]);
            assert!(ping_ok("h", "10.72.9.1", None), "entry removed");
            assert!(
                path_delivers("h", "10.72.9.1"),
                "path with the entry removed"
            );

            // The router's entry for the host: replies to h are lost.
            sh(&[
                "ip",
                "-n",
                "r",
                "neigh",
                "replace",
                "10.72.0.2",
                "lladdr",
                mac,
                "nud",
                "permanent",
                "dev",
                "g0",
            ]);
            assert!(!ping_ok("h", "10.72.9.1", None), "replies to the wrong MAC");
            assert!(!path_delivers("s", "10.72.0.2"), "path to the wrong MAC");
            let f = expect_finding("neigh-mac", "error", "r", ("neighbor", "10.72.0.2"));
            fix_then_undo(&f, None, || ping_ok("h", "10.72.9.1", None));
            // Control: a permanent entry with the right MAC is fine.
            let real = String::from_utf8(
                std::process::Command::new("ip")
                    .args(["-n", "h", "-br", "link", "show", "eth0"])
                    .output()
                    .unwrap()
                    .stdout,
            )
            .unwrap();
            let real_mac = real.split_whitespace().nth(2).unwrap().to_string();
            sh(&[
                "ip",
                "-n",
                "r",
                "neigh",
                "replace",
                "10.72.0.2",
                "lladdr",
                &real_mac,
                "nud",
                "permanent",
                "dev",
                "g0",
            ]);
            assert!(ping_ok("h", "10.72.9.1", None), "right MAC pinned");
            expect_clean_of("neigh-mac");
        },
    );
}

fn bridge_link(args: &[&str]) {
    let mut argv = vec!["ip", "netns", "exec", "sw", "bridge", "link", "set", "dev"];
    argv.extend_from_slice(args);
    sh(&argv);
}

#[test]
fn bridge_port_flags_found_and_path_follows_them() {
    in_world(
        "doctor_rules::drops::bridge_port_flags_found_and_path_follows_them",
        || {
            let _state = private_state();
            super::switch_with_hosts(&["10.73.0.11/24", "10.73.0.12/24", "10.73.0.13/24"]);
            assert!(ping_ok("h1", "10.73.0.12", None), "healthy switch");
            // One isolated port alone changes nothing: isolation bites between two.
            bridge_link(&["p1", "isolated", "on"]);
            assert!(ping_ok("h1", "10.73.0.12", None), "one isolated port");
            expect_clean_of("port-isolated");

            bridge_link(&["p2", "isolated", "on"]);
            assert!(!ping_ok("h1", "10.73.0.12", None), "two isolated ports");
            assert!(
                ping_ok("h1", "10.73.0.13", None),
                "isolated to non-isolated"
            );
            assert!(
                !path_delivers("h1", "10.73.0.12"),
                "path between isolated ports"
            );
            assert!(
                path_delivers("h1", "10.73.0.13"),
                "path to a non-isolated port"
            );
            let f = expect_finding("port-isolated", "warning", "sw", ("link", "p2"));
            fix_then_undo(&f, Some("port-isolated"), || {
                ping_ok("h1", "10.73.0.12", None)
            });
            bridge_link(&["p1", "isolated", "off"]);
            bridge_link(&["p2", "isolated", "off"]);

            // STP state disabled, set by hand on an up port.
            bridge_link(&["p3", "state", "0"]);
            assert!(!ping_ok("h1", "10.73.0.13", None), "disabled port");
            assert!(
                !path_delivers("h1", "10.73.0.13"),
                "path through a disabled port"
            );
            let f = expect_finding("port-blocking", "error", "sw", ("link", "p3"));
            fix_then_undo(&f, None, || ping_ok("h1", "10.73.0.13", None));
            bridge_link(&["p3", "state", "3"]);

            // Neither learning nor flooding: the bridge never finds h3.
            bridge_link(&["p3", "learning", "off", "flood", "off"]);
            // Forget what it learnt before (a port going down flushes its FDB entries).
            sh(&["ip", "-n", "sw", "link", "set", "p3", "down"]);
            sh(&["ip", "-n", "sw", "link", "set", "p3", "up"]);
            assert!(!ping_ok("h1", "10.73.0.13", None), "no learning, no flood");
            assert!(
                !path_delivers("h1", "10.73.0.13"),
                "path to a port that never learns"
            );
            let f = expect_finding("port-blocking", "error", "sw", ("link", "p3"));
            fix(f["id"].as_str().unwrap());
            assert!(
                ping_ok("h1", "10.73.0.13", None),
                "learning and flooding again"
            );
            // Undo turns learning off and forgets what the port learnt meanwhile (no bounce:
            // an entry left behind would keep h3 reachable for 300 s).
            undo();
            assert!(!ping_ok("h1", "10.73.0.13", None), "undo: neither again");
            bridge_link(&["p3", "learning", "on", "flood", "on"]);
            assert!(ping_ok("h1", "10.73.0.13", None), "port restored");
            expect_clean_of("port-blocking");
        },
    );
}

/// A mark set only for one service (tcp/8080) and dropped in FORWARD: ping passes, the
/// stand-in port forward-drop judged before (443) passes too; the listener's real port is
/// judged now (oracle seed 302).
#[test]
fn a_drop_aimed_at_one_listened_port_is_found_and_fixed() {
    in_world(
        "doctor_rules::drops::a_drop_aimed_at_one_listened_port_is_found_and_fixed",
        || {
            let _state = private_state();
            line();
            let _l = listen("s", 8080);
            assert!(connect_ok("h", "10.72.1.2", 8080), "healthy connect");
            mark_and_drop(&["-s", "10.72.0.2", "-p", "tcp", "--dport", "8080"]);
            assert!(ping_ok("h", "10.72.1.2", None), "ICMP is not marked");
            assert!(!connect_ok("h", "10.72.1.2", 8080), "tcp/8080 is dropped");
            let f = expect_finding("forward-drop", "error", "r", ("namespace", ""));
            assert!(
                f["explanation"].as_str().unwrap().contains("tcp/8080"),
                "{f:#}"
            );
            fix_then_undo(&f, None, || connect_ok("h", "10.72.1.2", 8080));
        },
    );
}

/// A mark set only for ICMP and dropped in FORWARD: TCP passes, ping does not. Pings are
/// what an engineer tries first, so a router that drops them is found (a warning: some drop
/// ICMP on purpose) and the fix lets them through (oracle seeds 587, 606).
#[test]
fn a_drop_aimed_at_pings_only_is_found_and_fixed() {
    in_world(
        "doctor_rules::drops::a_drop_aimed_at_pings_only_is_found_and_fixed",
        || {
            let _state = private_state();
            line();
            let _l = listen("s", 8080);
            assert!(ping_ok("h", "10.72.1.2", None), "healthy ping");
            mark_and_drop(&["-s", "10.72.0.2", "-p", "icmp"]);
            assert!(!ping_ok("h", "10.72.1.2", None), "ICMP is dropped");
            assert!(connect_ok("h", "10.72.1.2", 8080), "tcp passes");
            let f = expect_finding("forward-drop", "warning", "r", ("namespace", ""));
            assert!(f["explanation"].as_str().unwrap().contains("ping"), "{f:#}");
            fix_then_undo(&f, None, || ping_ok("h", "10.72.1.2", None));
        },
    );
}

/// A mark set only for traffic to one host beyond the uplink (s's 10.72.9.1), dropped in
/// FORWARD: the flow "out of the uplink" is judged with a stand-in address the rule does not
/// name, so the host the rule names is judged too (oracle seed 606 had it as a source two
/// routers away).
#[test]
fn a_drop_aimed_at_one_host_is_found_and_fixed() {
    in_world(
        "doctor_rules::drops::a_drop_aimed_at_one_host_is_found_and_fixed",
        || {
            let _state = private_state();
            line();
            mark_and_drop(&["-d", "10.72.9.1"]);
            assert!(!ping_ok("h", "10.72.9.1", None), "h → 10.72.9.1 is dropped");
            assert!(ping_ok("h", "10.72.1.2", None), "the rest passes");
            let f = expect_finding("forward-drop", "error", "r", ("namespace", ""));
            assert!(
                f["explanation"].as_str().unwrap().contains("10.72.9.1"),
                "{f:#}"
            );
            fix_then_undo(&f, None, || ping_ok("h", "10.72.9.1", None));
        },
    );
}

/// A wrong permanent MAC for a gateway that is a bridge: the frame floods the bridge and
/// reaches nobody — except a port-forward, which br_netfilter DNATs in the bridge's
/// namespace (bridge-nf-call-iptables=1) and then routes whatever the MAC said. The kernel
/// decides both, and `path` must agree on each (oracle seeds 301, 339).
#[test]
fn a_wrong_gateway_mac_on_a_bridge_still_reaches_a_port_forward() {
    in_world(
        "doctor_rules::drops::a_wrong_gateway_mac_on_a_bridge_still_reaches_a_port_forward",
        || {
            for n in ["h", "r", "t"] {
                netns(n);
            }
            sh(&["ip", "-n", "r", "link", "add", "br0", "type", "bridge"]);
            sh(&["ip", "-n", "r", "link", "set", "br0", "up"]);
            addr("r", "10.73.0.1/24", "br0");
            for (n, port, a) in [("h", "p1", "10.73.0.2/24"), ("t", "p2", "10.73.0.3/24")] {
                veth(n, "eth0", "r", port);
                sh(&["ip", "-n", "r", "link", "set", port, "master", "br0"]);
                addr(n, a, "eth0");
                route(n, &["default", "via", "10.73.0.1"]);
            }
            sysctl("r", "net.bridge.bridge-nf-call-iptables", "1");
            sysctl("r", "net.ipv4.ip_forward", "1");
            ipt(
                "r",
                &[
                    "-t",
                    "nat",
                    "-A",
                    "PREROUTING",
                    "-d",
                    "10.73.0.1",
                    "-p",
                    "tcp",
                    "--dport",
                    "8081",
                    "-j",
                    "DNAT",
                    "--to-destination",
                    "10.73.0.3:8080",
                ],
            );
            let _l = listen("t", 8080);
            assert!(connect_ok("h", "10.73.0.1", 8081), "healthy port-forward");
            sh(&[
                "ip",
                "-n",
                "h",
                "neigh",
                "replace",
                "10.73.0.1",
                "lladdr",
                "02:00:00:00:00:99",
                "nud",
                "permanent",
                "dev",
                "eth0",
            ]);
            let tcp = [
                "--from",
                "h",
                "10.73.0.1",
                "--proto",
                "tcp",
                "--port",
                "8081",
            ];
            let kernel = connect_ok("h", "10.73.0.1", 8081);
            assert!(kernel, "br_netfilter routes the DNATed frame");
            assert_eq!(
                path(&tcp).0,
                0,
                "path to the port-forward: {:#}",
                path(&tcp).1
            );
            assert!(!ping_ok("h", "10.73.0.1", None), "ICMP reaches nobody");
            assert!(!path_delivers("h", "10.73.0.1"), "path for ICMP");
        },
    );
}
