//! The simulator's steps on links themselves (see [`super::simulate`]): bridge ports, new
//! veth pairs and bridges, deleted links with everything that hangs on them.

use super::simulate::{ns_mut, LinkMut};
use crate::model::{Link, LinkKind, Namespace, OperState, Snapshot};

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
