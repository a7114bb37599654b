//! "Linux host as a router": A and C on different subnets, B forwarding between them.
//!
//! ```text
//! router-a eth0 192.168.1.5 ── eth0 192.168.1.6  router-b  eth1 192.168.2.6 ── eth0 192.168.2.5 router-c
//! ```
//! A reaches C only because A and C have routes via B and B has ip_forward=1.

use super::build::*;
use crate::plan::Step;

pub fn steps() -> Vec<Step> {
    let (a, b, c) = ("router-a", "router-b", "router-c");
    let mut s = Vec::new();
    for n in [a, b, c] {
        ns_with_lo(&mut s, n);
    }
    s.extend([
        veth("eth0", a, "eth0", b),
        veth("eth1", b, "eth0", c),
        addr(a, "eth0", "192.168.1.5/24"),
        link_up(a, "eth0"),
        addr(b, "eth0", "192.168.1.6/24"),
        link_up(b, "eth0"),
        addr(b, "eth1", "192.168.2.6/24"),
        link_up(b, "eth1"),
        addr(c, "eth0", "192.168.2.5/24"),
        link_up(c, "eth0"),
        route(a, "192.168.2.0/24", "192.168.1.6"),
        route(c, "192.168.1.0/24", "192.168.2.6"),
        ip_forward(b),
    ]);
    s
}
