//! Reading one namespace's netlink notifications and saying which kinds of objects they
//! change (see `collect::touched`), leaving out what the UI would not show differently.
//!
//! Ignored: neighbour updates that only move an entry among REACHABLE, STALE, DELAY and PROBE
//! with the same link-layer address and router flag (the kernel's own reachability
//! confirmation, a steady trickle on any busy node), and NOARP entries (multicast and the
//! like: IPv6 router solicitations and MLD create them; `ip neigh` and netlens hide them).
//! New and deleted entries, a new lladdr, and INCOMPLETE/FAILED/PERMANENT transitions count.

use std::collections::HashMap;

use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourFlags, NeighbourMessage, NeighbourState,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use crate::collect::touched::Kinds;

const RTM_NEWLINK: u16 = 16;
const RTM_DELLINK: u16 = 17;
const RTM_NEWADDR: u16 = 20;
const RTM_DELADDR: u16 = 21;
const RTM_NEWROUTE: u16 = 24;
const RTM_DELROUTE: u16 = 25;
const RTM_NEWNEIGH: u16 = 28;
const RTM_DELNEIGH: u16 = 29;
const RTM_NEWRULE: u16 = 32;
const RTM_DELRULE: u16 = 33;
const RTM_NEWNETCONF: u16 = 80;
const RTM_DELNETCONF: u16 = 81;

/// What a neighbour entry looks like on screen, as far as events are concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Shown {
    lladdr: Vec<u8>,
    /// REACHABLE/STALE/DELAY/PROBE are one class (0); any other state is its own.
    class: u16,
    router: bool,
}

/// Per namespace: the neighbour entries seen in events, by (ifindex, destination).
#[derive(Debug, Default)]
pub struct NeighTable {
    seen: HashMap<(u32, Vec<u8>), Shown>,
}

fn class_of(state: NeighbourState) -> u16 {
    match state {
        NeighbourState::Reachable
        | NeighbourState::Stale
        | NeighbourState::Delay
        | NeighbourState::Probe => 0,
        other => u16::from(other),
    }
}

impl NeighTable {
    /// Whether this neighbour message changes what is shown (and remember what it says).
    pub fn changes(&mut self, m: &NeighbourMessage, deleted: bool) -> bool {
        let mut dst = Vec::new();
        let mut lladdr = Vec::new();
        for attr in &m.attributes {
            match attr {
                NeighbourAttribute::Destination(NeighbourAddress::Inet(a)) => {
                    dst = a.octets().to_vec()
                }
                NeighbourAttribute::Destination(NeighbourAddress::Inet6(a)) => {
                    dst = a.octets().to_vec()
                }
                NeighbourAttribute::LinkLayerAddress(b) => lladdr.clone_from(b),
                _ => {}
            }
        }
        let key = (m.header.ifindex, dst);
        let noarp = m.header.state == NeighbourState::Noarp;
        if deleted {
            let was = self.seen.remove(&key);
            // A hidden entry going, or one never seen as anything but hidden: nothing shown.
            return !(noarp && was.is_none_or(|s| s.class == class_of(NeighbourState::Noarp)));
        }
        let now = Shown {
            lladdr,
            class: class_of(m.header.state),
            router: m.header.flags.contains(NeighbourFlags::Router),
        };
        let before = self.seen.insert(key, now.clone());
        match before {
            None => !noarp,
            Some(b) => b != now,
        }
    }
}

/// Whether a neighbour message is one the model holds: IPv4 and IPv6 entries. The bridge's
/// forwarding database comes on the same group (family AF_BRIDGE: MACs learnt and aged as
/// pods talk, a steady trickle on a node) and is never shown.
fn shown_family(m: &NeighbourMessage) -> bool {
    matches!(m.header.family, AddressFamily::Inet | AddressFamily::Inet6)
}

/// The kinds one notification changes, or nothing when it is chatter the UI does not show.
pub fn kinds_of(bytes: &[u8], neigh: &mut NeighTable) -> Kinds {
    if bytes.len() < 16 {
        return Kinds::NONE;
    }
    let kind = u16::from_ne_bytes([bytes[4], bytes[5]]);
    match kind {
        RTM_NEWLINK | RTM_DELLINK => Kinds::LINKS,
        RTM_NEWADDR | RTM_DELADDR => Kinds::ADDRESSES,
        RTM_NEWROUTE | RTM_DELROUTE => Kinds::ROUTES,
        RTM_NEWRULE | RTM_DELRULE => Kinds::RULES,
        RTM_NEWNETCONF | RTM_DELNETCONF => Kinds::SYSCTLS,
        RTM_NEWNEIGH | RTM_DELNEIGH => {
            match NetlinkMessage::<RouteNetlinkMessage>::deserialize(bytes).map(|m| m.payload) {
                Ok(NetlinkPayload::InnerMessage(
                    RouteNetlinkMessage::NewNeighbour(m) | RouteNetlinkMessage::DelNeighbour(m),
                )) if !shown_family(&m) => Kinds::NONE,
                Ok(NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewNeighbour(m))) => {
                    if neigh.changes(&m, false) {
                        Kinds::NEIGHBORS
                    } else {
                        Kinds::NONE
                    }
                }
                Ok(NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelNeighbour(m))) => {
                    if neigh.changes(&m, true) {
                        Kinds::NEIGHBORS
                    } else {
                        Kinds::NONE
                    }
                }
                // Undecodable: read the neighbours again rather than miss a change.
                _ => Kinds::NEIGHBORS,
            }
        }
        _ => Kinds::NONE,
    }
}

/// The link one notification is about: the ifindex in the header of a link, address or
/// neighbour message, a route's output device (RTA_OIF). `None` when it names none (a
/// multipath route, whose next hops name several; a rule; netconf), or it cannot be read.
pub fn ifindex_of(bytes: &[u8]) -> Option<u32> {
    /// `rtattr` types of a route message.
    const RTA_OIF: u16 = 4;
    const RTA_MULTIPATH: u16 = 9;
    let u16_at = |at: usize| Some(u16::from_ne_bytes(bytes.get(at..at + 2)?.try_into().ok()?));
    let u32_at = |at: usize| Some(u32::from_ne_bytes(bytes.get(at..at + 4)?.try_into().ok()?));
    match u16_at(4)? {
        // ifinfomsg, ifaddrmsg and ndmsg all hold the ifindex at offset 4 of their header,
        // which follows the 16-byte netlink header.
        RTM_NEWLINK | RTM_DELLINK | RTM_NEWADDR | RTM_DELADDR | RTM_NEWNEIGH | RTM_DELNEIGH => {
            u32_at(20).filter(|i| *i != 0)
        }
        RTM_NEWROUTE | RTM_DELROUTE => {
            // rtmsg is 12 bytes; its attributes follow, each 4-byte aligned.
            let mut at = 16 + 12;
            let mut oif = None;
            while at + 4 <= bytes.len() {
                let len = usize::from(u16_at(at)?);
                let kind = u16_at(at + 2)? & 0x3fff;
                if len < 4 {
                    return None;
                }
                match kind {
                    RTA_MULTIPATH => return None,
                    RTA_OIF => oif = u32_at(at + 4),
                    _ => {}
                }
                at += (len + 3) & !3;
            }
            oif.filter(|i| *i != 0)
        }
        _ => None,
    }
}

/// Splits a datagram into its netlink messages.
pub fn messages(buf: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut offset = 0;
    std::iter::from_fn(move || {
        let bytes = buf.get(offset..)?;
        if bytes.len() < 16 {
            return None;
        }
        let len = u32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
        if len < 16 || len > bytes.len() {
            return None;
        }
        offset += (len + 3) & !3;
        Some(&bytes[..len])
    })
}

#[cfg(test)]
#[path = "watch_events_tests.rs"]
mod tests;
