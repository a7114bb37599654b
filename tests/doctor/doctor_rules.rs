//! One real-kernel test per doctor rule that had none (issue 11, item 11). Each test, in its
//! own throwaway world, builds the fault with plain `ip`/`sysctl`/`iptables`/files, proves with
//! real traffic (ping, TCP connect, glibc lookups seen in dnsmasq's log) that it does what the
//! rule says, runs the real `netlens doctor --json` and checks the finding, its severity and
//! its object with nothing unrelated beside it; where the rule has a fix, `netlens fix ID
//! --yes` must make the probe pass and the finding go, and `netlens undo --yes` bring both
//! back. Healthy controls sit where a rule could raise a false alarm.
//!
//! Addresses are 10.71–10.79.x, none of the lab's; every namespace lives in the world.

use crate::common;
// More rules, one file per family (not test binaries of their own: tests/*/ is not scanned).
mod conntrack;
mod dns;
mod drops;
mod mtu;
mod oracle_cases;

use common::plan::private_state;
use common::rules::*;
use common::world::{in_world, sh};

/// Three hosts on one bridge in switch namespace `sw`, host `i` at `cidrs[i]`.
fn switch_with_hosts(cidrs: &[&str]) {
    netns("sw");
    sh(&["ip", "-n", "sw", "link", "add", "br0", "type", "bridge"]);
    sh(&["ip", "-n", "sw", "link", "set", "br0", "up"]);
    for (i, cidr) in cidrs.iter().enumerate() {
        let (host, port) = (format!("h{}", i + 1), format!("p{}", i + 1));
        netns(&host);
        veth("sw", &port, &host, "eth0");
        sh(&["ip", "-n", "sw", "link", "set", &port, "master", "br0"]);
        addr(&host, cidr, "eth0");
    }
}

#[test]
fn wrong_subnet_found_and_a_wide_mask_is_not() {
    in_world(
        "doctor_rules::wrong_subnet_found_and_a_wide_mask_is_not",
        || {
            // One host typed 10.71.1.13/24 where its neighbours are on 10.71.0.0/24.
            switch_with_hosts(&["10.71.0.11/24", "10.71.0.12/24", "10.71.1.13/24"]);
            assert!(ping_ok("h1", "10.71.0.12", None), "healthy pair h1-h2");
            assert!(
                !ping_ok("h3", "10.71.0.11", None),
                "h3 reaches h1 from the wrong subnet"
            );
            expect_finding("wrong-subnet", "error", "h3", ("link", "eth0"));
            expect_finding("wrong-subnet", "error", "h3", ("address", "10.71.1.13/24"));

            // Corrected by hand (the rule has no fix): h3 talks, the finding is gone.
            sh(&["ip", "-n", "h3", "addr", "flush", "dev", "eth0"]);
            addr("h3", "10.71.0.13/24", "eth0");
            assert!(ping_ok("h3", "10.71.0.11", None), "corrected h3");
            expect_clean_of("wrong-subnet");
        },
    );
}

#[test]
fn wrong_subnet_quiet_on_a_deliberate_23() {
    in_world(
        "doctor_rules::wrong_subnet_quiet_on_a_deliberate_23",
        || {
            // 10.71.1.13/23 is on the same /23 as the others: a wide segment, not a mistake.
            switch_with_hosts(&["10.71.0.11/23", "10.71.0.12/23", "10.71.1.13/23"]);
            assert!(ping_ok("h3", "10.71.0.11", None), "h3 on the /23");
            assert!(ping_ok("h1", "10.71.1.13", None), "h1 to h3 on the /23");
            expect_clean_of("wrong-subnet");
        },
    );
}

#[test]
fn veth_peer_missing_quiet_when_peers_live_elsewhere() {
    in_world(
        "doctor_rules::veth_peer_missing_quiet_when_peers_live_elsewhere",
        || {
            // The kernel never leaves half a veth pair, so the fault itself cannot be built; the
            // risk is a false alarm when a peer sits in a namespace with its own netnsid table,
            // or was moved after creation (its index changes).
            netns("pa");
            netns("pb");
            netns("pc");
            veth("pa", "x0", "pb", "y0");
            veth("pb", "x1", "pc", "y1");
            // Move y1 on to pa: pb's x1 now has a peer in a third namespace.
            sh(&["ip", "-n", "pc", "link", "set", "y1", "netns", "pa"]);
            sh(&["ip", "-n", "pa", "link", "set", "y1", "up"]);
            addr("pa", "10.79.0.1/24", "x0");
            addr("pb", "10.79.0.2/24", "y0");
            addr("pb", "10.79.1.1/24", "x1");
            addr("pa", "10.79.1.2/24", "y1");
            assert!(ping_ok("pb", "10.79.1.2", None), "moved peer answers");
            let (_, findings) = doctor();
            assert!(
                of_rule(&findings, "veth-peer-missing").is_empty(),
                "false veth-peer-missing: {findings:#?}"
            );
            // Deleting one end deletes both: nothing half-gone remains to report.
            sh(&["ip", "-n", "pa", "link", "del", "y1"]);
            assert!(
                common::world::try_sh(&["ip", "-n", "pb", "link", "show", "x1"])
                    .stderr
                    .starts_with(b"Device")
            );
            expect_clean_of("veth-peer-missing");
        },
    );
}

/// Node namespace with bridge cbr0 (10.72.0.1/24), a client and a server on its ports, and a
/// kube-proxy-like DNAT of 10.73.0.100:80 to the server's 8080.
fn hairpin_node() -> Guard {
    netns("node");
    sh(&["ip", "-n", "node", "link", "add", "cbr0", "type", "bridge"]);
    sh(&["ip", "-n", "node", "link", "set", "cbr0", "up"]);
    addr("node", "10.72.0.1/24", "cbr0");
    sysctl("node", "net.ipv4.ip_forward", "1");
    // A redirect to the server would let the client skip the DNAT: not what is tested here.
    sysctl("node", "net.ipv4.conf.all.send_redirects", "0");
    sysctl("node", "net.ipv4.conf.cbr0.send_redirects", "0");
    for (ns, port, ip) in [("cl", "vc", "10.72.0.10/24"), ("sv", "vs", "10.72.0.20/24")] {
        netns(ns);
        veth("node", port, ns, "eth0");
        sh(&["ip", "-n", "node", "link", "set", port, "master", "cbr0"]);
        addr(ns, ip, "eth0");
        route(ns, &["default", "via", "10.72.0.1"]);
    }
    let ipt = |args: &[&str]| {
        let mut argv = vec!["ip", "netns", "exec", "node", "iptables", "-t", "nat"];
        argv.extend_from_slice(args);
        sh(&argv);
    };
    ipt(&["-N", "KUBE-SERVICES"]);
    ipt(&["-A", "PREROUTING", "-j", "KUBE-SERVICES"]);
    ipt(&[
        "-A",
        "KUBE-SERVICES",
        "-d",
        "10.73.0.100/32",
        "-p",
        "tcp",
        "--dport",
        "80",
        "-j",
        "DNAT",
        "--to-destination",
        "10.72.0.20:8080",
    ]);
    tcp_listener("sv", 8080)
}

/// br_netfilter's sysctls exist in every namespace once the module is in; try to load it, and
/// fail (no silent skip) when it cannot be had.
fn need_br_netfilter() -> bool {
    let path = std::path::Path::new("/proc/sys/net/bridge/bridge-nf-call-iptables");
    if !path.exists() {
        // modprobe may itself be missing: then the check below says what is.
        let _ = std::process::Command::new("modprobe")
            .arg("br_netfilter")
            .status();
    }
    if path.exists() {
        return true;
    }
    if std::env::var(common::world::SKIP_ENV).as_deref() == Ok("1") {
        println!("skipped: br_netfilter cannot be loaded on this machine");
        return false;
    }
    panic!(
        "br_netfilter is not available (no {}; `modprobe br_netfilter` failed); set {}=1 to \
         skip kernel tests on purpose",
        path.display(),
        common::world::SKIP_ENV
    );
}

#[test]
fn br_netfilter_off_breaks_hairpin_and_fix_restores_it() {
    in_world(
        "doctor_rules::br_netfilter_off_breaks_hairpin_and_fix_restores_it",
        || {
            if !need_br_netfilter() {
                return;
            }
            let _state = private_state();
            let _server = hairpin_node();
            // Healthy control: bridged frames go through iptables, the hairpin works.
            sysctl("node", "net.bridge.bridge-nf-call-iptables", "1");
            assert!(tcp_ok("cl", "10.72.0.20", 8080), "direct to the server");
            assert!(
                tcp_ok("cl", "10.73.0.100", 80),
                "hairpin with br_netfilter on"
            );
            expect_clean_of("br-netfilter");

            // The fault: the server's reply is bridged straight to the client, never un-NATed.
            sysctl("node", "net.bridge.bridge-nf-call-iptables", "0");
            assert!(
                !tcp_ok("cl", "10.73.0.100", 80),
                "hairpin with br_netfilter off"
            );
            let f = expect_finding("br-netfilter", "warning", "node", ("link", "cbr0"));
            let id = f["id"].as_str().unwrap().to_string();
            assert!(f["fix"].is_object(), "br-netfilter has a fix: {f:#}");

            fix(&id);
            assert!(tcp_ok("cl", "10.73.0.100", 80), "hairpin after fix");
            expect_clean_of("br-netfilter");

            undo();
            assert!(!tcp_ok("cl", "10.73.0.100", 80), "hairpin after undo");
            expect_finding("br-netfilter", "warning", "node", ("link", "cbr0"));

            // Without kube-proxy's chain the same DNAT is information (doctor exits 0).
            let ipt = |args: &[&str]| {
                let mut argv = vec!["ip", "netns", "exec", "node", "iptables", "-t", "nat"];
                argv.extend_from_slice(args);
                sh(&argv);
            };
            ipt(&["-D", "PREROUTING", "-j", "KUBE-SERVICES"]);
            ipt(&["-E", "KUBE-SERVICES", "PORT-FWD"]);
            ipt(&["-A", "PREROUTING", "-j", "PORT-FWD"]);
            assert!(!tcp_ok("cl", "10.73.0.100", 80), "hairpin, plain DNAT");
            expect_finding("br-netfilter", "info", "node", ("link", "cbr0"));
        },
    );
}

/// Client c (10.74.1.2 on c1, 10.74.3.2 on c3), router r, server s (10.74.2.2) behind r;
/// strict rp_filter on r1 only, forwarding on in r.
fn rp_triangle() {
    netns("c");
    netns("r");
    netns("s");
    veth("c", "c1", "r", "r1");
    veth("c", "c3", "r", "r3");
    veth("r", "r2", "s", "s2");
    addr("c", "10.74.1.2/24", "c1");
    addr("r", "10.74.1.1/24", "r1");
    addr("c", "10.74.3.2/24", "c3");
    addr("r", "10.74.3.1/24", "r3");
    addr("r", "10.74.2.1/24", "r2");
    addr("s", "10.74.2.2/24", "s2");
    route("c", &["10.74.2.0/24", "via", "10.74.1.1"]);
    route("s", &["default", "via", "10.74.2.1"]);
    sysctl("r", "net.ipv4.ip_forward", "1");
    for ns in ["c", "r"] {
        sysctl(ns, "net.ipv4.conf.all.rp_filter", "0");
    }
    for l in ["c1", "c3"] {
        sysctl("c", &format!("net.ipv4.conf.{l}.rp_filter"), "0");
    }
    for l in ["r2", "r3"] {
        sysctl("r", &format!("net.ipv4.conf.{l}.rp_filter"), "0");
    }
    sysctl("r", "net.ipv4.conf.r1.rp_filter", "1");
}

#[test]
fn rp_filter_strict_quiet_when_policy_routing_keeps_replies_symmetric() {
    in_world(
        "doctor_rules::rp_filter_strict_quiet_when_policy_routing_keeps_replies_symmetric",
        || {
            rp_triangle();
            // The main table sends c's address out of r3, but a policy rule (looked up first,
            // by the kernel's rp_filter too) sends it back out of r1: strict, and symmetric.
            route("r", &["10.74.1.2/32", "via", "10.74.3.2", "dev", "r3"]);
            route("r", &["10.74.1.2/32", "dev", "r1", "table", "100"]);
            sh(&[
                "ip",
                "-n",
                "r",
                "rule",
                "add",
                "to",
                "10.74.1.2",
                "lookup",
                "100",
            ]);
            assert!(
                ping_ok("c", "10.74.2.2", None),
                "policy routing keeps it symmetric"
            );
            // Fails until the doctor's route lookup (diagnose/facts.rs `lookup`, main table
            // only) follows `ip rule` as the kernel does.
            expect_clean_of("rp-filter-strict");
        },
    );
}

#[test]
fn rp_filter_strict_drops_asymmetric_traffic_and_fix_loosens_it() {
    in_world(
        "doctor_rules::rp_filter_strict_drops_asymmetric_traffic_and_fix_loosens_it",
        || {
            let _state = private_state();
            rp_triangle();

            // Healthy control: strict, but replies to c leave by the link c came in on.
            assert!(
                ping_ok("c", "10.74.2.2", None),
                "symmetric with strict rp_filter"
            );
            expect_clean_of("rp-filter-strict");

            // The fault: r routes c's address back out of r3, so r1 sees c as spoofed.
            route("r", &["10.74.1.2/32", "via", "10.74.3.2", "dev", "r3"]);
            assert!(
                !ping_ok("c", "10.74.2.2", None),
                "asymmetric with strict rp_filter"
            );
            let f = expect_finding("rp-filter-strict", "error", "r", ("link", "r1"));
            let id = f["id"].as_str().unwrap().to_string();

            fix(&id);
            assert!(ping_ok("c", "10.74.2.2", None), "after the fix (loose)");
            expect_clean_of("rp-filter-strict");

            undo();
            assert!(!ping_ok("c", "10.74.2.2", None), "after undo");
            expect_finding("rp-filter-strict", "error", "r", ("link", "r1"));

            // The kernel applies max(all, link): all=2 makes r1's 1 loose, and the rule agrees.
            sysctl("r", "net.ipv4.conf.all.rp_filter", "2");
            assert!(ping_ok("c", "10.74.2.2", None), "all=2 overrides r1=1");
            expect_clean_of("rp-filter-strict");
        },
    );
}

#[test]
fn gateway_neigh_found_when_the_gateway_ignores_arp() {
    in_world(
        "doctor_rules::gateway_neigh_found_when_the_gateway_ignores_arp",
        || {
            netns("h");
            netns("gw");
            veth("h", "eth0", "gw", "g0");
            addr("h", "10.75.0.2/24", "eth0");
            addr("gw", "10.75.0.1/24", "g0");
            addr("gw", "10.75.9.1/32", "lo");
            route("h", &["default", "via", "10.75.0.1"]);
            // A default gateway forwards (else forwarding-off is the finding).
            sysctl("gw", "net.ipv4.ip_forward", "1");
            assert!(ping_ok("h", "10.75.9.1", None), "healthy gateway");
            // A failed neighbour that is nobody's gateway is not this rule's business.
            assert!(!ping_ok("h", "10.75.0.99", None), "nobody holds .99");
            expect_clean_of("gateway-neigh");

            // The gateway holds its address but never answers ARP for it (arp_ignore=8).
            sysctl("gw", "net.ipv4.conf.g0.arp_ignore", "8");
            sh(&["ip", "-n", "h", "neigh", "flush", "dev", "eth0"]);
            assert!(!ping_ok("h", "10.75.9.1", None), "gateway ignoring ARP");
            expect_finding("gateway-neigh", "warning", "h", ("route", "default"));

            // Answering again (the rule has no fix): the neighbour resolves, the finding goes.
            sysctl("gw", "net.ipv4.conf.g0.arp_ignore", "0");
            // The entry may still be mid-resolution (3 probes a second apart): start afresh.
            sh(&["ip", "-n", "h", "neigh", "flush", "dev", "eth0"]);
            assert!(ping_ok("h", "10.75.9.1", None), "gateway answering again");
            expect_clean_of("gateway-neigh");
        },
    );
}

/// Client c (10.79.0.2) and server s (10.79.0.1) on one veth; s listens on tcp/8080 (socat).
#[test]
fn input_drop_of_a_listened_port_found_and_fix_deletes_the_rule() {
    in_world(
        "doctor_rules::input_drop_of_a_listened_port_found_and_fix_deletes_the_rule",
        || {
            let _state = private_state();
            netns("c");
            netns("s");
            veth("c", "c0", "s", "s0");
            addr("c", "10.79.0.2/24", "c0");
            addr("s", "10.79.0.1/24", "s0");
            let ipt = |args: &[&str]| {
                let mut argv = vec!["ip", "netns", "exec", "s", "iptables"];
                argv.extend_from_slice(args);
                sh(&argv);
            };
            // Control: the drop with nobody listening on its port is nobody's problem.
            ipt(&["-A", "INPUT", "-p", "tcp", "--dport", "8080", "-j", "DROP"]);
            expect_clean_of("input-drop");

            let _server = tcp_listener("s", 8080);
            assert!(!tcp_ok("c", "10.79.0.1", 8080), "connect through the DROP");
            let f = expect_finding(
                "input-drop",
                "warning",
                "s",
                (
                    "rule",
                    "filter INPUT: -A INPUT -p tcp -m tcp --dport 8080 -j DROP",
                ),
            );
            let id = f["id"].as_str().unwrap().to_string();
            assert_eq!(id, "input-drop:s:tcp/8080");
            assert!(
                f["explanation"].as_str().unwrap().contains("10.79.0.2"),
                "{f:#}"
            );

            fix(&id);
            assert!(tcp_ok("c", "10.79.0.1", 8080), "connect after the fix");
            expect_clean_of("input-drop");

            undo();
            assert!(!tcp_ok("c", "10.79.0.1", 8080), "connect after undo");
            expect_finding("input-drop", "warning", "s", ("port", "tcp/8080"));

            // A policy of DROP: the fix accepts the port and leaves the policy alone.
            ipt(&["-D", "INPUT", "-p", "tcp", "--dport", "8080", "-j", "DROP"]);
            ipt(&["-P", "INPUT", "DROP"]);
            assert!(
                !tcp_ok("c", "10.79.0.1", 8080),
                "connect through policy DROP"
            );
            let f = expect_finding(
                "input-drop",
                "warning",
                "s",
                ("rule", "filter INPUT policy DROP"),
            );
            fix(f["id"].as_str().unwrap());
            assert!(
                tcp_ok("c", "10.79.0.1", 8080),
                "connect after accepting the port"
            );
            expect_clean_of("input-drop");
        },
    );
}
