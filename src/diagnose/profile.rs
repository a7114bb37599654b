//! Where the doctor's time goes, for `cargo bench --bench doctor`: each stage of [`diagnose`]
//! timed on its own (facts, every rule, the link-route completion, the fix check).
//!
//! [`diagnose`]: super::diagnose

use std::time::{Duration, Instant};

use super::{facts::Facts, fix_check, link_routes, rerun_on_copy, scoped::ByRule, Finding, RULES};
use crate::model::Snapshot;

/// One run of the doctor on `snap`, stage by stage: `("facts", …)`, then one entry per rule by
/// name, then `("link_routes", …)` and `("fix_check", …)`.
pub fn stage_times(snap: &Snapshot) -> Vec<(&'static str, Duration)> {
    let mut out = Vec::new();
    let t = Instant::now();
    let facts = Facts::new(snap);
    out.push(("facts", t.elapsed()));
    for (name, _, rule) in RULES {
        let t = Instant::now();
        let found: Vec<Finding> = rule(&facts);
        out.push((name, t.elapsed()));
        drop(found);
    }
    // The findings as `diagnose` gets them: from the same facts (not timed again).
    let by = ByRule::full(&facts);
    let mut findings = by.merged(snap);
    let t = Instant::now();
    let copies = link_routes::complete_keeping(snap, &mut findings);
    out.push(("link_routes", t.elapsed()));
    let t = Instant::now();
    // Exactly what `diagnose_with` does: each fix's copy shares the unchanged namespaces'
    // compiled firewalls with `facts`, and re-runs the Local rules only where it differs.
    let rules = rerun_on_copy(snap, &facts, &by);
    fix_check::keep_working_fixes_with(snap, &mut findings, &rules, copies);
    out.push(("fix_check", t.elapsed()));
    out
}

/// The rules stage alone on `snap`, whole and as an incremental update runs it after the
/// namespaces `touched` changed (Local rules over those, Global rules whole), from the same
/// facts: `("rules, full", …)`, `("rules, scoped", …)`. What the scopes save, apart from the
/// fix check and the link-route completion around them.
pub fn scoped_times(snap: &Snapshot, touched: &[String]) -> Vec<(&'static str, Duration)> {
    // Fresh facts for each: the firewalls a rule compiles on first use, and their memos,
    // must not carry over from the first run to the second.
    let facts = Facts::new(snap);
    let t = Instant::now();
    let by = ByRule::full(&facts);
    let full = t.elapsed();
    let touched: std::collections::HashSet<String> = touched.iter().cloned().collect();
    let mut fresh = Facts::new(snap);
    let t = Instant::now();
    let again = by.rerun(&mut fresh, &touched);
    let scoped = t.elapsed();
    drop(again);
    vec![("rules, full", full), ("rules, scoped", scoped)]
}
