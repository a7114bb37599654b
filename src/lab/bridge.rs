//! "Namespaces on a bridge": red and blue behind bridge `v-net-0` on a host that routes and
//! masquerades them onto its LAN, which leads to a stand-in for the internet.
//!
//! ```text
//! bridge-red  veth-red 192.168.15.1 ─┐            bridge-host
//! bridge-blue veth-blue 192.168.15.2 ┴ v-net-0 192.168.15.5 | eth0 192.168.1.2 ─┐
//!                                       (ip_forward, MASQUERADE 192.168.15.0/24) │
//! bridge-lanhost eth0 192.168.1.3 ──────────── lan0 192.168.1.1  bridge-lan ─────┘
//!                                              to-inet 100.64.0.1/30 (route 8.8.8.8)
//! bridge-inet eth0 100.64.0.2/30, 8.8.8.8/32 on lo ─┘
//! ```
//! The LAN router has no route back to 192.168.15.0/24, so red reaches the LAN host and
//! 8.8.8.8 only because the host masquerades. The DNAT rule is the notes' port forward of
//! host port 80 to blue.

use super::build::*;
use crate::plan::Step;

const HOST: &str = "bridge-host";
const LAN: &str = "bridge-lan";

/// A namespace on the host's bridge `v-net-0`, as the notes wire red and blue.
fn bridged_ns(s: &mut Vec<Step>, ns: &str, color: &str, cidr: &str) {
    let inner = format!("veth-{color}");
    let outer = format!("veth-{color}-br");
    ns_with_lo(s, ns);
    s.extend([
        veth(&inner, ns, &outer, HOST),
        master(HOST, &outer, "v-net-0"),
        link_up(HOST, &outer),
        addr(ns, &inner, cidr),
        link_up(ns, &inner),
        default_route(ns, "192.168.15.5"),
    ]);
}

/// A namespace whose `eth0` is a port of the LAN bridge `lan0` (peer named `port` in the LAN).
fn lan_member(s: &mut Vec<Step>, ns: &str, port: &str, cidr: &str) {
    s.extend([
        veth("eth0", ns, port, LAN),
        master(LAN, port, "lan0"),
        link_up(LAN, port),
        addr(ns, "eth0", cidr),
        link_up(ns, "eth0"),
        default_route(ns, "192.168.1.1"),
    ]);
}

pub fn steps() -> Vec<Step> {
    let (lanhost, inet) = ("bridge-lanhost", "bridge-inet");
    let mut s = Vec::new();

    // The LAN router first: the host's uplink plugs into it.
    ns_with_lo(&mut s, LAN);
    s.extend([
        bridge(LAN, "lan0"),
        link_up(LAN, "lan0"),
        addr(LAN, "lan0", "192.168.1.1/24"),
        ip_forward(LAN),
    ]);

    ns_with_lo(&mut s, HOST);
    s.extend([
        bridge(HOST, "v-net-0"),
        link_up(HOST, "v-net-0"),
        addr(HOST, "v-net-0", "192.168.15.5/24"),
    ]);
    lan_member(&mut s, HOST, "to-host", "192.168.1.2/24");
    s.extend([
        ip_forward(HOST),
        iptables(
            HOST,
            "nat",
            "POSTROUTING",
            &["-s", "192.168.15.0/24", "-j", "MASQUERADE"],
        ),
        port_forward(
            HOST,
            "PREROUTING",
            &[
                "-p",
                "tcp",
                "--dport",
                "80",
                "-j",
                "DNAT",
                "--to-destination",
                "192.168.15.2:80",
            ],
        ),
    ]);

    bridged_ns(&mut s, "bridge-red", "red", "192.168.15.1/24");
    bridged_ns(&mut s, "bridge-blue", "blue", "192.168.15.2/24");

    ns_with_lo(&mut s, lanhost);
    lan_member(&mut s, lanhost, "to-lanhost", "192.168.1.3/24");

    // "The internet": 8.8.8.8 on lo (this kernel has no dummy driver), reached over a
    // point-to-point link from the LAN router.
    ns_with_lo(&mut s, inet);
    s.extend([
        addr(inet, "lo", "8.8.8.8/32"),
        veth("eth0", inet, "to-inet", LAN),
        addr(LAN, "to-inet", "100.64.0.1/30"),
        link_up(LAN, "to-inet"),
        addr(inet, "eth0", "100.64.0.2/30"),
        link_up(inet, "eth0"),
        default_route(inet, "100.64.0.1"),
        route(LAN, "8.8.8.8/32", "100.64.0.2"),
    ]);
    s
}
