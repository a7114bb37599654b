//! `no-default`: a namespace with no way out that should have one. The evidence, strongest
//! first: a neighbour on its own segment and subnet goes out through a gateway there; or it
//! has no gateway route at all while its segment offers a forwarding router that leads
//! somewhere and expects it (it is itself somebody's gateway, the router masquerades its
//! address, or somebody routes to it through the router). Only gateways on the namespace's
//! own layer-2 segment count: another segment reusing the subnet is of no use to it.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::facts::{
    default_route, gateway_routes, lookup, route_gw, show_dst, subnet, Facts, Held,
};
use super::nat_evidence::masquerades;
use super::{Finding, Severity};
use crate::model::RouteKind;
use crate::model::{Link, Namespace};
use crate::plan::{RouteSpec, Step};

/// Why `ns` needs a default route, and the gateway it should use.
pub struct Missing<'a> {
    pub gw: Ipv4Addr,
    pub holder: &'a Namespace,
    /// Evidence, as a sentence fragment.
    pub why: String,
    /// A neighbour whose own default route is the evidence.
    pub sibling: Option<&'a Namespace>,
}

/// Why `ns` should have a default route and has none.
pub fn missing_default<'a>(f: &'a Facts, ns: &Namespace) -> Option<Missing<'a>> {
    if default_route(ns).is_some() {
        return None;
    }
    // A default of type blackhole/unreachable/prohibit is there on purpose or by mistake:
    // `drop-route` judges it, and adding a second default beside it would fail (EEXIST).
    if ns
        .routes
        .iter()
        .any(|r| r.table == 254 && r.dst.is_default() && r.kind.drops())
    {
        return None;
    }
    sibling_evidence(f, ns).or_else(|| {
        // Routes through gateways are a deliberate partial view of the world, unless others
        // send *everything* through `ns` and the end of the line next door holds what none of
        // its routes reach (oracle: `r0` with routes to its second-level LANs lost its default
        // route towards `inet`, while its hosts' default routes lead to it).
        let partial = gateway_routes(ns).next().is_some();
        let everything_through = || f.transit_uses(ns).iter().any(|u| u.dst.prefix_len() == 0);
        // … or a router there that leads somewhere (oracle seed 182: the middle router of a
        // chain, keeping its route to the LAN further in, lost its default route).
        let unrouted_end = |l: &Link| everything_through() && f.segment_gateway(ns, l).is_some();
        // Each segment once: a namespace can hold thousands of links on one bridge, and
        // looking for a gateway walks the segment.
        let mut tried = std::collections::HashSet::new();
        ns.links
            .iter()
            .filter(|l| l.is_up() && f.held_on(ns, l.index).next().is_some())
            .filter(|l| f.segment_id(ns, l).is_some_and(|s| tried.insert(s)))
            .filter(|l| !partial || unrouted_end(l))
            .find_map(|l| lone_gateway(f, ns, l))
    })
}

/// Another namespace on one of `ns`'s subnets, on the same segment, goes out through a
/// gateway `ns` reaches too (not held by `ns` itself).
fn sibling_evidence<'a>(f: &'a Facts, ns: &Namespace) -> Option<Missing<'a>> {
    for net in f.live_subnets(ns) {
        let sibling = f.namespaces.iter().find_map(|(_, other)| {
            if other.name == ns.name {
                return None;
            }
            let gw = default_route(other).and_then(route_gw)?;
            let on_net = f
                .held_in(other)
                .any(|h| h.live() && subnet(h.net) == net && f.reaches(ns, h));
            (on_net && net.contains(&gw)).then_some((*other, gw))
        });
        let Some((other, gw)) = sibling else { continue };
        // The gateway itself does not route through itself.
        if f.held_in(ns).any(|h| h.ip() == gw) {
            continue;
        }
        let Some(holder) = f.holder_near(ns, gw) else {
            continue;
        };
        return Some(Missing {
            gw,
            holder: holder.ns,
            why: format!(
                "{} on {net} goes out via {gw} ({}), which is on {}'s segment and subnet too",
                other.name, holder.ns.name, ns.name
            ),
            sibling: Some(other),
        });
    }
    None
}

/// The gateway `ns` should use on `link` when it has no way out at all: a forwarding router
/// on the link's segment that leads somewhere (see [`Facts::segment_gateway`]) and expects
/// `ns`. Also used by `link-down`, whose fix must bring back the default route the kernel
/// flushed with the link.
pub fn lone_gateway<'a>(f: &'a Facts, ns: &Namespace, link: &Link) -> Option<Missing<'a>> {
    let g: &Held = f.segment_gateway(ns, link)?;
    let mine: Vec<Ipv4Addr> = f.held_on(ns, link.index).map(Held::ip).collect();
    let why = if let Some(u) = f.transit_uses(ns).first() {
        format!(
            "{} routes {} via {} ({}), so {} forwards for others",
            u.from.name,
            show_dst(u.dst),
            u.gw,
            ns.name,
            ns.name
        )
    } else if let Some(ip) = mine.iter().find(|ip| masquerades(g.ns, **ip)) {
        format!("{} masquerades {ip} onto its way out", g.ns.name)
    } else if let Some((from, ip)) = mine
        .iter()
        .find_map(|ip| f.routed_through(g.ns, *ip).map(|n| (n, ip)))
    {
        format!("{} reaches {ip} through {}", from.name, g.ns.name)
    } else {
        return None;
    };
    Some(Missing {
        gw: g.ip(),
        holder: g.ns,
        why: format!(
            "{why}; {} on the segment of {} forwards and has a default route",
            g.ns.name, link.name
        ),
        sibling: None,
    })
}

/// The step adding a default route via `gw` in `ns`.
pub fn add_default(ns: &Namespace, gw: Ipv4Addr) -> Step {
    Step::AddRoute {
        ns: ns.name.clone(),
        route: RouteSpec {
            dst: ipnet::IpNet::V4(Ipv4Net::default()),
            via: Some(gw.into()),
            dev: None,
            table: None,
            metric: None,
        },
    }
}

/// `ns` is a router (it forwards) and nobody sends it traffic for somewhere it has no route
/// to: every route others have through it leads to a destination it routes (a stub router
/// for its own LAN). Its missing default route then loses only its own traffic beyond, and
/// that may be the design: a warning, not an error. A default route through it, or a route
/// to something it does not reach, is traffic really lost there (oracle: end-of-line and
/// middle routers whose hosts send everything through them).
fn only_own_traffic_lost(f: &Facts, ns: &Namespace) -> bool {
    ns.sysctls.ip_forward == Some(1)
        && f.transit_uses(ns).iter().all(|u| {
            u.dst.prefix_len() > 0
                && lookup(ns, u.dst.network())
                    .is_some_and(|r| r.kind == RouteKind::Unicast || r.kind == RouteKind::Local)
        })
}

pub fn check(f: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    for (_, ns) in &f.namespaces {
        let Some(m) = missing_default(f, ns) else {
            continue;
        };
        // The earlier snapshot knows the default route it lost: `route-lost` puts that back
        // rather than one guessed from the segment.
        if super::earlier::restores_default(f, ns) {
            continue;
        }
        // A mask wider than the segment lost the default route with the old address:
        // `wrong-subnet` puts both back, in that order.
        if f.held_in(ns)
            .any(|h| super::routing::wider_than_segment(f, h).is_some())
        {
            continue;
        }
        let nets = f
            .live_subnets(ns)
            .iter()
            .map(|n| show_dst(*n))
            .collect::<Vec<_>>()
            .join(", ");
        let (severity, only_own) = if only_own_traffic_lost(f, ns) {
            (
                Severity::Warning,
                " It forwards all that others send through it (their routes via it lead only \
                 where it has routes), so only its own traffic beyond is lost: a stub \
                 router may be meant to be like this.",
            )
        } else {
            (Severity::Error, "")
        };
        let mut finding = Finding::new(
            "no-default",
            severity,
            &ns.name,
            None,
            format!("{} has no default route", ns.name),
            format!(
                "{}, but {} has no default route: it reaches nothing beyond {nets}.{only_own}",
                m.why, ns.name
            ),
        )
        .object("route", &ns.name, "default");
        if let Some(other) = m.sibling {
            finding = finding.object("namespace", &other.name, "");
        } else {
            finding = finding.object("namespace", &m.holder.name, "");
        }
        out.push(finding.fix(
            format!("default route via {} in {}", m.gw, ns.name),
            vec![add_default(ns, m.gw)],
        ));
    }
    out
}
