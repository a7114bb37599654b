//! Route and policy-rule messages as `ip route show table all` / `ip rule` list them.

use std::net::IpAddr;

use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteMessage, RouteType};
use netlink_packet_route::rule::{RuleAction, RuleAttribute, RuleFlags, RuleMessage};

use super::{family_name, scope_name};
use crate::model::{
    table_name, Route, RouteDst, RouteFamily, RouteKind, RouteProtocol, RouteScope, RoutingRule,
    RoutingRuleAction,
};

fn route_ip(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

fn via_ip(v: &netlink_packet_route::route::RouteVia) -> Option<IpAddr> {
    use netlink_packet_route::route::RouteVia;
    match v {
        RouteVia::Inet(a) => Some(IpAddr::V4(*a)),
        RouteVia::Inet6(a) => Some(IpAddr::V6(*a)),
        _ => None,
    }
}

pub(crate) fn route_from(m: &RouteMessage, name_of: &dyn Fn(u32) -> String) -> Option<Route> {
    let family = family_name(m.header.address_family)?;
    let mut table = u32::from(m.header.table);
    let mut dst = None;
    let mut gateway = None;
    let mut dev = None;
    let mut prefsrc = None;
    let mut metric = None;
    let mut nexthops = Vec::new();
    for attr in &m.attributes {
        match attr {
            RouteAttribute::Table(t) => table = *t,
            RouteAttribute::Destination(a) => dst = route_ip(a),
            RouteAttribute::Gateway(a) => gateway = route_ip(a),
            // An IPv4 route through an IPv6 next hop (RFC 5549).
            RouteAttribute::Via(v) => gateway = gateway.or_else(|| via_ip(v)),
            // A nexthop object (`ip nexthop`, FRR): the hop lives there, not in the route.
            RouteAttribute::NhId(id) => nexthops.push(format!("nhid {id}")),
            RouteAttribute::Oif(i) => dev = Some(name_of(*i)),
            RouteAttribute::PrefSource(a) => prefsrc = route_ip(a),
            RouteAttribute::Priority(p) => metric = Some(*p),
            RouteAttribute::MultiPath(hops) => {
                for hop in hops {
                    let via = hop.attributes.iter().find_map(|a| match a {
                        RouteAttribute::Gateway(g) => route_ip(g),
                        _ => None,
                    });
                    let mut text = String::new();
                    if let Some(v) = via {
                        text.push_str(&format!("via {v} "));
                    }
                    text.push_str(&format!("dev {}", name_of(hop.interface_index)));
                    nexthops.push(text);
                }
            }
            _ => {}
        }
    }
    // IPv6 caches cloned routes; `ip route` hides them too.
    if m.header.flags.bits() & 0x200 != 0 {
        return None;
    }
    let plen = m.header.destination_prefix_length;
    let dst = match dst {
        Some(a) => match ipnet::IpNet::new(a, plen) {
            Ok(net) => RouteDst::Net(net),
            Err(_) => RouteDst::Other(format!("{a}/{plen}")),
        },
        None if plen == 0 => RouteDst::Default,
        None => return None,
    };
    Some(Route {
        table,
        table_name: table_name(table),
        family: RouteFamily::parse(family),
        dst,
        gateway,
        dev,
        prefsrc,
        protocol: RouteProtocol::from_number(u8::from(m.header.protocol)),
        scope: RouteScope::parse(&scope_name(m.header.scope)),
        kind: route_kind(m.header.kind),
        metric,
        nexthops,
    })
}

/// A rule as `ip rule` / `ip -6 rule` lists it. Rules of other families (the kernel's
/// multicast routing rules, RTNL_FAMILY_IPMR / IP6MR, in every namespace) are not policy
/// routing rules for unicast traffic and `ip rule` does not list them: dropped, like routes.
pub(crate) fn rule_from(m: &RuleMessage) -> Option<RoutingRule> {
    let family = family_name(m.header.family)?;
    let mut rule = RoutingRule {
        action: match m.header.action {
            RuleAction::ToTable => RoutingRuleAction::Lookup,
            other => RoutingRuleAction::parse(&format!("{other:?}").to_lowercase()),
        },
        invert: m.header.flags.contains(RuleFlags::Invert),
        ..RoutingRule::lookup(RouteFamily::parse(family), 0, u32::from(m.header.table))
    };
    for attr in &m.attributes {
        match attr {
            RuleAttribute::Priority(p) => rule.priority = *p,
            RuleAttribute::Table(t) => rule.table = *t,
            RuleAttribute::Source(a) => rule.src = Some(format!("{a}/{}", m.header.src_len)),
            RuleAttribute::Destination(a) => rule.dst = Some(format!("{a}/{}", m.header.dst_len)),
            RuleAttribute::Iifname(n) => rule.iif = Some(n.clone()),
            RuleAttribute::Oifname(n) => rule.oif = Some(n.clone()),
            RuleAttribute::FwMark(v) => rule.fwmark = Some(*v),
            // `ip` shows the mask only when it is not the full one.
            RuleAttribute::FwMask(v) if *v != u32::MAX => rule.fwmask = Some(*v),
            RuleAttribute::Goto(v) => rule.goto = Some(*v),
            RuleAttribute::Protocol(p) => {
                rule.protocol = Some(RouteProtocol::from_number(u8::from(*p)))
            }
            // The kernel sends u32::MAX for "not set".
            RuleAttribute::SuppressPrefixLen(v) if *v != u32::MAX => {
                rule.suppress_prefixlen = Some(*v)
            }
            _ => {}
        }
    }
    // A mask without a mark (`fwmark 0/0xf0`) still selects: `ip` prints `fwmark 0/0xf0`.
    if rule.fwmask.is_some() && rule.fwmark.is_none() {
        rule.fwmark = Some(0);
    }
    Some(rule)
}

/// A route's type by the name `ip route` prints (`unicast`, `local`, `blackhole`, …); the
/// FIB lookup of `trace::fib` names its answer the same way.
pub fn route_kind(kind: RouteType) -> RouteKind {
    match kind {
        RouteType::Unicast => RouteKind::Unicast,
        other => RouteKind::parse(&format!("{other:?}").to_lowercase()),
    }
}
