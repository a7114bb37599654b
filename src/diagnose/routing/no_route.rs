//! `no-route` from the routes through gateways: a gateway that does not know the destination
//! itself (N1), a holder there with no way back to the sender (N2), a stub's upstream with no
//! route back to the stub (N3), and other routers on the sender's segment (N4).

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::super::drop_routes::ends_in_drop;
use super::super::facts::{gateway_routes, subnet, Facts};
use super::super::no_default::missing_default;
use super::super::Finding;
use super::no_route_finding;
use crate::model::Namespace;

pub(super) fn no_route(f: &Facts, out: &mut Vec<Finding>) {
    for (_, x) in &f.namespaces {
        for (_, dst, gw) in gateway_routes(x) {
            // Only the holder on the segment the route leaves by is the gateway.
            let Some(r) = f.holder_near(x, gw) else {
                continue;
            };
            let r_ns = r.ns;
            if r_ns.name == x.name {
                continue;
            }
            if dst.prefix_len() > 0 {
                gateway_knows(f, (x, r_ns), dst, gw, out);
                holders_reach_back(f, (x, r_ns), dst, gw, out);
                routers_alongside(f, (x, r_ns), dst, gw, out);
            } else if x.sysctls.ip_forward != Some(1) && f.transit_uses(x).is_empty() {
                stub_reached(f, (x, r_ns), gw, out);
            }
        }
    }
}

/// `x` routes `dst` via `gw`, held by `r_ns`.
type Via<'a> = (&'a Namespace, &'a Namespace);

fn gateway_knows(
    f: &Facts,
    (x, r_ns): Via<'_>,
    dst: Ipv4Net,
    gw: Ipv4Addr,
    out: &mut Vec<Finding>,
) {
    // N1: the gateway's namespace must itself know where D is.
    // A route that drops is there, just not usable: `drop-route` reports it.
    if !f.covers(r_ns, dst) && !ends_in_drop(r_ns, dst.network()) {
        out.push(no_route_finding(
            f,
            r_ns,
            dst,
            None,
            format!(
                "{} routes {dst} via {gw}, which {} holds",
                x.name, r_ns.name
            ),
        ));
    }
}

fn holders_reach_back(
    f: &Facts,
    (x, r_ns): Via<'_>,
    dst: Ipv4Net,
    gw: Ipv4Addr,
    out: &mut Vec<Finding>,
) {
    // N2: every other holder of an address in D must reach the sender back.
    let Some(src) = f
        .held_in(x)
        .find(|h| h.live() && h.net.trunc().contains(&gw))
        .copied()
    else {
        return;
    };
    let back = subnet(src.net);
    // Only holders the gateway actually delivers to: a segment elsewhere reusing
    // D's subnet expects nothing from x.
    for y in f.held.iter().filter(|h| {
        h.live()
            && dst.contains(&h.ip())
            && h.ns.name != r_ns.name
            && h.ns.name != x.name
            && f.delivers_to(r_ns, h.ip())
                .is_some_and(|n| n.name == h.ns.name)
    }) {
        // A holder without the default route its neighbours have is `no-default`.
        if missing_default(f, y.ns).is_some() {
            continue;
        }
        if !f.covers(y.ns, Ipv4Net::new(src.ip(), 32).unwrap_or(back))
            && !ends_in_drop(y.ns, src.ip())
        {
            out.push(no_route_finding(
                f,
                y.ns,
                back,
                Some(r_ns),
                format!(
                    "{} ({}) reaches {} here through {} ({gw}) and expects replies",
                    x.name,
                    src.ip(),
                    dst,
                    r_ns.name
                ),
            ));
        }
    }
}

fn routers_alongside(
    f: &Facts,
    (x, r_ns): Via<'_>,
    dst: Ipv4Net,
    gw: Ipv4Addr,
    out: &mut Vec<Finding>,
) {
    // N4: other routers on the gateway's subnet should know D too.
    let Some(lan) = f
        .held_in(x)
        .find(|h| h.live() && h.net.trunc().contains(&gw))
        .map(|h| subnet(h.net))
    else {
        return;
    };
    let mut peers: Vec<&Namespace> = f
        .held
        .iter()
        .filter(|h| h.live() && lan.contains(&h.ip()) && f.reaches(x, h))
        .map(|h| h.ns)
        .filter(|n| n.name != x.name && n.name != r_ns.name)
        .filter(|n| n.sysctls.ip_forward == Some(1))
        .collect();
    peers.dedup_by(|a, b| a.name == b.name);
    for y in peers {
        if !f.covers(y, dst) {
            out.push(no_route_finding(
                f,
                y,
                dst,
                Some(r_ns),
                format!(
                    "{} reaches {dst} via {gw} ({}) on {lan}, which {} shares",
                    x.name, r_ns.name, y.name
                ),
            ));
        }
    }
}

fn stub_reached(f: &Facts, (x, r_ns): Via<'_>, gw: Ipv4Addr, out: &mut Vec<Finding>) {
    // (A gateway with forwarding off is not a stub: that is `forwarding-off`.)
    // N3: a stub's upstream must route back to each of the stub's addresses.
    for h in f.held_in(x).filter(|h| h.live()) {
        let own = Ipv4Net::new(h.ip(), 32).unwrap_or(h.net);
        if !f.covers(r_ns, own) {
            let dst = subnet(h.net);
            out.push(no_route_finding(
                f,
                r_ns,
                dst,
                Some(x),
                format!(
                    "{} sends everything via {gw} ({}) from {} on {}",
                    x.name,
                    r_ns.name,
                    h.ip(),
                    h.link.name
                ),
            ));
        }
    }
}
