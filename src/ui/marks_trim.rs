//! What two versions of a namespace differ in, for the marks of a live patch: the objects
//! equal on both sides are left out before `model::diff` compares them. Comparing the host
//! (a thousand veths, their addresses, routes and neighbours) formats every object of both
//! sides — tens of milliseconds per patch on the UI thread — while a patch changes a few.
//!
//! Leaving an object out changes nothing the diff reports, as long as its identity (the
//! diff's key) is on each side once: an equal object makes no change, and the ` #2`
//! numbering of repeated keys is not shifted. Objects whose key repeats are always kept.

use std::collections::HashMap;
use std::hash::Hash;

use crate::model::fast_hash::{FxHashMap, FxHashSet};

use crate::model::Namespace;

/// The namespaces of `old` and `new`, in their order, each one whose name is once on both
/// sides trimmed against its other version (the diff pairs namespaces by name first).
pub fn trim_pairs<'a>(
    old: impl Iterator<Item = &'a Namespace> + Clone,
    new: impl Iterator<Item = &'a Namespace> + Clone,
) -> (Vec<Namespace>, Vec<Namespace>) {
    let mut count: HashMap<&str, (u32, u32)> = HashMap::new();
    for ns in old.clone() {
        count.entry(ns.name.as_str()).or_default().0 += 1;
    }
    for ns in new.clone() {
        count.entry(ns.name.as_str()).or_default().1 += 1;
    }
    let paired = |ns: &Namespace| count.get(ns.name.as_str()) == Some(&(1, 1));
    let olds: HashMap<&str, &Namespace> = old
        .clone()
        .filter(|ns| paired(ns))
        .map(|ns| (ns.name.as_str(), ns))
        .collect();
    let mut trimmed_old: HashMap<&str, Namespace> = HashMap::new();
    let mut out_new = Vec::new();
    for ns in new {
        match olds.get(ns.name.as_str()).filter(|_| paired(ns)) {
            Some(o) => {
                let (x, y) = trimmed(o, ns);
                trimmed_old.insert(ns.name.as_str(), x);
                out_new.push(y);
            }
            None => out_new.push(ns.clone()),
        }
    }
    let out_old = old
        .map(|ns| match trimmed_old.remove(ns.name.as_str()) {
            Some(t) => t,
            None => ns.clone(),
        })
        .collect();
    (out_old, out_new)
}

/// `a` and `b` with what they have in common left out (see the module's comment).
pub fn trimmed(a: &Namespace, b: &Namespace) -> (Namespace, Namespace) {
    let mut x = shell(a);
    let mut y = shell(b);
    (x.links, y.links) = differing(&a.links, &b.links, |l| l.name.as_str());
    (x.addresses, y.addresses) = differing(&a.addresses, &b.addresses, |a| {
        (a.address, a.prefix_len, a.ifname.as_str())
    });
    (x.routes, y.routes) = differing(&a.routes, &b.routes, crate::model::diff::route_identity);
    (x.neighbors, y.neighbors) =
        differing(&a.neighbors, &b.neighbors, |n| (n.address, n.dev.as_str()));
    // Rules are few, and their key is the whole rule: kept as they are.
    x.rules.clone_from(&a.rules);
    y.rules.clone_from(&b.rules);
    // The rest is compared whole: equal, it is left out of both (empty on both sides, or
    // absent, which the diff does not compare); else kept on both.
    if a.sysctls != b.sysctls {
        x.sysctls = a.sysctls.clone();
        y.sysctls = b.sysctls.clone();
    }
    if a.sockets != b.sockets {
        x.sockets.clone_from(&a.sockets);
        y.sockets.clone_from(&b.sockets);
    }
    if a.firewall != b.firewall {
        x.firewall.clone_from(&a.firewall);
        y.firewall.clone_from(&b.firewall);
    }
    if a.dns != b.dns {
        x.dns.clone_from(&a.dns);
        y.dns.clone_from(&b.dns);
    }
    (x, y)
}

/// The namespace's identity and status, none of its objects.
pub(super) fn shell(ns: &Namespace) -> Namespace {
    let mut s = Namespace::new(ns.name.clone(), ns.kind, ns.inode);
    s.status = ns.status.clone();
    s.paths.clone_from(&ns.paths);
    s.processes.clone_from(&ns.processes);
    s.workload.clone_from(&ns.workload);
    s
}

/// The objects of `a` and `b` but those equal on both sides under a key each side holds once.
fn differing<'a, T, K>(a: &'a [T], b: &'a [T], key: impl Fn(&'a T) -> K + Copy) -> (Vec<T>, Vec<T>)
where
    T: PartialEq + Clone,
    K: Hash + Eq,
{
    // A patch changes a few objects of a list that is otherwise the same, in the same
    // order: equal objects are paired by walking both lists in step (a few objects
    // removed, added or changed here and there, as when a flapping veth's routes leave
    // from the middle and the end of the host's), without hashing a key per object. A
    // paired object is left out unless its key is also among those that differ (then the
    // ` #2` numbering could depend on it, and the pass by key over everything decides).
    let Some((only_a, only_b)) = aligned(a, b) else {
        return by_key(a, b, key);
    };
    if only_a.is_empty() && only_b.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let mut differ: FxHashSet<K> = FxHashSet::default();
    differ.extend(only_a.iter().map(|&i| key(&a[i])));
    differ.extend(only_b.iter().map(|&i| key(&b[i])));
    let differ = &differ;
    let paired = |v: &'a [T], only: &[usize]| {
        let mut next = only.iter().peekable();
        v.iter().enumerate().any(|(i, t)| {
            if next.peek() == Some(&&i) {
                next.next();
                return false;
            }
            differ.contains(&key(t))
        })
    };
    if paired(a, &only_a) || paired(b, &only_b) {
        return by_key(a, b, key);
    }
    let pick = |v: &[T], only: &[usize]| only.iter().map(|&i| v[i].clone()).collect();
    (pick(a, &only_a), pick(b, &only_b))
}

/// How far [`aligned`] looks ahead for the object it stopped at, and how many unpaired
/// objects it accepts before handing over to [`by_key`] (a list in a new order).
const LOOK_AHEAD: usize = 8;
const MAX_UNPAIRED: usize = 64;

/// The indexes, in order, of the objects of `a` and of `b` left unpaired when equal objects
/// are paired walking both lists in step (an object stopped at is looked for a few places
/// ahead on the other side: what lies between was removed or added); `None` past
/// [`MAX_UNPAIRED`].
fn aligned<T: PartialEq>(a: &[T], b: &[T]) -> Option<(Vec<usize>, Vec<usize>)> {
    let (mut i, mut j) = (0, 0);
    let (mut only_a, mut only_b) = (Vec::new(), Vec::new());
    while i < a.len() && j < b.len() {
        if only_a.len() + only_b.len() > MAX_UNPAIRED {
            return None;
        }
        if a[i] == b[j] {
            i += 1;
            j += 1;
            continue;
        }
        let ahead = (1..=LOOK_AHEAD).find_map(|d| {
            if a.get(i + d) == Some(&b[j]) {
                Some((d, 0))
            } else if b.get(j + d) == Some(&a[i]) {
                Some((0, d))
            } else {
                None
            }
        });
        let (da, db) = ahead.unwrap_or((1, 1));
        only_a.extend(i..i + da);
        only_b.extend(j..j + db);
        i += da;
        j += db;
    }
    only_a.extend(i..a.len());
    only_b.extend(j..b.len());
    (only_a.len() + only_b.len() <= MAX_UNPAIRED).then_some((only_a, only_b))
}

/// The pass of [`differing`] over whole lists: equal objects under a key each side holds
/// once are left out.
fn by_key<'a, T, K>(a: &'a [T], b: &'a [T], key: impl Fn(&'a T) -> K) -> (Vec<T>, Vec<T>)
where
    T: PartialEq + Clone,
    K: Hash + Eq,
{
    // Per key: how many on each side, and where the last one is.
    let mut seen: FxHashMap<K, (u32, usize, u32, usize)> = FxHashMap::default();
    seen.reserve(a.len());
    for (i, t) in a.iter().enumerate() {
        let e = seen.entry(key(t)).or_insert((0, 0, 0, 0));
        e.0 += 1;
        e.1 = i;
    }
    for (i, t) in b.iter().enumerate() {
        let e = seen.entry(key(t)).or_insert((0, 0, 0, 0));
        e.2 += 1;
        e.3 = i;
    }
    let mut drop_a = vec![false; a.len()];
    let mut drop_b = vec![false; b.len()];
    for &(na, ia, nb, ib) in seen.values() {
        if na == 1 && nb == 1 && a[ia] == b[ib] {
            drop_a[ia] = true;
            drop_b[ib] = true;
        }
    }
    let keep = |v: &[T], drop: &[bool]| -> Vec<T> {
        v.iter()
            .zip(drop)
            .filter(|(_, d)| !**d)
            .map(|(t, _)| t.clone())
            .collect()
    };
    (keep(a, &drop_a), keep(b, &drop_b))
}

/// A snapshot of `namespaces`, taken when `like` was (all the diff looks at).
pub fn with(like: &crate::model::Snapshot, namespaces: Vec<Namespace>) -> crate::model::Snapshot {
    crate::model::Snapshot {
        schema_version: like.schema_version,
        taken_at: like.taken_at,
        hostname: like.hostname.clone(),
        namespaces,
        warnings: Vec::new(),
        cni: None,
    }
}

#[cfg(test)]
mod tests {
    use super::trim_pairs;
    use crate::model::diff::diff;
    use crate::model::Snapshot;
    use crate::ui::test_support::asset;

    /// The diff of `old` and `new` with their namespaces trimmed against each other.
    fn trimmed_diff(old: &Snapshot, new: &Snapshot) -> Vec<crate::model::diff::Change> {
        let (o, n) = trim_pairs(old.namespaces.iter(), new.namespaces.iter());
        let trimmed_old = Snapshot {
            namespaces: o,
            ..old.clone()
        };
        let trimmed_new = Snapshot {
            namespaces: n,
            ..new.clone()
        };
        diff(&trimmed_old, &trimmed_new).changes
    }

    fn same_diff(old: &Snapshot, new: &Snapshot) {
        let whole = diff(old, new).changes;
        assert!(!whole.is_empty());
        assert_eq!(whole, trimmed_diff(old, new));
    }

    /// Changed, added, removed and repeated objects, a namespace gone and one renamed: the
    /// trimmed namespaces give the diff the whole ones give.
    #[test]
    fn trimming_keeps_the_diff() {
        let base = asset("demo-cluster.json");
        let mut next = base.clone();
        let ns = next
            .namespaces
            .iter_mut()
            .find(|n| n.links.len() > 1 && !n.routes.is_empty() && !n.addresses.is_empty())
            .expect("a namespace with links, routes and addresses");
        ns.links[0].mtu += 1;
        let l = ns.links[1].clone();
        ns.links.push(l); // a repeated name: numbered `#2` by the diff
        ns.addresses.pop();
        let r = ns.routes[0].clone();
        ns.routes.push(r);
        ns.routes[0].metric = Some(4242);
        same_diff(&base, &next);
        let mut other = base.clone();
        other.namespaces.remove(1);
        other.namespaces[0].name.push_str("-renamed");
        other.namespaces[2].neighbors.clear();
        same_diff(&base, &other);
        same_diff(&next, &other);
    }

    /// Seeded edits of a namespace's lists — objects removed, added and changed at random
    /// places (several per list, as a flapping veth's routes leave the host's list from the
    /// middle and the end), repeated keys, blocks moved, lists reordered — and the trimmed
    /// namespaces give the diff the whole ones give.
    #[test]
    fn trimming_random_edits_keeps_the_diff() {
        let base = asset("demo-cluster.json");
        let at = base
            .namespaces
            .iter()
            .position(|n| n.links.len() > 1 && n.routes.len() > 1 && !n.addresses.is_empty())
            .expect("a namespace with links, routes and addresses");
        let mut rng = crate::test_rng::Rng(0x7e11_a5e5);
        let mut differed = 0;
        for round in 0..400 {
            let mut old = base.clone();
            // Grow the lists so edits can be far apart: copies with changed identities.
            let ns = &mut old.namespaces[at];
            for k in 0..20 {
                let mut r = ns.routes[k % ns.routes.len()].clone();
                r.metric = Some(1000 + k as u32);
                ns.routes.push(r);
                let mut l = ns.links[k % ns.links.len()].clone();
                l.name = format!("x{k}");
                l.index = 100 + k as u32;
                ns.links.push(l);
            }
            let mut new = old.clone();
            let ns = &mut new.namespaces[at];
            for _ in 0..1 + rng.below(4) {
                let n = ns.routes.len();
                match rng.below(7) {
                    0 => {
                        ns.routes.remove(rng.below(n));
                    }
                    1 => {
                        let r = ns.routes[rng.below(n)].clone();
                        ns.routes.insert(rng.below(n + 1), r); // a repeated key
                    }
                    2 => ns.routes[rng.below(n)].metric = Some(rng.below(3) as u32),
                    3 => {
                        let l = ns.links.len();
                        ns.links[rng.below(l)].mtu += 1;
                    }
                    4 => {
                        let l = ns.links.remove(rng.below(ns.links.len()));
                        let l2 = ns.links.len();
                        ns.links.insert(rng.below(l2 + 1), l); // moved
                    }
                    5 if round % 10 == 0 => ns.routes.reverse(),
                    _ => {
                        let mut r = ns.routes[rng.below(n)].clone();
                        r.metric = Some(5000 + rng.below(3) as u32);
                        ns.routes.insert(rng.below(n + 1), r);
                    }
                }
            }
            let whole = diff(&old, &new).changes;
            assert_eq!(whole, trimmed_diff(&old, &new), "round {round}");
            differed += usize::from(!whole.is_empty());
        }
        assert!(differed > 300, "only {differed} rounds changed anything");
    }
}
