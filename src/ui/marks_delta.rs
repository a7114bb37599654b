//! A namespace patched by what a link-scoped read found (`collect::NsDelta`): applied to
//! the UI's copy in place, and the flash worked out from the objects of those links only.
//! The host holds every pod's veth; a flap of one used to cost a copy of the host in the
//! collector and a pass over all of its objects here.
//!
//! "The objects of those links" ([`Part`]): the links read, their masters and their ports
//! (a bridge's port list and a port's master name are derived from links), the addresses and
//! neighbours on them, the routes through them (by device name, old and new), and the rules
//! and sysctls when the read read them again. Nothing else of the namespace can change by
//! the delta, so leaving it out changes no difference the diff reports — unless an object
//! left out shares its diff key with one kept (the diff numbers repeated keys ` #2`): then
//! the namespace is compared whole, as before.

use std::collections::HashSet;
use std::net::IpAddr;

use crate::collect::NsDelta;
use crate::model::diff::route_identity;
use crate::model::fast_hash::FxHashSet;
use crate::model::{Address, Link, Namespace, Neighbor, Route};

use super::marks_trim::{shell, trimmed};

/// Which objects of a namespace a delta can change.
struct Part {
    scope: HashSet<u32>,
    /// Masters of the scope's links, before and after.
    masters: HashSet<u32>,
    /// The names routes through the scope's links name them by, before and after.
    devs: HashSet<String>,
    rules: bool,
    sysctls: bool,
}

impl Part {
    fn of(ns: &Namespace, d: &NsDelta) -> Part {
        let scope: HashSet<u32> = d.parts.scope.iter().copied().collect();
        let mut masters = HashSet::new();
        let mut devs = HashSet::new();
        for l in ns.links.iter().filter(|l| scope.contains(&l.index)) {
            masters.extend(l.master_index);
            devs.insert(l.name.clone());
        }
        for l in d
            .parts
            .links
            .iter()
            .flatten()
            .filter_map(|(_, l)| l.as_ref())
        {
            masters.extend(l.master_index);
            devs.insert(l.name.clone());
        }
        // Links paired anew outside the read: compared as links (nothing else of theirs
        // changed).
        masters.extend(d.paired.iter().map(|l| l.index));
        for (i, name) in &d.parts.old_names {
            devs.extend(name.clone());
            devs.insert(format!("if{i}"));
        }
        Part {
            scope,
            masters,
            devs,
            rules: d.rules.is_some(),
            sysctls: d.sysctls.is_some(),
        }
    }

    fn link(&self, l: &Link) -> bool {
        self.scope.contains(&l.index)
            || self.masters.contains(&l.index)
            || l.master_index.is_some_and(|m| self.scope.contains(&m))
    }

    fn address(&self, a: &Address) -> bool {
        self.scope.contains(&a.ifindex)
    }

    fn route(&self, r: &Route) -> bool {
        r.nexthops.is_empty() && r.dev.as_ref().is_some_and(|d| self.devs.contains(d))
    }

    fn neighbor(&self, n: &Neighbor) -> bool {
        self.scope.contains(&n.ifindex)
    }

    /// `ns`'s identity and the objects of the part.
    fn extract(&self, ns: &Namespace) -> Namespace {
        let mut s = shell(ns);
        s.links = ns.links.iter().filter(|l| self.link(l)).cloned().collect();
        s.addresses = (ns.addresses.iter().filter(|a| self.address(a)))
            .cloned()
            .collect();
        s.routes = ns
            .routes
            .iter()
            .filter(|r| self.route(r))
            .cloned()
            .collect();
        s.neighbors = (ns.neighbors.iter().filter(|n| self.neighbor(n)))
            .cloned()
            .collect();
        if self.rules {
            s.rules.clone_from(&ns.rules);
        }
        if self.sysctls {
            s.sysctls = ns.sysctls.clone();
        }
        s
    }

    /// Whether an object outside the part has the diff key of one inside it, before
    /// (`ns`) or after (the delta's objects): then the part alone could number them apart.
    /// One pass over the namespace, hashing borrowed keys (no copy of an object).
    fn clashes(&self, ns: &Namespace, d: &NsDelta) -> bool {
        let new_links = d
            .parts
            .links
            .iter()
            .flatten()
            .filter_map(|(_, l)| l.as_ref());
        let mut names: FxHashSet<&str> = new_links.map(|l| l.name.as_str()).collect();
        names.extend(
            ns.links
                .iter()
                .filter(|l| self.link(l))
                .map(|l| l.name.as_str()),
        );
        if ns
            .links
            .iter()
            .any(|l| !self.link(l) && names.contains(l.name.as_str()))
        {
            return true;
        }
        let mut addrs: FxHashSet<_> = d.parts.addresses.iter().flatten().map(addr).collect();
        addrs.extend(ns.addresses.iter().filter(|a| self.address(a)).map(addr));
        if (ns.addresses.iter()).any(|a| !self.address(a) && addrs.contains(&addr(a))) {
            return true;
        }
        let mut routes: FxHashSet<_> = d
            .parts
            .routes
            .iter()
            .flatten()
            .map(route_identity)
            .collect();
        routes.extend(
            ns.routes
                .iter()
                .filter(|r| self.route(r))
                .map(route_identity),
        );
        if (ns.routes.iter()).any(|r| !self.route(r) && routes.contains(&route_identity(r))) {
            return true;
        }
        let mut neighs: FxHashSet<_> = d.parts.neighbors.iter().flatten().map(neigh).collect();
        neighs.extend(ns.neighbors.iter().filter(|n| self.neighbor(n)).map(neigh));
        (ns.neighbors.iter()).any(|n| !self.neighbor(n) && neighs.contains(&neigh(n)))
    }
}

/// An address's identity in the diff.
fn addr(a: &Address) -> (IpAddr, u8, &str) {
    (a.address, a.prefix_len, a.ifname.as_str())
}

/// A neighbour's identity in the diff.
fn neigh(n: &Neighbor) -> (IpAddr, &str) {
    (n.address, n.dev.as_str())
}

/// Applies `d` to `ns` and returns the two sides the flash compares for it: the part's
/// objects before and after (the whole namespace, trimmed, when keys clash).
pub fn apply(ns: &mut Namespace, d: &NsDelta) -> (Namespace, Namespace) {
    let part = Part::of(ns, d);
    if part.clashes(ns, d) {
        let before = ns.clone();
        d.apply(ns);
        return trimmed(&before, ns);
    }
    let before = part.extract(ns);
    d.apply(ns);
    (before, part.extract(ns))
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, HashMap};

    use super::apply;
    use crate::collect::NsDelta;
    use crate::model::diff::{diff, Change};
    use crate::model::{Namespace, Snapshot};
    use crate::test_rng::Rng;
    use crate::ui::marks_trim::with;
    use crate::ui::test_support::asset;

    fn changes(like: &Snapshot, a: Namespace, b: Namespace) -> Vec<String> {
        let d = diff(&with(like, vec![a]), &with(like, vec![b])).changes;
        let mut out: Vec<String> = d.iter().map(|c: &Change| format!("{c:?}")).collect();
        out.sort();
        out
    }

    /// The links of `scope` as a read finds them: changed, renamed, moved to another
    /// master, gone, or new.
    fn random_links(
        rng: &mut Rng,
        ns: &Namespace,
        scope: &BTreeSet<u32>,
    ) -> Vec<(u32, Option<crate::model::Link>)> {
        let indexes: Vec<u32> = ns.links.iter().map(|l| l.index).collect();
        let mut links = Vec::new();
        for &i in scope {
            let now = match ns.links.iter().find(|l| l.index == i) {
                Some(_) if rng.below(6) == 0 => None,
                Some(l) => {
                    let mut l = l.clone();
                    match rng.below(4) {
                        0 => l.mtu += 1,
                        1 => l.name = format!("{}-r", l.name),
                        2 => l.master_index = Some(indexes[rng.below(indexes.len())]),
                        _ => {}
                    }
                    Some(l)
                }
                None => {
                    let mut l = ns.links[rng.below(ns.links.len())].clone();
                    l.index = i;
                    l.name = format!("new{i}");
                    l.master_index = Some(indexes[0]);
                    Some(l)
                }
            };
            links.push((i, now));
        }
        links
    }

    /// A random read of random links of a namespace whose links are ports of a bridge:
    /// links changed, renamed, moved to another master, gone and new; their addresses,
    /// routes and neighbours changed, dropped and added (some under keys other objects
    /// hold); rules and sysctls sometimes read again.
    fn random_delta(rng: &mut Rng, ns: &Namespace) -> NsDelta {
        let indexes: Vec<u32> = ns.links.iter().map(|l| l.index).collect();
        let mut scope: BTreeSet<u32> = BTreeSet::new();
        for _ in 0..1 + rng.below(2) {
            scope.insert(indexes[rng.below(indexes.len())]);
        }
        if rng.below(4) == 0 {
            scope.insert(900 + rng.below(3) as u32); // a link that comes
        }
        let old_names: HashMap<u32, Option<String>> = scope
            .iter()
            .map(|i| {
                (
                    *i,
                    ns.links
                        .iter()
                        .find(|l| l.index == *i)
                        .map(|l| l.name.clone()),
                )
            })
            .collect();
        let links = random_links(rng, ns, &scope);
        let name_of = |i: u32| {
            links
                .iter()
                .find(|(x, _)| *x == i)
                .and_then(|(_, l)| l.as_ref().map(|l| l.name.clone()))
        };
        let mut addresses: Vec<_> = ns
            .addresses
            .iter()
            .filter(|a| scope.contains(&a.ifindex) && rng.below(3) != 0)
            .cloned()
            .collect();
        for a in &mut addresses {
            if rng.below(3) == 0 {
                a.prefix_len = a.prefix_len.saturating_sub(1);
            }
            a.ifname = name_of(a.ifindex).unwrap_or_default();
        }
        let devs: BTreeSet<String> = old_names.values().flatten().cloned().collect();
        let mut routes: Vec<_> = ns
            .routes
            .iter()
            .filter(|r| r.nexthops.is_empty() && r.dev.as_ref().is_some_and(|d| devs.contains(d)))
            .filter(|_| rng.below(4) != 0)
            .cloned()
            .collect();
        if rng.below(3) == 0 {
            // A route under a key another link's route may hold.
            if let (Some(r), Some(&i)) = (ns.routes.first(), scope.iter().next()) {
                let mut r = r.clone();
                r.dev = name_of(i).or(r.dev);
                routes.push(r);
            }
        }
        for r in &mut routes {
            if rng.below(3) == 0 {
                r.metric = Some(7 + rng.below(2) as u32);
            }
        }
        let mut neighbors: Vec<_> = ns
            .neighbors
            .iter()
            .filter(|n| scope.contains(&n.ifindex) && rng.below(3) != 0)
            .cloned()
            .collect();
        if let (Some(n), Some(&i)) = (ns.neighbors.first(), scope.iter().next()) {
            let mut n = n.clone();
            n.ifindex = i;
            n.dev = name_of(i).unwrap_or_default();
            neighbors.push(n);
        }
        let mut rules = None;
        if rng.below(3) == 0 {
            let mut r = ns.rules.clone();
            r.pop();
            rules = Some(r);
        }
        let mut parts = crate::collect::LinkParts {
            scope,
            ..Default::default()
        };
        parts.links = Some(links);
        parts.addresses = Some(addresses);
        parts.routes = Some(routes);
        parts.neighbors = Some(neighbors);
        parts.old_names = old_names;
        NsDelta {
            inode: ns.inode,
            parts,
            rules,
            sysctls: (rng.below(4) == 0).then(|| ns.sysctls.clone()),
            paired: Vec::new(),
            problems: if rng.below(5) == 0 {
                vec!["x".into()]
            } else {
                vec![]
            },
        }
    }

    /// Seeded deltas on the demo's namespaces: the UI's in-place patch gives the namespace
    /// the model's patch gives, and the flash of its part the flash of the whole.
    #[test]
    fn the_part_flashes_what_the_whole_namespace_flashes() {
        let base = asset("demo-cluster.json");
        let mut rng = Rng(0xde17_a0a0);
        let mut compared = 0;
        for round in 0..400 {
            let mut ns = base.namespaces[rng.below(base.namespaces.len())].clone();
            if ns.links.len() < 2 {
                continue;
            }
            // Ports of a bridge (the first link), so masters and ports are in play.
            let first = ns.links[0].index;
            for l in ns.links.iter_mut().skip(1) {
                if rng.below(2) == 0 {
                    l.master_index = Some(first);
                }
            }
            crate::collect::splice_links(&mut ns.links, &[]);
            let d = random_delta(&mut rng, &ns);
            let mut whole = ns.clone();
            d.apply(&mut whole);
            let mut in_place = ns.clone();
            let (before, after) = apply(&mut in_place, &d);
            assert_eq!(in_place, whole, "round {round}");
            assert_eq!(
                changes(&base, before, after),
                changes(&base, ns.clone(), whole.clone()),
                "round {round}"
            );
            compared += usize::from(ns != whole);
        }
        assert!(compared > 200, "only {compared} deltas changed anything");
    }
}
