//! Where the doctor's time goes, for `cargo bench --bench doctor`: each stage of [`diagnose`]
//! timed on its own (facts, every rule, the link-route completion, the fix check).
//!
//! [`diagnose`]: super::diagnose

use std::time::{Duration, Instant};

use super::{facts::Facts, fix_check, link_routes, rules_over, Finding, RULES};
use crate::model::Snapshot;

/// One run of the doctor on `snap`, stage by stage: `("facts", …)`, then one entry per rule by
/// name, then `("link_routes", …)` and `("fix_check", …)`.
pub fn stage_times(snap: &Snapshot) -> Vec<(&'static str, Duration)> {
    let mut out = Vec::new();
    let t = Instant::now();
    let facts = Facts::new(snap);
    out.push(("facts", t.elapsed()));
    for (name, rule) in RULES {
        let t = Instant::now();
        let found: Vec<Finding> = rule(&facts);
        out.push((name, t.elapsed()));
        drop(found);
    }
    // The findings as `diagnose` gets them: from the same facts (not timed again).
    let mut findings = rules_over(&facts);
    let t = Instant::now();
    link_routes::complete(snap, &mut findings);
    out.push(("link_routes", t.elapsed()));
    let t = Instant::now();
    // Exactly what `diagnose_with` does: each fix's copy shares the unchanged namespaces'
    // compiled firewalls with `facts` (timing a fresh `run_rules` per fix overstated the stage).
    let rules = |s: &Snapshot| rules_over(&Facts::new(s).sharing(&facts));
    fix_check::keep_working_fixes(snap, &mut findings, &rules);
    out.push(("fix_check", t.elapsed()));
    out
}
