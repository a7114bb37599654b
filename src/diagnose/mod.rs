//! The doctor's rule engine: pure functions from a [`Snapshot`] to [`Finding`]s.
//!
//! No I/O, no netlink, no tokio: a rule reads a snapshot (live, or a saved JSON file) and
//! returns what is wrong, citing the evidence with the snapshot's own names and values, and a
//! fix as typed [`Step`]s when one is clear. One file per family of rules. Rules decide from
//! facts — subnets from addresses, routes, veth peers, bridge ports, sysctls, firewall rules —
//! never from names, so they work on topologies they have never seen.
//!
//! A healthy topology must produce no warning or error: a false alarm is a bug. When the
//! evidence is incomplete (a segment continues into a NIC we cannot see, a namespace we could
//! not read), rules stay silent or say `Info`.

mod bridge;
mod bridge_port;
pub mod cni;
mod conntrack;
mod dns;
mod dns_config;
mod drop_routes;
pub mod earlier;
mod facts;
pub mod fix_all;
mod fix_check;
mod forwarding;
mod incremental;
pub use incremental::Incremental;
mod input_drop;
mod k8s;
mod l2;
mod link_routes;
mod links;
mod nat;
/// The doctor's masquerade fix, for the TUI's "masquerade a subnet" to add the same rule.
pub use nat::masquerade_step;
mod nat_evidence;
mod neigh_mac;
mod nft_fix;
mod no_default;
/// A node-shaped snapshot built in memory, for the doctor's benchmark and tests.
pub mod node_fixture;
pub mod profile;
mod raw_mangle_drop;
mod routing;
mod scoped;

#[cfg(test)]
mod cni_tests;
#[cfg(test)]
mod fix_share_tests;
#[cfg(test)]
mod handbuilt_tests;
#[cfg(test)]
mod k8s_tests;
#[cfg(test)]
mod random_change;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::Snapshot;
use crate::plan::Step;

/// How bad a finding is. Ordered most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Traffic that should flow does not.
    Error,
    /// Likely to break something, or left-over state that will.
    Warning,
    /// Worth knowing; nothing is known to be broken.
    Info,
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        })
    }
}

/// An object a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Object {
    /// `namespace`, `link`, `address`, `route`, `rule` (firewall), `sysctl`, `file`.
    pub kind: String,
    pub namespace: String,
    /// The link name, route destination, rule text, sysctl key or file path; empty for a
    /// namespace.
    #[serde(default)]
    pub name: String,
}

impl Object {
    pub fn new(kind: &str, namespace: &str, name: impl Into<String>) -> Self {
        Object {
            kind: kind.into(),
            namespace: namespace.into(),
            name: name.into(),
        }
    }
}

/// A way to repair a finding, as plan steps the plan engine can show and apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fix {
    pub title: String,
    pub steps: Vec<Step>,
}

/// One problem found in a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// `RULE:OBJECT…`, stable across runs while the problem lasts (no counters, no indexes).
    pub id: String,
    /// The rule that found it, e.g. `forwarding-off`.
    pub rule: String,
    pub severity: Severity,
    /// The namespace where the problem is (where the fix applies first).
    pub namespace: String,
    pub objects: Vec<Object>,
    /// One line.
    pub title: String,
    /// Why, with the evidence: real names, addresses, values.
    pub explanation: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<Fix>,
    /// Why the rule's fix is not offered: simulated on a copy of the snapshot, it left the
    /// finding in place or caused a new error. Absent when the fix was kept (or none was made).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix_rejected: Option<String>,
    /// Errors that show once the fix has repaired this finding (simulated): they were hidden
    /// behind it, and need their own repair.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fix_leaves: Vec<String>,
}

impl Finding {
    /// A finding of `rule` in `namespace`; the id is `rule:namespace[:key]`.
    pub fn new(
        rule: &str,
        severity: Severity,
        namespace: &str,
        key: Option<&str>,
        title: impl Into<String>,
        explanation: impl Into<String>,
    ) -> Self {
        let id = match key {
            Some(k) => format!("{rule}:{namespace}:{k}"),
            None => format!("{rule}:{namespace}"),
        };
        Finding {
            id,
            rule: rule.into(),
            severity,
            namespace: namespace.into(),
            objects: vec![Object::new("namespace", namespace, "")],
            title: title.into(),
            explanation: explanation.into(),
            fix: None,
            fix_rejected: None,
            fix_leaves: Vec::new(),
        }
    }

    pub fn object(mut self, kind: &str, namespace: &str, name: impl Into<String>) -> Self {
        let o = Object::new(kind, namespace, name);
        if !self.objects.contains(&o) {
            self.objects.push(o);
        }
        self
    }

    /// [`Finding::fix`] when there is one.
    pub fn fix_opt(self, fix: Option<(String, Vec<Step>)>) -> Self {
        match fix {
            Some((title, steps)) => self.fix(title, steps),
            None => self,
        }
    }

    pub fn fix(mut self, title: impl Into<String>, steps: Vec<Step>) -> Self {
        if !steps.is_empty() {
            self.fix = Some(Fix {
                title: title.into(),
                steps,
            });
        }
        self
    }

    /// Whether the finding touches namespace `name` (its own, or one of its objects').
    pub fn concerns(&self, name: &str) -> bool {
        self.namespace == name || self.objects.iter().any(|o| o.namespace == name)
    }
}

/// Runs every rule, then keeps each fix only if, simulated on a copy of the snapshot, it removes
/// its finding without causing a new error (see [`fix_check`]). Sorted by severity (errors
/// first), then id; one finding per id (the first rule to name a problem keeps it).
pub fn diagnose(snap: &Snapshot) -> Vec<Finding> {
    diagnose_with(snap, None)
}

/// [`diagnose`], knowing the routes of an earlier snapshot (`--before`): `link-down` puts back
/// the routes the kernel flushed with the link, and `route-lost` names those still missing.
pub fn diagnose_with(snap: &Snapshot, earlier: Option<&earlier::Earlier>) -> Vec<Finding> {
    let f = facts::Facts::new(snap).with_earlier(earlier);
    let by = scoped::ByRule::full(&f);
    checked(snap, &f, &by)
}

/// The findings of the rule run `by` over `f` (the facts of `snap`), merged, with the
/// `link-down` fixes completed and every fix checked on a copy.
fn checked(snap: &Snapshot, f: &facts::Facts, by: &scoped::ByRule) -> Vec<Finding> {
    let mut out = by.merged(snap);
    // The copies `complete` simulated are the fix check's for the fixes it left alone.
    let copies = link_routes::complete_keeping(snap, &mut out);
    fix_check::keep_working_fixes_with(snap, &mut out, &rerun_on_copy(snap, f, by), copies);
    out
}

/// The rules over a fix's copy of `snap`, redoing only what the fix can change: the Local
/// rules over the namespaces the copy differs in (all when it differs in the host-wide
/// inputs), every Global rule whole, `by`'s Local findings elsewhere. The copy's facts
/// reuse the compiled firewalls of the namespaces the fix left alone (`Facts::sharing`).
fn rerun_on_copy<'a>(
    snap: &'a Snapshot,
    f: &'a facts::Facts<'a>,
    by: &'a scoped::ByRule,
) -> impl Fn(&Snapshot) -> Vec<Finding> + 'a {
    move |copy: &Snapshot| {
        let mut g = facts::Facts::new(copy).with_earlier(f.earlier).sharing(f);
        let after = match scoped::touched_between(snap, copy) {
            Some(t) => by.rerun(&mut g, &t),
            None => scoped::ByRule::full(&g),
        };
        after.merged(copy)
    }
}

/// Every rule's findings, their fixes as the rules made them (not yet checked).
pub fn run_rules(snap: &Snapshot) -> Vec<Finding> {
    run_rules_with(snap, None)
}

/// Which namespaces a rule's findings about one namespace depend on (see `scoped.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Only that namespace's contents and the host-wide inputs (`scoped::HostInputs`), and
    /// every finding names the namespace it is about: after a change, only the changed
    /// namespaces are checked again.
    Local,
    /// It reads other namespaces (peers, segments, who routes through whom, addresses held
    /// anywhere): run whole every time.
    Global,
}

/// A rule: its name (for the benchmark's per-rule times), its scope and its check.
pub(crate) type Rule = (&'static str, Scope, fn(&facts::Facts) -> Vec<Finding>);

use Scope::{Global, Local};

/// Every rule, in the order they claim ids (the first to name a problem keeps it), with its
/// scope and why. When unsure, Global: a rule wrongly marked Local goes stale for the
/// namespaces that did not change (`scoped_tests.rs` shows the comparison catches it).
pub(crate) const RULES: [Rule; 20] = [
    // Who routes through the namespace (every namespace's gateway routes) and what is beyond.
    ("forwarding", Global, forwarding::check),
    // Gateways and subnets held in other namespaces, over the layer-2 segments.
    ("routing", Global, routing::check),
    // The gateways the namespace's segments offer, held by other namespaces.
    ("no_default", Global, no_default::check),
    // A veth's peer in another namespace; the lone gateway of a down link's segment.
    ("links", Global, links::check),
    // The namespace's own routes against `--before`'s of the same namespace.
    ("earlier", Local, earlier::check),
    // Ports' veth peers and who holds addresses on the bridge's segment.
    ("bridge", Global, bridge::check),
    // A router translating other namespaces' traffic; who holds a DNAT target.
    ("nat", Global, nat::check),
    // Segments across namespaces: duplicate addresses, MTU across a veth pair.
    ("l2", Global, l2::check),
    // The namespace's own conntrack sysctls.
    ("conntrack", Local, conntrack::check),
    // Its own resolv.conf, nsswitch.conf, routes and addresses; the host's file paths.
    ("dns", Local, dns::check),
    // Its own resolv.conf, sockets and loopback; the host's resolv.conf path.
    ("dns_config", Local, dns_config::check),
    // Traffic arriving from the namespaces that route through this one.
    // (rp_filter lives with forwarding: both are per-namespace forwarding sysctls.)
    ("rp_filter", Global, forwarding::check_rp_filter),
    // Its own sockets, firewall and addresses; the hostname.
    ("k8s", Local, k8s::check),
    // The peers on the namespace's segments, judged against its INPUT chain.
    ("input_drop", Global, input_drop::check),
    // Addresses other namespaces hold behind a dropping route; a way out on the segment.
    ("drop_routes", Global, drop_routes::check),
    // Whether a rule names an address any namespace holds.
    ("raw_mangle_drop", Global, raw_mangle_drop::check),
    // The MAC of the address's holder in another namespace.
    ("neigh_mac", Global, neigh_mac::check),
    // A port's veth peer and the addresses on it.
    ("bridge_port", Global, bridge_port::check),
    // The CNI state against the interfaces of every namespace.
    ("cni_config", Global, cni::check_config),
    // Leases against the addresses every namespace holds.
    ("cni_ipam", Global, cni::check_ipam),
];

fn run_rules_with(snap: &Snapshot, earlier: Option<&earlier::Earlier>) -> Vec<Finding> {
    rules_over(&facts::Facts::new(snap).with_earlier(earlier))
}

/// Every rule over `f`, one finding per id, sorted.
fn rules_over(f: &facts::Facts) -> Vec<Finding> {
    let mut by_id: BTreeMap<String, Finding> = BTreeMap::new();
    for (_, _, rule) in RULES {
        for finding in rule(f) {
            by_id.entry(finding.id.clone()).or_insert(finding);
        }
    }
    let mut out: Vec<Finding> = by_id.into_values().collect();
    out.sort_by(|a, b| a.severity.cmp(&b.severity).then_with(|| a.id.cmp(&b.id)));
    out
}

/// Whether any finding is a warning or an error (what `doctor` exits 1 for).
pub fn has_problems(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.severity <= Severity::Warning)
}
