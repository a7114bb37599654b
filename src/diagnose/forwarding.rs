//! Forwarding sysctls: a namespace other namespaces route through must have ip_forward=1, and
//! strict reverse-path filtering must not drop traffic that arrives on one link and would be
//! answered through another.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use super::facts::{lookup, lookup_by_rules, show_dst, Checked, Facts, GatewayUse, Policy};
use super::nat_evidence::translates_any;
use super::{Finding, Severity};
use crate::model::RouteKind;
use crate::model::{LinkKind, Namespace};
use crate::plan::Step;
use ipnet::Ipv4Net;

/// `forwarding-off`: someone's gateway with net.ipv4.ip_forward=0.
pub fn check(f: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    for (_, ns) in &f.namespaces {
        if ns.sysctls.ip_forward != Some(0) {
            continue;
        }
        let uses = f.transit_uses(ns);
        let Some(first) = uses.first() else { continue };
        if !has_onwards(f, ns, &uses) {
            continue;
        }
        let evidence: Vec<String> = uses
            .iter()
            .take(4)
            .map(|u| {
                format!(
                    "{} routes {} via {} ({} on {})",
                    u.from.name,
                    show_dst(u.dst),
                    u.gw,
                    ns.name,
                    u.link.name
                )
            })
            .collect();
        let more = if uses.len() > 4 {
            format!(" and {} more routes", uses.len() - 4)
        } else {
            String::new()
        };
        let mut finding = Finding::new(
            "forwarding-off",
            Severity::Error,
            &ns.name,
            None,
            format!("{} is a gateway but does not forward packets", ns.name),
            format!(
                "{}{more}, but {} has net.ipv4.ip_forward=0, so it drops every packet not \
                 addressed to itself.",
                evidence.join("; "),
                ns.name
            ),
        )
        .object("sysctl", &ns.name, "net.ipv4.ip_forward")
        .object("namespace", &first.from.name, "");
        for u in uses.iter().take(4) {
            finding = finding.object("route", &u.from.name, show_dst(u.dst));
        }
        out.push(finding.fix(
            format!("turn on IPv4 forwarding in {}", ns.name),
            vec![Step::SetSysctl {
                ns: ns.name.clone(),
                key: "net/ipv4/ip_forward".into(),
                value: "1".into(),
                persist: false,
            }],
        ));
    }
    out
}

/// Whether traffic that users bring into `ns` has somewhere to go beyond it: a subnet or a
/// route (through a gateway or not) on a link other than the ones users arrive on (users on
/// two different links count too). Addresses on lo are the namespace's own: a gateway
/// holding only its uplink and a few addresses on lo delivers everything locally and has
/// nothing to forward.
fn has_onwards(f: &Facts, ns: &Namespace, uses: &[GatewayUse]) -> bool {
    let arrival: HashSet<&str> = uses.iter().map(|u| u.link.name.as_str()).collect();
    if arrival.len() >= 2 {
        return true;
    }
    let elsewhere = |dev: &str| {
        !arrival.contains(dev)
            && ns
                .links
                .iter()
                .find(|l| l.name == dev)
                .is_some_and(|l| l.kind != LinkKind::Loopback && l.name != "lo")
    };
    f.held_in(ns)
        .any(|h| h.live() && elsewhere(h.link.name.as_str()))
        || super::facts::v4_routes(ns).any(|(r, _)| {
            // A route back out of the link users arrive on (10.0.0.0/8 via the router they
            // come from) leads nowhere beyond: a route through a gateway elsewhere, or with
            // no device known, does.
            r.kind == RouteKind::Unicast
                && match r.dev.as_deref() {
                    Some(d) => elsewhere(d),
                    None => super::facts::route_gw(r).is_some(),
                }
        })
}

/// The source addresses of traffic that `u` brings into its gateway namespace: the sender's
/// address on the link towards the gateway, and, when the sender routes without NAT, those
/// of whoever sends it something bound the same way (recursively, a few hops). Strict
/// rp_filter judges each of them, not only the neighbour's own address.
fn arriving_sources<'a>(
    f: &'a Facts,
    ns: &Namespace,
    u: &GatewayUse<'a>,
) -> Vec<(Ipv4Addr, &'a Namespace)> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut todo = vec![(u.from, u.gw, u.dst, 0)];
    while let Some((m, gw, dst, depth)) = todo.pop() {
        if !seen.insert(m.name.as_str()) {
            continue;
        }
        if let Some(h) = f
            .held_in(m)
            .find(|h| h.live() && h.net.trunc().contains(&gw))
        {
            out.push((h.ip(), m));
        }
        if m.sysctls.ip_forward != Some(1) {
            continue;
        }
        out.extend(beyond(f, ns, m, gw, dst));
        if depth >= 4 || translates_any(m) {
            continue;
        }
        for v in f.transit_uses(m) {
            let overlaps = v.dst.contains(&dst.network()) || dst.contains(&v.dst.network());
            if overlaps {
                todo.push((v.from, v.gw, dst, depth + 1));
            }
        }
    }
    out
}

/// Addresses on the far side of `m` (which forwards) whose packets `m` sends on into `ns`
/// towards `dst`: hosts with a route to `dst` of their own, and, when `m` translates, any
/// host there, since NAT keeps the remote source on the way in (the reply to a masqueraded
/// connection, a port-forwarded connection). Each counts once `m` routes it out of a link
/// other than the one towards `ns`.
fn beyond<'a>(
    f: &'a Facts,
    ns: &Namespace,
    m: &'a Namespace,
    gw: Ipv4Addr,
    dst: Ipv4Net,
) -> Vec<(Ipv4Addr, &'a Namespace)> {
    let toward = lookup(m, gw).and_then(|r| r.dev.as_deref());
    let nat = translates_any(m);
    f.held
        .iter()
        .filter(|h| h.live() && h.ns.name != ns.name && h.ns.name != m.name)
        .filter(|h| {
            let Some(r) = lookup(m, h.ip()) else {
                return false;
            };
            if r.kind != RouteKind::Unicast || r.dev.is_none() || r.dev.as_deref() == toward {
                return false;
            }
            nat || lookup(h.ns, dst.network()).is_some_and(|r| r.kind == RouteKind::Unicast)
        })
        .map(|h| (h.ip(), h.ns))
        .collect()
}

/// `rp-filter-strict`: strict rp_filter (1) on a link where traffic from another namespace
/// arrives but the reply to its source would leave through a different link, so the kernel
/// drops it. One finding per link, naming the first such source.
pub fn check_rp_filter(f: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    for (_, ns) in &f.namespaces {
        let all = ns.sysctls.rp_filter_all.unwrap_or(0);
        let mut done: HashSet<&str> = HashSet::new();
        for u in f.transit_uses(ns) {
            let iface = ns.sysctls.rp_filter.get(&u.link.name).copied().unwrap_or(0);
            // The kernel uses max(all, iface); 1 is strict, 2 loose.
            if all.max(iface) != 1 || done.contains(u.link.name.as_str()) {
                continue;
            }
            let checked = Checked {
                to: u.dst,
                out: forwarded_out(ns, u.dst),
            };
            let dropped = arriving_sources(f, ns, &u)
                .into_iter()
                .find_map(|(src, who)| {
                    // The kernel's reverse-path check follows `ip rule`, with the packet's
                    // destination as the lookup's source; a rule that might apply but cannot
                    // be judged here keeps the doctor quiet.
                    let Policy::Route(back) = lookup_by_rules(ns, src, checked) else {
                        return None;
                    };
                    let dev = back.dev.as_deref()?;
                    (back.kind == RouteKind::Unicast && dev != u.link.name)
                        .then_some((src, who, dev))
                });
            let Some((src, who, dev)) = dropped else {
                continue;
            };
            done.insert(u.link.name.as_str());
            out.push(rp_finding(ns, &u, (src, who, dev), (all, iface)));
        }
    }
    out
}

/// The link `ns` forwards every packet to `dst` out of: the longest match (every table but
/// `local`, as [`lookup`]) when its prefix holds all of `dst` and no longer route inside `dst`
/// leaves by another link; `None` when packets to parts of `dst` leave differently or the
/// route has no device.
fn forwarded_out(ns: &Namespace, dst: Ipv4Net) -> Option<&str> {
    let r = lookup(ns, dst.network())?;
    let dev = r.dev.as_deref()?;
    let covers = super::facts::route_dst(r).is_some_and(|d| d.contains(&dst));
    let split = super::facts::v4_routes(ns)
        .any(|(o, d)| dst.contains(&d) && d != dst && o.dev.as_deref() != Some(dev));
    (covers && !split).then_some(dev)
}

fn rp_finding(
    ns: &Namespace,
    u: &GatewayUse,
    (src, who, dev): (Ipv4Addr, &Namespace, &str),
    (all, iface): (u8, u8),
) -> Finding {
    let key = format!("net/ipv4/conf/{}/rp_filter", u.link.name);
    let through = if who.name == u.from.name {
        String::new()
    } else {
        format!(" ({} sends through {})", who.name, u.from.name)
    };
    Finding::new(
        "rp-filter-strict",
        Severity::Error,
        &ns.name,
        Some(&u.link.name),
        format!(
            "strict rp_filter on {} drops traffic from {}",
            u.link.name, who.name
        ),
        format!(
            "{} sends {} via {} into {} on {}; packets from {src}{through} arrive there, but {} \
             routes {src} back out of {dev}, not {}, and rp_filter is strict there \
             (all={all}, {}={iface}), so they are dropped as spoofed.",
            u.from.name,
            show_dst(u.dst),
            u.gw,
            ns.name,
            u.link.name,
            ns.name,
            u.link.name,
            u.link.name
        ),
    )
    .object("link", &ns.name, u.link.name.clone())
    .object("sysctl", &ns.name, key.replace('/', "."))
    .fix(
        format!("loose rp_filter on {} in {}", u.link.name, ns.name),
        vec![Step::SetSysctl {
            ns: ns.name.clone(),
            key,
            value: "2".into(),
            persist: false,
        }],
    )
}
