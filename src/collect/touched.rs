//! What changed since the last read, as the live watcher learns it from the kernel's events:
//! per namespace (by nsfs inode), which kinds of objects. The partial refresh
//! (`super::partial`) re-reads exactly that, so an event costs what it names, not the node.

use std::collections::{BTreeMap, BTreeSet};

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
    /// Not an event's: the per-link sysctls of the links a read is scoped to, alone (every
    /// netconf event named one of them, `Live::refresh`); never in [`Kinds::ALL`].
    pub const SCOPE_SYSCTLS: Kinds = Kinds(64);
    /// The kinds an event names one link for: links, and the addresses, routes and
    /// neighbours on a link (see `Touched::links`).
    pub const PER_LINK: Kinds = Kinds(15);

    pub fn contains(self, other: Kinds) -> bool {
        self.0 & other.0 == other.0 && other.0 != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The kinds in both.
    pub fn and(self, other: Kinds) -> Kinds {
        Kinds(self.0 & other.0)
    }

    /// These kinds without `other`'s.
    pub fn without(self, other: Kinds) -> Kinds {
        Kinds(self.0 & !other.0)
    }

    /// The kinds by name, `+`-joined (for the timing log).
    pub fn names(self) -> String {
        const NAMES: [&str; 6] = [
            "links",
            "addresses",
            "routes",
            "neighbours",
            "rules",
            "sysctls",
        ];
        let names: Vec<&str> = (0..6)
            .filter(|b| self.0 & (1 << b) != 0)
            .map(|b| NAMES[b])
            .collect();
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join("+")
        }
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
    /// A full read the user asked for (`r`): taken whole, not compared with the model, so
    /// what the comparison leaves as it was (neighbour reachability states, a UI copy gone
    /// astray) is read afresh too.
    pub asked: bool,
    /// Namespaces by inode, with what changed in each.
    pub namespaces: BTreeMap<u64, Kinds>,
    /// Per namespace with one of the [`Kinds::PER_LINK`] kinds: the links (by ifindex) its
    /// events named, when every such event named one; those kinds are then read again for
    /// these links only. `None`: some event named no link (a multipath route, lost
    /// notifications), and they are read whole.
    pub links: BTreeMap<u64, Option<BTreeSet<u32>>>,
    /// Per namespace with [`Kinds::SYSCTLS`]: the devices (by ifindex) netconf events named,
    /// when that kind came from such events alone; `None`: from anything else (an event for
    /// `all` or `default`, lost notifications). A pod's veth coming makes the host's kernel
    /// announce the new device's netconf: its rp_filter is read, not the host's every link's
    /// (`partial.rs`, `read_scoped`).
    pub netconf: BTreeMap<u64, Option<BTreeSet<u32>>>,
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

    /// Everything, whole, because the user asked (see [`Touched::asked`]).
    pub fn asked() -> Self {
        Touched {
            asked: true,
            ..Touched::full()
        }
    }

    /// `kinds` changed in the namespace `inode`, on links not known.
    pub fn add(&mut self, inode: u64, kinds: Kinds) {
        self.add_on(inode, kinds, None);
    }

    /// `kinds` changed in the namespace `inode`, on the link `ifindex` when known.
    pub fn add_on(&mut self, inode: u64, kinds: Kinds, ifindex: Option<u32>) {
        if kinds.is_empty() {
            return;
        }
        if kinds.contains(Kinds::SYSCTLS) {
            self.netconf.insert(inode, None);
        }
        *self.namespaces.entry(inode).or_default() |= kinds;
        if kinds.and(Kinds::PER_LINK).is_empty() {
            return;
        }
        let scope = self
            .links
            .entry(inode)
            .or_insert_with(|| Some(BTreeSet::new()));
        match (scope.as_mut(), ifindex) {
            (Some(set), Some(i)) => {
                set.insert(i);
            }
            _ => *scope = None,
        }
    }

    /// A netconf event in the namespace `inode` about the device `ifindex` (`None`: about
    /// `all` or `default`, or not understood).
    pub fn add_netconf(&mut self, inode: u64, ifindex: Option<u32>) {
        let kinds = self.namespaces.entry(inode).or_default();
        let before = kinds.contains(Kinds::SYSCTLS);
        *kinds |= Kinds::SYSCTLS;
        // SYSCTLS already there without an entry cannot be (`add_on` makes one): as unknown.
        let devices = match before {
            true => self.netconf.entry(inode).or_insert(None),
            false => self.netconf.entry(inode).or_insert(Some(BTreeSet::new())),
        };
        match (devices.as_mut(), ifindex) {
            (Some(set), Some(i)) => {
                set.insert(i);
            }
            _ => *devices = None,
        }
    }

    /// The devices the netconf events of `inode` named, when its [`Kinds::SYSCTLS`] came from
    /// such events alone (`None`: read its sysctls whole).
    pub fn netconf_devices(&self, inode: u64) -> Option<&BTreeSet<u32>> {
        self.netconf.get(&inode).and_then(Option::as_ref)
    }

    /// The links the per-link kinds of `inode` are limited to (`None`: all of them).
    pub fn scope(&self, inode: u64) -> Option<&BTreeSet<u32>> {
        self.links.get(&inode).and_then(Option::as_ref)
    }

    /// Nothing to read.
    pub fn is_empty(&self) -> bool {
        !self.full && self.namespaces.is_empty() && self.discovery.is_none()
    }

    /// Folds a later change into this one; the later scan of namespaces wins.
    pub fn merge(&mut self, later: Touched) {
        self.full |= later.full;
        self.asked |= later.asked;
        for (inode, kinds) in later.namespaces {
            // The sysctls of device-named netconf events keep their devices.
            let mut kinds = kinds;
            if let Some(Some(devices)) = later.netconf.get(&inode) {
                if kinds.contains(Kinds::SYSCTLS) && !devices.is_empty() {
                    for &i in devices {
                        self.add_netconf(inode, Some(i));
                    }
                    kinds = kinds.without(Kinds::SYSCTLS);
                }
            }
            match later.links.get(&inode) {
                Some(Some(set)) if !set.is_empty() => {
                    for &i in set {
                        self.add_on(inode, kinds.and(Kinds::PER_LINK), Some(i));
                    }
                    self.add(inode, kinds.without(Kinds::PER_LINK));
                }
                _ => self.add(inode, kinds),
            }
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
        assert_eq!((Kinds::LINKS | Kinds::RULES).names(), "links+rules");
        assert_eq!(Kinds::NONE.names(), "none");
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
        assert!(a.full && !a.asked);
        // The user's `r` folded into a pending safety-net read still reads whole.
        a.merge(Touched::asked());
        assert!(a.full && a.asked);
        let mut c = Touched::asked();
        c.merge(Touched::full());
        assert!(c.asked);
    }

    /// Events naming links keep the read to those links until one names none; merging
    /// keeps the scope; kinds that are not per link leave it alone.
    #[test]
    fn the_scope_is_the_links_named_until_one_is_not() {
        let mut a = Touched::default();
        a.add_on(7, Kinds::LINKS, Some(3));
        a.add_on(7, Kinds::NEIGHBORS, Some(5));
        a.add_on(7, Kinds::RULES, None);
        assert_eq!(a.scope(7).map(|s| s.len()), Some(2));
        let mut b = Touched::default();
        b.add_on(7, Kinds::ADDRESSES, Some(9));
        b.add_on(8, Kinds::SYSCTLS, None);
        a.merge(b);
        let scope: Vec<u32> = a.scope(7).into_iter().flatten().copied().collect();
        assert_eq!(scope, [3, 5, 9]);
        assert!(a.namespaces[&7].contains(Kinds::RULES | Kinds::ADDRESSES));
        assert!(!a.links.contains_key(&8), "sysctls are not per link");
        let mut c = Touched::default();
        c.add_on(7, Kinds::ROUTES, None);
        a.merge(c);
        assert!(a.scope(7).is_none());
        assert!(a.links.contains_key(&7), "read whole");
    }

    /// Netconf events naming devices keep the sysctls to those devices, through merges,
    /// until one names none (`all`/`default`) or the kind comes from anything else.
    #[test]
    fn netconf_devices_are_kept_until_one_is_not_named() {
        let mut a = Touched::default();
        a.add_netconf(7, Some(12));
        a.add_on(7, Kinds::LINKS, Some(12));
        a.add_netconf(7, Some(13));
        assert!(a.namespaces[&7].contains(Kinds::SYSCTLS));
        let devices: Vec<u32> = a
            .netconf_devices(7)
            .into_iter()
            .flatten()
            .copied()
            .collect();
        assert_eq!(devices, [12, 13]);
        let mut b = Touched::default();
        b.add_netconf(7, Some(14));
        b.add_netconf(8, Some(3));
        a.merge(b);
        let devices: Vec<u32> = a
            .netconf_devices(7)
            .into_iter()
            .flatten()
            .copied()
            .collect();
        assert_eq!(devices, [12, 13, 14]);
        assert_eq!(a.scope(7).map(|s| s.len()), Some(1));
        assert!(a.netconf_devices(8).is_some());
        // `all` named: whole.
        let mut c = Touched::default();
        c.add_netconf(8, None);
        a.merge(c);
        assert!(a.netconf_devices(8).is_none());
        assert!(a.namespaces[&8].contains(Kinds::SYSCTLS));
        // The kind from anything else (lost notifications): whole, whatever comes after.
        a.add(7, Kinds::ALL);
        a.add_netconf(7, Some(15));
        assert!(a.netconf_devices(7).is_none());
        let mut d = Touched::default();
        d.add(9, Kinds::SYSCTLS);
        d.add_netconf(9, Some(2));
        assert!(d.netconf_devices(9).is_none());
    }
}
