//! What changed between two snapshots: pure comparison, no I/O.
//!
//! Objects are matched by an identity key (a link by name, an address by interface and CIDR,
//! a route by table/family/destination/metric, …) and then compared field by field. Values
//! that change on their own while nothing is wrong — packet/byte counters, `taken_at`, the
//! conntrack entry count, the normal neighbour reachability cycle — are ignored, so the
//! result lists only events worth a look in an incident.

mod files;
#[cfg(test)]
mod fixtures;
mod items;
mod kinds;
pub use items::{
    nft_rule_key, route_identity, strip_xt_counters, xt_policy_key, xt_rule_body, xt_rule_key,
    RouteIdentity,
};
#[cfg(test)]
mod tests;

#[cfg(test)]
use files::changed_lines;
use files::diff_dns;
use items::*;
pub use kinds::{Change, ChangeKind, FieldChange, ObjectKind, SnapshotDiff};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use super::{Address, Link, ListeningSocket, Namespace, Neighbor, NsStatus, Route, RoutingRule};
use super::{Snapshot, Sysctls};
use crate::model::firewall::{Firewall, IpFamily, XtSource};

/// The keys `diff` matches rows by, so a view can mark the rows a change is about.
pub fn link_key(l: &Link) -> String {
    link_item(l).key
}
pub fn address_key(a: &Address) -> String {
    address_item(a).key
}
pub fn route_key(r: &Route) -> String {
    route_item(r).key
}
pub fn neighbor_key(n: &Neighbor) -> String {
    neighbor_item(n).key
}
pub fn socket_key(s: &ListeningSocket) -> String {
    socket_item(s).key
}

/// Compares two snapshots. Namespaces come in the order of `new`, then the removed ones in the
/// order of `old`; within a namespace, changes are sorted by object kind, then key.
pub fn diff(old: &Snapshot, new: &Snapshot) -> SnapshotDiff {
    let mut changes = Vec::new();
    let mut matched_old: BTreeSet<usize> = BTreeSet::new();
    let new_names: BTreeSet<&str> = new.namespaces.iter().map(|n| n.name.as_str()).collect();
    // Indexes instead of a scan of `old` per namespace of `new`: a saved snapshot may hold a
    // million namespaces (or a million of one name), and the scan made that hours.
    let mut first_by_name: HashMap<&str, usize> = HashMap::new();
    // Per inode, the old namespaces the inode fallback may take, in order; matched ones are
    // dropped from the front lazily, so each is looked at a bounded number of times.
    let mut by_inode: HashMap<u64, VecDeque<usize>> = HashMap::new();
    for (i, o) in old.namespaces.iter().enumerate() {
        first_by_name.entry(o.name.as_str()).or_insert(i);
        if !new_names.contains(o.name.as_str()) {
            by_inode.entry(o.inode).or_default().push_back(i);
        }
    }

    for new_ns in &new.namespaces {
        // By name first; a namespace whose display name changed (e.g. `pid:N` → a name once
        // it was bind-mounted) is still the same namespace if its inode is.
        let by_name = first_by_name
            .get(new_ns.name.as_str())
            .copied()
            .filter(|i| !matched_old.contains(i));
        let found = by_name.or_else(|| {
            let queue = by_inode.get_mut(&new_ns.inode)?;
            while queue.front().is_some_and(|i| matched_old.contains(i)) {
                queue.pop_front();
            }
            queue.front().copied()
        });
        let mut ns_changes = Vec::new();
        match found {
            Some(i) => {
                matched_old.insert(i);
                diff_namespace(&old.namespaces[i], new_ns, &mut ns_changes);
            }
            None => ns_changes.push(added(
                &new_ns.name,
                ObjectKind::Namespace,
                new_ns.name.clone(),
                describe_namespace(new_ns),
            )),
        }
        sort(&mut ns_changes);
        changes.extend(ns_changes);
    }
    for (i, old_ns) in old.namespaces.iter().enumerate() {
        if !matched_old.contains(&i) {
            changes.push(removed(
                &old_ns.name,
                ObjectKind::Namespace,
                old_ns.name.clone(),
                describe_namespace(old_ns),
            ));
        }
    }
    SnapshotDiff {
        old_taken_at: old.taken_at,
        new_taken_at: new.taken_at,
        changes,
    }
}

fn sort(changes: &mut [Change]) {
    changes.sort_by(|a, b| (a.object, &a.key).cmp(&(b.object, &b.key)));
}

fn added(ns: &str, object: ObjectKind, key: String, desc: String) -> Change {
    Change {
        namespace: ns.to_string(),
        kind: ChangeKind::Added,
        object,
        key,
        before: None,
        after: Some(desc),
        fields: Vec::new(),
        details: Vec::new(),
    }
}

fn removed(ns: &str, object: ObjectKind, key: String, desc: String) -> Change {
    Change {
        namespace: ns.to_string(),
        kind: ChangeKind::Removed,
        object,
        key,
        before: Some(desc),
        after: None,
        fields: Vec::new(),
        details: Vec::new(),
    }
}

fn changed(ns: &str, object: ObjectKind, key: String, details: Vec<FieldChange>) -> Change {
    let side = |pick: fn(&FieldChange) -> &String| match details.as_slice() {
        [one] => pick(one).clone(),
        many => many
            .iter()
            .map(|d| format!("{} {}", d.field, pick(d)))
            .collect::<Vec<_>>()
            .join("; "),
    };
    Change {
        namespace: ns.to_string(),
        kind: ChangeKind::Changed,
        object,
        before: Some(side(|d| &d.before)),
        after: Some(side(|d| &d.after)),
        key,
        fields: details.iter().map(|d| d.field.clone()).collect(),
        details,
    }
}

fn describe_namespace(ns: &Namespace) -> String {
    let kind = match ns.kind {
        super::NamespaceKind::Host => "host",
        super::NamespaceKind::Named => "named",
        super::NamespaceKind::Process => "process",
    };
    format!("{kind}, inode {}", ns.inode)
}

fn status_word(s: &NsStatus) -> &'static str {
    // Only the state: the list of failed sources of a partial read varies from run to run
    // and is not a change of the network.
    match s {
        NsStatus::Ok => "ok",
        NsStatus::Partial(_) => "partial",
        NsStatus::Gone => "gone",
        NsStatus::Inaccessible(_) => "inaccessible",
    }
}

fn diff_namespace(old: &Namespace, new: &Namespace, out: &mut Vec<Change>) {
    let name = new.name.as_str();
    let fields = |ns: &Namespace| {
        vec![
            ("name", ns.name.clone()),
            // Same name, other inode: the namespace was deleted and recreated (a restarted pod).
            ("inode", ns.inode.to_string()),
            ("status", status_word(&ns.status).to_string()),
        ]
    };
    if let Some(c) = compare_fields(
        name,
        ObjectKind::Namespace,
        name,
        &fields(old),
        &fields(new),
    ) {
        out.push(c);
    }
    // A namespace we could not read has empty lists; comparing them would report everything
    // as removed (or added) when nothing changed but our access.
    let readable =
        |ns: &Namespace| !matches!(ns.status, NsStatus::Gone | NsStatus::Inaccessible(_));
    if !readable(old) || !readable(new) {
        return;
    }

    diff_items(
        name,
        ObjectKind::Link,
        old.links.iter().map(link_item),
        new.links.iter().map(link_item),
        out,
    );
    diff_items(
        name,
        ObjectKind::Address,
        old.addresses.iter().map(address_item),
        new.addresses.iter().map(address_item),
        out,
    );
    diff_items(
        name,
        ObjectKind::Route,
        old.routes.iter().map(route_item),
        new.routes.iter().map(route_item),
        out,
    );
    diff_items(
        name,
        ObjectKind::Neighbor,
        old.neighbors.iter().map(neighbor_item),
        new.neighbors.iter().map(neighbor_item),
        out,
    );
    diff_items(
        name,
        ObjectKind::Rule,
        old.rules.iter().map(rule_item),
        new.rules.iter().map(rule_item),
        out,
    );
    diff_sysctls(name, old, new, out);
    // `None` means the firewall or DNS was not collected (`--no-firewall`, an older run), not
    // that it is empty: compare only when both sides have it.
    if let (Some(o), Some(n)) = (&old.firewall, &new.firewall) {
        diff_items(
            name,
            ObjectKind::FirewallRule,
            firewall_items(o),
            firewall_items(n),
            out,
        );
    }
    if let (Some(o), Some(n)) = (&old.dns, &new.dns) {
        diff_dns(name, o, n, out);
    }
    diff_items(
        name,
        ObjectKind::Socket,
        old.sockets.iter().map(socket_item),
        new.sockets.iter().map(socket_item),
        out,
    );
}

/// An object reduced to what the comparison needs.
pub(super) struct Item {
    /// Identity within its namespace and kind.
    key: String,
    /// Shown when the object is added or removed.
    desc: String,
    /// Compared when the object is on both sides; same names in the same order for every item
    /// of a kind.
    fields: Vec<(&'static str, String)>,
}

/// Matches items by key and records what differs. Two objects with the same key on one side
/// (an iptables rule written twice) are told apart by numbering them ` #2`, ` #3`, … in order.
fn diff_items(
    ns: &str,
    object: ObjectKind,
    old: impl IntoIterator<Item = Item>,
    new: impl IntoIterator<Item = Item>,
    out: &mut Vec<Change>,
) {
    let old = by_key(old);
    let new = by_key(new);
    for (key, n) in &new {
        match old.get(key) {
            None => out.push(added(ns, object, key.clone(), n.desc.clone())),
            Some(o) => {
                if let Some(c) = compare_fields(ns, object, key, &o.fields, &n.fields) {
                    out.push(c);
                }
            }
        }
    }
    for (key, o) in &old {
        if !new.contains_key(key) {
            out.push(removed(ns, object, key.clone(), o.desc.clone()));
        }
    }
}

fn by_key(items: impl IntoIterator<Item = Item>) -> BTreeMap<String, Item> {
    let mut map = BTreeMap::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for mut item in items {
        let n = seen.entry(item.key.clone()).or_insert(0);
        *n += 1;
        if *n > 1 {
            item.key = format!("{} #{n}", item.key);
        }
        map.insert(item.key.clone(), item);
    }
    map
}

fn compare_fields(
    ns: &str,
    object: ObjectKind,
    key: &str,
    old: &[(&'static str, String)],
    new: &[(&'static str, String)],
) -> Option<Change> {
    let details: Vec<FieldChange> = old
        .iter()
        .zip(new)
        .filter(|((_, a), (_, b))| a != b)
        .map(|((field, a), (_, b))| FieldChange {
            field: (*field).to_string(),
            before: a.clone(),
            after: b.clone(),
        })
        .collect();
    (!details.is_empty()).then(|| changed(ns, object, key.to_string(), details))
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map_or_else(|| "none".to_string(), T::to_string)
}

fn diff_sysctls(ns: &str, old: &Namespace, new: &Namespace, out: &mut Vec<Change>) {
    // conntrack_count is left out on purpose: it moves with every connection.
    let scalar = |s: &Sysctls| -> Vec<Item> {
        [
            ("ip_forward", opt(&s.ip_forward)),
            ("ipv6_forwarding", opt(&s.ipv6_forwarding)),
            ("rp_filter_all", opt(&s.rp_filter_all)),
            ("rp_filter_default", opt(&s.rp_filter_default)),
            ("bridge_nf_call_iptables", opt(&s.bridge_nf_call_iptables)),
            ("bridge_nf_call_ip6tables", opt(&s.bridge_nf_call_ip6tables)),
            ("conntrack_max", opt(&s.conntrack_max)),
        ]
        .into_iter()
        .map(|(k, v)| Item {
            key: k.to_string(),
            desc: v.clone(),
            fields: vec![("value", v)],
        })
        .collect()
    };
    // A link that came or went brings or takes its own rp_filter entry; the link change
    // already says so, so only links present on both sides are compared.
    let both: BTreeSet<&str> = old
        .links
        .iter()
        .filter(|l| new.link(&l.name).is_some())
        .map(|l| l.name.as_str())
        .collect();
    let per_iface = |s: &Sysctls| -> Vec<Item> {
        s.rp_filter
            .iter()
            .filter(|(iface, _)| both.contains(iface.as_str()))
            .map(|(iface, v)| Item {
                key: format!("rp_filter.{iface}"),
                desc: v.to_string(),
                fields: vec![("value", v.to_string())],
            })
            .collect()
    };
    let mut old_items = scalar(&old.sysctls);
    old_items.extend(per_iface(&old.sysctls));
    let mut new_items = scalar(&new.sysctls);
    new_items.extend(per_iface(&new.sysctls));
    diff_items(ns, ObjectKind::Sysctl, old_items, new_items, out);
}
