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
fn shell(ns: &Namespace) -> Namespace {
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
    // order: the equal runs at both ends are found by comparing in place, without hashing
    // a key per object. An object of those runs is left out unless its key is also in the
    // middle (then the ` #2` numbering could depend on it, and the pass below decides).
    let head = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let tail = a[head..]
        .iter()
        .rev()
        .zip(b[head..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    if head + tail == a.len() && head + tail == b.len() {
        return (Vec::new(), Vec::new());
    }
    let (mid_a, mid_b) = (&a[head..a.len() - tail], &b[head..b.len() - tail]);
    let middle: std::collections::HashSet<K> = mid_a.iter().chain(mid_b).map(&key).collect();
    let ends = a[..head].iter().chain(&a[a.len() - tail..]);
    if ends.clone().any(|t| middle.contains(&key(t))) {
        return by_key(a, b, key);
    }
    by_key(mid_a, mid_b, key)
}

/// The pass of [`differing`] over whole lists: equal objects under a key each side holds
/// once are left out.
fn by_key<'a, T, K>(a: &'a [T], b: &'a [T], key: impl Fn(&'a T) -> K) -> (Vec<T>, Vec<T>)
where
    T: PartialEq + Clone,
    K: Hash + Eq,
{
    // Per key: how many on each side, and where the last one is.
    let mut seen: HashMap<K, (u32, usize, u32, usize)> = HashMap::with_capacity(a.len());
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

    fn same_diff(old: &Snapshot, new: &Snapshot) {
        let (o, n) = trim_pairs(old.namespaces.iter(), new.namespaces.iter());
        let trimmed_old = Snapshot {
            namespaces: o,
            ..old.clone()
        };
        let trimmed_new = Snapshot {
            namespaces: n,
            ..new.clone()
        };
        let whole = diff(old, new).changes;
        assert!(!whole.is_empty());
        assert_eq!(whole, diff(&trimmed_old, &trimmed_new).changes);
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
}
