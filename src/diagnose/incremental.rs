//! The doctor proportional to change, for the live view: the API the TUI calls after each
//! re-read. The only incremental part today: an `update` with nothing touched (and the same
//! host-wide inputs: hostname, CNI state, no lease crossing its grace period) returns the
//! previous findings without a run, exactly what `diagnose` gives for an unchanged snapshot.
//! Any touched namespace is a full run (correct by construction); the cost model and the plan
//! to make it proportional are in docs/PERFORMANCE.md (doctor).

use std::collections::BTreeSet;

use super::{diagnose, Finding};
use crate::cni::usage::LEASE_GRACE_SECS;
use crate::model::{CniState, Snapshot};

/// The previous run's findings, updated from the namespaces that changed.
pub struct Incremental {
    findings: Vec<Finding>,
    /// What the rules read besides the namespaces, as the last run saw it.
    outside: Outside,
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
        Incremental {
            findings: diagnose(snap),
            outside: Outside::of(snap),
        }
    }

    /// The findings for `snap`, equal to `diagnose(snap)`. `touched` names (by
    /// `Namespace::name`) every namespace whose contents differ from the snapshot of the
    /// previous call: added, removed or changed, the host included when its own objects
    /// changed. An empty set is "nothing changed": the previous findings are returned without
    /// a run when the host-wide inputs are the same too. Otherwise a full run.
    pub fn update(&mut self, snap: &Snapshot, touched: &BTreeSet<String>) -> Vec<Finding> {
        if touched.is_empty() && self.outside.same_for_rules(snap) {
            // `outside` keeps the last run's time: grace periods are judged from when the
            // findings were made.
            return self.findings.clone();
        }
        self.findings = diagnose(snap);
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
