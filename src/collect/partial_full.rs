//! The live model's safety net: a full read (every 5 minutes, after a plan, or `r`; the
//! minutes between have the light refresh of `partial_light.rs`) compared namespace by
//! namespace with the model, so that only the namespaces that really differ are patched and
//! reported. At idle nothing differs, and the UI and the doctor are handed nothing: before,
//! they took the whole node once a minute (at 1000 pods, 339 ms of the UI thread and a full
//! doctor run, for no change).
//!
//! What a read sees differently with nothing having changed is left out of the comparison:
//! a neighbour entry moving among REACHABLE, STALE, DELAY and PROBE (the kernel's own
//! reachability timers; the watcher ignores those events for the same reason), and the
//! order of routes and neighbours, which a read limited to some links cannot reproduce
//! (`partial_links.rs`: they are compared as sets, as `tests/tui/live_model.rs` does;
//! without it the host was sent after every minute with a link event). Everything
//! else counts, conntrack counts and firewall counters included (the light refresh reads
//! conntrack counts every minute, firewall counters only when the rules change). A namespace that compares equal keeps the
//! model's copy (not the fresh read's), so the model and the UI's copy stay identical.

use std::collections::{BTreeSet, HashMap};

use super::partial::Live;
use crate::model::{Namespace, Neighbor, Route};

impl Live {
    /// Takes `fresh` (a full read) as the model, keeping the held copy of each namespace
    /// that compares equal ([`same`]). Returns the inodes of the namespaces that differ or
    /// are new (gone ones are those no longer in the snapshot; a renamed one differs, and
    /// so do those whose veths name it as peer).
    pub(super) fn adopt_full(&mut self, fresh: Live) -> BTreeSet<u64> {
        let mut held: HashMap<u64, Namespace> = std::mem::take(&mut self.snapshot.namespaces)
            .into_iter()
            .map(|ns| (ns.inode, ns))
            .collect();
        let mut changed = BTreeSet::new();
        let mut renamed = false;
        // The generations recorded stay true: a ruleset whose generation has not moved since
        // is the one just read (and an inode new to the model has none).
        let fw_gen = std::mem::take(&mut self.fw_gen);
        *self = fresh;
        self.fw_gen = fw_gen;
        let present: std::collections::HashSet<u64> =
            self.snapshot.namespaces.iter().map(|n| n.inode).collect();
        self.fw_gen.retain(|inode, _| present.contains(inode));
        for ns in &mut self.snapshot.namespaces {
            match held.remove(&ns.inode) {
                Some(old) if same(&old, ns) => *ns = old,
                Some(old) => {
                    if old.name != ns.name {
                        // Maybe another namespace on a reused inode: its generation is not
                        // this one's.
                        renamed = true;
                        self.fw_gen.remove(&ns.inode);
                    }
                    changed.insert(ns.inode);
                }
                None => {
                    self.fw_gen.remove(&ns.inode);
                    changed.insert(ns.inode);
                }
            }
        }
        // The ones kept were read whole before: their receivers hold the same.
        self.read_whole.clone_from(&changed);
        self.renamed = renamed;
        changed
    }
}

/// Whether two reads of a namespace hold the same, but for the reachability timers of its
/// neighbour entries. Written field by field so that a new field cannot be forgotten.
pub fn same(a: &Namespace, b: &Namespace) -> bool {
    if a == b {
        return true;
    }
    let Namespace {
        name,
        kind,
        inode,
        paths,
        processes,
        workload,
        status,
        links,
        addresses,
        routes,
        rules,
        neighbors,
        sysctls,
        sockets,
        firewall,
        dns,
    } = a;
    *name == b.name
        && *kind == b.kind
        && *inode == b.inode
        && *paths == b.paths
        && *processes == b.processes
        && *workload == b.workload
        && *status == b.status
        && *links == b.links
        && *addresses == b.addresses
        && same_routes(routes, &b.routes)
        && *rules == b.rules
        && same_neighbors(neighbors, &b.neighbors)
        && *sysctls == b.sysctls
        && *sockets == b.sockets
        && *firewall == b.firewall
        && *dns == b.dns
}

/// Routes equal as a multiset (the order of a partial read is not the kernel's).
fn same_routes(a: &[Route], b: &[Route]) -> bool {
    a.len() == b.len()
        && (a == b || sorted_keys(a, |r| format!("{r:?}")) == sorted_keys(b, |r| format!("{r:?}")))
}

/// Each element's key, sorted: two lists are the same multiset when these are equal.
fn sorted_keys<T>(list: &[T], key: impl Fn(&T) -> String) -> Vec<String> {
    let mut keys: Vec<String> = list.iter().map(key).collect();
    keys.sort_unstable();
    keys
}

/// Neighbour lists equal as multisets, an entry's state compared by class: the learned
/// states (REACHABLE, STALE, DELAY, PROBE) are one.
fn same_neighbors(a: &[Neighbor], b: &[Neighbor]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    if same_neighbors_in_order(a, b) {
        return true;
    }
    let key = |n: &Neighbor| {
        let state = match n.state.learned() {
            true => "learned".to_string(),
            false => n.state.to_string(),
        };
        let n = Neighbor {
            state: crate::model::NeighborState::None,
            ..n.clone()
        };
        format!("{n:?} {state}")
    };
    sorted_keys(a, key) == sorted_keys(b, key)
}

/// [`same_neighbors`] for two lists in the same order (the common case, no keys built).
fn same_neighbors_in_order(a: &[Neighbor], b: &[Neighbor]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            let Neighbor {
                ifindex,
                dev,
                address,
                lladdr,
                state,
                router,
            } = x;
            let state_same = *state == y.state || (state.learned() && y.state.learned());
            *ifindex == y.ifindex
                && *dev == y.dev
                && *address == y.address
                && *lladdr == y.lladdr
                && *router == y.router
                && state_same
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::NeighborState;

    fn base() -> Namespace {
        let snap = crate::saved::snapshot::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo-cluster.json"),
        )
        .expect("demo snapshot");
        snap.namespaces
            .into_iter()
            .find(|n| n.neighbors.len() > 1 && n.routes.len() > 1)
            .expect("a namespace with routes and neighbours")
    }

    /// Reachability moves are not a difference; any other change of an entry, or of any
    /// other part, is.
    #[test]
    fn only_reachability_timers_compare_equal() {
        let mut a = base();
        a.neighbors[0].state = NeighborState::Reachable;
        let mut b = a.clone();
        b.neighbors[0].state = NeighborState::Stale;
        assert!(same(&a, &b));
        let mut c = a.clone();
        c.neighbors[0].state = NeighborState::Failed;
        assert!(!same(&a, &c));
        let mut d = a.clone();
        d.neighbors[0].lladdr = Some("02:00:00:00:00:99".into());
        assert!(!same(&a, &d));
        let mut e = a.clone();
        e.sysctls.conntrack_count = Some(e.sysctls.conntrack_count.unwrap_or(0) + 1);
        assert!(!same(&a, &e));
        let mut f = a.clone();
        f.addresses.pop();
        assert!(!same(&a, &f));
        let mut g = a.clone();
        g.neighbors.pop();
        assert!(!same(&a, &g));
        // The order of routes and neighbours is not a difference; a route changed is.
        let mut h = a.clone();
        h.neighbors.reverse();
        h.routes.reverse();
        assert!(a.routes.len() > 1 && a.neighbors.len() > 1);
        assert!(same(&a, &h));
        let mut i = h.clone();
        i.routes[0].metric = Some(i.routes[0].metric.unwrap_or(0) + 7);
        assert!(!same(&a, &i));
    }
}
