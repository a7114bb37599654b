//! The simulator's steps on links themselves (see [`super::simulate`]): a link set up or down
//! (its carrier and its peer's, the routes and neighbours the kernel flushes), bridge ports,
//! new veth pairs and bridges, deleted links with everything that hangs on them.

use super::addr::{add_address_routes, is_fe80};
use super::{ns_mut, LinkMut};
use crate::model::{Address, Link, LinkFlag, LinkKind, Namespace, OperState, RouteScope, Snapshot};

pub(super) fn set_master(
    n: &mut Namespace,
    link: &str,
    master: &Option<String>,
) -> Result<(), String> {
    let new = match master {
        Some(m) => {
            let b = n.link_mut(m)?;
            if b.kind != LinkKind::Bridge {
                return Err(format!("{m} is not a bridge"));
            }
            Some((m.clone(), b.index))
        }
        None => None,
    };
    let l = n.link_mut(link)?;
    let old = l.master.take();
    l.master_index = new.as_ref().map(|x| x.1);
    l.master = new.as_ref().map(|x| x.0.clone());
    for b in n.links.iter_mut() {
        if Some(&b.name) == old.as_ref() {
            b.ports.retain(|p| p != link);
        }
        if Some(&b.name) == new.as_ref().map(|x| &x.0) && !b.ports.iter().any(|p| p == link) {
            b.ports.push(link.to_string());
        }
    }
    Ok(())
}

/// A new link, down, with the next free index (the kernel's choice is not known here).
pub(super) fn new_link<'a>(
    n: &'a mut Namespace,
    name: &str,
    kind: LinkKind,
) -> Result<&'a mut Link, String> {
    if n.links.iter().any(|l| l.name == name) {
        return Err(format!("{name} already exists in {}", n.name));
    }
    let index = n.links.iter().map(|l| l.index).max().unwrap_or(0) + 1;
    let mut l = Link::new(index, name, kind);
    l.oper_state = OperState::Down;
    l.mtu = 1500;
    n.links.push(l);
    Ok(n.links.last_mut().expect("just pushed"))
}

pub(super) fn add_veth(
    snap: &mut Snapshot,
    ns: &str,
    name: &str,
    pns: &str,
    peer: &str,
) -> Result<(), String> {
    ns_mut(snap, pns)?;
    let a = new_link(ns_mut(snap, ns)?, name, LinkKind::Veth)?.index;
    let b = new_link(ns_mut(snap, pns)?, peer, LinkKind::Veth)?;
    b.peer = Some(crate::model::PeerRef {
        namespace: Some(ns.to_string()),
        ifindex: a,
        name: Some(name.to_string()),
    });
    let bi = b.index;
    ns_mut(snap, ns)?.link_mut(name)?.peer = Some(crate::model::PeerRef {
        namespace: Some(pns.to_string()),
        ifindex: bi,
        name: Some(peer.to_string()),
    });
    Ok(())
}

/// Removes a link with everything that hangs on it; a veth takes its peer along.
pub(super) fn delete_link(snap: &mut Snapshot, ns: &str, name: &str) -> Result<(), String> {
    let n = ns_mut(snap, ns)?;
    let l = n.link_mut(name)?.clone();
    drop_link(n, name);
    if let Some(p) = l.peer {
        let peer = p.namespace.as_deref().and_then(|pn| {
            snap.namespace(pn)
                .and_then(|x| x.links.iter().find(|k| k.index == p.ifindex))
                .map(|k| (pn.to_string(), k.name.clone()))
        });
        if let Some((pn, pl)) = peer {
            drop_link(ns_mut(snap, &pn)?, &pl);
        }
    }
    Ok(())
}

pub(super) fn drop_link(n: &mut Namespace, name: &str) {
    n.links.retain(|l| l.name != name);
    n.addresses.retain(|a| a.ifname != name);
    n.routes.retain(|r| r.dev.as_deref() != Some(name));
    n.neighbors.retain(|x| x.dev != name);
    for l in n.links.iter_mut() {
        l.ports.retain(|p| p != name);
        if l.master.as_deref() == Some(name) {
            l.master = None;
            l.master_index = None;
        }
    }
}

/// The kernel's view of carrier: a veth has it while its peer is up too.
fn refresh_oper(snap: &mut Snapshot, ns: &str, link: &str) {
    let peer = snap
        .namespace(ns)
        .and_then(|n| n.links.iter().find(|l| l.name == link))
        .and_then(|l| l.peer.clone());
    let peer_up = peer.as_ref().map(|p| {
        p.namespace
            .as_deref()
            .and_then(|pn| snap.namespace(pn))
            .and_then(|pn| pn.links.iter().find(|l| l.index == p.ifindex))
            .is_some_and(Link::is_up)
    });
    let Some(l) = snap
        .namespaces
        .iter_mut()
        .find(|n| n.name == ns)
        .and_then(|n| n.links.iter_mut().find(|l| l.name == link))
    else {
        return;
    };
    l.flags
        .retain(|f| !matches!(f, LinkFlag::LowerUp | LinkFlag::Running));
    let up = l.is_up();
    let carrier = up && peer_up.unwrap_or(true);
    if carrier {
        l.flags.insert(LinkFlag::LowerUp);
    }
    l.oper_state = match (up, carrier, &l.kind) {
        (false, _, _) => OperState::Down,
        (true, false, _) => OperState::LowerLayerDown,
        (true, true, LinkKind::Loopback) => OperState::Unknown,
        (true, true, _) => OperState::Up,
    };
}

pub(super) fn set_up(snap: &mut Snapshot, ns: &str, link: &str, up: bool) -> Result<(), String> {
    let n = ns_mut(snap, ns)?;
    let l = n.link_mut(link)?;
    if l.is_up() == up {
        return Ok(());
    }
    let peer = l.peer.clone();
    if up {
        l.flags.insert(LinkFlag::Up);
        let addrs: Vec<Address> = n
            .addresses
            .iter()
            .filter(|a| a.ifname == link)
            .cloned()
            .collect();
        for a in &addrs {
            add_address_routes(n, a);
        }
    } else {
        l.flags.remove(LinkFlag::Up);
        // keep_addr_on_down=0: IPv6 addresses go too (link-local ones come back on up).
        n.addresses.retain(|a| {
            a.ifname != link
                || a.address.is_ipv4()
                || a.scope == RouteScope::Link
                || is_fe80(a.address)
        });
        // The kernel flushes every route through the link (connected and local ones too) and
        // its neighbours; setting it up again brings back only the connected routes.
        n.routes.retain(|r| r.dev.as_deref() != Some(link));
        n.neighbors.retain(|x| x.dev != link);
    }
    refresh_oper(snap, ns, link);
    if let Some(p) = peer {
        let pname = p.namespace.as_deref().and_then(|pn| {
            snap.namespace(pn)
                .and_then(|n| n.links.iter().find(|l| l.index == p.ifindex))
                .map(|l| (pn.to_string(), l.name.clone()))
        });
        if let Some((pn, pl)) = pname {
            refresh_oper(snap, &pn, &pl);
        }
    }
    Ok(())
}
