//! Address and neighbour messages as `ip addr` / `ip neigh` show them.

use std::net::IpAddr;

use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourFlags, NeighbourMessage, NeighbourState,
};

use super::{family_name, hex_mac, scope_name};
use crate::model::{Address, Neighbor, NeighborState, RouteScope};

pub(crate) fn address_from(m: &AddressMessage, name_of: &dyn Fn(u32) -> String) -> Option<Address> {
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
        scope: RouteScope::parse(&scope_name(m.header.scope)),
        peer,
    })
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
        state: NeighborState::parse(&format!("{:?}", m.header.state).to_uppercase()),
        router: m.header.flags.contains(NeighbourFlags::Router),
    })
}
