//! What the live model sends its copies (the UI's, the doctor's) after a read: the
//! namespaces that changed, and of those only what the read can have changed. A partial
//! read never reads firewall rules, listening sockets or DNS files (they have no events):
//! a namespace re-read in part comes without them and the receiver keeps its own. On a
//! node the host's ~5,500 NAT rules and its sockets were cloned for every event on a host
//! veth, and compared whole by the UI's marks; they now stay where they are.

use std::collections::{BTreeSet, HashMap};

use super::partial::Live;
use super::partial_links::{self, LinkParts};
use crate::model::{Link, Namespace, RoutingRule, Snapshot, Sysctls};

/// A patch of the live model.
#[derive(Debug, Clone)]
pub struct Patch {
    /// The namespaces changed (new or re-read), and the snapshot's own fields. One not in
    /// `whole` has no firewall, sockets or DNS files here: the receiver's are still right.
    pub snapshot: Snapshot,
    /// Every namespace's inode, in the model's order: a namespace not here is gone.
    pub present: Vec<u64>,
    /// The namespaces of the patch read whole (new, or by a full read): all theirs is here.
    pub whole: BTreeSet<u64>,
    /// Namespaces changed only by a read of some of their links: what was read, to be
    /// applied to the receiver's copy as the model applied it ([`NsDelta::apply`]). A flap
    /// of one host veth copied the host's thousand links and thousands of routes into
    /// every patch, and the UI compared and dropped them again.
    pub deltas: Vec<NsDelta>,
}

/// What a link-scoped read changed in one namespace (`partial.rs`: `Found::Scoped`): the
/// links read (as paired after the read), their addresses, routes and neighbours, and the
/// rules and sysctls when they were read again.
#[derive(Debug, Clone, PartialEq)]
pub struct NsDelta {
    pub inode: u64,
    pub parts: LinkParts,
    pub rules: Option<Vec<RoutingRule>>,
    pub sysctls: Option<Sysctls>,
    pub problems: Vec<String>,
    /// Veths outside the links read whose peer the pairing set (the other end of a veth
    /// read elsewhere: the host's end of a new pod's, read before the pod was found), as
    /// the model holds them.
    pub paired: Vec<Link>,
}

impl NsDelta {
    /// Applies the read to `ns`: the one function the model and its copies patch with, so
    /// that a copy equal to the model before stays equal after.
    pub fn apply(&self, ns: &mut Namespace) {
        partial_links::patch(ns, &self.parts);
        if let Some(r) = &self.rules {
            ns.rules.clone_from(r);
        }
        if let Some(s) = &self.sysctls {
            ns.sysctls.clone_from(s);
        }
        for p in &self.problems {
            ns.add_problem(p.clone());
        }
        for l in &self.paired {
            if let Some(x) = ns.links.iter_mut().find(|x| x.index == l.index) {
                x.clone_from(l);
            }
        }
    }
}

impl Patch {
    /// Moves into `ns`, a namespace of a patch whose `whole` is given, what the patch left
    /// out of it, from the receiver's copy `old` of the same namespace.
    pub fn fill(whole: &BTreeSet<u64>, ns: &mut Namespace, old: &mut Namespace) {
        if whole.contains(&ns.inode) {
            return;
        }
        ns.firewall = old.firewall.take();
        ns.sockets = std::mem::take(&mut old.sockets);
        ns.dns = old.dns.take();
    }

    /// Applies the patch to a copy of the model (the doctor's): its namespaces in the
    /// model's order, those of the patch replacing theirs, the gone ones dropped.
    pub fn apply(self, cur: &mut Snapshot) {
        let Patch {
            snapshot,
            present,
            whole,
            deltas,
        } = self;
        let mut by_inode: HashMap<u64, Namespace> = std::mem::take(&mut cur.namespaces)
            .into_iter()
            .map(|n| (n.inode, n))
            .collect();
        for d in &deltas {
            if let Some(ns) = by_inode.get_mut(&d.inode) {
                d.apply(ns);
            }
        }
        for mut n in snapshot.namespaces {
            if let Some(mut old) = by_inode.remove(&n.inode) {
                Patch::fill(&whole, &mut n, &mut old);
            }
            by_inode.insert(n.inode, n);
        }
        cur.namespaces = present.iter().filter_map(|i| by_inode.remove(i)).collect();
        cur.taken_at = snapshot.taken_at;
        cur.hostname = snapshot.hostname;
        cur.warnings = snapshot.warnings;
        cur.cni = snapshot.cni;
    }
}

impl Live {
    /// The patch of the last [`Live::refresh`], which returned `changed`, for a copy that
    /// has had every patch before it (the UI's): as [`Live::patch_of`], but a namespace
    /// changed only by a link-scoped read comes as what was read ([`NsDelta`]).
    pub fn patch_for_copy(&self, changed: &BTreeSet<u64>) -> Patch {
        let deltas: Vec<NsDelta> = changed
            .iter()
            .filter_map(|i| self.deltas.get(i).cloned())
            .collect();
        let rest: BTreeSet<u64> = changed
            .iter()
            .filter(|i| !self.deltas.contains_key(i))
            .copied()
            .collect();
        let mut patch = self.patch_of(&rest, self.read_whole());
        patch.deltas = deltas;
        patch
    }

    /// The patch for a read that changed `changed`: those namespaces, whole if the last
    /// reads read them whole (`whole`), else without what no partial read reads.
    pub fn patch_of(&self, changed: &BTreeSet<u64>, whole: &BTreeSet<u64>) -> Patch {
        let snap = &self.snapshot;
        let namespaces = snap
            .namespaces
            .iter()
            .filter(|n| changed.contains(&n.inode))
            .map(|n| match whole.contains(&n.inode) {
                true => n.clone(),
                false => without_unread(n),
            })
            .collect();
        Patch {
            snapshot: Snapshot {
                namespaces,
                ..snap.clone_fields()
            },
            present: self.inodes(),
            whole: whole.intersection(changed).copied().collect(),
            deltas: Vec::new(),
        }
    }

    /// Every namespace's inode, in the model's order.
    pub fn inodes(&self) -> Vec<u64> {
        self.snapshot.namespaces.iter().map(|n| n.inode).collect()
    }
}

/// A copy of `ns` without its firewall, sockets and DNS files.
fn without_unread(ns: &Namespace) -> Namespace {
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
        sockets: _,
        firewall: _,
        dns: _,
    } = ns;
    Namespace {
        name: name.clone(),
        kind: *kind,
        inode: *inode,
        paths: paths.clone(),
        processes: processes.clone(),
        workload: workload.clone(),
        status: status.clone(),
        links: links.clone(),
        addresses: addresses.clone(),
        routes: routes.clone(),
        rules: rules.clone(),
        neighbors: neighbors.clone(),
        sysctls: sysctls.clone(),
        sockets: Vec::new(),
        firewall: None,
        dns: None,
    }
}

trait CloneFields {
    /// The snapshot's own fields, no namespaces.
    fn clone_fields(&self) -> Snapshot;
}

impl CloneFields for Snapshot {
    fn clone_fields(&self) -> Snapshot {
        Snapshot {
            schema_version: self.schema_version,
            taken_at: self.taken_at,
            hostname: self.hostname.clone(),
            namespaces: Vec::new(),
            warnings: self.warnings.clone(),
            cni: self.cni.clone(),
        }
    }
}
