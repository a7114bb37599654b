//! Pairing veth ends again after a partial refresh, for the namespaces whose links were
//! re-read only: what the node's other namespaces hold is not walked (see `peers.rs` for the
//! full pairing and how nsids name namespaces).
//!
//! A veth that was already paired and kept its index, peer index and nsid keeps its peer
//! namespace without asking the kernel: an nsid names one namespace for as long as both
//! live. A new veth looks for its other end among the namespaces holding a veth at its peer
//! index that points back (a scan of the model, not of the kernel) and asks its own
//! namespace's nsid of each such candidate. Unlike the full pairing it does not try every
//! namespace of the node when no candidate points back: during a pod's creation the other
//! end is usually in a namespace not seen yet, and the namespace's own arrival pairs it.

use std::collections::HashMap;
use std::fs::File;

use crate::model::{LinkKind, Namespace, PeerRef};
use crate::netlink::{nsid_of, RtSocket};

/// A veth as it was before the refresh: its peer index, its nsid of the peer's namespace,
/// and the namespace (index) it was paired with.
pub type Before = (u32, Option<i32>, Option<usize>);

/// What pairing needs to know of the state before the refresh, and how to reach namespaces.
pub struct Pairing<'a> {
    /// Namespaces whose links were read again (indexes into the namespaces).
    pub touched: Vec<usize>,
    /// Their rtnetlink sockets (bound to them), to ask for nsids.
    pub sockets: HashMap<usize, RtSocket>,
    /// A veth's peer namespace before the refresh, by (namespace, ifindex), with the peer
    /// index and nsid it had: reused when both are unchanged.
    pub previous: HashMap<(usize, u32), Before>,
    /// Opens any namespace's nsfs file (to ask an nsid of it).
    pub open: &'a dyn Fn(usize) -> Option<File>,
}

/// The first position of the link with `ifindex` in `ns`, and whether it is a veth pointing
/// back at `back`.
fn find(ns: &Namespace, ifindex: u32) -> Option<usize> {
    ns.links.iter().position(|l| l.index == ifindex)
}

fn points_back(ns: &Namespace, at: usize, back: u32) -> bool {
    let l = &ns.links[at];
    l.kind == LinkKind::Veth && l.link_index == Some(back)
}

/// Fills `Link::peer` of every veth in the touched namespaces, and the other end's; returns
/// the namespaces where another end changed.
pub fn pair_touched(namespaces: &mut [Namespace], p: &mut Pairing<'_>) -> Vec<usize> {
    let mut others = Vec::new();
    let mut order = p.touched.clone();
    order.sort_by_key(|&ni| {
        let ns = &namespaces[ni];
        ns.links.iter().filter(|l| l.kind == LinkKind::Veth).count()
    });
    let mut done: HashMap<(usize, u32), ()> = HashMap::new();
    for ni in order {
        let mut nsid_cache: HashMap<i32, Option<usize>> = HashMap::new();
        for li in 0..namespaces[ni].links.len() {
            let link = &namespaces[ni].links[li];
            let own_index = link.index;
            if link.kind != LinkKind::Veth || done.contains_key(&(ni, own_index)) {
                continue;
            }
            let Some(peer_index) = link.link_index.filter(|i| *i != 0) else {
                continue;
            };
            let netnsid = link.link_netnsid;
            let peer_ns = match netnsid {
                None => Some(ni),
                Some(id) if id < 0 => Some(ni),
                Some(id) => {
                    let known = p.previous.get(&(ni, own_index)).and_then(|(pi, nid, pn)| {
                        (*pi == peer_index && *nid == netnsid).then_some(*pn)?
                    });
                    match known {
                        Some(pn) if pn < namespaces.len() => Some(pn),
                        _ => *nsid_cache
                            .entry(id)
                            .or_insert_with(|| ask(namespaces, p, ni, id, own_index, peer_index)),
                    }
                }
            };
            done.insert((ni, own_index), ());
            let peer = peer_ref(namespaces, peer_ns, peer_index);
            namespaces[ni].links[li].peer = Some(peer);
            // The other end: the veth at peer_index there pointing back to us.
            let Some(pn) = peer_ns else { continue };
            let Some(pli) = find(&namespaces[pn], peer_index) else {
                continue;
            };
            if (pn, pli) == (ni, li) || !points_back(&namespaces[pn], pli, own_index) {
                continue;
            }
            let back = PeerRef {
                namespace: Some(namespaces[ni].name.clone()),
                ifindex: own_index,
                name: Some(namespaces[ni].links[li].name.clone()),
            };
            if namespaces[pn].links[pli].peer.as_ref() != Some(&back) {
                namespaces[pn].links[pli].peer = Some(back);
                others.push(pn);
            }
            done.insert((pn, peer_index), ());
        }
    }
    others
}

/// The namespace `id` names in namespace `ni`: asked of `ni`'s kernel for each namespace
/// holding a veth at `peer_index` that points back at `own_index`.
fn ask(
    namespaces: &[Namespace],
    p: &mut Pairing<'_>,
    ni: usize,
    id: i32,
    own_index: u32,
    peer_index: u32,
) -> Option<usize> {
    let likely = namespaces.iter().enumerate().filter(|(cand, ns)| {
        *cand != ni && find(ns, peer_index).is_some_and(|at| points_back(ns, at, own_index))
    });
    let candidates: Vec<usize> = likely.map(|(cand, _)| cand).collect();
    let sock = p.sockets.get_mut(&ni)?;
    candidates
        .into_iter()
        .find(|&cand| (p.open)(cand).is_some_and(|f| nsid_of(sock, &f) == Some(id)))
}

fn peer_ref(namespaces: &[Namespace], ns: Option<usize>, ifindex: u32) -> PeerRef {
    match ns {
        Some(pn) => PeerRef {
            namespace: Some(namespaces[pn].name.clone()),
            ifindex,
            name: find(&namespaces[pn], ifindex).map(|li| namespaces[pn].links[li].name.clone()),
        },
        None => PeerRef {
            namespace: None,
            ifindex,
            name: None,
        },
    }
}
