//! Runs of the rules that redo only what a change can affect: the live view's update after a
//! re-read ([`super::Incremental`]) and each fix tried on a copy ([`super::fix_check`]).
//!
//! Every rule in [`RULES`] has a [`Scope`]. A `Local` rule's findings about a namespace depend
//! only on that namespace's contents and a few host-wide inputs ([`HostInputs`]), and each
//! names the namespace it is about; so after a change to the namespaces `T` its findings for
//! the others are still those of the run before, and only `T` is checked again. A `Global`
//! rule reads across namespaces and runs whole every time. The merge is `rules_over`'s: one
//! finding per id, the first rule (in `RULES` order) keeps it, sorted by severity then id;
//! a Local rule's findings are taken namespace by namespace in the snapshot's order, which is
//! the order the rule itself walks them in.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use super::facts::Facts;
use super::{Finding, Rule, Scope, RULES};
use crate::model::fast_hash::FxHashMap;
use crate::model::{NamespaceKind, Snapshot};

/// Each rule's findings of one run, before the merge: a Local rule's by namespace.
#[derive(Clone)]
pub(crate) struct ByRule {
    /// The table the run used: [`RULES`], or a test's.
    rules: &'static [Rule],
    found: Vec<Found>,
}

/// A Local rule's findings are shared between runs (`Arc`: `Incremental` stays `Send`): a re-run keeps a namespace's
/// findings by reference, so its cost follows the touched namespaces, not the findings of
/// the untouched ones (a node's pods each have an `ndots-amplification`, say).
#[derive(Clone)]
enum Found {
    Local(FxHashMap<String, Arc<Vec<Finding>>>),
    Global(Vec<Finding>),
}

fn by_namespace(findings: Vec<Finding>) -> FxHashMap<String, Arc<Vec<Finding>>> {
    let mut m: FxHashMap<String, Vec<Finding>> = FxHashMap::default();
    for f in findings {
        m.entry(f.namespace.clone()).or_default().push(f);
    }
    m.into_iter().map(|(ns, v)| (ns, Arc::new(v))).collect()
}

impl ByRule {
    /// Every rule over every namespace of `f`.
    pub fn full(f: &Facts) -> Self {
        Self::full_with(&RULES, f)
    }

    /// Every rule of `rules` over every namespace of `f`.
    pub fn full_with(rules: &'static [Rule], f: &Facts) -> Self {
        let found = rules
            .iter()
            .map(|(_, scope, rule)| match scope {
                Scope::Local => Found::Local(by_namespace(rule(f))),
                Scope::Global => Found::Global(rule(f)),
            })
            .collect();
        ByRule { rules, found }
    }

    /// The rules over `f` (a snapshot that differs from this run's only in the namespaces
    /// `touched`, added and removed ones included, with the same [`HostInputs`]): every Global
    /// rule whole, every Local rule only over the touched namespaces that `f` has, and this
    /// run's Local findings for every other namespace.
    pub fn rerun(&self, f: &mut Facts, touched: &HashSet<String>) -> Self {
        // The Local rules walk `f.namespaces`: narrowed to the touched ones for them, and put
        // back for the Global rules. Everything else in `f` stays whole (a Local rule reads
        // only its own namespace's part of it).
        let all = std::mem::take(&mut f.namespaces);
        f.namespaces = all
            .iter()
            .filter(|(_, ns)| touched.contains(&ns.name))
            .copied()
            .collect();
        let mut found: Vec<Option<Found>> = Vec::with_capacity(self.rules.len());
        for ((_, scope, rule), was) in self.rules.iter().zip(&self.found) {
            found.push(match (scope, was) {
                (Scope::Local, Found::Local(was)) => {
                    let mut now: FxHashMap<String, Arc<Vec<Finding>>> = was
                        .iter()
                        .filter(|(ns, _)| !touched.contains(*ns))
                        .map(|(ns, v)| (ns.clone(), Arc::clone(v)))
                        .collect();
                    now.extend(by_namespace(rule(f)));
                    Some(Found::Local(now))
                }
                _ => None,
            });
        }
        f.namespaces = all;
        let found = self
            .rules
            .iter()
            .zip(found)
            .map(|((_, _, rule), done)| done.unwrap_or_else(|| Found::Global(rule(f))))
            .collect();
        ByRule {
            rules: self.rules,
            found,
        }
    }

    /// The merged findings, as `rules_over` gives them for `snap` (the snapshot of this run).
    pub fn merged(&self, snap: &Snapshot) -> Vec<Finding> {
        let pos: FxHashMap<&str, usize> = snap
            .namespaces
            .iter()
            .enumerate()
            .map(|(i, n)| (n.name.as_str(), i))
            .collect();
        let mut by_id: BTreeMap<&str, &Finding> = BTreeMap::new();
        for found in &self.found {
            let in_order: Vec<&Finding> = match found {
                Found::Global(v) => v.iter().collect(),
                Found::Local(m) => {
                    let mut names: Vec<&String> = m.keys().collect();
                    names.sort_by_key(|n| (pos.get(n.as_str()).copied(), n.as_str()));
                    names.into_iter().flat_map(|n| m[n].iter()).collect()
                }
            };
            for f in in_order {
                by_id.entry(f.id.as_str()).or_insert(f);
            }
        }
        // Already in id order (the map's): a stable sort by severity alone gives the order
        // by (severity, id) without comparing a thousand ids again.
        let mut out: Vec<&Finding> = by_id.into_values().collect();
        out.sort_by_key(|f| f.severity);
        out.into_iter().cloned().collect()
    }
}

/// What a Local rule reads besides its own namespace: the hostname (`k8s` names the node by
/// it) and the host namespace's DNS file paths (`dns` and `dns_config` tell a namespace that
/// only inherits the host's file by its path). `--before` is the same for both runs of a fix
/// check and never given to the live view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HostInputs {
    hostname: String,
    dns_paths: Option<(String, String)>,
}

impl HostInputs {
    pub fn of(snap: &Snapshot) -> Self {
        // The host the DNS rules pick: the first namespace of kind Host, read or not.
        let dns_paths = snap
            .namespaces
            .iter()
            .find(|n| n.kind == NamespaceKind::Host)
            .and_then(|n| n.dns.as_ref())
            .map(|d| (d.resolv_conf.path.clone(), d.nsswitch.path.clone()));
        HostInputs {
            hostname: snap.hostname.clone(),
            dns_paths,
        }
    }
}

/// The namespaces (by name) whose contents differ between `before` and `after`, added and
/// removed ones included; `None` when the host-wide inputs differ (every namespace is then
/// touched for the Local rules).
pub(crate) fn touched_between(before: &Snapshot, after: &Snapshot) -> Option<HashSet<String>> {
    if HostInputs::of(before) != HostInputs::of(after) {
        return None;
    }
    let mut t = HashSet::new();
    let aligned = before.namespaces.len() == after.namespaces.len()
        && before
            .namespaces
            .iter()
            .zip(&after.namespaces)
            .all(|(a, b)| a.name == b.name);
    if aligned {
        for (a, b) in before.namespaces.iter().zip(&after.namespaces) {
            if a != b {
                t.insert(b.name.clone());
            }
        }
        return Some(t);
    }
    let was: FxHashMap<&str, &crate::model::Namespace> = before
        .namespaces
        .iter()
        .map(|n| (n.name.as_str(), n))
        .collect();
    let now: HashSet<&str> = after.namespaces.iter().map(|n| n.name.as_str()).collect();
    for b in &after.namespaces {
        if was.get(b.name.as_str()) != Some(&b) {
            t.insert(b.name.clone());
        }
    }
    t.extend(
        was.keys()
            .filter(|n| !now.contains(*n))
            .map(|n| n.to_string()),
    );
    Some(t)
}

#[cfg(test)]
#[path = "scoped_tests.rs"]
mod tests;
