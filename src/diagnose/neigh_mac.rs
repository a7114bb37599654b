//! A permanent neighbour entry whose MAC is not the one the address's holder has: the kernel
//! sends every frame for that address to a MAC nobody on the segment answers to, and never
//! asks ARP again. `gateway-neigh` when the address is a route's gateway (the whole
//! namespace's traffic through it is lost), `neigh-mac` otherwise.
//!
//! Only PERMANENT and NOARP entries: a learned entry with an old MAC re-resolves by itself.
//! The fix deletes the entry (`Step::DelNeigh`): ARP then resolves the holder's real MAC;
//! undo pins the old entry again.

use std::net::IpAddr;

use super::facts::{gateway_routes, show_dst, Facts};
use super::{Finding, Severity};
use crate::model::{Namespace, Neighbor};
use crate::plan::Step;

pub fn check(f: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    for (_, ns) in &f.namespaces {
        for n in &ns.neighbors {
            if let Some(finding) = wrong_mac(f, ns, n) {
                out.push(finding);
            }
        }
    }
    out
}

fn wrong_mac(f: &Facts, ns: &Namespace, n: &Neighbor) -> Option<Finding> {
    if !n.state.pinned() {
        return None;
    }
    let IpAddr::V4(ip) = n.address else {
        return None;
    };
    let pinned = n.lladdr.as_deref()?.to_ascii_lowercase();
    let link = ns.links.iter().find(|l| l.name == n.dev)?;
    // The holder reached through this link (the same segment), with the MAC it answers to.
    let holder = f
        .holders(ip)
        .find(|h| h.live() && h.ns.name != ns.name && f.same_segment((ns, link), (h.ns, h.link)))?;
    let mac = holder.link.mac.as_deref()?.to_ascii_lowercase();
    if mac == pinned {
        return None;
    }
    let routes: Vec<String> = gateway_routes(ns)
        .filter(|(_, _, gw)| *gw == ip)
        .map(|(_, d, _)| show_dst(d))
        .collect();
    let (rule, what) = if routes.is_empty() {
        ("neigh-mac", format!("traffic to {ip}"))
    } else {
        (
            "gateway-neigh",
            format!("everything it routes via {ip} ({})", routes.join(", ")),
        )
    };
    let mut finding = Finding::new(
        rule,
        Severity::Error,
        &ns.name,
        Some(&ip.to_string()),
        format!(
            "{}'s permanent neighbour entry for {ip} has the wrong MAC",
            ns.name
        ),
        format!(
            "{} has `{ip} lladdr {pinned} {}` on {}, but {ip} is held by {} {} with MAC {mac}: \
             {what} goes to a MAC nobody answers to, and the kernel never asks ARP again. \
             The fix deletes the entry (`ip -n {} neigh del {ip} dev {}`), so ARP finds {mac}.",
            ns.name, n.state, n.dev, holder.ns.name, holder.link.name, ns.name, n.dev
        ),
    )
    .object("neighbor", &ns.name, ip.to_string());
    for r in routes {
        finding = finding.object("route", &ns.name, r);
    }
    let step = Step::DelNeigh {
        ns: ns.name.clone(),
        link: n.dev.clone(),
        addr: n.address,
    };
    Some(finding.fix(format!("delete the pinned entry for {ip}"), vec![step]))
}
