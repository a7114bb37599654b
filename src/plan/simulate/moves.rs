//! The simulator's steps that move or recreate links (see [`super::simulate`]), as the kernel
//! does them: a link moved to another namespace arrives down, with no address, route,
//! neighbour or master (the old namespace unregisters it); a recreated link is new, down and
//! bare. So a fix that moves or recreates a link but forgets its address is seen to fail.

use super::links::{drop_link, new_link};
use super::{ns_mut, unmodelled, LinkMut};
use crate::model::{Link, LinkKind, OperState, PeerRef, Snapshot};
use crate::plan::step::LinkEnd;

/// `ip link set NAME netns TO_NS`.
pub(super) fn move_link(snap: &mut Snapshot, ns: &str, name: &str, to: &str) -> Result<(), String> {
    // Both namespaces must be in the model before anything changes.
    ns_mut(snap, to)?;
    let mut l = ns_mut(snap, ns)?.link_mut(name)?.clone();
    // NETIF_F_NETNS_LOCAL: the kernel refuses to move these.
    if matches!(l.kind, LinkKind::Bridge | LinkKind::Loopback) || l.name == "lo" {
        return Err(format!(
            "{name} is a {}, which cannot change namespace",
            l.kind
        ));
    }
    if ns == to {
        return Ok(());
    }
    let target = ns_mut(snap, to)?;
    if target.links.iter().any(|x| x.name == name) {
        return Err(format!("{name} already exists in {to} (File exists)"));
    }
    // The index is kept when it is free there; else the kernel picks another.
    let old_index = l.index;
    if target.links.iter().any(|x| x.index == old_index) {
        l.index = next_index(&target.links);
    }
    l.flags.clear();
    l.oper_state = OperState::Down;
    l.master = None;
    l.master_index = None;
    l.link_netnsid = None;
    let new_index = l.index;
    let peer = l.peer.clone();
    target.links.push(l);
    drop_link(ns_mut(snap, ns)?, name);
    // The other end now finds this one in `to`.
    if let Some(p) = peer {
        if let Some(pl) = peer_link(snap, &p) {
            pl.peer = Some(PeerRef {
                namespace: Some(to.to_string()),
                ifindex: new_index,
                name: Some(name.to_string()),
            });
        }
    }
    Ok(())
}

fn next_index(links: &[Link]) -> u32 {
    links.iter().map(|l| l.index).max().unwrap_or(0) + 1
}

fn peer_link<'a>(snap: &'a mut Snapshot, p: &PeerRef) -> Option<&'a mut Link> {
    let pns = p.namespace.as_deref()?;
    snap.namespaces
        .iter_mut()
        .find(|n| n.name == pns)?
        .links
        .iter_mut()
        .find(|l| l.index == p.ifindex)
}

/// Undo's recreation of a deleted veth pair or bridge: its old index (when free), MAC and
/// MTU, down, with no address: undo's later steps put those back.
pub(super) fn recreate_link(
    snap: &mut Snapshot,
    kind: &LinkKind,
    link: &LinkEnd,
    peer: Option<&LinkEnd>,
) -> Result<(), String> {
    match (kind, peer) {
        (LinkKind::Veth, Some(p)) => {
            ns_mut(snap, &p.ns)?;
            let a = recreate_end(snap, link, LinkKind::Veth)?;
            let b = recreate_end(snap, p, LinkKind::Veth)?;
            pair(snap, link, p, b)?;
            pair(snap, p, link, a)
        }
        (LinkKind::Bridge, None) => recreate_end(snap, link, LinkKind::Bridge).map(|_| ()),
        _ => Err(unmodelled(&format!("recreating a {kind} link"))),
    }
}

fn recreate_end(snap: &mut Snapshot, end: &LinkEnd, kind: LinkKind) -> Result<u32, String> {
    let n = ns_mut(snap, &end.ns)?;
    let index_free = !n.links.iter().any(|l| l.index == end.index);
    let l = new_link(n, &end.name, kind)?;
    if index_free {
        l.index = end.index;
    }
    l.mac = Some(end.mac.clone());
    l.mtu = end.mtu;
    Ok(l.index)
}

fn pair(snap: &mut Snapshot, end: &LinkEnd, peer: &LinkEnd, index: u32) -> Result<(), String> {
    ns_mut(snap, &end.ns)?.link_mut(&end.name)?.peer = Some(PeerRef {
        namespace: Some(peer.ns.clone()),
        ifindex: index,
        name: Some(peer.name.clone()),
    });
    Ok(())
}
