//! Pairing veth ends across namespaces.
//!
//! A veth reports its peer's ifindex (IFLA_LINK) and, when the peer lives elsewhere, the
//! *nsid* under which its own namespace knows the peer's namespace (IFLA_LINK_NETNSID). Nsids
//! are local to each namespace, so the only reliable translation is to ask that namespace
//! (RTM_GETNSID with an fd of a candidate namespace) and compare. Candidates are tried in the
//! order most likely to match: namespaces holding a veth with the right index that points back.

use std::collections::HashMap;
use std::fs::File;
use std::os::fd::AsRawFd;

use netlink_packet_route::nsid::{NsidAttribute, NsidMessage};
use netlink_packet_route::RouteNetlinkMessage;

use super::netlink::RtSocket;
use crate::model::{Namespace, PeerRef};

/// What phase 2 needs of each collected namespace.
pub struct NsAccess<'a> {
    pub socket: Option<&'a mut RtSocket>,
    pub file: Option<&'a File>,
}

fn nsid_of(sock: &mut RtSocket, target: &File) -> Option<i32> {
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

/// Fills `Link::peer` for every veth, and names the peer interface when its namespace was read.
pub fn pair_veths(namespaces: &mut [Namespace], access: &mut [NsAccess<'_>]) {
    // (namespace idx, ifindex) -> (name, peer index) for every veth, to find candidates.
    let mut veths: HashMap<u32, Vec<(usize, u32)>> = HashMap::new();
    for (ni, ns) in namespaces.iter().enumerate() {
        for l in ns.links.iter().filter(|l| l.kind == "veth") {
            veths
                .entry(l.index)
                .or_default()
                .push((ni, l.link_index.unwrap_or(0)));
        }
    }

    let mut found: Vec<(usize, usize, PeerRef)> = Vec::new();
    for ni in 0..namespaces.len() {
        let mut nsid_cache: HashMap<i32, Option<usize>> = HashMap::new();
        for (li, link) in namespaces[ni].links.iter().enumerate() {
            if link.kind != "veth" {
                continue;
            }
            let Some(peer_index) = link.link_index.filter(|i| *i != 0) else {
                continue;
            };
            let peer_ns = match link.link_netnsid {
                None => Some(ni),
                Some(id) if id < 0 => Some(ni),
                Some(id) => *nsid_cache.entry(id).or_insert_with(|| {
                    let mut candidates: Vec<usize> = veths
                        .get(&peer_index)
                        .map(|v| {
                            v.iter()
                                .filter(|(cand, back)| *cand != ni && *back == link.index)
                                .map(|(cand, _)| *cand)
                                .collect()
                        })
                        .unwrap_or_default();
                    // The peer may be in a namespace we did not read (filtered out): fall back
                    // to every namespace we can open.
                    for c in 0..namespaces.len() {
                        if c != ni && !candidates.contains(&c) {
                            candidates.push(c);
                        }
                    }
                    for cand in candidates {
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
            let peer = match peer_ns {
                Some(pn) => PeerRef {
                    namespace: Some(namespaces[pn].name.clone()),
                    ifindex: peer_index,
                    name: namespaces[pn]
                        .link_by_index(peer_index)
                        .map(|l| l.name.clone()),
                },
                None => PeerRef {
                    namespace: None,
                    ifindex: peer_index,
                    name: None,
                },
            };
            found.push((ni, li, peer));
        }
    }
    for (ni, li, peer) in found {
        namespaces[ni].links[li].peer = Some(peer);
    }
}
