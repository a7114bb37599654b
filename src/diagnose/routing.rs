//! Routing: a destination some namespace is expected to reach but has no route to, and an
//! address on a segment whose every other member is on another subnet (`no-default` has its
//! own file).
//!
//! "Expected to reach" is read from the other namespaces' routes, never from names:
//! - a namespace that routes D through a gateway G makes G's namespace responsible for D;
//! - whoever holds addresses in D, and is where G's namespace delivers D, must be able to
//!   answer the sender;
//! - a stub (no forwarding) with a default route through R needs R to route back to it;
//! - routers on the sender's segment and subnet that route D through a gateway there should
//!   all know D.
//!
//! A gateway is the holder of its address on the segment the route leaves by: two segments
//! reusing one subnet each have their own (see `facts/reach.rs`).

use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::facts::{default_route, gateway_routes, is_private, route_gw, subnet, Facts, Held};
use super::nat_evidence::{translates_any, translates_sources};
use super::no_default::missing_default;
use super::{Finding, Severity};
use crate::model::{LinkKind, Namespace};
use crate::plan::{RouteSpec, Step};

mod no_route;
use no_route::no_route;

pub fn check(f: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    no_route(f, &mut out);
    no_route_upstream(f, &mut out);
    wrong_subnet(f, &mut out);
    wider_mask(f, &mut out);
    out
}

/// The address `ns` would use as gateway towards `target`'s namespace: an address of
/// `target_ns` on a subnet `ns` is live on.
fn gateway_towards(f: &Facts, ns: &Namespace, target_ns: &Namespace) -> Option<Ipv4Addr> {
    let mine = f.live_subnets(ns);
    f.held_in(target_ns)
        .find(|h| h.live() && mine.iter().any(|n| n.contains(&h.ip())) && f.reaches(ns, h))
        .map(Held::ip)
}

fn no_route_finding(
    f: &Facts,
    ns: &Namespace,
    dst: Ipv4Net,
    via_ns: Option<&Namespace>,
    evidence: String,
) -> Finding {
    let via = via_ns.and_then(|v| gateway_towards(f, ns, v));
    let mut finding = Finding::new(
        "no-route",
        Severity::Error,
        &ns.name,
        Some(&dst.to_string()),
        format!("{} has no route to {dst}", ns.name),
        format!("{evidence}, but {} has no route to {dst}.", ns.name),
    )
    .object("route", &ns.name, dst.to_string());
    if let Some(gw) = via {
        finding = finding.fix(
            format!("route {dst} via {gw} in {}", ns.name),
            vec![Step::AddRoute {
                ns: ns.name.clone(),
                route: RouteSpec {
                    dst: ipnet::IpNet::V4(dst),
                    via: Some(gw.into()),
                    dev: None,
                    table: None,
                    metric: None,
                },
            }],
        );
    }
    finding
}

/// The namespace upstream of `r` that must route `r`'s subnets back, when `r` is a plain
/// router: it forwards, translates no source address (a port-forward alone does not make it
/// a NAT router: see [`no_route_upstream`]), and its default route leads to a namespace that
/// forwards too, or to the end of the line (a server with no default route, holding addresses
/// beyond the link: it answers with `r`'s hosts' own source addresses, so it needs the route
/// back as much as a router does; oracle seeds 52, 82). Then a subnet behind `r` that the
/// upstream cannot reach is a missing route there; masquerading at `r` would repair outbound
/// traffic only.
pub fn plain_router_upstream<'a>(f: &'a Facts, r: &Namespace) -> Option<&'a Namespace> {
    if r.sysctls.ip_forward != Some(1) || translates_sources(r) {
        return None;
    }
    let gw = default_route(r).and_then(route_gw)?;
    let held = f.holder_near(r, gw)?;
    let up = held.ns;
    let end_of_line = || default_route(up).is_none() && f.holds_beyond(up, &[subnet(held.net)]);
    (up.name != r.name && (up.sysctls.ip_forward == Some(1) || end_of_line())).then_some(up)
}

/// Whether a missing MASQUERADE at `r` is ruled out: `r` is a plain router (see
/// [`plain_router_upstream`]) and the evidence says it is meant to route. Without that
/// evidence (no route back upstream to anything behind `r`, private subnets behind a public
/// uplink address) a lost MASQUERADE and a lost route back look alike, and both are named.
/// A router that port-forwards is not ruled out: it may be a NAT router that lost its
/// MASQUERADE, and its route-back finding is only a warning beside `no-masquerade`.
pub fn meant_to_route_upstream(f: &Facts, r: &Namespace) -> bool {
    !translates_any(r) && plain_router_upstream(f, r).is_some_and(|up| meant_to_route(f, r, up))
}

/// Evidence that `r` is meant to route rather than masquerade: `up` routes some subnet behind
/// `r` back through `r`, or `r`'s uplink address is in the same address space as what lies
/// behind it. Private subnets behind a router whose uplink address is public, with no route
/// back to any of them upstream, are the classic case for MASQUERADE.
fn meant_to_route(f: &Facts, r: &Namespace, up: &Namespace) -> bool {
    let uplink = default_route(r).and_then(|d| d.dev.as_deref());
    let on_uplink = |dev: Option<&str>| dev.is_some() && dev == uplink;
    let mut behind: Vec<Ipv4Net> = f
        .held_in(r)
        .filter(|h| h.live() && !on_uplink(Some(h.link.name.as_str())))
        .map(|h| subnet(h.net))
        .collect();
    behind.extend(
        gateway_routes(r)
            .filter(|(rt, d, _)| d.prefix_len() > 0 && !on_uplink(rt.dev.as_deref()))
            .map(|(_, d, _)| d),
    );
    let mine: HashSet<Ipv4Addr> = f.held_in(r).map(|h| h.ip()).collect();
    let routes_back = behind.iter().any(|n| {
        f.route_to(up, n.network())
            .and_then(route_gw)
            .is_some_and(|g| mine.contains(&g))
    });
    if routes_back {
        return true;
    }
    let public_uplink = f
        .held_in(r)
        .any(|h| h.live() && on_uplink(Some(h.link.name.as_str())) && !is_private(h.net));
    !(public_uplink && behind.iter().any(|n| is_private(*n)))
}

/// `up` has no route back to `net`, which `r` forwards out to it without NAT. When `r`
/// port-forwards (DNAT) it may as well be a NAT router that lost its MASQUERADE
/// (`no-masquerade` names that too): the route back is then only plausible, a warning. Both
/// have fixes, and `fix all` applying both makes either design work again (oracle seed 232:
/// masquerading alone repaired outbound and left inbound to the private addresses broken).
fn route_back_finding(f: &Facts, r: &Namespace, up: &Namespace, net: Ipv4Net) -> Finding {
    if !translates_any(r) {
        let why = format!(
            "{} forwards {net} out to {} without NAT (it translates nothing)",
            r.name, up.name
        );
        return no_route_finding(f, up, net, Some(r), why);
    }
    let why = format!(
        "{} forwards {net} out to {} without NAT: it port-forwards but masquerades nothing",
        r.name, up.name
    );
    let mut finding = no_route_finding(f, up, net, Some(r), why);
    finding.severity = Severity::Warning;
    finding.explanation.push_str(&format!(
        " Either {} is meant to route {net} and {} lost its route back (this fix), or {} \
         lost its MASQUERADE (no-masquerade): the snapshot cannot tell them apart, and \
         `--before FILE` can.",
        r.name, up.name, r.name
    ));
    finding
}

/// N5: a plain router's upstream must route back each subnet the router serves.
fn no_route_upstream(f: &Facts, out: &mut Vec<Finding>) {
    for (_, r) in &f.namespaces {
        let Some(up) = plain_router_upstream(f, r) else {
            continue;
        };
        let uplink = default_route(r).and_then(|d| d.dev.as_deref());
        let mine: HashSet<Ipv4Addr> = f.held_in(r).map(|h| h.ip()).collect();
        let mut nets: Vec<Ipv4Net> = f
            .held_in(r)
            .filter(|h| h.live())
            .filter(|h| Some(h.link.name.as_str()) != uplink && h.net.prefix_len() < 31)
            .map(|h| subnet(h.net))
            .collect();
        // Subnets behind a further router that translates nothing either: their packets
        // leave `r` with their own addresses too.
        nets.extend(
            gateway_routes(r)
                .filter(|(rt, d, _)| d.prefix_len() > 0 && rt.dev.as_deref() != uplink)
                .filter(|(_, _, g)| {
                    f.live_holder(*g)
                        .is_some_and(|h| h.ns.name != r.name && !translates_any(h.ns))
                })
                .map(|(_, d, _)| d),
        );
        nets.sort();
        nets.dedup();
        for net in nets {
            // The upstream's default route leading away from `r` is no way back.
            let away = f.route_to(up, net.network()).is_some_and(|rt| {
                super::facts::route_dst(rt).is_some_and(|d| d.prefix_len() == 0)
                    && route_gw(rt).is_some_and(|g| !mine.contains(&g))
            });
            if f.covers(up, net) && !away {
                continue;
            }
            out.push(route_back_finding(f, r, up, net));
        }
    }
}

/// The subnet the rest of `h`'s segment agrees on, when `h`'s mask is wider than it (10.2.0.11/16
/// where the others are on 10.2.0.0/24: the kernel then takes the rest of the /16 for on-link
/// and ARPs for it) or narrower; deleting the right address flushed the routes through it. The others
/// (at least two, or one that forwards while `h`'s namespace does not: its gateway) must all
/// be on that one subnet, which `h`'s contains; and the segment must be seen whole.
pub fn wider_than_segment<'a>(f: &'a Facts, h: &Held) -> Option<(Ipv4Net, Vec<&'a Held<'a>>)> {
    let id = f.segment_id(h.ns, h.link)?;
    wider_on(f, h, &SegmentAddrs::of(f, id))
}

/// The addresses of one segment (masks shorter than /31), and how many there are per subnet:
/// computed once per segment, so judging every address stays linear on a segment of
/// thousands.
pub struct SegmentAddrs<'a> {
    closed: bool,
    held: Vec<&'a Held<'a>>,
    per_subnet: HashMap<Ipv4Net, usize>,
}

impl<'a> SegmentAddrs<'a> {
    pub fn of(f: &'a Facts, id: usize) -> Self {
        let seg = f.segment(id);
        let held: Vec<&Held> = seg
            .links
            .iter()
            .flat_map(|k| f.held_at_key(*k))
            .filter(|o| o.net.prefix_len() < 31)
            .collect();
        let mut per_subnet = HashMap::new();
        for o in &held {
            *per_subnet.entry(subnet(o.net)).or_insert(0) += 1;
        }
        SegmentAddrs {
            closed: seg.closed,
            held,
            per_subnet,
        }
    }
}

/// [`wider_than_segment`] with the segment's addresses already gathered.
fn wider_on<'a>(
    f: &'a Facts,
    h: &Held,
    seg: &SegmentAddrs<'a>,
) -> Option<(Ipv4Net, Vec<&'a Held<'a>>)> {
    if !h.live() || h.net.prefix_len() >= 31 || h.link.kind == LinkKind::Loopback || !seg.closed {
        return None;
    }
    // Everyone on the segment shares this address's subnet: nothing to compare (the usual
    // case, decided without walking the segment).
    if seg.per_subnet.get(&subnet(h.net)) == Some(&seg.held.len()) {
        return None;
    }
    // The others (everyone but this address, below) must share one subnet. With three
    // subnets on the segment they cannot; with two, only when this address is alone in its
    // own. Decided from the counts, so the segment is walked only for the odd one out: a
    // segment can hold tens of thousands of addresses, and walking it for each was quadratic.
    if seg.per_subnet.len() != 2 || seg.per_subnet.get(&subnet(h.net)) != Some(&1) {
        return None;
    }
    // The link carries several addresses: one of them may be the wide one on purpose. (Its
    // own addresses by key: a namespace can hold tens of thousands.)
    let key = (f.ns_idx(&h.ns.name)?, h.link.index);
    if f.held_at_key(key).nth(1).is_some() {
        return None;
    }
    let others: Vec<&Held> = seg
        .held
        .iter()
        .copied()
        .filter(|o| o.ns.name != h.ns.name || o.link.index != h.link.index)
        .collect();
    let majority = subnet(others.first()?.net);
    // Wider (10.2.0.11/16) or narrower (10.1.0.11/28 on a /24 segment: the rest of the /24
    // is then off-link, through a gateway).
    let mine = subnet(h.net);
    if others.iter().any(|o| subnet(o.net) != majority)
        || majority.prefix_len() == h.net.prefix_len()
        || !(mine.contains(&majority) || majority.contains(&mine))
    {
        return None;
    }
    let gateway_there = others
        .iter()
        .any(|o| o.ns.sysctls.ip_forward == Some(1) && o.ns.name != h.ns.name);
    let enough = others.len() >= 2 || (gateway_there && h.ns.sysctls.ip_forward != Some(1));
    enough.then_some((majority, others))
}

/// `wrong-subnet` for a mask wider than the segment's: the fix puts the address back on the
/// segment's prefix and, when its namespace lost its default route with the old address and
/// the segment has a gateway, the default route via it (`no-default` then stays quiet).
fn wider_mask(f: &Facts, out: &mut Vec<Finding>) {
    let mut segs: HashMap<usize, SegmentAddrs> = HashMap::new();
    for h in &f.held {
        let Some(id) = f.segment_id(h.ns, h.link) else {
            continue;
        };
        let seg = segs.entry(id).or_insert_with(|| SegmentAddrs::of(f, id));
        let Some((majority, others)) = wider_on(f, h, seg) else {
            continue;
        };
        let Ok(right) = Ipv4Net::new(h.ip(), majority.prefix_len()) else {
            continue;
        };
        let mut steps = vec![
            Step::DelAddress {
                ns: h.ns.name.clone(),
                link: h.link.name.clone(),
                addr: ipnet::IpNet::V4(h.net),
            },
            Step::AddAddress {
                ns: h.ns.name.clone(),
                link: h.link.name.clone(),
                addr: ipnet::IpNet::V4(right),
            },
        ];
        let gw = missing_default(f, h.ns)
            .map(|m| m.gw)
            .filter(|g| majority.contains(g));
        if let Some(gw) = gw {
            steps.push(super::no_default::add_default(h.ns, gw));
        }
        let what = match gw {
            Some(gw) => format!(
                "{right} on {} in {}, and its default route via {gw}",
                h.link.name, h.ns.name
            ),
            None => format!("{right} on {} in {}", h.link.name, h.ns.name),
        };
        out.push(
            Finding::new(
                "wrong-subnet",
                Severity::Error,
                &h.ns.name,
                Some(&h.link.name),
                format!("{} on {} has the wrong mask", h.net, h.link.name),
                format!(
                    "{} in {} has {}, but every other address on its segment is on {majority} \
                     ({}): {} takes {} for on-link, not the segment's subnet.",
                    h.link.name,
                    h.ns.name,
                    h.net,
                    others
                        .iter()
                        .take(3)
                        .map(|o| format!("{} {} {}", o.ns.name, o.link.name, o.net))
                        .collect::<Vec<_>>()
                        .join(", "),
                    h.ns.name,
                    subnet(h.net)
                ),
            )
            .object("link", &h.ns.name, h.link.name.clone())
            .object("address", &h.ns.name, h.net.to_string())
            .fix(what, steps),
        );
    }
}

/// `wrong-subnet`: on a segment we see whole, an address whose subnet nobody else shares while
/// the others agree on another one.
fn wrong_subnet(f: &Facts, out: &mut Vec<Finding>) {
    // Counted per segment rather than comparing every address with every other: a container
    // can put tens of thousands of addresses on one segment of its own namespace.
    type LinkId<'n> = (&'n str, u32);
    for (_, seg) in f.segments() {
        if !seg.closed {
            continue;
        }
        let on_seg: Vec<&Held> = seg
            .links
            .iter()
            .flat_map(|k| f.held_at_key(*k))
            .filter(|h| h.net.prefix_len() < 31)
            .collect();
        let mut links_on_subnet: HashMap<Ipv4Net, HashSet<LinkId>> = HashMap::new();
        let mut nets_of_link: HashMap<LinkId, HashSet<Ipv4Net>> = HashMap::new();
        let mut held_on_link: HashMap<LinkId, usize> = HashMap::new();
        let mut per_subnet: HashMap<Ipv4Net, usize> = HashMap::new();
        for o in &on_seg {
            let k = (o.ns.name.as_str(), o.link.index);
            links_on_subnet.entry(subnet(o.net)).or_default().insert(k);
            nets_of_link.entry(k).or_default().insert(o.net);
            *held_on_link.entry(k).or_default() += 1;
            *per_subnet.entry(subnet(o.net)).or_default() += 1;
        }
        for h in &on_seg {
            let k = (h.ns.name.as_str(), h.link.index);
            let net = subnet(h.net);
            // The link may carry several subnets on purpose; only an address alone is odd.
            if links_on_subnet.get(&net).is_some_and(|l| l.len() > 1) {
                continue;
            }
            if nets_of_link.get(&k).is_some_and(|n| n.len() > 1) {
                continue;
            }
            if wider_than_segment(f, h).is_some() {
                continue; // `wider_mask` below
            }
            let n_others = on_seg.len() - held_on_link.get(&k).copied().unwrap_or(0);
            let not_mine = |o: &&&Held| o.ns.name != h.ns.name || o.link.index != h.link.index;
            let Some(first) = on_seg.iter().find(not_mine) else {
                continue;
            };
            let majority = subnet(first.net);
            if n_others < 2 || per_subnet.get(&majority).copied().unwrap_or(0) != n_others {
                continue;
            }
            let others: Vec<&&Held> = on_seg.iter().filter(not_mine).take(3).collect();
            out.push(
                Finding::new(
                    "wrong-subnet",
                    Severity::Error,
                    &h.ns.name,
                    Some(&h.link.name),
                    format!("{} on {} is on the wrong subnet", h.net, h.link.name),
                    format!(
                        "{} in {} has {}, but every other address on its segment is on \
                         {majority} ({}); nothing there answers on {net}.",
                        h.link.name,
                        h.ns.name,
                        h.net,
                        others
                            .iter()
                            .take(3)
                            .map(|o| format!("{} {} {}", o.ns.name, o.link.name, o.net))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
                .object("link", &h.ns.name, h.link.name.clone())
                .object("address", &h.ns.name, h.net.to_string()),
            );
        }
    }
}
