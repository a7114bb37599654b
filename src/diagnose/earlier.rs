//! Routes a namespace had earlier and has lost: the gateway and device routes of a snapshot
//! the user saved before (`doctor --before FILE`, `fix --before FILE`). The kernel flushes
//! every route through a link set down and gives back only the connected ones when it comes
//! up again; nothing in the live network remembers the rest.
//!
//! The saved file is not trusted: it only proposes routes, and a route is proposed only when
//! the live namespace still has its link (by name) with an address whose subnet holds the
//! gateway, so `ip route add` would accept it; the doctor then tries the fix on a copy
//! (`fix_check`). At most [`MAX_PER_NS`] routes per namespace are taken from it.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use ipnet::{IpNet, Ipv4Net};

use super::facts::{route_dst, Facts};
use super::{Finding, Severity};
use crate::model::{Namespace, Route, Snapshot};
use crate::model::{RouteFamily, RouteKind, RouteProtocol};
use crate::plan::{RouteSpec, Step};

/// More routes than this for one namespace in a saved file are ignored: a hand-made file
/// must not turn one finding into an unbounded plan.
pub const MAX_PER_NS: usize = 256;

/// A route the earlier snapshot held: IPv4, unicast, not the kernel's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Known {
    pub dst: Ipv4Net,
    pub via: Option<Ipv4Addr>,
    pub dev: String,
    pub table: u32,
    pub metric: Option<u32>,
}

impl Known {
    fn from_route(r: &Route) -> Option<Known> {
        // Connected and local routes come back with their address; multipath is not proposed.
        let ours = r.protocol != RouteProtocol::Kernel
            && r.kind == RouteKind::Unicast
            && r.nexthops.is_empty();
        let via = match r.gateway {
            Some(IpAddr::V4(g)) => Some(g),
            Some(IpAddr::V6(_)) => return None,
            None => None,
        };
        if !ours
            || r.table == 255
            || (r.family != RouteFamily::Inet && !r.family.as_str().is_empty())
        {
            return None;
        }
        Some(Known {
            dst: route_dst(r)?,
            via,
            dev: r.dev.clone()?,
            table: r.table,
            metric: r.metric,
        })
    }

    /// `default via 10.0.0.1 dev eth0`, as `ip route` prints it.
    pub fn show(&self) -> String {
        let dst = if self.dst.prefix_len() == 0 {
            "default".to_string()
        } else {
            self.dst.to_string()
        };
        let via = self.via.map(|g| format!(" via {g}")).unwrap_or_default();
        let table = match self.table {
            254 => String::new(),
            t => format!(" table {t}"),
        };
        format!("{dst}{via} dev {}{table}", self.dev)
    }

    pub fn step(&self, ns: &str) -> Step {
        Step::AddRoute {
            ns: ns.to_string(),
            route: RouteSpec {
                dst: IpNet::V4(self.dst),
                via: self.via.map(IpAddr::V4),
                dev: Some(self.dev.clone()),
                table: (self.table != 254).then_some(self.table),
                metric: self.metric,
            },
        }
    }

    /// Whether `ns` has this route now (same table, destination and gateway).
    fn present(&self, ns: &Namespace) -> bool {
        ns.routes.iter().any(|r| {
            r.table == self.table
                && route_dst(r) == Some(self.dst)
                && r.gateway == self.via.map(IpAddr::V4)
        })
    }

    /// Whether `ip route add` would take it in `ns` once its link is up: the link is there and
    /// (for a gateway route) one of its addresses' subnets holds the gateway.
    fn addable(&self, ns: &Namespace) -> bool {
        if !ns.links.iter().any(|l| l.name == self.dev) {
            return false;
        }
        let Some(gw) = self.via else { return true };
        ns.addresses.iter().any(|a| {
            a.ifname == self.dev
                && matches!(a.address, IpAddr::V4(ip)
                    if Ipv4Net::new(ip, a.prefix_len.min(32)).is_ok_and(|n| n.contains(&gw)))
        })
    }
}

/// The routes of an earlier snapshot, by namespace name.
#[derive(Debug, Clone, Default)]
pub struct Earlier {
    routes: HashMap<String, Vec<Known>>,
}

impl Earlier {
    pub fn from_snapshot(snap: &Snapshot) -> Earlier {
        let routes = snap
            .namespaces
            .iter()
            .map(|ns| {
                let known: Vec<Known> = ns
                    .routes
                    .iter()
                    .filter_map(Known::from_route)
                    .take(MAX_PER_NS)
                    .collect();
                (ns.name.clone(), known)
            })
            .filter(|(_, k)| !k.is_empty())
            .collect();
        Earlier { routes }
    }

    /// The routes `ns` had that it lacks now and could take back: through `dev` when given.
    pub fn lost<'a>(&'a self, ns: &Namespace, dev: Option<&str>) -> Vec<&'a Known> {
        let Some(known) = self.routes.get(&ns.name) else {
            return Vec::new();
        };
        known
            .iter()
            .filter(|k| dev.is_none_or(|d| k.dev == d))
            .filter(|k| !k.present(ns) && k.addable(ns))
            .collect()
    }
}

/// The lost routes of `ns` through `link` (see [`Earlier::lost`]); none without `--before`.
pub fn lost_through<'a>(f: &Facts<'a>, ns: &Namespace, link: &str) -> Vec<&'a Known> {
    f.earlier
        .map(|e| e.lost(ns, Some(link)))
        .unwrap_or_default()
}

/// Whether `--before` puts back a default route of `ns` through an up link: `route-lost`
/// then names it, and `no-default` need not guess a gateway.
pub fn restores_default(f: &Facts, ns: &Namespace) -> bool {
    lost_up(f, ns).iter().any(|k| k.dst.prefix_len() == 0)
}

/// Lost routes of `ns` through links that are up now (a down link's are `link-down`'s).
fn lost_up<'a>(f: &Facts<'a>, ns: &Namespace) -> Vec<&'a Known> {
    let Some(e) = f.earlier else {
        return Vec::new();
    };
    e.lost(ns, None)
        .into_iter()
        .filter(|k| ns.links.iter().any(|l| l.name == k.dev && l.is_up()))
        .collect()
}

/// `route-lost`: routes the earlier snapshot had through links that are up now (a link set
/// down and up again by hand, a route deleted since). An error when the default route is
/// among them and the namespace has none now (it has no way out); else a warning, since a
/// route may have been removed on purpose.
pub fn check(f: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    for (_, ns) in &f.namespaces {
        let lost = lost_up(f, ns);
        if lost.is_empty() {
            continue;
        }
        let cut_off = super::facts::default_route(ns).is_none()
            && lost.iter().any(|k| k.dst.prefix_len() == 0);
        let list: Vec<String> = lost.iter().map(|k| k.show()).collect();
        let severity = if cut_off {
            Severity::Error
        } else {
            Severity::Warning
        };
        let effect = if cut_off {
            format!(
                "{} has no default route now: it reaches nothing beyond its own subnets",
                ns.name
            )
        } else {
            "traffic for these destinations now takes another route, or none".to_string()
        };
        let mut finding = Finding::new(
            "route-lost",
            severity,
            &ns.name,
            None,
            format!("{} lost {} route(s) it had before", ns.name, lost.len()),
            format!(
                "the earlier snapshot has {} in {}, and they are gone although their links are \
                 up and their gateways on-link (a link set down flushes its routes; setting it up \
                 brings back only the connected ones); {effect}.",
                list.join(", "),
                ns.name
            ),
        );
        for k in &lost {
            finding = finding.object("route", &ns.name, k.show());
        }
        let steps = lost.iter().map(|k| k.step(&ns.name)).collect();
        out.push(finding.fix(
            format!("add back {} in {}", list.join(", "), ns.name),
            steps,
        ));
    }
    out
}

#[cfg(test)]
#[path = "earlier_tests.rs"]
mod tests;
