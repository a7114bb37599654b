//! Layer 2: one address held twice on a segment, a gateway whose ARP entry failed, and MTUs
//! that differ across a veth pair, a bridge's ports, or exceed what a vxlan overlay carries.

use std::collections::BTreeMap;

use super::facts::{gateway_routes, Facts, Held};
use super::{Finding, Severity};
use crate::model::LinkKind;
use crate::plan::Step;

/// VXLAN over IPv4 adds 50 bytes (outer Ethernet 14 + IP 20 + UDP 8 + VXLAN 8).
const VXLAN_OVERHEAD: u32 = 50;

pub fn check(f: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    dup_ip(f, &mut out);
    gateway_neigh(f, &mut out);
    mtu_mismatch(f, &mut out);
    mtu_overlay(f, &mut out);
    out
}

/// `dup-ip`: two links on one segment hold the same address. The id names the address only:
/// which holder is wrong is not ours to say.
fn dup_ip(f: &Facts, out: &mut Vec<Finding>) {
    let mut by_ip: BTreeMap<std::net::Ipv4Addr, Vec<&Held>> = BTreeMap::new();
    for h in &f.held {
        by_ip.entry(h.ip()).or_default().push(h);
    }
    for (ip, mut holders) in by_ip {
        holders.sort_by(|a, b| (&a.ns.name, &a.link.name).cmp(&(&b.ns.name, &b.link.name)));
        let mut clash = None;
        'outer: for (i, a) in holders.iter().enumerate() {
            for b in &holders[i + 1..] {
                let same_link = a.ns.name == b.ns.name && a.link.index == b.link.index;
                if !same_link && f.same_segment((a.ns, a.link), (b.ns, b.link)) {
                    clash = Some((*a, *b));
                    break 'outer;
                }
            }
        }
        let Some((a, b)) = clash else { continue };
        let mut finding = Finding::new(
            "dup-ip",
            Severity::Error,
            &a.ns.name,
            None,
            format!("{ip} is held twice on one segment"),
            format!(
                "{} {} has {} and {} {} has {}, on the same layer-2 segment: ARP for {ip} gets \
                 two answers and traffic goes to whichever came last.",
                a.ns.name, a.link.name, a.net, b.ns.name, b.link.name, b.net
            ),
        )
        .object("address", &a.ns.name, format!("{} {}", a.link.name, a.net))
        .object("address", &b.ns.name, format!("{} {}", b.link.name, b.net));
        // Only when exactly one holder has another address of its own on that subnet is it
        // clear which copy goes: that one keeps working without it. Otherwise the engineer
        // must choose, and the doctor does not guess.
        let has_own = |h: &Held| {
            f.held.iter().any(|o| {
                o.ns.name == h.ns.name
                    && o.link.index == h.link.index
                    && o.ip() != ip
                    && o.net.trunc() == h.net.trunc()
            })
        };
        let spare = match (has_own(a), has_own(b)) {
            (true, false) => Some(a),
            (false, true) => Some(b),
            _ => None,
        };
        if let Some(h) = spare {
            finding = finding.fix(
                format!(
                    "remove the copy of {ip} from {} {}, which keeps its own address",
                    h.ns.name, h.link.name
                ),
                vec![Step::DelAddress {
                    ns: h.ns.name.clone(),
                    link: h.link.name.clone(),
                    addr: ipnet::IpNet::V4(h.net),
                }],
            );
        }
        finding.id = format!("dup-ip:{ip}");
        out.push(finding);
    }
}

/// `gateway-neigh`: the ARP entry of a route's gateway is INCOMPLETE or FAILED.
fn gateway_neigh(f: &Facts, out: &mut Vec<Finding>) {
    for (_, ns) in &f.namespaces {
        for (route, dst, gw) in gateway_routes(ns) {
            let Some(n) = ns.neighbors.iter().find(|n| {
                n.address == std::net::IpAddr::V4(gw)
                    && route.dev.as_deref().is_none_or(|d| d == n.dev)
            }) else {
                continue;
            };
            if !n.state.unresolved() {
                continue;
            }
            let who = f
                .live_holder(gw)
                .map(|h| format!(" ({} {} holds it)", h.ns.name, h.link.name))
                .unwrap_or_default();
            out.push(
                Finding::new(
                    "gateway-neigh",
                    Severity::Warning,
                    &ns.name,
                    Some(&gw.to_string()),
                    format!("gateway {gw} does not answer ARP in {}", ns.name),
                    format!(
                        "{} routes {} via {gw}, but its neighbour entry for {gw} on {} is {}: \
                         the gateway{who} did not answer ARP.",
                        ns.name,
                        super::facts::show_dst(dst),
                        n.dev,
                        n.state
                    ),
                )
                .object("route", &ns.name, super::facts::show_dst(dst)),
            );
        }
    }
}

/// `mtu-mismatch`: on one segment, links whose MTU differs from the most common one (ties: the
/// larger, so the fix raises the smaller end and breaks nothing that worked).
fn mtu_mismatch(f: &Facts, out: &mut Vec<Finding>) {
    for (_, seg) in f.segments() {
        let links: Vec<_> = seg
            .links
            .iter()
            .filter_map(|k| f.link(*k))
            // A bridge takes the smallest MTU of its ports by itself; the ports decide.
            .filter(|(_, l)| l.kind != LinkKind::Bridge && l.mtu > 0)
            .collect();
        if links.len() < 2 {
            continue;
        }
        let mut count: BTreeMap<u32, usize> = BTreeMap::new();
        for (_, l) in &links {
            *count.entry(l.mtu).or_default() += 1;
        }
        if count.len() < 2 {
            continue;
        }
        let Some((&usual, _)) = count.iter().max_by_key(|(mtu, n)| (**n, **mtu)) else {
            continue;
        };
        for (ns, l) in links.iter().filter(|(_, l)| l.mtu != usual) {
            let others: Vec<String> = links
                .iter()
                .filter(|(_, o)| o.mtu == usual)
                .take(3)
                .map(|(n, o)| format!("{} {} {}", n.name, o.name, o.mtu))
                .collect();
            let peer = match f.peer(ns, l) {
                Some((pns, p)) if p.mtu != l.mtu => {
                    format!(" (its veth peer {} in {} has {})", p.name, pns.name, p.mtu)
                }
                _ => String::new(),
            };
            out.push(
                Finding::new(
                    "mtu-mismatch",
                    Severity::Error,
                    &ns.name,
                    Some(&l.name),
                    format!("{} has MTU {}, its segment {}", l.name, l.mtu, usual),
                    format!(
                        "{} in {} has MTU {}{peer}, while the rest of its layer-2 segment uses \
                         {usual} ({}): frames larger than the smaller MTU are dropped silently, \
                         so small packets pass and bulk transfers or TLS handshakes hang.",
                        l.name,
                        ns.name,
                        l.mtu,
                        others.join(", ")
                    ),
                )
                .object("link", &ns.name, l.name.clone())
                .fix_opt((!on_the_wire(&l.kind)).then(|| {
                    (
                        format!("set {} MTU to {usual}", l.name),
                        vec![Step::SetMtu {
                            ns: ns.name.clone(),
                            link: l.name.clone(),
                            mtu: usual,
                        }],
                    )
                })),
            );
        }
    }
}

/// Links whose MTU is the physical network's (a NIC, and what sits directly on one): netlens
/// cannot see what the switches carry, and the segment's majority it would copy can be made of
/// containers' links (a container with NET_ADMIN sets its MTU and adds links of its own), so
/// no fix changes them.
fn on_the_wire(kind: &LinkKind) -> bool {
    matches!(
        kind,
        LinkKind::Device
            | LinkKind::Bond
            | LinkKind::Team
            | LinkKind::Vlan
            | LinkKind::Macvlan
            | LinkKind::Macvtap
            | LinkKind::Ipvlan
    )
}

/// `mtu-overlay`: a vxlan link larger than its underlay allows, or namespaces that route into
/// a vxlan overlay through a link whose MTU exceeds the overlay's.
fn mtu_overlay(f: &Facts, out: &mut Vec<Finding>) {
    for &(ni, ns) in &f.namespaces {
        for vx in ns
            .links
            .iter()
            .filter(|l| l.kind == LinkKind::Vxlan && l.mtu > 0)
        {
            if let Some((_, lower)) = vx.link_index.and_then(|i| f.link((ni, i))) {
                if vx.mtu + VXLAN_OVERHEAD > lower.mtu {
                    let want = lower.mtu.saturating_sub(VXLAN_OVERHEAD);
                    out.push(
                        Finding::new(
                            "mtu-overlay",
                            Severity::Error,
                            &ns.name,
                            Some(&vx.name),
                            format!("vxlan {} MTU {} does not fit {}", vx.name, vx.mtu, lower.name),
                            format!(
                                "vxlan {} in {} has MTU {} but its underlay {} has {}; with \
                                 {VXLAN_OVERHEAD} bytes of encapsulation it can carry at most {want}.",
                                vx.name, ns.name, vx.mtu, lower.name, lower.mtu
                            ),
                        )
                        .object("link", &ns.name, vx.name.clone())
                        .fix(
                            format!("set {} MTU to {want}", vx.name),
                            vec![Step::SetMtu {
                                ns: ns.name.clone(),
                                link: vx.name.clone(),
                                mtu: want,
                            }],
                        ),
                    );
                }
            }
            // Links whose traffic this namespace forwards into the overlay.
            let into_overlay = ns
                .routes
                .iter()
                .any(|r| r.dev.as_deref() == Some(vx.name.as_str()) && r.table != 255);
            if !into_overlay {
                continue;
            }
            let mut seen = Vec::new();
            for u in f.transit_uses(ns) {
                if u.link.mtu <= vx.mtu || seen.contains(&u.link.index) {
                    continue;
                }
                seen.push(u.link.index);
                out.push(
                    Finding::new(
                        "mtu-overlay",
                        Severity::Error,
                        &ns.name,
                        Some(&u.link.name),
                        format!(
                            "{} MTU {} exceeds overlay {} ({})",
                            u.link.name, u.link.mtu, vx.name, vx.mtu
                        ),
                        format!(
                            "{} reaches the overlay through {} in {} (MTU {}), but {} routes \
                             into vxlan {} whose MTU is {}: full-size packets from {} cannot \
                             be carried.",
                            u.from.name,
                            u.link.name,
                            ns.name,
                            u.link.mtu,
                            ns.name,
                            vx.name,
                            vx.mtu,
                            u.from.name
                        ),
                    )
                    .object("link", &ns.name, u.link.name.clone())
                    .object("link", &ns.name, vx.name.clone()),
                );
            }
        }
    }
}
