//! Pairing veth ends across namespaces.
//!
//! A veth reports its peer's ifindex (IFLA_LINK) and, when the peer lives elsewhere, the
//! *nsid* under which its own namespace knows the peer's namespace (IFLA_LINK_NETNSID). Nsids
//! are local to each namespace, so the only reliable translation is to ask that namespace
//! (RTM_GETNSID with an fd of a candidate namespace) and compare. Candidates are tried in the
//! order most likely to match: namespaces holding a veth with the right index that points back.
//!
//! The kernel answers RTM_GETNSID by scanning every nsid the asking namespace has assigned, so
//! asking the host (one nsid per pod) about each of its veths is quadratic. Pairing is
//! symmetric, so namespaces with the fewest veths ask first and each answer fills both ends:
//! a pod asks once, and the host's ends are filled without asking.

use std::collections::HashMap;
use std::fs::File;

use crate::model::{LinkKind, Namespace, PeerRef};
use crate::netlink::{nsid_of, RtSocket};

/// What pairing needs of each collected namespace.
pub struct NsAccess<'a> {
    pub socket: Option<&'a mut RtSocket>,
    pub file: Option<&'a File>,
}

fn peer_ref(
    namespaces: &[Namespace],
    link_at: &HashMap<(usize, u32), usize>,
    ns: Option<usize>,
    ifindex: u32,
) -> PeerRef {
    match ns {
        Some(pn) => PeerRef {
            namespace: Some(namespaces[pn].name.clone()),
            ifindex,
            name: link_at
                .get(&(pn, ifindex))
                .map(|&li| namespaces[pn].links[li].name.clone()),
        },
        None => PeerRef {
            namespace: None,
            ifindex,
            name: None,
        },
    }
}

/// Fills `Link::peer` for every veth, and names the peer interface when its namespace was read.
pub fn pair_veths(namespaces: &mut [Namespace], access: &mut [NsAccess<'_>]) {
    // ifindex -> [(namespace idx, that veth's IFLA_LINK)] for every veth, to find candidates.
    let mut veths: HashMap<u32, Vec<(usize, u32)>> = HashMap::new();
    for (ni, ns) in namespaces.iter().enumerate() {
        for l in ns.links.iter().filter(|l| l.kind == LinkKind::Veth) {
            veths
                .entry(l.index)
                .or_default()
                .push((ni, l.link_index.unwrap_or(0)));
        }
    }
    // (namespace idx, ifindex) -> position of that veth in its namespace's links (the first,
    // as a walk would find it), and of any link for naming peers: a container can hold tens of
    // thousands of veths, and a walk per veth was quadratic in every snapshot of the node.
    let mut veth_at: HashMap<(usize, u32), usize> = HashMap::new();
    let mut link_at: HashMap<(usize, u32), usize> = HashMap::new();
    for (ni, ns) in namespaces.iter().enumerate() {
        for (li, l) in ns.links.iter().enumerate() {
            link_at.entry((ni, l.index)).or_insert(li);
            if l.kind == LinkKind::Veth {
                veth_at.entry((ni, l.index)).or_insert(li);
            }
        }
    }
    // (namespace idx, link idx) -> resolved peer namespace (None = not visible).
    let mut resolved: HashMap<(usize, usize), Option<usize>> = HashMap::new();

    let mut order: Vec<usize> = (0..namespaces.len()).collect();
    order.sort_by_key(|&ni| {
        namespaces[ni]
            .links
            .iter()
            .filter(|l| l.kind == LinkKind::Veth)
            .count()
    });
    for ni in order {
        let mut nsid_cache: HashMap<i32, Option<usize>> = HashMap::new();
        for li in 0..namespaces[ni].links.len() {
            let link = &namespaces[ni].links[li];
            if link.kind != LinkKind::Veth || resolved.contains_key(&(ni, li)) {
                continue;
            }
            let Some(peer_index) = link.link_index.filter(|i| *i != 0) else {
                continue;
            };
            let own_index = link.index;
            let peer_ns = match link.link_netnsid {
                None => Some(ni),
                Some(id) if id < 0 => Some(ni),
                Some(id) => *nsid_cache.entry(id).or_insert_with(|| {
                    let likely: Vec<usize> = veths
                        .get(&peer_index)
                        .map(|v| {
                            v.iter()
                                .filter(|(cand, back)| *cand != ni && *back == own_index)
                                .map(|(cand, _)| *cand)
                                .collect()
                        })
                        .unwrap_or_default();
                    // The peer may be in a namespace whose links we could not read: then try
                    // every other namespace we can open (lazily: this is rare, and building
                    // that list for every veth was quadratic).
                    let rest = (0..namespaces.len()).filter(|c| *c != ni && !likely.contains(c));
                    for cand in likely.iter().copied().chain(rest) {
                        let Some(file) = access[cand].file else {
                            continue;
                        };
                        let sock = access[ni].socket.as_deref_mut()?;
                        if nsid_of(sock, file) == Some(id) {
                            return Some(cand);
                        }
                    }
                    None
                }),
            };
            resolved.insert((ni, li), peer_ns);
            // Fill the other end too: it is the veth at peer_index there pointing back to us.
            if let Some(pn) = peer_ns {
                let back = veth_at
                    .get(&(pn, peer_index))
                    .filter(|&&pli| namespaces[pn].links[pli].link_index == Some(own_index));
                if let Some(&pli) = back {
                    if pn != ni || pli != li {
                        resolved.entry((pn, pli)).or_insert(Some(ni));
                    }
                }
            }
        }
    }
    let mut found: Vec<((usize, usize), Option<usize>)> = resolved.into_iter().collect();
    found.sort_unstable_by_key(|(k, _)| *k);
    for ((ni, li), pn) in found {
        let peer_index = namespaces[ni].links[li].link_index.unwrap_or(0);
        let peer = peer_ref(namespaces, &link_at, pn, peer_index);
        namespaces[ni].links[li].peer = Some(peer);
    }
}
