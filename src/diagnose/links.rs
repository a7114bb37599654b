//! Links: a link something depends on that is down, a veth whose other end is down, and a
//! veth whose other end has disappeared.
//!
//! "Something depends on it" means it carries an IPv4 address, is a bridge with ports, or is a
//! bridge port: a DOWN link nobody uses (a spare NIC, a half-built veth) is nobody's problem.

use super::earlier::lost_through;
use super::facts::{default_route, gateway_routes, readable, Facts};
use super::no_default::{add_default, lone_gateway};
use super::{Finding, Severity};
use crate::model::{Link, LinkKind, Namespace};
use crate::plan::Step;

fn addresses_of<'a>(f: &'a Facts, ns: &'a Namespace, link: &'a Link) -> Vec<String> {
    f.held_on(ns, link.index)
        .map(|h| h.net.to_string())
        .collect()
}

/// Carries an address or is a bridge with ports: its own state matters.
fn carries_traffic(f: &Facts, ns: &Namespace, link: &Link) -> bool {
    !addresses_of(f, ns, link).is_empty()
        || (link.kind == LinkKind::Bridge && !link.ports.is_empty())
}

fn is_loopback(link: &Link) -> bool {
    link.kind == LinkKind::Loopback || link.name == "lo"
}

pub fn check(f: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    for (_, ns) in &f.namespaces {
        for link in ns.links.iter().filter(|l| !is_loopback(l)) {
            if !link.is_up() && carries_traffic(f, ns, link) {
                out.push(link_down(f, ns, link));
                continue;
            }
            if link.kind != LinkKind::Veth || !link.is_up() {
                continue;
            }
            let used = carries_traffic(f, ns, link) || link.master.is_some();
            if !used {
                continue;
            }
            match f.peer(ns, link) {
                Some((pns, peer)) => {
                    // A down peer that carries traffic itself is reported as link-down there.
                    if !peer.is_up() && !carries_traffic(f, pns, peer) {
                        out.push(peer_down(ns, link, pns, peer));
                    }
                }
                None => {
                    if let Some(f) = peer_missing(f, ns, link) {
                        out.push(f);
                    }
                }
            }
        }
    }
    out
}

fn link_down(f: &Facts, ns: &Namespace, link: &Link) -> Finding {
    let what = if link.kind == LinkKind::Bridge && !link.ports.is_empty() {
        format!("bridge {} (ports {})", link.name, link.ports.join(", "))
    } else {
        format!("{} {}", link.kind, link.name)
    };
    let addrs = addresses_of(f, ns, link);
    let carries = if addrs.is_empty() {
        String::new()
    } else {
        format!(" holds {} but", addrs.join(", "))
    };
    // A physical NIC may be down on purpose (a spare port with its config kept); a virtual
    // link with an address is down by accident.
    let severity = if link.kind == LinkKind::Device {
        Severity::Warning
    } else {
        Severity::Error
    };
    let detail = format!(
        "{what} in {}{carries} is administratively down (flags {}); the kernel removed \
             every route through it.",
        ns.name, link.flags
    );
    let mut steps = vec![Step::SetLinkUp {
        ns: ns.name.clone(),
        link: link.name.clone(),
        up: true,
    }];
    let mut title = format!("set {} up in {}", link.name, ns.name);
    // Setting the link up brings back its connected routes, not the gateway routes the kernel
    // flushed with it. An earlier snapshot (`--before`) says which they were.
    let lost = lost_through(f, ns, &link.name);
    let mut detail = detail;
    if !lost.is_empty() {
        let list: Vec<String> = lost.iter().map(|k| k.show()).collect();
        detail = format!(
            "{detail} The earlier snapshot had {} through it.",
            list.join(", ")
        );
        title = format!("{title}, add back {}", list.join(", "));
        steps.extend(lost.iter().map(|k| k.step(&ns.name)));
    } else if default_route(ns).is_none() && gateway_routes(ns).next().is_none() {
        // With no record of them (the link was taken down outside netlens), the way out is
        // the forwarding router the link's segment offers.
        if let Some(m) = lone_gateway(f, ns, link) {
            title = format!("{title}, default route via {}", m.gw);
            steps.push(add_default(ns, m.gw));
        }
    }
    let mut finding = Finding::new(
        "link-down",
        severity,
        &ns.name,
        Some(&link.name),
        format!("{} is down in {}", link.name, ns.name),
        detail,
    )
    .object("link", &ns.name, link.name.clone());
    for k in &lost {
        finding = finding.object("route", &ns.name, k.show());
    }
    finding.fix(title, steps)
}

fn peer_down(ns: &Namespace, link: &Link, pns: &Namespace, peer: &Link) -> Finding {
    let role = match &peer.master {
        Some(m) => format!(", port of bridge {m},"),
        None => String::new(),
    };
    Finding::new(
        "peer-down",
        Severity::Error,
        &ns.name,
        Some(&link.name),
        format!("the other end of {} in {} is down", link.name, ns.name),
        format!(
            "{} in {} is up but its veth peer {} in {}{role} is down, so {} has no carrier \
             (state {}) and nothing it sends arrives.",
            link.name, ns.name, peer.name, pns.name, link.name, link.oper_state
        ),
    )
    .object("link", &ns.name, link.name.clone())
    .object("link", &pns.name, peer.name.clone())
    .fix(
        format!("set {} up in {}", peer.name, pns.name),
        vec![Step::SetLinkUp {
            ns: pns.name.clone(),
            link: peer.name.clone(),
            up: true,
        }],
    )
}

/// The peer's namespace was read, and holds no link with the peer's index.
fn peer_missing(f: &Facts, ns: &Namespace, link: &Link) -> Option<Finding> {
    let peer = link.peer.as_ref()?;
    let pns_name = peer.namespace.as_deref()?;
    let pi = f.ns_idx(pns_name)?;
    let pns = &f.snap.namespaces[pi];
    if !readable(pns) || f.link((pi, peer.ifindex)).is_some() {
        return None;
    }
    Some(
        Finding::new(
            "veth-peer-missing",
            Severity::Warning,
            &ns.name,
            Some(&link.name),
            format!("the other end of {} in {} is gone", link.name, ns.name),
            format!(
                "{} in {} is a veth whose peer should be interface index {} in {}, but {} has \
                 no such interface: whatever was plugged in there has left.",
                link.name, ns.name, peer.ifindex, pns_name, pns_name
            ),
        )
        .object("link", &ns.name, link.name.clone()),
    )
}
