//! A fix is proposed only if it works on paper: its steps are applied to a copy of the
//! snapshot ([`crate::plan::simulate`]) and the rules run again. A fix that leaves its finding
//! in place (an `iptables -D` that matches nothing, a route through a gateway the kernel
//! refuses) or that causes an error that was not there is dropped, and the finding says why.
//! A fix whose steps the model cannot follow is kept: the simulator says "unknown", never a
//! guess, and after `netlens fix` the live network is checked again anyway.

use std::collections::{BTreeSet, HashSet};

use super::{Finding, Severity};
use crate::model::Snapshot;
use crate::plan::{simulate, Simulated, Step};

/// At most this many distinct fixes are tried on a copy. Each try runs every rule that reads
/// across namespaces over the whole copy again (those that read one namespace only where the
/// fix changed it: `super::rerun_on_copy`), so a node with thousands of findings (a namespace
/// stuffed with links) would make the doctor quadratic; past the cap a fix is kept untried,
/// and `netlens fix` checks the live network after applying it anyway.
const MAX_TRIED: usize = 32;

/// What the rules say after a fix: the finding ids, and the errors with their titles.
struct After {
    ids: HashSet<String>,
    errors: Vec<(String, String)>,
}

/// A fix tried on a copy: the rules' findings after it, the kernel's refusal, or `None` when
/// the model cannot follow its steps (or the cap was reached).
type Tried = Option<Result<After, String>>;

/// [`keep_working_fixes_with`] simulating every fix itself: the tests' reference path.
#[cfg(test)]
pub fn keep_working_fixes(
    snap: &Snapshot,
    findings: &mut [Finding],
    rules: &dyn Fn(&Snapshot) -> Vec<Finding>,
) {
    keep_working_fixes_with(snap, findings, rules, Vec::new());
}

/// Drops the fixes of `findings` that do not work when simulated; `rules` runs the rules on a
/// fix's copy of `snap` (without this check, so it does not recurse; `diagnose` passes one
/// that redoes only what the copy changed). Each distinct fix is simulated once, and not at
/// all when `done` holds its copy already (steps, copy: `simulate` is pure, so the copy is
/// the same; `link_routes` made it).
pub(super) fn keep_working_fixes_with(
    snap: &Snapshot,
    findings: &mut [Finding],
    rules: &dyn Fn(&Snapshot) -> Vec<Finding>,
    mut done: super::link_routes::Simulations,
) {
    let before: BTreeSet<String> = errors(findings);
    // Steps are not ordered, and a snapshot has few distinct fixes: a list does.
    let mut verdicts: Vec<(Vec<Step>, Tried)> = Vec::new();
    for f in findings.iter_mut() {
        let Some(fix) = &f.fix else { continue };
        let at = match verdicts.iter().position(|(s, _)| *s == fix.steps) {
            Some(i) => i,
            // Past the cap: kept untried (see MAX_TRIED).
            None if verdicts.len() >= MAX_TRIED => continue,
            None => {
                let made = done
                    .iter()
                    .position(|(s, _)| *s == fix.steps)
                    .map(|i| Simulated::Done(done.swap_remove(i).1));
                let after = match made.unwrap_or_else(|| simulate(snap, &fix.steps)) {
                    Simulated::Done(after) => Some(Ok(summary(rules(&after)))),
                    Simulated::Refused(why) => Some(Err(why)),
                    Simulated::Unknown(_) => None,
                };
                verdicts.push((fix.steps.clone(), after));
                verdicts.len() - 1
            }
        };
        let after = match &verdicts[at].1 {
            None => continue,
            Some(Err(why)) => {
                f.fix = None;
                f.fix_rejected = Some(format!("the kernel would refuse {why}"));
                continue;
            }
            Some(Ok(after)) => after,
        };
        match verdict(f, &before, after) {
            Verdict::Works => {}
            Verdict::Uncovers(left) => f.fix_leaves = left,
            Verdict::Rejected(why) => {
                f.fix = None;
                f.fix_rejected = Some(why);
            }
        }
    }
}

fn summary(after: Vec<Finding>) -> After {
    let errors = after
        .iter()
        .filter(|a| a.severity == Severity::Error)
        .map(|a| (a.id.clone(), a.title.clone()))
        .collect();
    After {
        ids: after.into_iter().map(|a| a.id).collect(),
        errors,
    }
}

fn errors(findings: &[Finding]) -> BTreeSet<String> {
    findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| f.id.clone())
        .collect()
}

enum Verdict {
    Works,
    /// It repairs the finding; these errors show once it is repaired.
    Uncovers(Vec<String>),
    Rejected(String),
}

/// Whether `f`'s fix removes it, and what else is an error after it.
fn verdict(f: &Finding, before: &BTreeSet<String>, after: &After) -> Verdict {
    let steps = f.fix.as_ref().map_or(&[][..], |x| &x.steps[..]);
    if after.ids.contains(&f.id) {
        return Verdict::Rejected(format!(
            "its {}, tried on a copy of the snapshot, {} this finding in place",
            crate::text::plural(steps.len(), "step"),
            if steps.len() == 1 { "leaves" } else { "leave" }
        ));
    }
    let new: Vec<String> = after
        .errors
        .iter()
        .filter(|(id, _)| !before.contains(id))
        .map(|(id, title)| format!("{id} ({title})"))
        .collect();
    if new.is_empty() {
        Verdict::Works
    } else if steps.iter().all(only_restores) {
        // Steps that only bring back or add cannot break what worked: what shows now was
        // hidden behind this finding (a link set up again does not get its routes back).
        Verdict::Uncovers(new)
    } else {
        Verdict::Rejected(format!(
            "its {}, tried on a copy of the snapshot, would cause a new error: {}",
            crate::text::plural(steps.len(), "step"),
            new.join("; ")
        ))
    }
}

/// A step that only adds or re-enables: a link up, an address, a route, a deleted link
/// recreated, forwarding on, a looser rp_filter, an accepting or masquerading rule.
fn only_restores(step: &Step) -> bool {
    match step {
        Step::SetLinkUp { up, .. } => *up,
        Step::AddAddress { .. }
        | Step::AddRoute { .. }
        | Step::RestoreRoute { .. }
        | Step::RecreateLink { .. } => true,
        Step::SetSysctl { key, value, .. } => {
            (key.contains("forward") && value == "1")
                || (key.ends_with("rp_filter") && (value == "0" || value == "2"))
        }
        Step::AddIptablesRule { rule, .. } | Step::InsertIptablesRule { rule, .. } => rule
            .windows(2)
            .any(|w| w[0] == "-j" && matches!(w[1].as_str(), "ACCEPT" | "MASQUERADE" | "RETURN")),
        _ => false,
    }
}

#[cfg(test)]
#[path = "fix_check_tests.rs"]
mod tests;
