//! Links, addresses, routes, rules and neighbours of one namespace, read over rtnetlink (what
//! `ip link/addr/route/rule/neigh` would list) and turned into model types by
//! [`crate::netlink::convert`].

use std::collections::HashMap;
use std::io;

use netlink_packet_route::address::AddressMessage;
use netlink_packet_route::link::LinkMessage;
use netlink_packet_route::neighbour::NeighbourMessage;
use netlink_packet_route::route::RouteMessage;
use netlink_packet_route::rule::RuleMessage;
use netlink_packet_route::RouteNetlinkMessage;

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
    let mut data = RtnlData::default();
    match dump_links(sock) {
        Ok(links) => data.links = links,
        Err(e) => data.problems.push(format!("link dump: {e}")),
    }
    let names: HashMap<u32, String> = data
        .links
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
    let addresses = dump(
        "address",
        RouteNetlinkMessage::GetAddress(AddressMessage::default()),
    );
    let routes = dump(
        "route",
        RouteNetlinkMessage::GetRoute(RouteMessage::default()),
    );
    let rules = dump("rule", RouteNetlinkMessage::GetRule(RuleMessage::default()));
    let neighbors = dump(
        "neighbour",
        RouteNetlinkMessage::GetNeighbour(NeighbourMessage::default()),
    );

    for msg in addresses {
        if let RouteNetlinkMessage::NewAddress(m) = msg {
            data.addresses.extend(address_from(&m, &name_of));
        }
    }
    for msg in routes {
        if let RouteNetlinkMessage::NewRoute(m) = msg {
            data.routes.extend(route_from(&m, &name_of));
        }
    }
    for msg in rules {
        if let RouteNetlinkMessage::NewRule(m) = msg {
            data.rules.extend(rule_from(&m));
        }
    }
    data.rules.sort_by_key(|r| (r.family.clone(), r.priority));
    for msg in neighbors {
        if let RouteNetlinkMessage::NewNeighbour(m) = msg {
            data.neighbors.extend(neighbor_from(&m, &name_of));
        }
    }
    data
}

fn dump_links(sock: &mut RtSocket) -> io::Result<Vec<Link>> {
    let mut links: Vec<Link> = sock
        .dump(RouteNetlinkMessage::GetLink(LinkMessage::default()))?
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
