//! Route look-ups over one namespace's IPv4 routes (longest prefix, `local` table first),
//! and the small conversions the rules share.

use std::net::{IpAddr, Ipv4Addr};

use ipnet::{IpNet, Ipv4Net};

use super::Facts;
use crate::model::{Namespace, Route, RouteFamily, RouteKind};

/// IPv4 destination of a route (`default` is 0.0.0.0/0).
pub fn route_dst(r: &Route) -> Option<Ipv4Net> {
    if r.family != RouteFamily::Inet {
        return None;
    }
    if r.dst.is_default() {
        return Some(Ipv4Net::default());
    }
    match r.dst.net()? {
        IpNet::V4(net) => Some(net),
        IpNet::V6(_) => None,
    }
}

pub fn route_gw(r: &Route) -> Option<Ipv4Addr> {
    match r.gateway {
        Some(IpAddr::V4(g)) => Some(g),
        _ => None,
    }
}

/// Routes that decide where a namespace's traffic goes: IPv4, every table but `local`. Policy
/// rules are not followed; looking in every table errs on the side of "there is a route",
/// which keeps the rules quiet rather than wrong on policy-routed hosts.
pub fn v4_routes(ns: &Namespace) -> impl Iterator<Item = (&Route, Ipv4Net)> {
    ns.routes
        .iter()
        .filter(|r| r.table != 255)
        .filter_map(|r| route_dst(r).map(|d| (r, d)))
}

/// Longest-prefix match of `ip`, lowest metric first among equals; local addresses match the
/// `local` table first, as the kernel does.
pub fn lookup(ns: &Namespace, ip: Ipv4Addr) -> Option<&Route> {
    if let Some(local) = ns
        .routes
        .iter()
        .filter(|r| r.table == 255 && r.kind == RouteKind::Local)
        .find(|r| route_dst(r).is_some_and(|d| d.contains(&ip)))
    {
        return Some(local);
    }
    v4_routes(ns)
        .filter(|(_, d)| d.contains(&ip))
        .max_by_key(|(r, d)| (d.prefix_len(), std::cmp::Reverse(r.metric.unwrap_or(0))))
        .map(|(r, _)| r)
}

/// One namespace's IPv4 routes as [`lookup`] reads them, by index in its routes and in the
/// snapshot's order: the `local` table's local routes, and the rest. Indexes, not borrows,
/// so that [`Facts`] holding them stays covariant in its lifetime.
pub struct V4Routes {
    local: Vec<(usize, Ipv4Net)>,
    other: Vec<(usize, Ipv4Net)>,
}

impl V4Routes {
    fn new(ns: &Namespace) -> Self {
        let indexed = || ns.routes.iter().enumerate();
        let local = indexed()
            .filter(|(_, r)| r.table == 255 && r.kind == RouteKind::Local)
            .filter_map(|(i, r)| route_dst(r).map(|d| (i, d)))
            .collect();
        let other = indexed()
            .filter(|(_, r)| r.table != 255)
            .filter_map(|(i, r)| route_dst(r).map(|d| (i, d)))
            .collect();
        V4Routes { local, other }
    }

    /// [`lookup`] over these routes of `ns` (the namespace they were set apart from): the
    /// same route.
    fn lookup<'n>(&self, ns: &'n Namespace, ip: Ipv4Addr) -> Option<&'n Route> {
        if let Some((i, _)) = self.local.iter().find(|(_, d)| d.contains(&ip)) {
            return Some(&ns.routes[*i]);
        }
        self.other
            .iter()
            .filter(|(_, d)| d.contains(&ip))
            .max_by_key(|(i, d)| {
                let metric = ns.routes[*i].metric.unwrap_or(0);
                (d.prefix_len(), std::cmp::Reverse(metric))
            })
            .map(|(i, _)| &ns.routes[*i])
    }
}

impl<'a> Facts<'a> {
    /// [`lookup`] in `ns`, over its IPv4 routes set apart once per snapshot: a node's host
    /// holds an IPv6 route per veth (a thousand), which every look-up walked past, and the
    /// rules look up per pod and per flow.
    pub fn route_to<'s>(&self, ns: &'s Namespace, ip: Ipv4Addr) -> Option<&'s Route> {
        let own = self
            .ns_idx(&ns.name)
            .filter(|&i| std::ptr::eq(ns, &self.snap.namespaces[i]));
        match own {
            Some(i) => self.v4[i].get_or_init(|| V4Routes::new(ns)).lookup(ns, ip),
            None => lookup(ns, ip),
        }
    }
}

/// The default route of the main table, if any.
pub fn default_route(ns: &Namespace) -> Option<&Route> {
    v4_routes(ns)
        .find(|(r, d)| d.prefix_len() == 0 && r.kind == RouteKind::Unicast)
        .map(|(r, _)| r)
}

/// Routes through a gateway: (route, destination, gateway).
pub fn gateway_routes(ns: &Namespace) -> impl Iterator<Item = (&Route, Ipv4Net, Ipv4Addr)> {
    v4_routes(ns).filter_map(|(r, d)| route_gw(r).map(|g| (r, d, g)))
}

pub fn is_private(net: Ipv4Net) -> bool {
    net.addr().is_private()
        || Ipv4Net::new(Ipv4Addr::new(100, 64, 0, 0), 10).is_ok_and(|cgn| cgn.contains(&net.addr()))
}

/// `192.168.1.0/24` for 192.168.1.5/24.
pub fn subnet(net: Ipv4Net) -> Ipv4Net {
    net.trunc()
}

/// `10.0.0.0/24` or `default`.
pub fn show_dst(d: Ipv4Net) -> String {
    if d.prefix_len() == 0 {
        "default".into()
    } else {
        d.to_string()
    }
}
