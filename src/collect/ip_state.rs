//! Links, addresses, routes, rules and neighbours of one namespace, read over rtnetlink (what
//! `ip link/addr/route/rule/neigh` would list) and turned into model types by
//! [`crate::netlink::convert`].

use std::collections::HashMap;
use std::io;

use netlink_packet_route::address::AddressMessage;
use netlink_packet_route::link::{LinkAttribute, LinkExtentMask, LinkMessage};
use netlink_packet_route::neighbour::NeighbourMessage;
use netlink_packet_route::route::RouteMessage;
use netlink_packet_route::rule::RuleMessage;
use netlink_packet_route::RouteNetlinkMessage;

use super::touched::Kinds;
use crate::model::{Address, Link, Neighbor, Route, RoutingRule};
use crate::netlink::convert::{address_from, link_from, neighbor_from, route_from, rule_from};
use crate::netlink::RtSocket;

/// Everything rtnetlink tells about one namespace.
#[derive(Debug, Default)]
pub struct RtnlData {
    pub links: Vec<Link>,
    pub addresses: Vec<Address>,
    pub routes: Vec<Route>,
    pub rules: Vec<RoutingRule>,
    pub neighbors: Vec<Neighbor>,
    /// Dumps that failed; what the others returned is still here.
    pub problems: Vec<String>,
}

/// Runs the five dumps one after another (a netlink socket serves one dump at a time). A
/// failed dump is recorded in `problems` and the others are still read.
pub fn read_all(sock: &mut RtSocket) -> RtnlData {
    let some = read_some(sock, Kinds::ALL, &[]);
    RtnlData {
        links: some.links.unwrap_or_default(),
        addresses: some.addresses.unwrap_or_default(),
        routes: some.routes.unwrap_or_default(),
        rules: some.rules.unwrap_or_default(),
        neighbors: some.neighbors.unwrap_or_default(),
        problems: some.problems,
    }
}

/// Only what `ip link/addr/route/neigh` list: the four dumps, no routing rules.
pub fn read_ip_facts(sock: &mut RtSocket) -> RtnlData {
    let kinds = Kinds::LINKS | Kinds::ADDRESSES | Kinds::ROUTES | Kinds::NEIGHBORS;
    let some = read_some(sock, kinds, &[]);
    RtnlData {
        links: some.links.unwrap_or_default(),
        addresses: some.addresses.unwrap_or_default(),
        routes: some.routes.unwrap_or_default(),
        rules: Vec::new(),
        neighbors: some.neighbors.unwrap_or_default(),
        problems: some.problems,
    }
}

/// What a partial read found: `None` for a kind that was not asked for.
#[derive(Debug, Default)]
pub struct RtnlParts {
    pub links: Option<Vec<Link>>,
    pub addresses: Option<Vec<Address>>,
    pub routes: Option<Vec<Route>>,
    pub rules: Option<Vec<RoutingRule>>,
    pub neighbors: Option<Vec<Neighbor>>,
    pub problems: Vec<String>,
}

/// Runs only the dumps of `kinds`. `known` are the namespace's links as last read, for the
/// interface names in addresses, routes and neighbours when links are not read again.
pub fn read_some(sock: &mut RtSocket, kinds: Kinds, known: &[Link]) -> RtnlParts {
    let mut data = RtnlParts::default();
    if kinds.contains(Kinds::LINKS) {
        match dump_links(sock) {
            Ok(links) => data.links = Some(links),
            Err(e) => {
                data.problems.push(format!("link dump: {e}"));
                data.links = Some(Vec::new());
            }
        }
    }
    let names: HashMap<u32, String> = data
        .links
        .as_deref()
        .unwrap_or(known)
        .iter()
        .map(|l| (l.index, l.name.clone()))
        .collect();
    let name_of = |i: u32| names.get(&i).cloned().unwrap_or_else(|| format!("if{i}"));

    let mut dump = |what: &str, msg: RouteNetlinkMessage| match sock.dump(msg) {
        Ok(replies) => replies,
        Err(e) => {
            data.problems.push(format!("{what} dump: {e}"));
            Vec::new()
        }
    };
    let want = |k: Kinds| kinds.contains(k);
    let addresses = want(Kinds::ADDRESSES).then(|| {
        dump(
            "address",
            RouteNetlinkMessage::GetAddress(AddressMessage::default()),
        )
    });
    let routes = want(Kinds::ROUTES).then(|| {
        dump(
            "route",
            RouteNetlinkMessage::GetRoute(RouteMessage::default()),
        )
    });
    let rules = want(Kinds::RULES)
        .then(|| dump("rule", RouteNetlinkMessage::GetRule(RuleMessage::default())));
    let neighbors = want(Kinds::NEIGHBORS).then(|| {
        dump(
            "neighbour",
            RouteNetlinkMessage::GetNeighbour(NeighbourMessage::default()),
        )
    });

    data.addresses = addresses.map(|msgs| {
        msgs.iter()
            .filter_map(|msg| match msg {
                RouteNetlinkMessage::NewAddress(m) => Some(address_from(m, &name_of)),
                _ => None,
            })
            .flatten()
            .collect()
    });
    data.routes = routes.map(|msgs| {
        msgs.iter()
            .filter_map(|msg| match msg {
                RouteNetlinkMessage::NewRoute(m) => Some(route_from(m, &name_of)),
                _ => None,
            })
            .flatten()
            .collect()
    });
    data.rules = rules.map(|msgs| {
        let mut rules: Vec<RoutingRule> = msgs
            .iter()
            .filter_map(|msg| match msg {
                RouteNetlinkMessage::NewRule(m) => Some(rule_from(m)),
                _ => None,
            })
            .flatten()
            .collect();
        rules.sort_by_key(|r| (r.family.clone(), r.priority));
        rules
    });
    data.neighbors = neighbors.map(|msgs| {
        msgs.iter()
            .filter_map(|msg| match msg {
                RouteNetlinkMessage::NewNeighbour(m) => neighbor_from(m, &name_of),
                _ => None,
            })
            .collect()
    });
    data
}

fn dump_links(sock: &mut RtSocket) -> io::Result<Vec<Link>> {
    // Without counters, as `ip link` asks (it passes RTEXT_FILTER_SKIP_STATS unless `-s`):
    // the model keeps none, and each link's IFLA_STATS64 and IPv6 ICMP/IP statistics are
    // most of what the kernel fills in per link.
    let mut request = LinkMessage::default();
    request
        .attributes
        .push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
    let mut links: Vec<Link> = sock
        .dump(RouteNetlinkMessage::GetLink(request))?
        .into_iter()
        .filter_map(|msg| match msg {
            RouteNetlinkMessage::NewLink(m) => Some(link_from(&m)),
            _ => None,
        })
        .collect();
    links.sort_by_key(|l| l.index);
    // Masters live in the same namespace as their ports, so names resolve locally.
    let names: HashMap<u32, String> = links.iter().map(|l| (l.index, l.name.clone())).collect();
    let mut ports: HashMap<u32, Vec<String>> = HashMap::new();
    for link in &mut links {
        if let Some(m) = link.master_index {
            link.master = names.get(&m).cloned();
            ports.entry(m).or_default().push(link.name.clone());
        }
    }
    for link in &mut links {
        if let Some(p) = ports.remove(&link.index) {
            link.ports = p;
        }
    }
    Ok(links)
}
