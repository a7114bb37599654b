//! Cross-namespace structure derived from a snapshot: veth pairs and bridges.

use serde::{Deserialize, Serialize};

use std::collections::{BTreeSet, HashMap};

use super::{LinkIndex, LinkKind, Snapshot};

/// One end of a veth pair.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct VethEnd {
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub ifindex: u32,
    pub master: Option<String>,
}

/// A veth pair, each end once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VethPair {
    pub a: VethEnd,
    pub b: VethEnd,
}

/// Every veth pair of the snapshot. The end that is not a bridge port comes first, so a pod's
/// interface reads before the host side that is plugged into the bridge.
pub fn veth_pairs(snap: &Snapshot) -> Vec<VethPair> {
    // Looked up and deduplicated by index, not by walking: a container can hold tens of
    // thousands of veths in its own namespace, and a walk per veth was quadratic.
    let links = LinkIndex::new(&snap.namespaces);
    let mut ns_at: HashMap<&str, usize> = HashMap::new();
    for (i, ns) in snap.namespaces.iter().enumerate() {
        ns_at.entry(ns.name.as_str()).or_insert(i);
    }
    let mut seen: BTreeSet<(VethEnd, VethEnd)> = BTreeSet::new();
    let mut pairs: Vec<VethPair> = Vec::new();
    for ns in &snap.namespaces {
        for link in ns.links.iter().filter(|l| l.kind == LinkKind::Veth) {
            let Some(peer) = &link.peer else { continue };
            let here = VethEnd {
                namespace: Some(ns.name.clone()),
                name: Some(link.name.clone()),
                ifindex: link.index,
                master: link.master.clone(),
            };
            let peer_master = peer
                .namespace
                .as_deref()
                .and_then(|n| ns_at.get(n))
                .and_then(|&n| links.get(n, peer.ifindex))
                .and_then(|l| l.master.clone());
            let there = VethEnd {
                namespace: peer.namespace.clone(),
                name: peer.name.clone(),
                ifindex: peer.ifindex,
                master: peer_master,
            };
            let here_first = match (&here.master, &there.master) {
                (Some(_), None) => false,
                (None, Some(_)) => true,
                _ => here <= there,
            };
            let (a, b) = if here_first {
                (here, there)
            } else {
                (there, here)
            };
            if seen.insert((a.clone(), b.clone())) {
                pairs.push(VethPair { a, b });
            }
        }
    }
    pairs
}

/// `veth-red (red) ⇄ veth-red-br (host, master v-net-0)`
pub fn describe_pair(p: &VethPair) -> String {
    format!("{} ⇄ {}", describe_end(&p.a), describe_end(&p.b))
}

fn describe_end(e: &VethEnd) -> String {
    let name = e.name.clone().unwrap_or_else(|| format!("if{}", e.ifindex));
    let ns = e
        .namespace
        .clone()
        .unwrap_or_else(|| "unknown namespace".into());
    match &e.master {
        Some(m) => format!("{name} ({ns}, master {m})"),
        None => format!("{name} ({ns})"),
    }
}
