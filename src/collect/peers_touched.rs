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

use std::collections::{HashMap, HashSet};
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
    /// Namespaces whose links were read for some ifindexes only (`partial_links.rs`): only
    /// those are paired again; the others kept their pairing. A host veth's event no longer
    /// walks the host's thousand veths.
    pub only: HashMap<usize, HashSet<u32>>,
}

/// Where links are, built only for the namespaces pairing looks into: per namespace, the
/// first position of each ifindex (as a walk would find it); and, once a new veth must ask
/// which namespace its nsid names, every veth of the node by ifindex with the index it
/// points at. A walk per veth made the host's re-read (a thousand veths) quadratic.
#[derive(Default)]
struct Index {
    at: HashMap<usize, HashMap<u32, usize>>,
    veths: Option<HashMap<u32, Vec<(usize, u32)>>>,
}

impl Index {
    /// The first position of the link with `ifindex` in namespace `ni`.
    fn find(&mut self, namespaces: &[Namespace], ni: usize, ifindex: u32) -> Option<usize> {
        let at = self.at.entry(ni).or_insert_with(|| {
            let mut m = HashMap::with_capacity(namespaces[ni].links.len());
            for (li, l) in namespaces[ni].links.iter().enumerate() {
                m.entry(l.index).or_insert(li);
            }
            m
        });
        at.get(&ifindex).copied()
    }

    /// Namespaces other than `ni` holding a veth at `peer_index` that points at `own_index`,
    /// in namespace order.
    fn candidates(
        &mut self,
        namespaces: &[Namespace],
        ni: usize,
        own_index: u32,
        peer_index: u32,
    ) -> Vec<usize> {
        let veths = self.veths.get_or_insert_with(|| {
            let mut m: HashMap<u32, Vec<(usize, u32)>> = HashMap::new();
            for (n, ns) in namespaces.iter().enumerate() {
                for l in ns.links.iter().filter(|l| l.kind == LinkKind::Veth) {
                    m.entry(l.index)
                        .or_default()
                        .push((n, l.link_index.unwrap_or(0)));
                }
            }
            m
        });
        let mut out: Vec<usize> = veths
            .get(&peer_index)
            .into_iter()
            .flatten()
            .filter(|(n, back)| *n != ni && *back == own_index)
            .map(|(n, _)| *n)
            .collect();
        // A walk took the first veth of that index in each namespace; only it may match.
        out.dedup();
        out.retain(|&n| {
            self.find(namespaces, n, peer_index)
                .is_some_and(|at| points_back(&namespaces[n], at, own_index))
        });
        out
    }
}

fn points_back(ns: &Namespace, at: usize, back: u32) -> bool {
    let l = &ns.links[at];
    l.kind == LinkKind::Veth && l.link_index == Some(back)
}

/// Fills `Link::peer` of every veth in the touched namespaces, and the other end's; returns
/// the other ends that changed (namespace, ifindex).
pub fn pair_touched(namespaces: &mut [Namespace], p: &mut Pairing<'_>) -> Vec<(usize, u32)> {
    let mut others = Vec::new();
    let mut order = p.touched.clone();
    order.sort_by_key(|&ni| {
        let ns = &namespaces[ni];
        ns.links.iter().filter(|l| l.kind == LinkKind::Veth).count()
    });
    let mut done: HashMap<(usize, u32), ()> = HashMap::new();
    let mut index = Index::default();
    for ni in order {
        let mut nsid_cache: HashMap<i32, Option<usize>> = HashMap::new();
        for li in 0..namespaces[ni].links.len() {
            let link = &namespaces[ni].links[li];
            let own_index = link.index;
            if link.kind != LinkKind::Veth || done.contains_key(&(ni, own_index)) {
                continue;
            }
            if p.only
                .get(&ni)
                .is_some_and(|only| !only.contains(&own_index))
            {
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
                        _ => *nsid_cache.entry(id).or_insert_with(|| {
                            let cands = index.candidates(namespaces, ni, own_index, peer_index);
                            ask(p, ni, id, cands)
                        }),
                    }
                }
            };
            done.insert((ni, own_index), ());
            let peer_at =
                peer_ns.and_then(|pn| Some((pn, index.find(namespaces, pn, peer_index)?)));
            let peer = peer_ref(namespaces, peer_ns, peer_at, peer_index);
            namespaces[ni].links[li].peer = Some(peer);
            // The other end: the veth at peer_index there pointing back to us.
            let Some((pn, pli)) = peer_at else { continue };
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
                others.push((pn, peer_index));
            }
            done.insert((pn, peer_index), ());
        }
    }
    others
}

/// The namespace `id` names in namespace `ni`: asked of `ni`'s kernel for each candidate
/// (a namespace holding a veth at the peer index that points back).
fn ask(p: &mut Pairing<'_>, ni: usize, id: i32, candidates: Vec<usize>) -> Option<usize> {
    let sock = p.sockets.get_mut(&ni)?;
    candidates
        .into_iter()
        .find(|&cand| (p.open)(cand).is_some_and(|f| nsid_of(sock, &f) == Some(id)))
}

/// `at`: the peer's namespace and the position of the link at `ifindex` there, if any.
fn peer_ref(
    namespaces: &[Namespace],
    ns: Option<usize>,
    at: Option<(usize, usize)>,
    ifindex: u32,
) -> PeerRef {
    match ns {
        Some(pn) => PeerRef {
            namespace: Some(namespaces[pn].name.clone()),
            ifindex,
            name: at.map(|(_, li)| namespaces[pn].links[li].name.clone()),
        },
        None => PeerRef {
            namespace: None,
            ifindex,
            name: None,
        },
    }
}
