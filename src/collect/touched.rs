//! What changed since the last read, as the live watcher learns it from the kernel's events:
//! per namespace (by nsfs inode), which kinds of objects. The partial refresh
//! (`super::partial`) re-reads exactly that, so an event costs what it names, not the node.

use std::collections::BTreeMap;

use crate::netns::discover::Discovery;

/// Kinds of objects of one namespace, as a small bit set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Kinds(u8);

impl Kinds {
    pub const NONE: Kinds = Kinds(0);
    /// A link came, went or changed. The kernel removes IPv4 routes of a link set down
    /// without a route event, and names of links appear in addresses, routes and neighbours:
    /// a link change re-reads all of them (see `with_dependents`).
    pub const LINKS: Kinds = Kinds(1);
    pub const ADDRESSES: Kinds = Kinds(2);
    pub const ROUTES: Kinds = Kinds(4);
    pub const NEIGHBORS: Kinds = Kinds(8);
    pub const RULES: Kinds = Kinds(16);
    /// Forwarding and rp_filter (netconf events), and the per-link sysctls.
    pub const SYSCTLS: Kinds = Kinds(32);
    pub const ALL: Kinds = Kinds(63);

    pub fn contains(self, other: Kinds) -> bool {
        self.0 & other.0 == other.0 && other.0 != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Everything that must be read again for these kinds to be right: a link change may
    /// drop routes silently (IPv4, link down) and renames appear in every `dev` field and in
    /// the per-link sysctls; a new address brings its local and prefix routes.
    pub fn with_dependents(self) -> Kinds {
        let mut k = self;
        if self.contains(Kinds::LINKS) {
            k |= Kinds::ADDRESSES | Kinds::ROUTES | Kinds::NEIGHBORS | Kinds::SYSCTLS;
        }
        if self.contains(Kinds::ADDRESSES) {
            k |= Kinds::ROUTES;
        }
        k
    }
}

impl std::ops::BitOr for Kinds {
    type Output = Kinds;
    fn bitor(self, rhs: Kinds) -> Kinds {
        Kinds(self.0 | rhs.0)
    }
}

impl std::ops::BitOrAssign for Kinds {
    fn bitor_assign(&mut self, rhs: Kinds) {
        self.0 |= rhs.0;
    }
}

/// Changes folded together until the next read.
#[derive(Debug, Default)]
pub struct Touched {
    /// Read everything again, firewall, sockets and DNS files included (the `r` key, a plan
    /// applied, the slow safety net, or a namespace's events were lost).
    pub full: bool,
    /// Namespaces by inode, with what changed in each.
    pub namespaces: BTreeMap<u64, Kinds>,
    /// The set of namespaces changed: the scan that found it (new ones are read whole, gone
    /// ones dropped, names and processes of the others updated).
    pub discovery: Option<Discovery>,
}

impl Touched {
    /// Everything.
    pub fn full() -> Self {
        Touched {
            full: true,
            ..Touched::default()
        }
    }

    /// `kinds` changed in the namespace `inode`.
    pub fn add(&mut self, inode: u64, kinds: Kinds) {
        if !kinds.is_empty() {
            *self.namespaces.entry(inode).or_default() |= kinds;
        }
    }

    /// Nothing to read.
    pub fn is_empty(&self) -> bool {
        !self.full && self.namespaces.is_empty() && self.discovery.is_none()
    }

    /// Folds a later change into this one; the later scan of namespaces wins.
    pub fn merge(&mut self, later: Touched) {
        self.full |= later.full;
        for (inode, kinds) in later.namespaces {
            self.add(inode, kinds);
        }
        if later.discovery.is_some() {
            self.discovery = later.discovery;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_bring_what_names_them_and_merge_folds() {
        let k = Kinds::LINKS.with_dependents();
        assert!(k.contains(Kinds::ROUTES) && k.contains(Kinds::SYSCTLS));
        assert!(!k.contains(Kinds::RULES));
        assert_eq!(Kinds::NEIGHBORS.with_dependents(), Kinds::NEIGHBORS);
        let mut a = Touched::default();
        assert!(a.is_empty());
        a.add(7, Kinds::NEIGHBORS);
        let mut b = Touched::default();
        b.add(7, Kinds::ROUTES);
        b.add(9, Kinds::NONE);
        a.merge(b);
        assert_eq!(a.namespaces.len(), 1);
        assert_eq!(a.namespaces[&7], Kinds::NEIGHBORS | Kinds::ROUTES);
        assert!(!a.full);
        a.merge(Touched::full());
        assert!(a.full);
    }
}
