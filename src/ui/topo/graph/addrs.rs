//! The addresses a hub's box prints: not link-local, not loopback, as CIDR.

use std::collections::HashMap;

use crate::model::Namespace;

/// Addresses worth printing: not link-local, not loopback.
pub fn shown_addrs(ns: &Namespace, ifname: &str) -> Vec<String> {
    ns.addresses
        .iter()
        .filter(|a| a.ifname == ifname)
        .filter(|a| !a.address.is_loopback())
        .filter(|a| match a.address {
            std::net::IpAddr::V4(v4) => !v4.is_link_local(),
            std::net::IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) != 0xfe80,
        })
        .map(|a| a.cidr())
        .collect()
}

/// [`shown_addrs`] for every link of `ns` at once: asked per link, a walk of all addresses
/// each time was quadratic in a namespace with thousands of bridges and addresses.
pub fn addrs_by_link(ns: &Namespace) -> HashMap<&str, Vec<String>> {
    let mut out: HashMap<&str, Vec<String>> = HashMap::new();
    for a in &ns.addresses {
        let shown = !a.address.is_loopback()
            && match a.address {
                std::net::IpAddr::V4(v4) => !v4.is_link_local(),
                std::net::IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) != 0xfe80,
            };
        if shown {
            out.entry(a.ifname.as_str()).or_default().push(a.cidr());
        }
    }
    out
}
