//! Which of the doctor's findings a broken hop names: one about that hop (its namespace, or an
//! object there) and that cause, never one about somewhere else; [`super::verify`] then checks
//! that its fix gets the packet past the hop.

use std::net::IpAddr;

use super::Walk;
use crate::diagnose::{Finding, Severity};
use crate::model::{Namespace, RouteScope};

impl Walk<'_> {
    /// The doctor's finding for a cause at a hop: one of `rules` about namespace `ns` (its own,
    /// or one naming an object there, such as the far end of a veth) and, when it names a
    /// route there, a route that would carry `dst`. Never a finding about somewhere else:
    /// `verify` then checks that its fix gets the packet past the hop.
    pub(super) fn finding(&self, ns: &str, rules: &[&str], dst: Option<IpAddr>) -> Option<String> {
        let about = |f: &&Finding| {
            f.namespace == ns
                || f.objects
                    .iter()
                    .any(|o| o.kind != "namespace" && o.namespace == ns)
        };
        let fits = |f: &&Finding| {
            let Some(d) = dst else { return true };
            f.objects
                .iter()
                .filter(|o| o.kind == "route" && o.namespace == ns)
                .all(|o| o.name == "default" || route_covers(&o.name, d))
        };
        let candidates = || {
            self.findings
                .iter()
                .filter(|f| f.severity != Severity::Info && rules.contains(&f.rule.as_str()))
        };
        candidates()
            .filter(|f| f.namespace == ns)
            .find(|f| fits(f))
            .or_else(|| candidates().filter(about).find(|f| fits(f)))
            .map(|f| f.id.clone())
    }

    /// A `no-masquerade` finding for the subnet `dst` is in: a reply to a private source that
    /// a gateway sent out as it was.
    pub(super) fn unmasqueraded(&self, dst: IpAddr) -> Option<&Finding> {
        self.findings.iter().find(|f| {
            f.rule == "no-masquerade"
                && f.severity != Severity::Info
                && f.id
                    .rsplit(':')
                    .next()
                    .is_some_and(|net| route_covers(net, dst))
        })
    }
}

/// Whether the route or subnet text `net` (`10.0.0.0/8`, `default`) carries `ip`.
pub(super) fn route_covers(net: &str, ip: IpAddr) -> bool {
    // A per-host finding (`no-masquerade:gw:10.88.0.3`) names an address, not a subnet.
    net == "default"
        || net.parse::<ipnet::IpNet>().is_ok_and(|n| n.contains(&ip))
        || net.parse::<IpAddr>().is_ok_and(|a| a == ip)
}

/// The source a packet from `ns` to `dst` most likely gets: its first global address of that
/// family (the unspecified address when it has none).
pub(super) fn own_source(ns: &Namespace, dst: IpAddr) -> IpAddr {
    ns.addresses
        .iter()
        .filter(|a| a.address.is_ipv4() == dst.is_ipv4() && a.scope == RouteScope::Global)
        .find(|a| !a.address.is_loopback())
        .map(|a| a.address)
        .unwrap_or(if dst.is_ipv4() {
            IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)
        } else {
            IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED)
        })
}
