//! Reverting an applied plan later: its journaled inverses run in reverse step order. Works
//! for a committed plan, one awaiting confirmation, and one whose process died mid-apply
//! (inverses recorded before each step make that safe: a step that never ran has an inverse
//! that finds nothing to do).

use super::apply::run_inverses;
use super::error::PlanError;
use super::exec::Engine;
use super::journal::{self, Entry, Event, Journal};
use super::lock;
use super::marks;
use super::reserve;
use super::step::Step;

/// Which plan to undo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UndoTarget {
    /// The most recent plan whose changes are still in place.
    Latest,
    Id(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undone {
    pub id: String,
    pub title: String,
    /// Original steps reverted.
    pub steps: usize,
}

/// The plan `target` names, and the inverse steps undo would run, in order.
pub fn undo_preview(target: &UndoTarget) -> Result<(Entry, Vec<Step>), PlanError> {
    let entry = find(target)?;
    if !entry.state.undoable() {
        return Err(wrong_state(&entry, "nothing to undo"));
    }
    let steps = entry
        .inverses()
        .into_iter()
        .rev()
        .flat_map(|(_, s)| s)
        .collect();
    Ok((entry, steps))
}

fn wrong_state(entry: &Entry, action: &str) -> PlanError {
    PlanError::WrongState {
        id: entry.plan.id.clone(),
        state: entry.state.as_str().to_string(),
        action: action.to_string(),
    }
}

/// A plan with damaged lines is not undone: what it would revert may be in the lost line.
fn refuse_damaged(entry: &Entry) -> Result<(), PlanError> {
    match entry.problems.first() {
        None => Ok(()),
        Some(first) => Err(PlanError::Journal {
            path: first.clone(),
            reason: format!(
                "plan {} has a damaged journal ({} damaged line(s)); netlens will not guess what it changed: repair or move that file, and check the network by hand",
                entry.plan.id,
                entry.problems.len()
            ),
        }),
    }
}

/// The plan `target` names. `Latest` is the highest sequence number still in effect; while
/// any journal is damaged it refuses rather than skip past a plan it cannot read.
fn find(target: &UndoTarget) -> Result<Entry, PlanError> {
    let entry = match target {
        UndoTarget::Id(id) => journal::read(id)?,
        UndoTarget::Latest => {
            let entries = journal::list()?;
            if let Some(d) = entries.iter().find(|e| !e.problems.is_empty()) {
                refuse_damaged(d)?;
            }
            entries
                .into_iter()
                .rev()
                .find(|e| e.state.undoable())
                .ok_or(PlanError::NothingToUndo)?
        }
    };
    refuse_damaged(&entry)?;
    Ok(entry)
}

/// Undoes the plan `target` names, unless something the plan changed was changed again since
/// (then nothing is changed and the error names each object).
pub fn undo(target: &UndoTarget) -> Result<Undone, PlanError> {
    undo_with(target, false)
}

/// [`undo`]; with `force`, also over later changes to what the plan changed.
pub fn undo_with(target: &UndoTarget, force: bool) -> Result<Undone, PlanError> {
    if !nix::unistd::geteuid().is_root() {
        return Err(PlanError::NotRoot);
    }
    let id = find(target)?.plan.id;
    revert_checked(
        &id,
        force,
        |entry| entry.state.undoable(),
        |errors| Event::Undone { errors },
    )
}

/// Refuses when something `entry`'s plan changed was changed again since it was applied
/// (the same check undo makes under the lock, early, so the CLI can say so before asking).
pub fn check_unchanged(entry: &Entry) -> Result<(), PlanError> {
    if marks::left_by(entry).is_none_or(|left| left.is_empty()) || !nix::unistd::geteuid().is_root()
    {
        return Ok(());
    }
    let mut eng = engine_for(entry)?;
    refuse_later_changes(&mut eng, entry)
}

/// An engine for the namespaces `entry`'s plan touches.
fn engine_for(entry: &Entry) -> Result<Engine, PlanError> {
    let namespaces = entry
        .plan
        .steps
        .iter()
        .flat_map(|s| s.namespaces().into_iter().map(str::to_string))
        .collect();
    Engine::new(format!("undo of plan {}", entry.plan.id), namespaces).map_err(PlanError::Internal)
}

/// [`PlanError::ChangedSince`] naming every object the plan left that is neither as it left it
/// nor back as it was before.
fn refuse_later_changes(eng: &mut Engine, entry: &Entry) -> Result<(), PlanError> {
    let Some(left) = marks::left_by(entry) else {
        return Ok(());
    };
    let changes = marks::changed_since(eng, &left);
    if changes.is_empty() {
        Ok(())
    } else {
        Err(PlanError::ChangedSince {
            id: entry.plan.id.clone(),
            changes,
        })
    }
}

/// [`revert_checked`] forced: the confirm watchdog reverts an unconfirmed change whatever
/// happened to it meanwhile — rolling back is the whole point of not confirming.
pub(crate) fn revert(
    id: &str,
    allowed: impl Fn(&Entry) -> bool,
    closing: impl FnOnce(Vec<String>) -> Event,
) -> Result<Undone, PlanError> {
    revert_checked(id, true, allowed, closing)
}

/// Under the plan's lock: re-reads its state, checks `allowed`, (unless `force`) checks that
/// nothing the plan changed was changed again since, runs the inverses and closes the journal
/// with `closing`. Shared by undo and the confirm timeout, so only one of them ever acts on a
/// plan.
pub(crate) fn revert_checked(
    id: &str,
    force: bool,
    allowed: impl Fn(&Entry) -> bool,
    closing: impl FnOnce(Vec<String>) -> Event,
) -> Result<Undone, PlanError> {
    let _state = lock::acquire(&format!("undo of plan {id}"))?;
    let mut j = Journal::open(id)?;
    let _lock = j.lock()?;
    let entry = journal::read(id)?;
    refuse_damaged(&entry)?;
    if !allowed(&entry) {
        return Err(wrong_state(&entry, "nothing to undo"));
    }
    let mut eng = engine_for(&entry)?;
    // Before anything changes: refuse the whole undo rather than destroy later work.
    if !force {
        refuse_later_changes(&mut eng, &entry)?;
    }
    // Room for the records below even on a full disk (set aside at apply time).
    reserve::release_some(id);
    j.append(Event::UndoStarted {
        pid: std::process::id(),
    })?;
    let inverses = entry.inverses();
    let (steps, errors) = run_inverses(&mut eng, &inverses);
    // The inverses ran: a failed record must not read as "nothing happened".
    j.append(closing(errors.clone()))
        .map_err(|e| PlanError::UndoFailed {
            id: id.to_string(),
            errors: vec![format!(
                "{} reverted, but {e}; run `netlens undo {id}` again to record it",
                crate::text::plural_of(steps, "step was", "steps were")
            )],
        })?;
    if errors.is_empty() {
        reserve::remove(id);
        Ok(Undone {
            id: id.to_string(),
            title: entry.plan.title.clone(),
            steps,
        })
    } else {
        Err(PlanError::UndoFailed {
            id: id.to_string(),
            errors,
        })
    }
}
