//! The doctor proportional to change, for the live view: the API the TUI calls after each
//! re-read. For now `update` is a full run (correct by construction, not yet cheaper); the
//! cost model and the plan to make it proportional are in docs/PERFORMANCE.md (doctor).

use std::collections::BTreeSet;

use super::{diagnose, Finding};
use crate::model::Snapshot;

/// The previous run's findings, updated from the namespaces that changed.
pub struct Incremental {
    findings: Vec<Finding>,
}

impl Incremental {
    /// A full run over `snap`, kept for the next `update`.
    pub fn new(snap: &Snapshot) -> Self {
        Incremental {
            findings: diagnose(snap),
        }
    }

    /// The findings for `snap`, equal to `diagnose(snap)`. `touched` names (by
    /// `Namespace::name`) every namespace whose contents differ from the snapshot of the
    /// previous call: added, removed or changed, the host included when its own objects
    /// changed. An empty set is "nothing changed". Today every call is a full run.
    pub fn update(&mut self, snap: &Snapshot, _touched: &BTreeSet<String>) -> Vec<Finding> {
        self.findings = diagnose(snap);
        self.findings.clone()
    }

    /// The findings of the last run.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }
}
