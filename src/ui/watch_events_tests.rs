//! The neighbour filter over messages in their wire format, as the kernel sends them.

use std::net::Ipv4Addr;

use netlink_packet_core::{NetlinkHeader, NetlinkMessage, NetlinkPayload};
use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourFlags, NeighbourMessage, NeighbourState,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::{ifindex_of, kinds_of, messages, NeighTable};
use crate::collect::touched::Kinds;

fn neigh(state: NeighbourState, dst: [u8; 4], mac: u8, router: bool, del: bool) -> Vec<u8> {
    let mut m = NeighbourMessage::default();
    m.header.family = AddressFamily::Inet;
    m.header.ifindex = 3;
    m.header.state = state;
    if router {
        m.header.flags = NeighbourFlags::Router;
    }
    m.attributes
        .push(NeighbourAttribute::Destination(NeighbourAddress::Inet(
            Ipv4Addr::from(dst),
        )));
    m.attributes.push(NeighbourAttribute::LinkLayerAddress(vec![
        2, 0, 0, 0, 0, mac,
    ]));
    let inner = if del {
        RouteNetlinkMessage::DelNeighbour(m)
    } else {
        RouteNetlinkMessage::NewNeighbour(m)
    };
    let mut packet = NetlinkMessage::new(NetlinkHeader::default(), NetlinkPayload::from(inner));
    packet.finalize();
    let mut out = vec![0u8; packet.buffer_len()];
    packet.serialize(&mut out);
    out
}

const A: [u8; 4] = [10, 0, 0, 2];

#[test]
fn reachability_flips_are_ignored_but_new_entries_and_new_macs_count() {
    let mut t = NeighTable::default();
    let k = |t: &mut NeighTable, b: Vec<u8>| kinds_of(&b, t);
    assert_eq!(
        k(&mut t, neigh(NeighbourState::Reachable, A, 1, false, false)),
        Kinds::NEIGHBORS
    );
    for s in [
        NeighbourState::Stale,
        NeighbourState::Delay,
        NeighbourState::Probe,
        NeighbourState::Reachable,
    ] {
        assert_eq!(
            k(&mut t, neigh(s, A, 1, false, false)),
            Kinds::NONE,
            "{s:?}"
        );
    }
    // Another lladdr, the router flag, FAILED and back: each is shown differently.
    assert_eq!(
        k(&mut t, neigh(NeighbourState::Stale, A, 2, false, false)),
        Kinds::NEIGHBORS
    );
    assert_eq!(
        k(&mut t, neigh(NeighbourState::Stale, A, 2, true, false)),
        Kinds::NEIGHBORS
    );
    assert_eq!(
        k(&mut t, neigh(NeighbourState::Failed, A, 2, true, false)),
        Kinds::NEIGHBORS
    );
    assert_eq!(
        k(&mut t, neigh(NeighbourState::Reachable, A, 2, true, false)),
        Kinds::NEIGHBORS
    );
    assert_eq!(
        k(&mut t, neigh(NeighbourState::Permanent, A, 2, true, false)),
        Kinds::NEIGHBORS
    );
    // Another destination is another entry.
    assert_eq!(
        k(
            &mut t,
            neigh(NeighbourState::Stale, [10, 0, 0, 3], 2, false, false)
        ),
        Kinds::NEIGHBORS
    );
    assert_eq!(
        k(&mut t, neigh(NeighbourState::Stale, A, 2, true, true)),
        Kinds::NEIGHBORS
    );
    // Gone, then back in a reachable state: new again.
    assert_eq!(
        k(&mut t, neigh(NeighbourState::Reachable, A, 2, true, false)),
        Kinds::NEIGHBORS
    );
}

#[test]
fn hidden_noarp_entries_are_chatter() {
    let mut t = NeighTable::default();
    let mc = [224, 0, 0, 22];
    assert_eq!(
        kinds_of(&neigh(NeighbourState::Noarp, mc, 1, false, false), &mut t),
        Kinds::NONE
    );
    assert_eq!(
        kinds_of(&neigh(NeighbourState::Noarp, mc, 1, false, true), &mut t),
        Kinds::NONE
    );
    // A shown entry turning NOARP disappears from the screen: that counts.
    assert_eq!(
        kinds_of(
            &neigh(NeighbourState::Reachable, A, 1, false, false),
            &mut t
        ),
        Kinds::NEIGHBORS
    );
    assert_eq!(
        kinds_of(&neigh(NeighbourState::Noarp, A, 1, false, false), &mut t),
        Kinds::NEIGHBORS
    );
}

#[test]
fn other_messages_name_their_kind_and_a_datagram_splits() {
    let mut t = NeighTable::default();
    let mut link = neigh(NeighbourState::Stale, A, 1, false, false);
    link[4..6].copy_from_slice(&16u16.to_ne_bytes());
    assert_eq!(kinds_of(&link, &mut t), Kinds::LINKS);
    let mut conf = link.clone();
    conf[4..6].copy_from_slice(&80u16.to_ne_bytes());
    assert_eq!(kinds_of(&conf, &mut t), Kinds::SYSCTLS);
    let mut route = link.clone();
    route[4..6].copy_from_slice(&25u16.to_ne_bytes());
    let mut both = link.clone();
    both.extend_from_slice(&route);
    let kinds: Vec<Kinds> = messages(&both).map(|m| kinds_of(m, &mut t)).collect();
    assert_eq!(kinds, vec![Kinds::LINKS, Kinds::ROUTES]);
    assert_eq!(messages(&both[..link.len() + 10]).count(), 1);
    assert!(kinds_of(&both[..8], &mut t).is_empty());
}

fn wire(inner: RouteNetlinkMessage) -> Vec<u8> {
    let mut packet = NetlinkMessage::new(NetlinkHeader::default(), NetlinkPayload::from(inner));
    packet.finalize();
    let mut out = vec![0u8; packet.buffer_len()];
    packet.serialize(&mut out);
    out
}

/// The link a notification names: from the header of link, address and neighbour messages,
/// from RTA_OIF of a route; none for a multipath route or a route without a device.
#[test]
fn a_notification_names_its_link() {
    use netlink_packet_route::address::AddressMessage;
    use netlink_packet_route::link::LinkMessage;
    use netlink_packet_route::route::{RouteAttribute, RouteMessage, RouteNextHop};
    assert_eq!(
        ifindex_of(&neigh(NeighbourState::Stale, A, 1, false, true)),
        Some(3)
    );
    let mut link = LinkMessage::default();
    link.header.index = 41;
    assert_eq!(
        ifindex_of(&wire(RouteNetlinkMessage::DelLink(link))),
        Some(41)
    );
    let mut addr = AddressMessage::default();
    addr.header.index = 7;
    assert_eq!(
        ifindex_of(&wire(RouteNetlinkMessage::NewAddress(addr))),
        Some(7)
    );
    let mut route = RouteMessage::default();
    route.attributes.push(RouteAttribute::Priority(100));
    route.attributes.push(RouteAttribute::Oif(1234));
    let one = wire(RouteNetlinkMessage::NewRoute(route.clone()));
    assert_eq!(ifindex_of(&one), Some(1234));
    assert_eq!(kinds_of(&one, &mut NeighTable::default()), Kinds::ROUTES);
    let mut multi = route.clone();
    multi
        .attributes
        .push(RouteAttribute::MultiPath(vec![RouteNextHop::default()]));
    assert_eq!(
        ifindex_of(&wire(RouteNetlinkMessage::DelRoute(multi))),
        None
    );
    let mut blackhole = route;
    blackhole
        .attributes
        .retain(|a| !matches!(a, RouteAttribute::Oif(_)));
    assert_eq!(
        ifindex_of(&wire(RouteNetlinkMessage::NewRoute(blackhole))),
        None
    );
    let mut rule = wire(RouteNetlinkMessage::DelLink(LinkMessage::default()));
    rule[4..6].copy_from_slice(&32u16.to_ne_bytes());
    assert_eq!(ifindex_of(&rule), None);
    assert_eq!(ifindex_of(&one[..10]), None);
}

/// The bridge's forwarding database (AF_BRIDGE neighbour messages) is never shown: chatter.
#[test]
fn bridge_fdb_entries_are_chatter() {
    let mut t = NeighTable::default();
    let mut m = NeighbourMessage::default();
    m.header.family = AddressFamily::Bridge;
    m.header.ifindex = 3;
    m.header.state = NeighbourState::Reachable;
    m.attributes
        .push(NeighbourAttribute::LinkLayerAddress(vec![2, 0, 0, 0, 0, 1]));
    assert_eq!(
        kinds_of(&wire(RouteNetlinkMessage::NewNeighbour(m.clone())), &mut t),
        Kinds::NONE
    );
    assert_eq!(
        kinds_of(&wire(RouteNetlinkMessage::DelNeighbour(m)), &mut t),
        Kinds::NONE
    );
}
