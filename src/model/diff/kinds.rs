//! The diff's output types: what changed, how, and the whole report. Their JSON is what
//! `netlens diff --json` writes.

use serde::{Deserialize, Serialize};

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
