//! Executes [`Breakage`]s with the lab's netlink session. Unlike `up`'s steps these are not
//! idempotent on purpose: breaking something that is already broken (a route already gone) is
//! an error naming what was missing, so a drill never silently does nothing.

use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;

use futures::TryStreamExt;
use netlink_packet_route::address::AddressAttribute;
use netlink_packet_route::route::{RouteHeader, RouteMessage};
use rtnetlink::{LinkUnspec, RouteMessageBuilder};

use super::faults::Breakage;
use super::steps::{add_addr, route_dst, set_sysctl};
use crate::netns::enter::run_in_netns_file;
use crate::rtnl::query::{need_link, nl_err, route_table};
use crate::rtnl::session::Session;

pub(super) fn apply(changes: &[Breakage]) -> Result<(), String> {
    let mut session = Session::new()?;
    for change in changes {
        apply_one(&mut session, change).map_err(|e| format!("{change}: {e}"))?;
    }
    Ok(())
}

fn apply_one(session: &mut Session, change: &Breakage) -> Result<(), String> {
    match change {
        Breakage::Sysctl { ns, key, value } => set_sysctl(ns, key, value).map(|_| ()),
        Breakage::EtcFile { ns, file, text } => {
            let dir = std::path::Path::new("/etc/netns").join(ns);
            std::fs::create_dir_all(&dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            let path = dir.join(file);
            std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
        }
        Breakage::Iptables { ns, args } => iptables(ns, args),
        Breakage::AddAddr { ns, link, addr } => {
            let handle = session.handle(ns)?;
            session
                .rt
                .block_on(add_addr(&handle, ns, link, *addr))
                .map(|_| ())
        }
        Breakage::LinkDown { ns, link } => {
            let handle = session.handle(ns)?;
            session.rt.block_on(async {
                let dev = need_link(&handle, ns, link).await?;
                handle
                    .link()
                    .set(LinkUnspec::new_with_index(dev.header.index).down().build())
                    .execute()
                    .await
                    .map_err(nl_err)
            })
        }
        Breakage::NoMaster { ns, link } => {
            let handle = session.handle(ns)?;
            session.rt.block_on(async {
                let dev = need_link(&handle, ns, link).await?;
                handle
                    .link()
                    .set(
                        LinkUnspec::new_with_index(dev.header.index)
                            .nocontroller()
                            .build(),
                    )
                    .execute()
                    .await
                    .map_err(nl_err)
            })
        }
        Breakage::SetMtu { ns, link, mtu } => {
            let handle = session.handle(ns)?;
            session.rt.block_on(async {
                let dev = need_link(&handle, ns, link).await?;
                handle
                    .link()
                    .set(
                        LinkUnspec::new_with_index(dev.header.index)
                            .mtu(*mtu)
                            .build(),
                    )
                    .execute()
                    .await
                    .map_err(nl_err)
            })
        }
        Breakage::DelAddr { ns, link, addr } => {
            let handle = session.handle(ns)?;
            session.rt.block_on(async {
                let dev = need_link(&handle, ns, link).await?;
                let ip = IpAddr::V4(addr.addr());
                let msgs: Vec<_> = handle
                    .address()
                    .get()
                    .set_link_index_filter(dev.header.index)
                    .execute()
                    .try_collect()
                    .await
                    .map_err(nl_err)?;
                let msg = msgs
                    .into_iter()
                    .find(|m| {
                        m.header.index == dev.header.index
                            && m.header.prefix_len == addr.prefix_len()
                            && m.attributes.iter().any(|a| {
                                matches!(a, AddressAttribute::Local(x) | AddressAttribute::Address(x) if *x == ip)
                            })
                    })
                    .ok_or_else(|| format!("{link} in {ns} has no address {addr}"))?;
                handle.address().del(msg).execute().await.map_err(nl_err)
            })
        }
        Breakage::DelRoute { ns, dst } => {
            let handle = session.handle(ns)?;
            session.rt.block_on(async {
                let dst = dst.trunc();
                let routes: Vec<RouteMessage> = handle
                    .route()
                    .get(RouteMessageBuilder::<Ipv4Addr>::new().build())
                    .execute()
                    .try_collect()
                    .await
                    .map_err(nl_err)?;
                let route = routes
                    .into_iter()
                    .find(|r| {
                        route_table(r) == u32::from(RouteHeader::RT_TABLE_MAIN)
                            && r.header.destination_prefix_length == dst.prefix_len()
                            && route_dst(r).unwrap_or(Ipv4Addr::UNSPECIFIED) == dst.addr()
                    })
                    .ok_or_else(|| format!("{ns} has no route to {dst} in its main table"))?;
                handle.route().del(route).execute().await.map_err(nl_err)
            })
        }
    }
}

/// `iptables -w ARGS…` from a thread inside `ns` (the child starts in that namespace).
fn iptables(ns: &str, args: &[String]) -> Result<(), String> {
    let file = Session::open_ns(ns)?;
    run_in_netns_file(&file, ns, || -> Result<(), String> {
        let out = Command::new("iptables")
            .arg("-w")
            .args(args)
            .output()
            .map_err(|e| format!("cannot run iptables in {ns}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "iptables {} failed in {ns}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    })
    .map_err(|e| e.to_string())?
}

/// Removes the `/etc/netns/<ns>` files a fault wrote (recognised by their first line), and
/// the directory if that leaves it empty. Files anyone else wrote stay.
pub(super) fn remove_etc_files(ns: &str) -> Vec<String> {
    let dir = std::path::Path::new("/etc/netns").join(ns);
    let mut errors = Vec::new();
    for file in ["nsswitch.conf", "resolv.conf"] {
        let path = dir.join(file);
        let ours =
            std::fs::read_to_string(&path).is_ok_and(|t| t.starts_with(super::faults::ETC_MARKER));
        if ours {
            if let Err(e) = std::fs::remove_file(&path) {
                errors.push(format!("cannot remove {}: {e}", path.display()));
            }
        }
    }
    // Fails harmlessly when the directory is absent or holds other files.
    let _ = std::fs::remove_dir(&dir);
    errors
}
