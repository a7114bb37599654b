//! What the routing rules need to know of NAT, without judging it (that is `nat`'s job):
//! whether a namespace masquerades an address on its way out, read from its POSTROUTING
//! chain's MASQUERADE and SNAT rules.

use std::net::Ipv4Addr;

use crate::firewall::IpFamily;
use crate::model::Namespace;

/// Whether `ns` has a v4 `nat POSTROUTING` MASQUERADE or SNAT rule whose source match (if
/// any) takes `ip`. Rules in chains POSTROUTING jumps to are not followed: this is evidence
/// that `ip` is meant to go out, and missing some of it only keeps a rule quiet.
pub fn masquerades(ns: &Namespace, ip: Ipv4Addr) -> bool {
    let Some(fw) = &ns.firewall else { return false };
    fw.nat_rules()
        .filter(|r| r.table.family == IpFamily::V4 && r.chain.name == "POSTROUTING")
        .filter(|r| matches!(r.rule.target.as_deref(), Some("MASQUERADE" | "SNAT")))
        .any(|r| match &r.rule.source {
            None => true,
            Some(c) => c
                .value
                .parse::<ipnet::Ipv4Net>()
                .ok()
                .or_else(|| c.value.parse::<Ipv4Addr>().ok().map(ipnet::Ipv4Net::from))
                .is_some_and(|n| n.contains(&ip) != c.negated),
        })
}

/// Whether `ns` does any NAT: a v4 rule with a target in its nat table (MASQUERADE, SNAT,
/// DNAT, a jump to a chain of them). A router without one routes, and whoever is upstream of
/// it must route back; one with a port forward but no MASQUERADE lost its MASQUERADE.
pub fn translates_any(ns: &Namespace) -> bool {
    let Some(fw) = &ns.firewall else { return false };
    fw.nat_rules()
        .any(|r| r.table.family == IpFamily::V4 && r.rule.target.is_some())
}
