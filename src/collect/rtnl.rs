//! Links, addresses, routes, rules and neighbours of one namespace, read over rtnetlink and
//! turned into model types. Dumps return more than `ip` shows (every table, NOARP entries);
//! we keep what `ip` would list with `table all`, and drop kernel bookkeeping entries.

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;

use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{
    BridgePortState, InfoBridge, InfoBridgePort, InfoData, InfoPortData, InfoVxlan, LinkAttribute,
    LinkFlags, LinkInfo, LinkLayerType, LinkMessage,
};
use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourFlags, NeighbourMessage, NeighbourState,
};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteMessage, RouteType};
use netlink_packet_route::rule::{RuleAction, RuleAttribute, RuleFlags, RuleMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::netlink::RtSocket;
use crate::model::{table_name, Address, BridgePort, Link, Neighbor, Route, RoutingRule};

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

pub fn link_from(m: &LinkMessage) -> Link {
    let kind = if m.header.link_layer_type == LinkLayerType::Loopback {
        "loopback"
    } else {
        "device"
    };
    let mut link = Link::new(m.header.index, String::new(), kind);
    link.flags = flag_names(m.header.flags);
    let mut vxlan_lower = None;
    for attr in &m.attributes {
        match attr {
            LinkAttribute::IfName(n) => link.name = n.clone(),
            LinkAttribute::Mtu(v) => link.mtu = *v,
            LinkAttribute::Address(b) if !b.is_empty() && b.len() <= 32 => {
                link.mac = Some(hex_mac(b))
            }
            LinkAttribute::Controller(i) => link.master_index = Some(*i),
            LinkAttribute::Link(i) => link.link_index = Some(*i),
            LinkAttribute::LinkNetNsId(id) => link.link_netnsid = Some(*id),
            LinkAttribute::OperState(s) => link.oper_state = format!("{s:?}").to_uppercase(),
            LinkAttribute::LinkInfo(infos) => {
                for info in infos {
                    match info {
                        LinkInfo::Kind(k) => link.kind = k.to_string(),
                        LinkInfo::PortData(InfoPortData::BridgePort(p)) => {
                            link.bridge_port = Some(bridge_port(p));
                        }
                        LinkInfo::Data(InfoData::Bridge(b)) => {
                            link.stp_state = b.iter().find_map(|a| match a {
                                InfoBridge::StpState(s) => Some(u32::from(*s)),
                                _ => None,
                            });
                        }
                        LinkInfo::Data(InfoData::Vxlan(v)) => {
                            for attr in v {
                                if let InfoVxlan::Link(i) = attr {
                                    vxlan_lower = Some(*i);
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    // A vxlan names its underlay in IFLA_VXLAN_LINK; its IFLA_LINK, sent only once it was
    // moved to another namespace, is its own index, no lower device. The MTU rules need the
    // underlay (link_index is read as a peer only for veths). IFLA_VXLAN_LINK is an index in
    // the namespace the vxlan was made in: kept only while that is its own (no
    // IFLA_LINK_NETNSID), so a moved vxlan is not paired with whatever has that index here.
    if link.kind == "vxlan" {
        let own_ns = link.link_netnsid.is_none_or(|id| id < 0);
        link.link_index = vxlan_lower.filter(|_| own_ns);
    }
    link
}

/// A bridge port's flags from IFLA_INFO_SLAVE_DATA (the kernel sends it in every dump).
fn bridge_port(attrs: &[InfoBridgePort]) -> BridgePort {
    let mut p = BridgePort {
        state: "forwarding".into(),
        isolated: false,
        learning: true,
        flood: true,
    };
    for a in attrs {
        match a {
            InfoBridgePort::State(s) => {
                p.state = match s {
                    BridgePortState::Disabled => "disabled".into(),
                    BridgePortState::Listening => "listening".into(),
                    BridgePortState::Learning => "learning".into(),
                    BridgePortState::Forwarding => "forwarding".into(),
                    BridgePortState::Blocking => "blocking".into(),
                    other => format!("{other:?}").to_lowercase(),
                }
            }
            InfoBridgePort::Isolated(v) => p.isolated = *v,
            InfoBridgePort::Learning(v) => p.learning = *v,
            InfoBridgePort::UnicastFlood(v) => p.flood = *v,
            _ => {}
        }
    }
    p
}

/// `LowerUp` → `LOWER_UP`, as `ip link` prints interface flags.
fn flag_names(flags: LinkFlags) -> Vec<String> {
    flags
        .iter_names()
        .map(|(name, _)| {
            let mut out = String::new();
            for (i, c) in name.chars().enumerate() {
                if c.is_ascii_uppercase() && i > 0 {
                    out.push('_');
                }
                out.push(c.to_ascii_uppercase());
            }
            // The crate's names for IFF_MASTER / IFF_SLAVE; `ip link` prints the old ones.
            match out.as_str() {
                "CONTROLLER" => "MASTER".into(),
                "PORT" => "SLAVE".into(),
                _ => out,
            }
        })
        .collect()
}

pub fn hex_mac(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn family_name(f: AddressFamily) -> Option<&'static str> {
    match f {
        AddressFamily::Inet => Some("inet"),
        AddressFamily::Inet6 => Some("inet6"),
        _ => None,
    }
}

fn scope_name<T: std::fmt::Debug>(scope: T) -> String {
    match format!("{scope:?}").to_lowercase().as_str() {
        "universe" => "global".into(),
        "nowhere" => "nowhere".into(),
        other => other.into(),
    }
}

fn address_from(m: &AddressMessage, name_of: &dyn Fn(u32) -> String) -> Option<Address> {
    let mut address = None;
    let mut local = None;
    for attr in &m.attributes {
        match attr {
            AddressAttribute::Address(a) => address = Some(*a),
            AddressAttribute::Local(a) => local = Some(*a),
            _ => {}
        }
    }
    // On point-to-point links IFA_LOCAL is ours and IFA_ADDRESS the peer; elsewhere they
    // are equal or only IFA_ADDRESS is sent (IPv6).
    let (ours, peer) = match (local, address) {
        (Some(l), Some(a)) if l != a => (l, Some(a)),
        (Some(l), _) => (l, None),
        (None, Some(a)) => (a, None),
        (None, None) => return None,
    };
    Some(Address {
        ifindex: m.header.index,
        ifname: name_of(m.header.index),
        address: ours,
        prefix_len: m.header.prefix_len,
        scope: scope_name(m.header.scope),
        peer,
    })
}

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

fn route_from(m: &RouteMessage, name_of: &dyn Fn(u32) -> String) -> Option<Route> {
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
        Some(a) => format!("{a}/{plen}"),
        None if plen == 0 => "default".into(),
        None => return None,
    };
    Some(Route {
        table,
        table_name: table_name(table),
        family: family.into(),
        dst,
        gateway,
        dev,
        prefsrc,
        protocol: protocol_name(u8::from(m.header.protocol)),
        scope: scope_name(m.header.scope),
        kind: match m.header.kind {
            RouteType::Unicast => "unicast".into(),
            other => format!("{other:?}").to_lowercase(),
        },
        metric,
        nexthops,
    })
}

/// iproute2's default `rt_protos` table (6.x): the name `ip` prints for a route or rule
/// protocol number; numbers without a name print as the decimal number, as `ip` does.
pub fn protocol_name(proto: u8) -> String {
    let name = match proto {
        0 => "unspec",
        1 => "redirect",
        2 => "kernel",
        3 => "boot",
        4 => "static",
        8 => "gated",
        9 => "ra",
        10 => "mrt",
        11 => "zebra",
        12 => "bird",
        13 => "dnrouted",
        14 => "xorp",
        15 => "ntk",
        16 => "dhcp",
        18 => "keepalived",
        42 => "babel",
        99 => "openr",
        186 => "bgp",
        187 => "isis",
        188 => "ospf",
        189 => "rip",
        192 => "eigrp",
        other => return other.to_string(),
    };
    name.into()
}

/// A rule as `ip rule` / `ip -6 rule` lists it. Rules of other families (the kernel's
/// multicast routing rules, RTNL_FAMILY_IPMR / IP6MR, in every namespace) are not policy
/// routing rules for unicast traffic and `ip rule` does not list them: dropped, like routes.
pub(crate) fn rule_from(m: &RuleMessage) -> Option<RoutingRule> {
    let family = family_name(m.header.family)?;
    let mut rule = RoutingRule {
        family: family.into(),
        priority: 0,
        src: None,
        dst: None,
        iif: None,
        oif: None,
        fwmark: None,
        fwmask: None,
        table: u32::from(m.header.table),
        action: match m.header.action {
            RuleAction::ToTable => "lookup".into(),
            other => format!("{other:?}").to_lowercase(),
        },
        invert: m.header.flags.contains(RuleFlags::Invert),
        suppress_prefixlen: None,
        goto: None,
        protocol: None,
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
            RuleAttribute::Protocol(p) => rule.protocol = Some(protocol_name(u8::from(*p))),
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

pub(crate) fn neighbor_from(
    m: &NeighbourMessage,
    name_of: &dyn Fn(u32) -> String,
) -> Option<Neighbor> {
    family_name(m.header.family)?;
    // NOARP entries are the kernel's own (multicast, loopback); `ip neigh` hides them too.
    if m.header.state == NeighbourState::Noarp {
        return None;
    }
    let mut address = None;
    let mut lladdr = None;
    for attr in &m.attributes {
        match attr {
            NeighbourAttribute::Destination(NeighbourAddress::Inet(a)) => {
                address = Some(IpAddr::V4(*a))
            }
            NeighbourAttribute::Destination(NeighbourAddress::Inet6(a)) => {
                address = Some(IpAddr::V6(*a))
            }
            NeighbourAttribute::LinkLayerAddress(b) if !b.is_empty() => lladdr = Some(hex_mac(b)),
            _ => {}
        }
    }
    Some(Neighbor {
        ifindex: m.header.ifindex,
        dev: name_of(m.header.ifindex),
        address: address?,
        lladdr,
        state: format!("{:?}", m.header.state).to_uppercase(),
        router: m.header.flags.contains(NeighbourFlags::Router),
    })
}
