//! What changed between two snapshots: pure comparison, no I/O.
//!
//! Objects are matched by an identity key (a link by name, an address by interface and CIDR,
//! a route by table/family/destination/metric, …) and then compared field by field. Values
//! that change on their own while nothing is wrong — packet/byte counters, `taken_at`, the
//! conntrack entry count, the normal neighbour reachability cycle — are ignored, so the
//! result lists only events worth a look in an incident.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{Address, Link, ListeningSocket, Namespace, Neighbor, NsStatus, Route, RoutingRule};
use super::{Snapshot, Sysctls};
use crate::dnsconf::{DnsFiles, FileRead};
use crate::firewall::{Firewall, IpFamily, XtSource};

/// Whether an object appeared, disappeared or was modified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
}

/// What kind of object changed. The order here is the order of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    Namespace,
    Link,
    Address,
    Route,
    Neighbor,
    Rule,
    Sysctl,
    FirewallRule,
    DnsFile,
    Socket,
}

impl ObjectKind {
    /// The word used in text output and in the JSON (`firewall_rule`, `dns_file`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Namespace => "namespace",
            ObjectKind::Link => "link",
            ObjectKind::Address => "address",
            ObjectKind::Route => "route",
            ObjectKind::Neighbor => "neighbor",
            ObjectKind::Rule => "rule",
            ObjectKind::Sysctl => "sysctl",
            ObjectKind::FirewallRule => "firewall_rule",
            ObjectKind::DnsFile => "dns_file",
            ObjectKind::Socket => "socket",
        }
    }
}

/// One field of a changed object, before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub before: String,
    pub after: String,
}

/// One difference between the two snapshots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// Namespace name (the new name when a namespace was renamed).
    pub namespace: String,
    pub kind: ChangeKind,
    pub object: ObjectKind,
    /// The object's identity: `eth0`, `10.0.0.2/24 dev eth0`, `main default`, `ip_forward`,
    /// `nat POSTROUTING -s 10.0.0.0/24 -j MASQUERADE`, `resolv.conf`, …
    pub key: String,
    /// Added: `None`. Removed: a description of the object beyond its key (empty when the key
    /// says it all, as for an address or an iptables rule). Changed: the old value of the one
    /// changed field, or `field value; field value` when several changed. For DNS files, the
    /// lines that were removed.
    pub before: Option<String>,
    /// Removed: `None`. Added: a description. Changed: as `before`, with the new values (for
    /// DNS files, the lines that were added).
    pub after: Option<String>,
    /// Names of the changed fields (`oper_state`, `mtu`, …); empty unless `kind` is `changed`.
    pub fields: Vec<String>,
    /// The same fields with their values, for renderers that show each one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<FieldChange>,
}

/// Everything that differs between two snapshots, in report order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotDiff {
    pub old_taken_at: u64,
    pub new_taken_at: u64,
    pub changes: Vec<Change>,
}

impl SnapshotDiff {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

/// Most lines of a changed file shown on each side; a rewritten `hosts` file should not flood
/// the report.
const MAX_EXCERPT_LINES: usize = 20;

/// Compares two snapshots. Namespaces come in the order of `new`, then the removed ones in the
/// order of `old`; within a namespace, changes are sorted by object kind, then key.
pub fn diff(old: &Snapshot, new: &Snapshot) -> SnapshotDiff {
    let mut changes = Vec::new();
    let mut matched_old: BTreeSet<usize> = BTreeSet::new();
    let new_names: BTreeSet<&str> = new.namespaces.iter().map(|n| n.name.as_str()).collect();

    for new_ns in &new.namespaces {
        // By name first; a namespace whose display name changed (e.g. `pid:N` → a name once
        // it was bind-mounted) is still the same namespace if its inode is.
        let by_name = old
            .namespaces
            .iter()
            .position(|o| o.name == new_ns.name)
            .filter(|i| !matched_old.contains(i));
        let found = by_name.or_else(|| {
            old.namespaces.iter().enumerate().position(|(i, o)| {
                o.inode == new_ns.inode
                    && !matched_old.contains(&i)
                    && !new_names.contains(o.name.as_str())
            })
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
struct Item {
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

fn link_item(l: &Link) -> Item {
    let peer = l.peer.as_ref().map(|p| {
        let name = p.name.clone().unwrap_or_else(|| format!("if{}", p.ifindex));
        match &p.namespace {
            Some(ns) => format!("{name} ({ns})"),
            None => name,
        }
    });
    Item {
        key: l.name.clone(),
        desc: format!("{}, {}", l.kind, l.oper_state),
        fields: vec![
            ("kind", l.kind.clone()),
            // A new index under the same name means the link was deleted and recreated (a
            // restarted pod's veth): a real event even when nothing else differs.
            ("index", l.index.to_string()),
            ("flags", l.flags.join(",")),
            ("oper_state", l.oper_state.clone()),
            ("mtu", l.mtu.to_string()),
            ("mac", opt(&l.mac)),
            ("master", opt(&l.master)),
            ("peer", opt(&peer)),
            ("ports", l.ports.join(",")),
        ],
    }
}

fn address_item(a: &Address) -> Item {
    Item {
        key: format!("{} dev {}", a.cidr(), a.ifname),
        desc: String::new(),
        fields: vec![("scope", a.scope.clone()), ("peer", opt(&a.peer))],
    }
}

fn table_name(id: u32) -> String {
    match id {
        253 => "default".into(),
        254 => "main".into(),
        255 => "local".into(),
        other => other.to_string(),
    }
}

fn route_item(r: &Route) -> Item {
    // The family is spelled out only for IPv6: `default` is ambiguous without it, and IPv4
    // is what people read first.
    let mut key = r.table_name.clone();
    if r.family == "inet6" {
        key.push_str(" inet6");
    }
    key.push(' ');
    key.push_str(&r.dst);
    if let Some(m) = r.metric {
        key.push_str(&format!(" metric {m}"));
    }
    let mut desc = Vec::new();
    if r.kind != "unicast" {
        desc.push(r.kind.clone());
    }
    if let Some(g) = r.gateway {
        desc.push(format!("via {g}"));
    }
    if let Some(d) = &r.dev {
        desc.push(format!("dev {d}"));
    }
    for hop in &r.nexthops {
        desc.push(format!("nexthop {hop}"));
    }
    desc.push(format!("proto {}", r.protocol));
    Item {
        key,
        desc: desc.join(" "),
        fields: vec![
            ("gateway", opt(&r.gateway)),
            ("dev", opt(&r.dev)),
            ("prefsrc", opt(&r.prefsrc)),
            ("protocol", r.protocol.clone()),
            ("scope", r.scope.clone()),
            ("kind", r.kind.clone()),
            ("nexthops", r.nexthops.join(", ")),
        ],
    }
}

/// The states a healthy neighbour cycles through on its own (RFC 4861 NUD). Moving between
/// them is noise; moving to or from FAILED, INCOMPLETE, PERMANENT, … is not.
const NUD_CYCLE: [&str; 4] = ["REACHABLE", "STALE", "DELAY", "PROBE"];

fn neighbor_item(n: &Neighbor) -> Item {
    let state = if NUD_CYCLE.contains(&n.state.as_str()) {
        "REACHABLE|STALE|DELAY|PROBE".to_string()
    } else {
        n.state.clone()
    };
    let mut desc = Vec::new();
    if let Some(ll) = &n.lladdr {
        desc.push(format!("lladdr {ll}"));
    }
    desc.push(n.state.clone());
    Item {
        key: format!("{} dev {}", n.address, n.dev),
        desc: desc.join(" "),
        fields: vec![
            ("state", state),
            ("lladdr", opt(&n.lladdr)),
            ("router", n.router.to_string()),
        ],
    }
}

/// `ip rule` syntax: `1000: from 10.0.0.0/8 lookup 100`.
fn rule_item(r: &RoutingRule) -> Item {
    let mut s = format!("{}: ", r.priority);
    if r.family == "inet6" {
        s = format!("inet6 {s}");
    }
    if r.invert {
        s.push_str("not ");
    }
    s.push_str(&format!("from {}", r.src.as_deref().unwrap_or("all")));
    if let Some(d) = &r.dst {
        s.push_str(&format!(" to {d}"));
    }
    if let Some(m) = r.fwmark {
        s.push_str(&format!(" fwmark {m:#x}"));
    }
    if let Some(i) = &r.iif {
        s.push_str(&format!(" iif {i}"));
    }
    if let Some(o) = &r.oif {
        s.push_str(&format!(" oif {o}"));
    }
    match r.action.as_str() {
        "lookup" => s.push_str(&format!(" lookup {}", table_name(r.table))),
        other => s.push_str(&format!(" {other}")),
    }
    if let Some(p) = r.suppress_prefixlen {
        s.push_str(&format!(" suppress_prefixlength {p}"));
    }
    // The whole rule is its identity: any difference is a removed rule plus an added one.
    Item {
        key: s,
        desc: String::new(),
        fields: Vec::new(),
    }
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

/// An iptables-save rule line without its counters: a leading `[packets:bytes]` and any
/// `-c packets bytes` option, which change with every packet.
pub fn strip_xt_counters(raw: &str) -> String {
    let mut s = raw.trim();
    if s.starts_with('[') {
        if let Some(end) = s.find(']') {
            s = s[end + 1..].trim_start();
        }
    }
    let words: Vec<&str> = s.split_whitespace().collect();
    let mut kept = Vec::with_capacity(words.len());
    let mut i = 0;
    while i < words.len() {
        let is_counter = |w: Option<&&str>| w.is_some_and(|w| w.parse::<u64>().is_ok());
        if words[i] == "-c" && is_counter(words.get(i + 1)) && is_counter(words.get(i + 2)) {
            i += 3;
            continue;
        }
        kept.push(words[i]);
        i += 1;
    }
    kept.join(" ")
}

/// An nft rule summary without the numbers of its `counter` statements.
pub fn strip_nft_counters(summary: &str) -> String {
    let words: Vec<&str> = summary.split_whitespace().collect();
    let mut kept = Vec::with_capacity(words.len());
    let mut i = 0;
    while i < words.len() {
        kept.push(words[i]);
        if words[i] == "counter" && words.get(i + 1) == Some(&"packets") {
            // `counter packets N bytes M`: keep the statement, drop the numbers.
            i += if words.get(i + 3) == Some(&"bytes") {
                5
            } else {
                3
            };
            continue;
        }
        i += 1;
    }
    kept.join(" ")
}

fn firewall_items(fw: &Firewall) -> Vec<Item> {
    let mut items = Vec::new();
    for t in &fw.iptables {
        let mut prefix = String::new();
        if t.family == IpFamily::V6 {
            prefix.push_str("ip6 ");
        }
        if t.source == XtSource::Legacy {
            prefix.push_str("legacy ");
        }
        for c in &t.chains {
            // Only a policy that drops is listed: a table appearing with its default ACCEPT
            // chains (the first `iptables -t nat` call) changes nothing for packets.
            if let Some(p) = c.policy.as_deref().filter(|p| *p != "ACCEPT") {
                items.push(policy_item(
                    format!("{prefix}{} {} policy", t.name, c.name),
                    p,
                ));
            }
            for r in &c.rules {
                let line = strip_xt_counters(&r.raw);
                // `-A CHAIN` repeats the chain already in the key.
                let body = line
                    .strip_prefix(&format!("-A {} ", c.name))
                    .unwrap_or(&line);
                items.push(Item {
                    key: format!("{prefix}{} {} {body}", t.name, c.name),
                    desc: String::new(),
                    fields: Vec::new(),
                });
            }
        }
    }
    for t in &fw.nft {
        // iptables-nft tables are shown in full by iptables-save above; nft sees only opaque
        // `xt` expressions there, and listing both would report every rule twice.
        let family = match t.family.as_str() {
            "ip" => Some(IpFamily::V4),
            "ip6" => Some(IpFamily::V6),
            _ => None,
        };
        let covered = t.looks_like_iptables_nft()
            && fw
                .iptables
                .iter()
                .any(|x| x.source == XtSource::Nft && x.name == t.name && Some(x.family) == family);
        if covered {
            continue;
        }
        for c in &t.chains {
            let prefix = format!("nft {} {} {}", t.family, t.name, c.name);
            if let Some(p) = c.policy.as_deref().filter(|p| *p != "accept") {
                items.push(policy_item(format!("{prefix} policy"), p));
            }
            for r in &c.rules {
                items.push(Item {
                    key: format!("{prefix} {}", strip_nft_counters(&r.expr_summary)),
                    desc: String::new(),
                    fields: Vec::new(),
                });
            }
        }
    }
    items
}

fn policy_item(key: String, policy: &str) -> Item {
    Item {
        key,
        desc: policy.to_string(),
        fields: vec![("policy", policy.to_string())],
    }
}

fn diff_dns(ns: &str, old: &DnsFiles, new: &DnsFiles, out: &mut Vec<Change>) {
    diff_file(ns, "resolv.conf", &old.resolv_conf, &new.resolv_conf, out);
    diff_file(ns, "nsswitch.conf", &old.nsswitch, &new.nsswitch, out);
    diff_file(ns, "hosts", &old.hosts, &new.hosts, out);
}

fn diff_file<T>(ns: &str, name: &str, old: &FileRead<T>, new: &FileRead<T>, out: &mut Vec<Change>) {
    let key = name.to_string();
    match (&old.raw, &new.raw) {
        (None, None) => {}
        (None, Some(_)) => out.push(added(ns, ObjectKind::DnsFile, key, new.path.clone())),
        (Some(_), None) => out.push(removed(ns, ObjectKind::DnsFile, key, old.path.clone())),
        (Some(a), Some(b)) => {
            let mut details = Vec::new();
            // A different path with the same text (an /etc/netns override appearing with a
            // copy of the host's file) still changes where the namespace reads it from.
            if old.path != new.path {
                details.push(FieldChange {
                    field: "path".into(),
                    before: old.path.clone(),
                    after: new.path.clone(),
                });
            }
            if a != b {
                let (gone, came) = changed_lines(a, b);
                details.push(FieldChange {
                    field: "raw".into(),
                    before: excerpt(&gone),
                    after: excerpt(&came),
                });
            }
            if !details.is_empty() {
                out.push(changed(ns, ObjectKind::DnsFile, key, details));
            }
        }
    }
}

fn excerpt(lines: &[&str]) -> String {
    let mut shown: Vec<String> = lines
        .iter()
        .take(MAX_EXCERPT_LINES)
        .map(|l| l.to_string())
        .collect();
    if lines.len() > MAX_EXCERPT_LINES {
        shown.push(format!("… {} more lines", lines.len() - MAX_EXCERPT_LINES));
    }
    shown.join("\n")
}

/// Lines of `a` not kept in `b`, and lines of `b` that are new, by longest common subsequence,
/// so that reordered nameservers (order matters to the resolver) show up as changed lines.
fn changed_lines<'a>(a: &'a str, b: &'a str) -> (Vec<&'a str>, Vec<&'a str>) {
    let a: Vec<&str> = a.lines().collect();
    let b: Vec<&str> = b.lines().collect();
    // The LCS table is quadratic; for huge files (a hosts file with thousands of entries) fall
    // back to comparing the lines as multisets, which only misses pure reorderings.
    if a.len().saturating_mul(b.len()) > 4_000_000 {
        let mut count: BTreeMap<&str, isize> = BTreeMap::new();
        for l in &a {
            *count.entry(l).or_default() += 1;
        }
        for l in &b {
            *count.entry(l).or_default() -= 1;
        }
        let mut left = count.clone();
        let gone = a
            .iter()
            .copied()
            .filter(|l| {
                let c = left.get_mut(l).expect("counted");
                (*c > 0).then(|| *c -= 1).is_some()
            })
            .collect();
        let mut right = count;
        let came = b
            .iter()
            .copied()
            .filter(|l| {
                let c = right.get_mut(l).expect("counted");
                (*c < 0).then(|| *c += 1).is_some()
            })
            .collect();
        return (gone, came);
    }
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let (mut gone, mut came) = (Vec::new(), Vec::new());
    while i < n && j < m {
        if a[i] == b[j] {
            i += 1;
            j += 1;
        } else if lcs[i + 1][j] >= lcs[i][j + 1] {
            gone.push(a[i]);
            i += 1;
        } else {
            came.push(b[j]);
            j += 1;
        }
    }
    gone.extend_from_slice(&a[i..]);
    came.extend_from_slice(&b[j..]);
    (gone, came)
}

fn socket_item(s: &ListeningSocket) -> Item {
    let addr = match s.address {
        std::net::IpAddr::V6(a) => format!("[{a}]"),
        std::net::IpAddr::V4(a) => a.to_string(),
    };
    // Program names, not pids: a restarted daemon on the same port is not a change, another
    // program taking the port is.
    let comms: BTreeSet<&str> = s.processes.iter().map(|p| p.comm.as_str()).collect();
    let comms = comms.into_iter().collect::<Vec<_>>().join(",");
    Item {
        key: format!("{} {addr}:{}", s.proto, s.port),
        desc: if comms.is_empty() {
            String::new()
        } else {
            comms.clone()
        },
        fields: vec![("processes", comms)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dnsconf::{FileRead, Hosts, NsSwitch, ResolvConf};
    use crate::firewall::{Counters, NftChain, NftRule, NftTable, XtChain, XtRule, XtTable};
    use crate::model::{NamespaceKind, ProcessRef, Sysctls};

    fn link(index: u32, name: &str, kind: &str, up: bool) -> Link {
        Link {
            index,
            name: name.into(),
            kind: kind.into(),
            flags: if up {
                vec!["BROADCAST".into(), "UP".into(), "LOWER_UP".into()]
            } else {
                vec!["BROADCAST".into()]
            },
            oper_state: if up { "UP" } else { "DOWN" }.into(),
            mtu: 1500,
            mac: Some("aa:bb:cc:dd:ee:01".into()),
            master_index: None,
            master: None,
            peer: None,
            ports: Vec::new(),
            link_index: None,
            link_netnsid: None,
        }
    }

    fn route(dst: &str, gw: Option<&str>, dev: &str) -> Route {
        Route {
            table: 254,
            table_name: "main".into(),
            family: "inet".into(),
            dst: dst.into(),
            gateway: gw.map(|g| g.parse().unwrap()),
            dev: Some(dev.into()),
            prefsrc: None,
            protocol: "static".into(),
            scope: "global".into(),
            kind: "unicast".into(),
            metric: None,
            nexthops: Vec::new(),
        }
    }

    fn xt_rule(raw: &str, packets: u64) -> XtRule {
        XtRule {
            raw: raw.into(),
            matches: Vec::new(),
            source: None,
            destination: None,
            in_iface: None,
            out_iface: None,
            protocol: None,
            dport: None,
            sport: None,
            comment: None,
            target: None,
            target_args: Vec::new(),
            goto: false,
            packets: Some(packets),
            bytes: Some(packets * 60),
        }
    }

    fn file<T>(path: &str, raw: &str) -> FileRead<T> {
        FileRead {
            path: path.into(),
            raw: Some(raw.into()),
            parsed: None,
            error: None,
        }
    }

    /// A namespace with one of everything, packet counters at `packets`.
    fn red(packets: u64) -> Namespace {
        let mut ns = Namespace::new("red".into(), NamespaceKind::Named, 4026532001);
        ns.links = vec![
            link(1, "lo", "loopback", true),
            link(2, "eth0", "veth", true),
        ];
        ns.addresses = vec![Address {
            ifindex: 2,
            ifname: "eth0".into(),
            address: "10.0.0.2".parse().unwrap(),
            prefix_len: 24,
            scope: "global".into(),
            peer: None,
        }];
        ns.routes = vec![route("default", Some("10.0.0.1"), "eth0")];
        ns.neighbors = vec![Neighbor {
            ifindex: 2,
            dev: "eth0".into(),
            address: "10.0.0.1".parse().unwrap(),
            lladdr: Some("aa:bb:cc:dd:ee:99".into()),
            state: "REACHABLE".into(),
            router: false,
        }];
        ns.rules = vec![RoutingRule {
            family: "inet".into(),
            priority: 32766,
            src: None,
            dst: None,
            iif: None,
            oif: None,
            fwmark: None,
            table: 254,
            action: "lookup".into(),
            invert: false,
            suppress_prefixlen: None,
        }];
        ns.sysctls = Sysctls {
            ip_forward: Some(1),
            rp_filter_all: Some(0),
            rp_filter: [("eth0".to_string(), 0u8)].into_iter().collect(),
            conntrack_count: Some(packets),
            ..Sysctls::default()
        };
        ns.sockets = vec![ListeningSocket {
            proto: "tcp".into(),
            address: "0.0.0.0".parse().unwrap(),
            port: 22,
            inode: 1000 + packets,
            processes: vec![ProcessRef {
                pid: 100 + packets as u32,
                comm: "sshd".into(),
                container_id: None,
            }],
        }];
        ns.firewall = Some(Firewall {
            backends: Vec::new(),
            iptables: vec![XtTable {
                family: IpFamily::V4,
                source: XtSource::Nft,
                name: "filter".into(),
                chains: vec![XtChain {
                    name: "INPUT".into(),
                    policy: Some("ACCEPT".into()),
                    packets,
                    bytes: packets * 100,
                    rules: vec![xt_rule(
                        &format!(
                            "[{packets}:{}] -A INPUT -p tcp --dport 22 -j ACCEPT",
                            packets * 60
                        ),
                        packets,
                    )],
                }],
            }],
            nft: vec![NftTable {
                family: "inet".into(),
                name: "fw".into(),
                handle: Some(1),
                chains: vec![NftChain {
                    name: "input".into(),
                    handle: Some(1),
                    hook: Some("input".into()),
                    prio: Some(0),
                    policy: Some("accept".into()),
                    chain_type: Some("filter".into()),
                    rules: vec![NftRule {
                        handle: Some(2),
                        comment: None,
                        expr_summary: format!(
                            "tcp dport 80 counter packets {packets} bytes {} accept",
                            packets * 60
                        ),
                        verdict: Some("accept".into()),
                        counters: Some(Counters {
                            packets,
                            bytes: packets * 60,
                        }),
                    }],
                }],
                sets: Vec::new(),
            }],
            errors: Vec::new(),
        });
        ns.dns = Some(DnsFiles {
            resolv_conf: file::<ResolvConf>(
                "/etc/netns/red/resolv.conf",
                "search lab\nnameserver 10.0.0.1\nnameserver 10.0.0.53\n",
            ),
            nsswitch: file::<NsSwitch>("/etc/nsswitch.conf", "hosts: files dns\n"),
            hosts: file::<Hosts>("/etc/hosts", "127.0.0.1 localhost\n"),
        });
        ns
    }

    fn snap(namespaces: Vec<Namespace>, taken_at: u64) -> Snapshot {
        Snapshot {
            schema_version: crate::model::SCHEMA_VERSION,
            taken_at,
            hostname: "node".into(),
            namespaces,
            warnings: Vec::new(),
        }
    }

    fn host() -> Namespace {
        let mut ns = Namespace::new("host".into(), NamespaceKind::Host, 4026531840);
        ns.links = vec![link(1, "lo", "loopback", true)];
        ns
    }

    /// `(kind, object, key)` of each change, for compact assertions.
    fn keys(d: &SnapshotDiff) -> Vec<(ChangeKind, ObjectKind, String)> {
        d.changes
            .iter()
            .map(|c| (c.kind, c.object, c.key.clone()))
            .collect()
    }

    fn only(d: &SnapshotDiff, object: ObjectKind) -> Vec<&Change> {
        d.changes.iter().filter(|c| c.object == object).collect()
    }

    #[test]
    fn identical_snapshots_have_no_changes() {
        let a = snap(vec![host(), red(5)], 1);
        assert!(diff(&a, &a).is_empty());
    }

    #[test]
    fn counters_and_noise_are_ignored() {
        // Packet/byte counters, conntrack_count, socket inode and pid, the NUD cycle and
        // taken_at all differ; nothing else does.
        let a = snap(vec![host(), red(5)], 1);
        let mut b = snap(vec![host(), red(9000)], 2);
        b.namespaces[1].neighbors[0].state = "STALE".into();
        let d = diff(&a, &b);
        assert!(d.is_empty(), "{:#?}", d.changes);
        assert_eq!((d.old_taken_at, d.new_taken_at), (1, 2));
    }

    #[test]
    fn links_added_removed_and_changed() {
        let a = snap(vec![red(1)], 1);
        let mut b = snap(vec![red(1)], 1);
        let ns = &mut b.namespaces[0];
        ns.links[1] = link(2, "eth0", "veth", false);
        ns.links[1].mtu = 9000;
        ns.links.push(link(7, "veth9", "veth", true));
        ns.links.retain(|l| l.name != "lo");
        let d = diff(&a, &b);
        let links = only(&d, ObjectKind::Link);
        assert_eq!(links.len(), 3, "{links:#?}");
        assert_eq!(links[0].key, "eth0");
        assert_eq!(links[0].fields, ["flags", "oper_state", "mtu"]);
        assert_eq!(links[0].details[1].before, "UP");
        assert_eq!(links[0].details[1].after, "DOWN");
        assert_eq!(
            (links[1].kind, links[1].key.as_str()),
            (ChangeKind::Removed, "lo")
        );
        assert_eq!(links[2].kind, ChangeKind::Added);
        assert_eq!(links[2].after.as_deref(), Some("veth, UP"));
    }

    #[test]
    fn recreated_link_is_an_index_change() {
        let a = snap(vec![red(1)], 1);
        let mut b = a.clone();
        b.namespaces[0].links[1].index = 42;
        let d = diff(&a, &b);
        assert_eq!(d.changes.len(), 1);
        let c = &d.changes[0];
        assert_eq!(
            (c.key.as_str(), c.fields.as_slice()),
            ("eth0", &["index".to_string()][..])
        );
        assert_eq!(
            (c.before.as_deref(), c.after.as_deref()),
            (Some("2"), Some("42"))
        );
    }

    #[test]
    fn addresses_routes_neighbors_rules_sockets() {
        let a = snap(vec![red(1)], 1);
        let mut b = a.clone();
        let ns = &mut b.namespaces[0];
        ns.addresses.clear();
        ns.routes[0].gateway = Some("10.0.0.254".parse().unwrap());
        ns.routes.push(route("192.168.50.0/24", None, "eth0"));
        ns.neighbors[0].state = "FAILED".into();
        ns.rules[0].priority = 1000;
        ns.sockets[0].port = 2222;
        let d = diff(&a, &b);
        assert_eq!(
            keys(&d),
            vec![
                (
                    ChangeKind::Removed,
                    ObjectKind::Address,
                    "10.0.0.2/24 dev eth0".into()
                ),
                (
                    ChangeKind::Added,
                    ObjectKind::Route,
                    "main 192.168.50.0/24".into()
                ),
                (
                    ChangeKind::Changed,
                    ObjectKind::Route,
                    "main default".into()
                ),
                (
                    ChangeKind::Changed,
                    ObjectKind::Neighbor,
                    "10.0.0.1 dev eth0".into()
                ),
                (
                    ChangeKind::Added,
                    ObjectKind::Rule,
                    "1000: from all lookup main".into()
                ),
                (
                    ChangeKind::Removed,
                    ObjectKind::Rule,
                    "32766: from all lookup main".into()
                ),
                // Keys sort as text: `:22` before `:2222`.
                (
                    ChangeKind::Removed,
                    ObjectKind::Socket,
                    "tcp 0.0.0.0:22".into()
                ),
                (
                    ChangeKind::Added,
                    ObjectKind::Socket,
                    "tcp 0.0.0.0:2222".into()
                ),
            ]
        );
        let gw = &only(&d, ObjectKind::Route)[1];
        assert_eq!(gw.fields, ["gateway"]);
        assert_eq!(gw.after.as_deref(), Some("10.0.0.254"));
        let neigh = only(&d, ObjectKind::Neighbor)[0];
        assert_eq!(neigh.after.as_deref(), Some("FAILED"));
    }

    #[test]
    fn sysctls_field_by_field() {
        let a = snap(vec![red(1)], 1);
        let mut b = a.clone();
        let ns = &mut b.namespaces[0];
        ns.sysctls.ip_forward = Some(0);
        ns.sysctls.ipv6_forwarding = Some(1);
        ns.sysctls.rp_filter.insert("eth0".into(), 2);
        // A new link's own rp_filter entry is part of the link appearing, not a sysctl change.
        ns.links.push(link(9, "veth9", "veth", true));
        ns.sysctls.rp_filter.insert("veth9".into(), 0);
        let d = diff(&a, &b);
        let s: Vec<(String, Option<String>, Option<String>)> = only(&d, ObjectKind::Sysctl)
            .iter()
            .map(|c| (c.key.clone(), c.before.clone(), c.after.clone()))
            .collect();
        let v = |s: &str| Some(s.to_string());
        assert_eq!(
            s,
            vec![
                ("ip_forward".into(), v("1"), v("0")),
                ("ipv6_forwarding".into(), v("none"), v("1")),
                ("rp_filter.eth0".into(), v("0"), v("2")),
            ]
        );
    }

    #[test]
    fn firewall_rules_and_policies() {
        let a = snap(vec![red(1)], 1);
        let mut b = snap(vec![red(77)], 1);
        let fw = b.namespaces[0].firewall.as_mut().unwrap();
        fw.iptables.push(XtTable {
            family: IpFamily::V4,
            source: XtSource::Nft,
            name: "nat".into(),
            chains: vec![XtChain {
                name: "POSTROUTING".into(),
                policy: Some("ACCEPT".into()),
                packets: 0,
                bytes: 0,
                rules: vec![xt_rule(
                    "[3:180] -A POSTROUTING -s 10.0.0.0/24 -j MASQUERADE",
                    3,
                )],
            }],
        });
        fw.iptables[0].chains[0].policy = Some("DROP".into());
        // iptables-nft's own nft view of the same table is not reported a second time.
        fw.nft.push(NftTable {
            family: "ip".into(),
            name: "nat".into(),
            handle: None,
            chains: vec![NftChain {
                name: "POSTROUTING".into(),
                handle: None,
                hook: None,
                prio: None,
                policy: None,
                chain_type: None,
                rules: vec![NftRule {
                    handle: None,
                    comment: None,
                    expr_summary: "xt MASQUERADE".into(),
                    verdict: None,
                    counters: None,
                }],
            }],
            sets: Vec::new(),
        });
        fw.nft[0].chains[0].rules[0].expr_summary =
            "tcp dport 443 counter packets 0 bytes 0 accept".into();
        let d = diff(&a, &b);
        let fw = |kind, key: &str| (kind, ObjectKind::FirewallRule, key.to_string());
        assert_eq!(
            keys(&d),
            vec![
                fw(ChangeKind::Added, "filter INPUT policy"),
                fw(
                    ChangeKind::Added,
                    "nat POSTROUTING -s 10.0.0.0/24 -j MASQUERADE"
                ),
                fw(
                    ChangeKind::Added,
                    "nft inet fw input tcp dport 443 counter accept"
                ),
                fw(
                    ChangeKind::Removed,
                    "nft inet fw input tcp dport 80 counter accept"
                ),
            ]
        );
        assert_eq!(d.changes[0].after.as_deref(), Some("DROP"));
    }

    #[test]
    fn firewall_not_collected_on_one_side_is_not_compared() {
        let a = snap(vec![red(1)], 1);
        let mut b = a.clone();
        b.namespaces[0].firewall = None;
        b.namespaces[0].dns = None;
        assert!(diff(&a, &b).is_empty());
    }

    #[test]
    fn strip_counters() {
        assert_eq!(
            strip_xt_counters("[12:3456] -A INPUT -s 10.0.0.0/8 -j DROP"),
            "-A INPUT -s 10.0.0.0/8 -j DROP"
        );
        assert_eq!(
            strip_xt_counters("-A INPUT -c 12 3456 -j DROP"),
            "-A INPUT -j DROP"
        );
        assert_eq!(
            strip_nft_counters("ip saddr 10.0.0.0/8 counter packets 3 bytes 252 masquerade"),
            "ip saddr 10.0.0.0/8 counter masquerade"
        );
        assert_eq!(strip_nft_counters("counter"), "counter");
    }

    #[test]
    fn duplicate_rules_are_numbered() {
        let a = snap(vec![red(1)], 1);
        let mut b = a.clone();
        let chain = &mut b.namespaces[0].firewall.as_mut().unwrap().iptables[0].chains[0];
        let dup = chain.rules[0].clone();
        chain.rules.push(dup);
        let d = diff(&a, &b);
        assert_eq!(
            keys(&d),
            vec![(
                ChangeKind::Added,
                ObjectKind::FirewallRule,
                "filter INPUT -p tcp --dport 22 -j ACCEPT #2".into()
            )]
        );
    }

    #[test]
    fn dns_files_report_changed_lines() {
        let a = snap(vec![red(1)], 1);
        let mut b = a.clone();
        let dns = b.namespaces[0].dns.as_mut().unwrap();
        // Swapped nameservers: the order is what the resolver tries, so it is a change.
        dns.resolv_conf.raw =
            Some("search lab\nnameserver 10.0.0.53\nnameserver 10.0.0.1\n".into());
        dns.hosts.raw = None;
        let d = diff(&a, &b);
        let files = only(&d, ObjectKind::DnsFile);
        assert_eq!(files.len(), 2);
        assert_eq!(
            (files[0].kind, files[0].key.as_str()),
            (ChangeKind::Removed, "hosts")
        );
        let r = files[1];
        assert_eq!(
            (r.kind, r.key.as_str()),
            (ChangeKind::Changed, "resolv.conf")
        );
        assert_eq!(r.fields, ["raw"]);
        assert_eq!(r.before.as_deref(), Some("nameserver 10.0.0.1"));
        assert_eq!(r.after.as_deref(), Some("nameserver 10.0.0.1"));
    }

    #[test]
    fn changed_lines_finds_edits() {
        let (gone, came) = changed_lines("a\nb\nc\n", "a\nB\nc\nd\n");
        assert_eq!((gone, came), (vec!["b"], vec!["B", "d"]));
    }

    #[test]
    fn namespaces_matched_by_name_then_inode_in_new_order() {
        let mut blue = Namespace::new("blue".into(), NamespaceKind::Named, 4026532009);
        blue.links = vec![link(1, "lo", "loopback", true)];
        let mut pid = Namespace::new("pid:77".into(), NamespaceKind::Process, 4026532050);
        pid.links = vec![link(1, "lo", "loopback", true)];
        let a = snap(vec![host(), red(1), blue, pid.clone()], 1);
        // pid:77 got bind-mounted as "pod"; red was recreated (new inode); blue is gone;
        // green is new and listed before red.
        let mut renamed = pid;
        renamed.name = "pod".into();
        renamed.kind = NamespaceKind::Named;
        let mut red2 = red(1);
        red2.inode = 4026532100;
        let green = Namespace::new("green".into(), NamespaceKind::Named, 4026532200);
        let b = snap(vec![host(), green, red2, renamed], 2);
        let d = diff(&a, &b);
        let ns = |kind, name: &str| (kind, ObjectKind::Namespace, name.to_string());
        assert_eq!(
            keys(&d),
            vec![
                ns(ChangeKind::Added, "green"),
                ns(ChangeKind::Changed, "red"),
                ns(ChangeKind::Changed, "pod"),
                ns(ChangeKind::Removed, "blue"),
            ]
        );
        assert_eq!(d.changes[1].fields, ["inode"]);
        assert_eq!(d.changes[2].fields, ["name"]);
        assert_eq!(d.changes[2].before.as_deref(), Some("pid:77"));
        assert_eq!(d.changes[3].namespace, "blue");
    }

    #[test]
    fn unreadable_namespace_compares_only_its_status() {
        let a = snap(vec![red(1)], 1);
        let mut gone = Namespace::new("red".into(), NamespaceKind::Named, 4026532001);
        gone.status = NsStatus::Inaccessible("EPERM".into());
        let d = diff(&a, &snap(vec![gone], 2));
        assert_eq!(
            keys(&d),
            vec![(ChangeKind::Changed, ObjectKind::Namespace, "red".into())]
        );
        assert_eq!(d.changes[0].after.as_deref(), Some("inaccessible"));
    }

    #[test]
    fn order_is_deterministic_and_by_kind_then_key() {
        let a = snap(vec![host(), red(1)], 1);
        let mut b = a.clone();
        let ns = &mut b.namespaces[1];
        ns.sysctls.ip_forward = Some(0);
        ns.links.push(link(9, "veth9", "veth", true));
        ns.links.push(link(8, "aaa", "dummy", false));
        ns.addresses.clear();
        let first = diff(&a, &b);
        // Same content, lists in another order: same result.
        b.namespaces[1].links.reverse();
        assert_eq!(diff(&a, &b), first);
        assert_eq!(
            keys(&first),
            vec![
                (ChangeKind::Added, ObjectKind::Link, "aaa".into()),
                (ChangeKind::Added, ObjectKind::Link, "veth9".into()),
                (
                    ChangeKind::Removed,
                    ObjectKind::Address,
                    "10.0.0.2/24 dev eth0".into()
                ),
                (ChangeKind::Changed, ObjectKind::Sysctl, "ip_forward".into()),
            ]
        );
        assert!(first.changes.iter().all(|c| c.namespace == "red"));
    }

    #[test]
    fn serializes_with_snake_case_names() {
        let a = snap(vec![red(1)], 1);
        let mut b = a.clone();
        b.namespaces[0].sysctls.ip_forward = Some(0);
        let json = serde_json::to_value(diff(&a, &b)).unwrap();
        let c = &json["changes"][0];
        assert_eq!(c["kind"], "changed");
        assert_eq!(c["object"], "sysctl");
        assert_eq!(c["key"], "ip_forward");
        assert_eq!(
            (c["before"].as_str(), c["after"].as_str()),
            (Some("1"), Some("0"))
        );
        let back: SnapshotDiff = serde_json::from_value(json).unwrap();
        assert_eq!(back, diff(&a, &b));
    }
}
