//! Running a plan's journaled inverses: the rollback of a failed apply, `undo`, and the
//! confirm watchdog all go through [`run_inverses`].

use super::exec::Engine;
use super::step::Step;
use crate::netlink::query::get_link;

/// Runs inverse steps (per original step, latest first). A step whose target state already
/// holds is skipped. Returns how many original steps were undone and every error met.
pub(crate) fn run_inverses(
    eng: &mut Engine,
    inverses: &[(usize, Vec<Step>)],
) -> (usize, Vec<String>) {
    // A journal is data read back from disk: its inverses pass the same checks as a plan's
    // steps before any of them runs.
    if let Err(e) = super::validate::validate_inverses(inverses) {
        return (0, vec![e]);
    }
    let mut undone = 0;
    let mut errors = Vec::new();
    let mut count = 0;
    for (index, steps) in inverses.iter().rev() {
        let mut ok = true;
        for step in steps {
            let result = holds(eng, step).and_then(|holds| {
                if holds {
                    Ok(())
                } else {
                    eng.execute(step).map(|_| ()).map_err(|e| e.to_string())
                }
            });
            if let Err(e) = result {
                ok = false;
                errors.push(format!("undoing step {} ({step}): {e}", index + 1));
            }
            count += 1;
            super::test_hook::pause_after_undo_step(count);
        }
        if ok {
            undone += 1;
        }
    }
    (undone, errors)
}

/// Whether the state `step` establishes already holds, so running it would change nothing.
/// Used on inverses during undo, where only that matters: deleting a link is checked by
/// existence alone (its own inverse, which may need a scan for a veth's peer, is not needed).
///
/// Undo must converge: run again after being killed at any point, every inverse it already
/// ran holds. Two cases need more than `prepare`:
/// - a link moved back already is absent where the inverse would move it from, and present
///   where it goes;
/// - an inverse that sets something on a link (MTU, master, admin state, an address, a route
///   through it) whose link is gone: the undo itself deleted it (a link the plan created,
///   whose deletion ran before the kill) — nothing of it is left to set. Someone else deleting
///   it after the plan is caught before undo starts (see `marks`).
pub fn holds(eng: &mut Engine, step: &Step) -> Result<bool, String> {
    match step {
        Step::DeleteLink { ns, name } => {
            let h = eng.handle(ns)?;
            return Ok(eng.block_on(get_link(&h, name))?.is_none());
        }
        Step::MoveLink { ns, name, to_ns } => {
            let (h, ht) = (eng.handle(ns)?, eng.handle(to_ns)?);
            let here = eng.block_on(get_link(&h, name))?;
            let there = eng.block_on(get_link(&ht, name))?;
            if here.is_none() && there.is_some() {
                return Ok(true);
            }
        }
        _ => {}
    }
    if let Some((ns, link)) = link_of(step) {
        let h = eng.handle(ns)?;
        if eng.block_on(get_link(&h, link))?.is_none() {
            return Ok(true);
        }
    }
    eng.prepare(step).map(|p| p.noop).map_err(|e| e.to_string())
}

/// The existing link a step sets something on.
fn link_of(step: &Step) -> Option<(&str, &str)> {
    match step {
        Step::SetMaster { ns, link, .. }
        | Step::SetLinkUp { ns, link, .. }
        | Step::SetMtu { ns, link, .. }
        | Step::AddAddress { ns, link, .. }
        | Step::DelAddress { ns, link, .. } => Some((ns, link)),
        Step::AddRoute { ns, route } | Step::RestoreRoute { ns, route, .. } => {
            route.dev.as_deref().map(|d| (ns.as_str(), d))
        }
        _ => None,
    }
}
