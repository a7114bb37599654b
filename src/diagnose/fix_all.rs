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

use super::Finding;
use crate::model::Snapshot;
use crate::plan::{simulate, Simulated, Step};

/// The fixes `netlens fix all` applies, in order, and what it leaves out.
pub struct Composed<'a> {
    pub chosen: Vec<&'a Finding>,
    /// The steps of `chosen`, in order, each once.
    pub steps: Vec<Step>,
    /// Findings whose fix the kernel would refuse after the others, each with why: still
    /// checked after the plan.
    pub left_out: Vec<(&'a Finding, String)>,
}

/// Composes the fixes of `candidates` (findings with a fix) on a copy of `snap`.
pub fn compose<'a>(snap: &Snapshot, candidates: &[&'a Finding]) -> Composed<'a> {
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
    for f in order {
        let new: Vec<Step> = f
            .fix
            .iter()
            .flat_map(|x| &x.steps)
            .filter(|s| !out.steps.contains(s))
            .cloned()
            .collect();
        let Some(cur) = copy.as_ref() else {
            take(&mut out, f, new);
            continue;
        };
        match simulate(cur, &new) {
            Simulated::Done(after) => {
                copy = Some(*after);
                take(&mut out, f, new);
            }
            Simulated::Refused(why) => out.left_out.push((
                f,
                format!(
                    "after the fix for {}, the kernel would refuse {why}",
                    names(&out)
                ),
            )),
            Simulated::Unknown(_) => {
                copy = None;
                take(&mut out, f, new);
            }
        }
    }
    out
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
        | "port-isolated" | "mtu-mismatch" | "mtu-overlay" | "bridge-no-addr" => 0,
        "forwarding-off" | "br-netfilter" | "rp-filter-strict" | "wrong-subnet" | "dup-ip"
        | "gateway-neigh" | "neigh-mac" => 1,
        "route-lost" | "no-default" | "no-route" | "drop-route" | "policy-rule" => 2,
        "no-masquerade" | "forward-drop" | "input-drop" | "raw-mangle-drop" | "stale-nat" => 3,
        _ => 4,
    }
}

#[cfg(test)]
#[path = "fix_all_tests.rs"]
mod tests;
