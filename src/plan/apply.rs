//! Applying a plan all or nothing. For each step, in order: read the live state and compute
//! the inverse; journal it (synced) BEFORE the change; run the step; journal it done. If step k
//! fails, the inverses of steps k-1…1 run in reverse and the plan is journaled rolled back.
//! Undo errors do not stop the rollback: every one is reported (as netavark's teardown does).
//!
//! The journal can fail too (a full disk). A record that cannot be written before a step means
//! the step does not run; one that cannot be written after it means that step is reverted
//! with the others; either way the message says what is applied. The whole apply holds the
//! state lock: one change at a time.

use std::path::PathBuf;
use std::time::Duration;

use super::clock;
use super::confirm;
use super::error::PlanError;
use super::exec::Engine;
use super::journal::{Event, Journal};
use super::lock;
use super::marks;
use super::reserve;
pub(crate) use super::rewind::run_inverses;
use super::spec::Plan;
use super::step::Step;
use super::validate::{validate, Validated};

#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    /// Roll back unless `confirm` is called within this time (a router's "commit confirmed").
    pub confirm_within: Option<Duration>,
    /// The netlens binary to run as the confirm watchdog (`netlens undo --if-unconfirmed ID`);
    /// default: the running executable. Library users whose executable is not netlens set it.
    pub confirm_helper: Option<PathBuf>,
}

/// A plan that was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub id: String,
    /// Steps that changed something / that found their target state already there.
    pub changed: usize,
    pub unchanged: usize,
    /// With `confirm_within`: the deadline (Unix ms) after which it rolls back by itself.
    pub confirm_deadline_ms: Option<u64>,
}

/// Validates `plan`, then applies it all or nothing and journals it. On failure the network is
/// as before (or the error lists what could not be undone).
pub fn apply(plan: &Plan, opts: &ApplyOptions) -> Result<Applied, PlanError> {
    apply_validated(validate(plan)?, opts)
}

/// Applies a plan its caller validated already (the CLI checks offline before showing the
/// plan and live before asking), so one apply validates each step once.
pub fn apply_validated(checked: Validated<'_>, opts: &ApplyOptions) -> Result<Applied, PlanError> {
    let plan = checked.plan();
    let eng = Engine::new(label(plan), namespaces(plan)).map_err(PlanError::Internal)?;
    let _state = lock::acquire(&format!("plan {}", plan.id))?;
    let journal = Journal::create(plan)?;
    // Held while applying: an undo or watchdog started meanwhile waits for the outcome.
    let lock = journal.lock()?;
    let mut run = Run {
        plan,
        eng,
        journal,
        done: Vec::new(),
        touched: Vec::new(),
    };
    for (index, step) in plan.steps.iter().enumerate() {
        run.step(index, step)?;
        super::test_hook::pause_after_step(index + 1);
    }
    let deadline_ms = opts
        .confirm_within
        .map(|within| clock::now_ms() + u64::try_from(within.as_millis()).unwrap_or(u64::MAX / 2));
    run.close(deadline_ms)?;
    let confirm_deadline_ms = match deadline_ms {
        None => None,
        Some(deadline_ms) => {
            drop(lock);
            run.start_watchdog(opts)?;
            Some(deadline_ms)
        }
    };
    Ok(Applied {
        id: plan.id.clone(),
        changed: run.done.len(),
        unchanged: plan.steps.len() - run.done.len(),
        confirm_deadline_ms,
    })
}

/// Every namespace the plan touches, in order of appearance.
fn namespaces(plan: &Plan) -> Vec<String> {
    let mut namespaces: Vec<String> = Vec::new();
    for s in &plan.steps {
        for ns in s.namespaces() {
            if !namespaces.iter().any(|n| n == ns) {
                namespaces.push(ns.to_string());
            }
        }
    }
    namespaces
}

/// The label written into persisted sysctl files.
fn label(plan: &Plan) -> String {
    if plan.title.is_empty() {
        format!("plan {}", plan.id)
    } else {
        format!("plan {}: {}", plan.id, plan.title)
    }
}

/// One apply under way: what ran so far, to journal and to roll back.
struct Run<'a> {
    plan: &'a Plan,
    eng: Engine,
    journal: Journal,
    /// The inverse of every step that changed something, by step index.
    done: Vec<(usize, Vec<Step>)>,
    /// Every object the plan changed so far, observed after each step (see `marks`).
    touched: Vec<(marks::Object, Option<marks::State>)>,
}

impl Run<'_> {
    /// Prepares, journals and runs step `index`; on any failure rolls back the steps before it.
    fn step(&mut self, index: usize, step: &Step) -> Result<(), PlanError> {
        let journaled = match self.change(index, step) {
            Ok(None) => self
                .journal
                .append(Event::StepSkipped { index })
                .map_err(|e| format!("it changed nothing, but {e}")),
            Ok(Some(inverse)) => {
                let r = self.journal.append(Event::StepDone {
                    index,
                    inverse: inverse.clone(),
                });
                let r = r.and_then(|()| {
                    self.journal.append(Event::Left {
                        index,
                        marks: marks::observe_all(&mut self.eng, &self.touched),
                    })
                });
                // Done but not journaled as done: revert it with the others.
                self.done.push((index, inverse));
                r.map_err(|e| format!("it ran, but {e}, so it was reverted too"))
            }
            Err(reason) => Err(reason),
        };
        let Err(reason) = journaled else {
            return Ok(());
        };
        let (rolled_back, rollback_errors, note) =
            self.roll_back(format!("step {} failed: {reason}", index + 1));
        Err(PlanError::StepFailed {
            number: index + 1,
            step: step.to_string(),
            ns: step.ns().to_string(),
            reason: format!("{reason}{note}"),
            rolled_back,
            rollback_errors,
        })
    }

    /// Reads the live state, journals the inverse, runs the step. `None`: it already held.
    fn change(&mut self, index: usize, step: &Step) -> Result<Option<Vec<Step>>, String> {
        let prepared = self.eng.prepare(step).map_err(|e| e.to_string())?;
        if prepared.noop {
            return Ok(None);
        }
        super::validate::inverse_steps(&prepared.inverse)
            .map_err(|(inv, why)| format!("its undo ({inv}) would be refused: {why}"))?;
        // Not journaled, not run: the error rolls back the steps before it.
        self.journal
            .append(Event::StepStarted {
                index,
                inverse: prepared.inverse.clone(),
            })
            .map_err(|e| e.to_string())?;
        let before = marks::before(&mut self.eng, step);
        let refined = self.eng.execute(step).map_err(|e| e.to_string())?;
        for o in marks::objects(step, &before) {
            if !self.touched.iter().any(|(t, _)| *t == o) {
                let was = marks::before_state(&before, &o);
                self.touched.push((o, was));
            }
        }
        Ok(Some(refined.unwrap_or(prepared.inverse)))
    }

    /// Journals the plan committed, or awaiting confirmation until `deadline_ms`.
    fn close(&mut self, deadline_ms: Option<u64>) -> Result<(), PlanError> {
        let closing = match deadline_ms {
            None => Event::Committed,
            Some(deadline_ms) => Event::AwaitingConfirm { deadline_ms },
        };
        let Err(e) = self.journal.append(closing) else {
            return Ok(());
        };
        // Applied but not recorded as such: all or nothing, so nothing.
        let reason = format!("every step ran, but {e}, so all were reverted");
        let (rolled_back, rollback_errors, note) = self.roll_back(reason.clone());
        Err(PlanError::NotJournaled {
            id: self.plan.id.clone(),
            reason: format!("{reason}{note}"),
            rolled_back,
            rollback_errors,
        })
    }

    fn start_watchdog(&mut self, opts: &ApplyOptions) -> Result<(), PlanError> {
        let id = &self.plan.id;
        match confirm::spawn_watchdog(id, opts.confirm_helper.as_deref()) {
            // Best effort: without it `journal` says the watchdog is not running.
            Ok(pid) => {
                let _ = self.journal.append(Event::WatchdogStarted { pid });
                Ok(())
            }
            Err(e) => {
                // Without a watchdog nothing would roll back: undo now rather than leave an
                // unguarded change.
                let _ = confirm::rollback_if_unconfirmed(id, false);
                Err(e)
            }
        }
    }

    fn roll_back(&mut self, reason: String) -> (usize, Vec<String>, String) {
        roll_back(
            &mut self.eng,
            &mut self.journal,
            self.plan,
            &self.done,
            reason,
        )
    }
}

/// Reverts the steps done so far after a failure and journals `rolled_back` (after giving
/// back the undo reserve, so a full disk still takes the record). Returns the steps undone,
/// the undo errors, and a note when the rollback itself could not be journaled.
fn roll_back(
    eng: &mut Engine,
    journal: &mut Journal,
    plan: &Plan,
    done: &[(usize, Vec<Step>)],
    reason: String,
) -> (usize, Vec<String>, String) {
    let (rolled_back, rollback_errors) = run_inverses(eng, done);
    reserve::release_some(&plan.id);
    let note = match journal.append(Event::RolledBack {
        reason,
        errors: rollback_errors.clone(),
    }) {
        Ok(()) => String::new(),
        Err(e) => format!(
            " (and the rollback could not be journaled: {e}; `netlens undo {}` finds what is left)",
            plan.id
        ),
    };
    if rollback_errors.is_empty() {
        reserve::remove(&plan.id);
    }
    (rolled_back, rollback_errors, note)
}
