//! The nsid under which one namespace knows another (RTM_GETNSID): how a veth's
//! IFLA_LINK_NETNSID is translated into a namespace.

use std::fs::File;
use std::os::fd::AsRawFd;

use netlink_packet_route::nsid::{NsidAttribute, NsidMessage};
use netlink_packet_route::RouteNetlinkMessage;

use super::RtSocket;

/// The nsid that `sock`'s namespace has assigned to the namespace `target` is a file of;
/// `None` when it has none (or the request failed).
pub fn nsid_of(sock: &mut RtSocket, target: &File) -> Option<i32> {
    let mut msg = NsidMessage::default();
    msg.attributes
        .push(NsidAttribute::Fd(target.as_raw_fd() as u32));
    let replies = sock.request(RouteNetlinkMessage::GetNsId(msg)).ok()?;
    replies.into_iter().find_map(|r| match r {
        RouteNetlinkMessage::NewNsId(m) => m.attributes.into_iter().find_map(|a| match a {
            NsidAttribute::Id(id) => Some(id),
            _ => None,
        }),
        _ => None,
    })
}
