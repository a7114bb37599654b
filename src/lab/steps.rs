//! The lab's steps, one function each, over rtnetlink (links, addresses, routes) and inside
//! the namespace (sysctls, iptables). Each looks at what exists first: the same configuration
//! is already done (`Ok(false)`), a conflicting one is an error naming namespace and interface.

use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::AsRawFd;
use std::process::Command;

use futures::TryStreamExt;
use ipnet::Ipv4Net;
use netlink_packet_route::address::AddressAttribute;
use netlink_packet_route::link::{InfoData, InfoKind, InfoVeth};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteHeader, RouteMessage};
use rtnetlink::{
    Handle, LinkBridge, LinkMessageBuilder, LinkUnspec, LinkVeth, RouteMessageBuilder,
};

use crate::netns::enter::run_in_netns_file;
use crate::rtnl::query::*;
use crate::rtnl::session::Session;

pub(super) fn add_veth(
    session: &mut Session,
    a: &str,
    ns_a: &str,
    b: &str,
    ns_b: &str,
) -> Result<bool, String> {
    let handle_a = session.handle(ns_a)?;
    let handle_b = session.handle(ns_b)?;
    let ns_b_file = Session::open_ns(ns_b)?;
    session.rt.block_on(async {
        let link_a = get_link(&handle_a, a).await?;
        let link_b = get_link(&handle_b, b).await?;
        match (link_a, link_b) {
            (Some(la), Some(lb)) => {
                // Both ends exist: fine if they are veths pointing at each other.
                let veths = link_kind(&la) == Some(&InfoKind::Veth)
                    && link_kind(&lb) == Some(&InfoKind::Veth);
                if veths
                    && peer_index(&la) == Some(lb.header.index)
                    && peer_index(&lb) == Some(la.header.index)
                {
                    Ok(false)
                } else {
                    Err(format!(
                        "{a} in {ns_a} and {b} in {ns_b} exist but are not a veth pair with each other"
                    ))
                }
            }
            (Some(_), None) => Err(format!(
                "{a} already exists in {ns_a} but its peer {b} is missing from {ns_b}"
            )),
            (None, Some(_)) => Err(format!("{b} already exists in {ns_b}")),
            (None, None) => {
                // Create both ends in place, as `ip link add A type veth peer name B netns NS_B`
                // does: the peer message carries the target namespace's fd, so neither end ever
                // appears in another namespace (no name clashes, nothing on the real host).
                let mut builder = LinkVeth::new(a, b);
                if ns_a != ns_b {
                    let peer = LinkMessageBuilder::<LinkUnspec>::new()
                        .name(b.to_string())
                        .setns_by_fd(ns_b_file.as_raw_fd())
                        .build();
                    builder = builder.set_info_data(InfoData::Veth(InfoVeth::Peer(peer)));
                }
                handle_a
                    .link()
                    .add(builder.build())
                    .execute()
                    .await
                    .map_err(|e| format!("cannot create veth {a} in {ns_a}: {}", nl_err(e)))?;
                Ok(true)
            }
        }
    })
}

pub(super) async fn add_bridge(handle: &Handle, ns: &str, name: &str) -> Result<bool, String> {
    if let Some(link) = get_link(handle, name).await? {
        return if link_kind(&link) == Some(&InfoKind::Bridge) {
            Ok(false)
        } else {
            Err(format!("{name} already exists in {ns} and is not a bridge"))
        };
    }
    handle
        .link()
        .add(LinkBridge::new(name).build())
        .execute()
        .await
        .map_err(|e| format!("cannot create bridge {name} in {ns}: {}", nl_err(e)))?;
    Ok(true)
}

pub(super) async fn set_master(
    handle: &Handle,
    ns: &str,
    link: &str,
    master: &str,
) -> Result<bool, String> {
    let port = need_link(handle, ns, link).await?;
    let bridge = need_link(handle, ns, master).await?;
    if controller(&port) == Some(bridge.header.index) {
        return Ok(false);
    }
    if let Some(other) = controller(&port) {
        return Err(format!(
            "{link} in {ns} is already enslaved to interface index {other}, not {master}"
        ));
    }
    handle
        .link()
        .set(
            LinkUnspec::new_with_index(port.header.index)
                .controller(bridge.header.index)
                .build(),
        )
        .execute()
        .await
        .map_err(|e| format!("cannot enslave {link} to {master} in {ns}: {}", nl_err(e)))?;
    Ok(true)
}

pub(super) async fn add_addr(
    handle: &Handle,
    ns: &str,
    link: &str,
    addr: Ipv4Net,
) -> Result<bool, String> {
    let dev = need_link(handle, ns, link).await?;
    let index = dev.header.index;
    let existing: Vec<_> = handle
        .address()
        .get()
        .set_link_index_filter(index)
        .execute()
        .try_collect()
        .await
        .map_err(|e| format!("cannot list addresses of {link} in {ns}: {}", nl_err(e)))?;
    let ip = IpAddr::V4(addr.addr());
    for msg in &existing {
        let has_ip = msg.attributes.iter().any(
            |a| matches!(a, AddressAttribute::Local(x) | AddressAttribute::Address(x) if *x == ip),
        );
        if has_ip && msg.header.index == index {
            return if msg.header.prefix_len == addr.prefix_len() {
                Ok(false)
            } else {
                Err(format!(
                    "{link} in {ns} already has {ip}/{} instead of {addr}",
                    msg.header.prefix_len
                ))
            };
        }
    }
    handle
        .address()
        .add(index, ip, addr.prefix_len())
        .execute()
        .await
        .map_err(|e| format!("cannot add {addr} to {link} in {ns}: {}", nl_err(e)))?;
    Ok(true)
}

pub(super) async fn link_up(handle: &Handle, ns: &str, link: &str) -> Result<bool, String> {
    let dev = need_link(handle, ns, link).await?;
    if is_up(&dev) {
        return Ok(false);
    }
    handle
        .link()
        .set(LinkUnspec::new_with_index(dev.header.index).up().build())
        .execute()
        .await
        .map_err(|e| format!("cannot set {link} up in {ns}: {}", nl_err(e)))?;
    Ok(true)
}

pub(super) fn route_dst(route: &RouteMessage) -> Option<Ipv4Addr> {
    route.attributes.iter().find_map(|a| match a {
        RouteAttribute::Destination(RouteAddress::Inet(ip)) => Some(*ip),
        _ => None,
    })
}

pub(super) fn route_gateway(route: &RouteMessage) -> Option<Ipv4Addr> {
    route.attributes.iter().find_map(|a| match a {
        RouteAttribute::Gateway(RouteAddress::Inet(ip)) => Some(*ip),
        _ => None,
    })
}

pub(super) async fn add_route(
    handle: &Handle,
    ns: &str,
    dst: Ipv4Net,
    via: Ipv4Addr,
) -> Result<bool, String> {
    let dst = dst.trunc();
    let routes: Vec<RouteMessage> = handle
        .route()
        .get(RouteMessageBuilder::<Ipv4Addr>::new().build())
        .execute()
        .try_collect()
        .await
        .map_err(|e| format!("cannot list routes in {ns}: {}", nl_err(e)))?;
    // A dump returns every table; only the main table is ours.
    let existing = routes.iter().find(|r| {
        route_table(r) == u32::from(RouteHeader::RT_TABLE_MAIN)
            && r.header.destination_prefix_length == dst.prefix_len()
            && route_dst(r).unwrap_or(Ipv4Addr::UNSPECIFIED) == dst.addr()
    });
    if let Some(route) = existing {
        return match route_gateway(route) {
            Some(gw) if gw == via => Ok(false),
            Some(gw) => Err(format!("{ns} already routes {dst} via {gw}, not {via}")),
            None => Err(format!(
                "{ns} already has a route to {dst} without a gateway"
            )),
        };
    }
    let msg = RouteMessageBuilder::<Ipv4Addr>::new()
        .destination_prefix(dst.addr(), dst.prefix_len())
        .gateway(via)
        .build();
    handle
        .route()
        .add(msg)
        .execute()
        .await
        .map_err(|e| format!("cannot add route {dst} via {via} in {ns}: {}", nl_err(e)))?;
    Ok(true)
}

/// Writes a net sysctl from a thread inside `ns`: `/proc/sys/net` resolves against the opening
/// thread's network namespace, not the process's.
pub(super) fn set_sysctl(ns: &str, key: &str, value: &str) -> Result<bool, String> {
    let file = Session::open_ns(ns)?;
    let path = format!("/proc/sys/{key}");
    run_in_netns_file(&file, ns, || -> Result<bool, String> {
        let current = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {path} in {ns}: {e}"))?;
        if current.trim() == value {
            return Ok(false);
        }
        std::fs::write(&path, value).map_err(|e| format!("cannot write {path} in {ns}: {e}"))?;
        Ok(true)
    })
    .map_err(|e| e.to_string())?
}

/// Adds an iptables rule unless it exists. The command is spawned from a thread inside `ns`, so
/// the child starts in that namespace; argv is fixed, no shell involved.
pub(super) fn iptables_rule(
    ns: &str,
    table: &str,
    chain: &str,
    rule: &[String],
) -> Result<bool, String> {
    let file = Session::open_ns(ns)?;
    run_in_netns_file(&file, ns, || -> Result<bool, String> {
        let run = |action: &str| {
            Command::new("iptables")
                // -w: wait for the xtables lock instead of failing when another iptables runs.
                .args(["-w", "-t", table, action, chain])
                .args(rule)
                .output()
                .map_err(|e| format!("cannot run iptables in {ns}: {e}"))
        };
        if run("-C")?.status.success() {
            return Ok(false);
        }
        let out = run("-A")?;
        if out.status.success() {
            Ok(true)
        } else {
            Err(format!(
                "iptables -t {table} -A {chain} {} failed in {ns}: {}",
                rule.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    })
    .map_err(|e| e.to_string())?
}
