//! The doctor proportional to change, for the live view: the API the TUI calls after each
//! re-read. An `update` with nothing touched (and the same host-wide inputs: hostname, CNI
//! state, no lease crossing its grace period) returns the previous findings without a run,
//! exactly what `diagnose` gives for an unchanged snapshot. With namespaces touched, the
//! rules that read only their own namespace (`Scope::Local` in `RULES`) run over the touched
//! ones alone and keep their previous findings for the rest; the rules that read across
//! namespaces run whole, and the fix check redoes only what each fix changes
//! (`scoped.rs`). The compiled firewalls of the untouched namespaces, with the decisions
//! their memos remember, carry over from the last run (`facts/kept.rs`). The result is
//! `diagnose`'s, finding for finding
//! (`incremental_tests.rs` replays seeded random changes against it).

use std::collections::{BTreeSet, HashSet};

use super::facts::{Facts, KeptFirewalls};
use super::scoped::{ByRule, HostInputs};
use super::{checked, Finding};
use crate::cni::usage::LEASE_GRACE_SECS;
use crate::model::{CniState, Snapshot};

/// The previous run's findings, updated from the namespaces that changed.
pub struct Incremental {
    findings: Vec<Finding>,
    /// Each rule's findings of the last run, before the merge and the fix check: what the
    /// next update keeps for the namespaces it does not touch.
    by_rule: ByRule,
    /// What the Local rules read besides their own namespace, as the last run saw it.
    host: HostInputs,
    /// What the rules read besides the namespaces, as the last run saw it.
    outside: Outside,
    /// The last run's compiled firewalls, with their memos: the next update reuses those
    /// of the namespaces it does not touch (a pod's change leaves the host's kube-proxy
    /// rules, and every decision remembered for its pods' flows, as they were).
    kept: KeptFirewalls,
}

/// The snapshot's fields outside its namespaces that the rules read.
struct Outside {
    hostname: String,
    taken_at: u64,
    cni: Option<CniState>,
}

impl Outside {
    fn of(snap: &Snapshot) -> Self {
        Outside {
            hostname: snap.hostname.clone(),
            taken_at: snap.taken_at,
            cni: snap.cni.clone(),
        }
    }

    /// Whether the rules see `snap`'s host-wide inputs as they saw these. `taken_at` only
    /// matters through a lease's grace period (`cni::usage`): a lease that left it between
    /// the two times turns from "may still be starting" to leaked.
    fn same_for_rules(&self, snap: &Snapshot) -> bool {
        if self.hostname != snap.hostname || self.cni != snap.cni {
            return false;
        }
        let (lo, hi) = if self.taken_at <= snap.taken_at {
            (self.taken_at, snap.taken_at)
        } else {
            (snap.taken_at, self.taken_at)
        };
        let crosses = |m: u64| {
            let end = m.saturating_add(LEASE_GRACE_SECS);
            lo < end && end <= hi
        };
        !snap.cni.iter().any(|c| {
            c.ipam
                .iter()
                .flat_map(|n| &n.allocations)
                .any(|a| a.modified.is_some_and(crosses))
        })
    }
}

impl Incremental {
    /// A full run over `snap`, kept for the next `update`.
    pub fn new(snap: &Snapshot) -> Self {
        let f = Facts::new(snap);
        let by_rule = ByRule::full(&f);
        let findings = checked(snap, &f, &by_rule);
        Incremental {
            findings,
            by_rule,
            host: HostInputs::of(snap),
            outside: Outside::of(snap),
            kept: f.into_kept(),
        }
    }

    /// The findings for `snap`, equal to `diagnose(snap)`. `touched` names (by
    /// `Namespace::name`) every namespace whose contents differ from the snapshot of the
    /// previous call: added, removed or changed, the host included when its own objects
    /// changed. An empty set is "nothing changed": the previous findings are returned without
    /// a run when the host-wide inputs are the same too. Otherwise the Local rules run over
    /// the touched namespaces (over all when the hostname or the host's DNS file paths
    /// changed), the Global rules over all.
    pub fn update(&mut self, snap: &Snapshot, touched: &BTreeSet<String>) -> Vec<Finding> {
        if touched.is_empty() && self.outside.same_for_rules(snap) {
            // `outside` keeps the last run's time: grace periods are judged from when the
            // findings were made.
            return self.findings.clone();
        }
        let mut f = Facts::new(snap).reusing(&mut self.kept, |n| touched.contains(n));
        let host = HostInputs::of(snap);
        self.by_rule = if host == self.host {
            let touched: HashSet<String> = touched.iter().cloned().collect();
            self.by_rule.rerun(&mut f, &touched)
        } else {
            ByRule::full(&f)
        };
        self.findings = checked(snap, &f, &self.by_rule);
        self.kept = f.into_kept();
        self.host = host;
        self.outside = Outside::of(snap);
        self.findings.clone()
    }

    /// The findings of the last run.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }
}

#[cfg(test)]
#[path = "incremental_tests.rs"]
mod tests;
