//! Typed look-ups on rtnetlink messages and the few queries every writer needs first ("does
//! this link exist, what is it"). Errors are strings naming the namespace and object: callers
//! wrap them into their own error types.

use futures::TryStreamExt;
use netlink_packet_route::link::{InfoKind, LinkAttribute, LinkFlags, LinkInfo, LinkMessage};
use netlink_packet_route::route::{RouteAttribute, RouteMessage};
use rtnetlink::Handle;

use crate::model::LinkKind;

const ENODEV: i32 = libc::ENODEV;

pub fn nl_code(e: &rtnetlink::Error) -> Option<i32> {
    match e {
        rtnetlink::Error::NetlinkError(msg) => Some(msg.raw_code().abs()),
        _ => None,
    }
}

pub fn nl_err(e: rtnetlink::Error) -> String {
    match &e {
        rtnetlink::Error::NetlinkError(msg) => msg.to_io().to_string(),
        _ => e.to_string(),
    }
}

/// The link called `name`, or `None` if the namespace has none.
pub async fn get_link(handle: &Handle, name: &str) -> Result<Option<LinkMessage>, String> {
    match handle
        .link()
        .get()
        .match_name(name)
        .execute()
        .try_next()
        .await
    {
        Ok(link) => Ok(link),
        Err(e) if nl_code(&e) == Some(ENODEV) => Ok(None),
        Err(e) => Err(nl_err(e)),
    }
}

pub async fn need_link(handle: &Handle, ns: &str, name: &str) -> Result<LinkMessage, String> {
    get_link(handle, name)
        .await?
        .ok_or_else(|| format!("interface {name} does not exist in {ns}"))
}

pub fn link_kind(link: &LinkMessage) -> Option<&InfoKind> {
    link.attributes.iter().find_map(|a| match a {
        LinkAttribute::LinkInfo(infos) => infos.iter().find_map(|i| match i {
            LinkInfo::Kind(kind) => Some(kind),
            _ => None,
        }),
        _ => None,
    })
}

/// Kind as the model names it (`veth`, `bridge`, ... as `ip -d link` prints them).
pub fn kind_name(kind: &InfoKind) -> LinkKind {
    LinkKind::parse(&kind.to_string())
}

pub fn link_attr_u32(link: &LinkMessage, pick: fn(&LinkAttribute) -> Option<u32>) -> Option<u32> {
    link.attributes.iter().find_map(pick)
}

pub fn peer_index(link: &LinkMessage) -> Option<u32> {
    link_attr_u32(link, |a| match a {
        LinkAttribute::Link(i) => Some(*i),
        _ => None,
    })
}

pub fn controller(link: &LinkMessage) -> Option<u32> {
    link_attr_u32(link, |a| match a {
        LinkAttribute::Controller(i) => Some(*i),
        _ => None,
    })
}

pub fn is_up(link: &LinkMessage) -> bool {
    link.header.flags.contains(LinkFlags::Up)
}

pub fn route_table(route: &RouteMessage) -> u32 {
    route
        .attributes
        .iter()
        .find_map(|a| match a {
            RouteAttribute::Table(t) => Some(*t),
            _ => None,
        })
        .unwrap_or(u32::from(route.header.table))
}

/// The nsid under which a veth's namespace knows its peer's namespace; `None` when the peer is
/// in the same namespace.
pub fn link_netnsid(link: &LinkMessage) -> Option<i32> {
    link.attributes.iter().find_map(|a| match a {
        LinkAttribute::LinkNetNsId(id) => Some(*id),
        _ => None,
    })
}

pub fn link_mtu(link: &LinkMessage) -> Option<u32> {
    link_attr_u32(link, |a| match a {
        LinkAttribute::Mtu(m) => Some(*m),
        _ => None,
    })
}

pub fn link_mac(link: &LinkMessage) -> Option<Vec<u8>> {
    link.attributes.iter().find_map(|a| match a {
        LinkAttribute::Address(mac) => Some(mac.clone()),
        _ => None,
    })
}

pub fn link_name(link: &LinkMessage) -> Option<&str> {
    link.attributes.iter().find_map(|a| match a {
        LinkAttribute::IfName(n) => Some(n.as_str()),
        _ => None,
    })
}

/// Every link of the namespace.
pub async fn all_links(handle: &Handle, ns: &str) -> Result<Vec<LinkMessage>, String> {
    handle
        .link()
        .get()
        .execute()
        .try_collect()
        .await
        .map_err(|e| format!("cannot list links in {ns}: {}", nl_err(e)))
}
