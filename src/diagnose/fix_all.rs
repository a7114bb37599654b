//! `netlens fix all`: every finding's fix, composed on paper before anything runs.
//!
//! Findings are often consequences of one another: a veth set down loses the routes through
//! it, so `link-down` (set it up, put the routes back) and `no-route` (route the same subnet
//! through a backup link) are both reported. Their fixes, simply concatenated, add the same
//! destination twice and the kernel refuses the second (oracle seed 459), which rolls the
//! whole plan back. So fixes are taken in root-cause order (links before addresses before
//! routes before firewall), each applied to a running copy of the snapshot, and one the kernel
//! would refuse after the fixes before it is left out with the reason (and checked again
//! after the plan: if it was a consequence, it is gone). A fix whose finding an earlier fix
//! already repairs on the copy is still applied when the kernel accepts it: the doctor names
//! two causes when it cannot tell which was meant (a router that port-forwards but does not
//! masquerade, oracle seed 232), and only both fixes together repair either design. A step the
//! model cannot follow stops the composing: from there on the fixes are taken as they are.

use super::{earlier::Earlier, run_rules_with, Finding, Severity};
use crate::model::Snapshot;
use crate::plan::{simulate, Simulated, Step};

/// At most this many fixes are composed on the copy: each may run every rule over the whole
/// snapshot twice, so a node with hundreds of findings would make `fix all` quadratic. The
/// rest are taken as they are (as [`super::fix_check`] keeps a fix untried past its own cap);
/// the network is checked after the plan in any case.
const MAX_COMPOSED: usize = 32;

/// The fixes `netlens fix all` applies, in order, and what it leaves out.
pub struct Composed<'a> {
    pub chosen: Vec<&'a Finding>,
    /// The steps of `chosen`, in order, each once.
    pub steps: Vec<Step>,
    /// Findings whose fix the kernel would refuse after the others, or that the others
    /// repair and whose own fix would then cause an error, each with why: still checked after
    /// the plan.
    pub left_out: Vec<(&'a Finding, String)>,
}

/// Composes the fixes of `candidates` (findings with a fix) on a copy of `snap`.
pub fn compose<'a>(
    snap: &Snapshot,
    candidates: &[&'a Finding],
    earlier: Option<&Earlier>,
) -> Composed<'a> {
    compose_with(snap, candidates, &|s| run_rules_with(s, earlier))
}

/// [`compose`], with the rules given (tests add their own).
fn compose_with<'a>(
    snap: &Snapshot,
    candidates: &[&'a Finding],
    rules: &dyn Fn(&Snapshot) -> Vec<Finding>,
) -> Composed<'a> {
    let mut order: Vec<&Finding> = candidates.to_vec();
    // Stable: the doctor's order within a stage.
    order.sort_by_key(|f| stage(&f.rule));
    let mut out = Composed {
        chosen: Vec::new(),
        steps: Vec::new(),
        left_out: Vec::new(),
    };
    // The copy with the chosen fixes applied; `None` once a step could not be modelled.
    let mut copy = Some(snap.clone());
    // What the rules find on the copy, once asked (cleared when the copy changes).
    let mut found: Option<Vec<Finding>> = None;
    for f in order {
        let new: Vec<Step> = f
            .fix
            .iter()
            .flat_map(|x| &x.steps)
            .filter(|s| !out.steps.contains(s))
            .cloned()
            .collect();
        // Past the cap the fixes are taken as they are (each check runs every rule again).
        if out.chosen.len() + out.left_out.len() >= MAX_COMPOSED {
            copy = None;
        }
        let Some(cur) = copy.as_ref() else {
            take(&mut out, f, new);
            continue;
        };
        let after = match simulate(cur, &new) {
            Simulated::Done(after) => after,
            Simulated::Refused(why) => {
                let why = format!(
                    "after the fix for {}, the kernel would refuse {why}",
                    names(&out)
                );
                out.left_out.push((f, why));
                continue;
            }
            Simulated::Unknown(_) => {
                copy = None;
                take(&mut out, f, new);
                continue;
            }
        };
        // A finding the fixes before it already repaired on the copy is a consequence of
        // theirs; its own fix still runs (the doctor may name two causes where it cannot
        // tell which was meant) unless it would then cause an error: a port re-attached
        // puts the gateway back on its bridge, and `bridge-no-addr`'s fix would then hold
        // the gateway's address twice (oracle seed 593).
        if !out.chosen.is_empty() {
            let now = found.get_or_insert_with(|| rules(cur));
            if !now.iter().any(|x| x.id == f.id) {
                let new_errors = new_errors(now, &rules(&after));
                if !new_errors.is_empty() {
                    let why = format!(
                        "repaired by the fix for {}; its own fix would then cause {}",
                        names(&out),
                        new_errors.join(", ")
                    );
                    out.left_out.push((f, why));
                    continue;
                }
            }
        }
        copy = Some(*after);
        found = None;
        take(&mut out, f, new);
    }
    out
}

/// The errors in `after` that `before` does not have.
fn new_errors(before: &[Finding], after: &[Finding]) -> Vec<String> {
    after
        .iter()
        .filter(|a| a.severity == Severity::Error && !before.iter().any(|b| b.id == a.id))
        .map(|a| format!("{} ({})", a.id, a.title))
        .collect()
}

fn take<'a>(out: &mut Composed<'a>, f: &'a Finding, steps: Vec<Step>) {
    out.chosen.push(f);
    out.steps.extend(steps);
}

fn names(out: &Composed) -> String {
    out.chosen
        .iter()
        .map(|f| f.id.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Root-cause order: a link that is down or detached explains missing routes and dropped
/// flows, kernel switches and addresses come before the routes through them, routes before
/// the firewall and NAT that act on routed traffic, and those before DNS and CNI.
fn stage(rule: &str) -> u8 {
    match rule {
        "link-down" | "peer-down" | "veth-peer-missing" | "port-detached" | "port-blocking"
        | "port-isolated" | "mtu-mismatch" | "mtu-overlay" => 0,
        "forwarding-off" | "br-netfilter" | "rp-filter-strict" | "wrong-subnet" | "dup-ip"
        | "bridge-no-addr" | "gateway-neigh" | "neigh-mac" => 1,
        "route-lost" | "no-default" | "no-route" | "drop-route" | "policy-rule" => 2,
        "no-masquerade" | "forward-drop" | "input-drop" | "raw-mangle-drop" | "stale-nat" => 3,
        _ => 4,
    }
}

#[cfg(test)]
#[path = "fix_all_tests.rs"]
mod tests;
