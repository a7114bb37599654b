//! From a snapshot to the graph: the veth edges between namespaces, which namespaces are hubs
//! (every connected group gets at least one), the order the hubs' boxes are drawn in, and the
//! index that finds a veth's far end without a walk per veth.

use std::collections::{BTreeSet, HashMap};

use super::hub::hub;
use super::Graph;
use crate::model::{Link, LinkIndex, LinkKind, Namespace, NamespaceKind, Snapshot};

/// veths of `ns` whose other end is in a different namespace (or lost).
fn outer_veths(ns: &Namespace) -> impl Iterator<Item = &Link> {
    ns.links.iter().filter(move |l| {
        l.kind == LinkKind::Veth
            && l.peer
                .as_ref()
                .is_none_or(|p| p.namespace.as_deref() != Some(ns.name.as_str()))
    })
}

/// Namespaces by name; a linear `Snapshot::namespace` per veth would be quadratic at 1000.
pub(super) struct Index<'a> {
    snap: &'a Snapshot,
    by_name: HashMap<&'a str, usize>,
    is_hub: Vec<bool>,
    /// Links by (namespace, ifindex): a walk of the peer's namespace per veth was quadratic
    /// in a container that holds thousands of veths.
    links: LinkIndex<'a>,
}

impl<'a> Index<'a> {
    pub(super) fn is_hub(&self, name: &str) -> bool {
        self.by_name.get(name).is_some_and(|&i| self.is_hub[i])
    }

    /// The namespace and link at the other end of veth `link`.
    pub(super) fn peer_of(&self, link: &Link) -> (Option<&'a Namespace>, Option<&'a Link>) {
        let Some(p) = &link.peer else {
            return (None, None);
        };
        let at = p
            .namespace
            .as_deref()
            .and_then(|n| self.by_name.get(n).copied());
        let ns = at.map(|i| &self.snap.namespaces[i]);
        let peer = at.and_then(|i| self.links.get(i, p.ifindex));
        (ns, peer)
    }
}

pub fn build(snap: &Snapshot) -> Graph<'_> {
    let nss = &snap.namespaces;
    let index: HashMap<&str, usize> = nss
        .iter()
        .enumerate()
        .map(|(i, n)| (n.name.as_str(), i))
        .collect();
    // Neighbours over veth edges, to find components and order hubs.
    let mut adj: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); nss.len()];
    for (i, ns) in nss.iter().enumerate() {
        for l in outer_veths(ns) {
            let far = l.peer.as_ref().and_then(|p| p.namespace.as_deref());
            if let Some(&j) = far.and_then(|n| index.get(n)) {
                adj[i].insert(j);
                adj[j].insert(i);
            }
        }
    }
    let mut is_hub: Vec<bool> = nss
        .iter()
        .enumerate()
        .map(|(i, ns)| {
            ns.kind == NamespaceKind::Host
                || ns.links.iter().any(|l| l.kind == LinkKind::Bridge)
                || adj[i].len() >= 2
                || outer_veths(ns).count() >= 2
        })
        .collect();
    // A component with no hub (two namespaces joined by one veth) gets one, so it is drawn.
    let mut seen = vec![false; nss.len()];
    for start in 0..nss.len() {
        if seen[start] || adj[start].is_empty() {
            continue;
        }
        let comp = component(&adj, start);
        for &i in &comp {
            seen[i] = true;
        }
        if !comp.iter().any(|&i| is_hub[i]) {
            is_hub[comp[0]] = true;
        }
    }
    // Hubs in breadth-first order from the host (or the best-connected hub), so a parent's box
    // comes before the boxes of the hubs hanging off it.
    let mut order = Vec::new();
    let mut placed = vec![false; nss.len()];
    let mut roots: Vec<usize> = (0..nss.len()).filter(|&i| is_hub[i]).collect();
    roots.sort_by_key(|&i| {
        (
            nss[i].kind != NamespaceKind::Host,
            std::cmp::Reverse(adj[i].iter().filter(|&&j| is_hub[j]).count()),
            std::cmp::Reverse(adj[i].len()),
            i,
        )
    });
    for root in roots {
        if placed[root] {
            continue;
        }
        let mut queue = std::collections::VecDeque::from([root]);
        placed[root] = true;
        while let Some(i) = queue.pop_front() {
            order.push(i);
            for &j in &adj[i] {
                if is_hub[j] && !placed[j] {
                    placed[j] = true;
                    queue.push_back(j);
                }
            }
        }
    }
    let isolated = nss
        .iter()
        .enumerate()
        .filter(|(i, _)| !is_hub[*i] && adj[*i].is_empty())
        .map(|(_, n)| n)
        .collect();
    let ix = Index {
        snap,
        by_name: index,
        is_hub,
        links: LinkIndex::new(nss),
    };
    let hubs = order.into_iter().map(|i| hub(&ix, &nss[i])).collect();
    Graph { hubs, isolated }
}

fn component(adj: &[BTreeSet<usize>], start: usize) -> Vec<usize> {
    let mut out = vec![start];
    let mut seen = BTreeSet::from([start]);
    let mut k = 0;
    while k < out.len() {
        for &j in &adj[out[k]] {
            if seen.insert(j) {
                out.push(j);
            }
        }
        k += 1;
    }
    out.sort();
    out
}
