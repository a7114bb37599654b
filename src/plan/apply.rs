//! Applying a plan all or nothing. For each step, in order: read the live state and compute
//! the inverse; journal it (synced) BEFORE the change; run the step; journal it done. If step k
//! fails, the inverses of steps k-1…1 run in reverse and the plan is journaled rolled back.
//! Undo errors do not stop the rollback: every one is reported (as netavark's teardown does).

use std::path::PathBuf;
use std::time::Duration;

use super::clock;
use super::confirm;
use super::error::PlanError;
use super::exec::Engine;
use super::inverse::prepare;
use super::journal::{Event, Journal};
use super::marks;
pub(crate) use super::rewind::run_inverses;
use super::spec::Plan;
use super::step::Step;
use super::validate::validate;

/// Test-only: after step N (1-based) is journaled done, sleep so a test can kill the process
/// mid-plan and check that `undo` recovers. Never set it in production.
pub const TEST_PAUSE_ENV: &str = "NETLENS_TEST_PAUSE_AFTER_STEP";

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

fn test_pause(number: usize) {
    let wanted = std::env::var(TEST_PAUSE_ENV)
        .ok()
        .and_then(|v| v.parse::<usize>().ok());
    if wanted == Some(number) {
        eprintln!("netlens: {TEST_PAUSE_ENV}={number}: pausing (test hook)");
        std::thread::sleep(Duration::from_secs(60));
    }
}

/// Validates `plan`, then applies it all or nothing and journals it. On failure the network is
/// as before (or the error lists what could not be undone).
pub fn apply(plan: &Plan, opts: &ApplyOptions) -> Result<Applied, PlanError> {
    validate(plan)?;
    let mut namespaces: Vec<String> = Vec::new();
    for s in &plan.steps {
        for ns in s.namespaces() {
            if !namespaces.iter().any(|n| n == ns) {
                namespaces.push(ns.to_string());
            }
        }
    }
    let label = if plan.title.is_empty() {
        format!("plan {}", plan.id)
    } else {
        format!("plan {}: {}", plan.id, plan.title)
    };
    let mut eng = Engine::new(label, namespaces).map_err(PlanError::Internal)?;
    let mut journal = Journal::create(plan)?;
    // Held while applying: an undo or watchdog started meanwhile waits for the outcome.
    let lock = journal.lock()?;

    let mut done: Vec<(usize, Vec<Step>)> = Vec::new();
    let mut changed = 0;
    // Every object the plan changed so far, observed after each step (see `marks`).
    let mut touched: Vec<(marks::Object, Option<marks::State>)> = Vec::new();
    for (index, step) in plan.steps.iter().enumerate() {
        let outcome = prepare(&mut eng, step).and_then(|prepared| {
            if prepared.noop {
                return Ok(None);
            }
            journal
                .append(Event::StepStarted {
                    index,
                    inverse: prepared.inverse.clone(),
                })
                .map_err(|e| e.to_string())?;
            let before = marks::before(&mut eng, step);
            let refined = eng.execute(step)?;
            for o in marks::objects(step, &before) {
                if !touched.iter().any(|(t, _)| *t == o) {
                    let was = marks::before_state(&before, &o);
                    touched.push((o, was));
                }
            }
            Ok(Some(refined.unwrap_or(prepared.inverse)))
        });
        match outcome {
            Ok(None) => journal.append(Event::StepSkipped { index })?,
            Ok(Some(inverse)) => {
                journal.append(Event::StepDone {
                    index,
                    inverse: inverse.clone(),
                })?;
                journal.append(Event::Left {
                    index,
                    marks: marks::observe_all(&mut eng, &touched),
                })?;
                done.push((index, inverse));
                changed += 1;
            }
            Err(reason) => {
                let (rolled_back, rollback_errors) = run_inverses(&mut eng, &done);
                journal.append(Event::RolledBack {
                    reason: format!("step {} failed: {reason}", index + 1),
                    errors: rollback_errors.clone(),
                })?;
                return Err(PlanError::StepFailed {
                    number: index + 1,
                    step: step.to_string(),
                    ns: step.ns().to_string(),
                    reason,
                    rolled_back,
                    rollback_errors,
                });
            }
        }
        test_pause(index + 1);
    }

    let confirm_deadline_ms = match opts.confirm_within {
        None => {
            journal.append(Event::Committed)?;
            None
        }
        Some(within) => {
            let deadline_ms =
                clock::now_ms() + u64::try_from(within.as_millis()).unwrap_or(u64::MAX / 2);
            journal.append(Event::AwaitingConfirm { deadline_ms })?;
            drop(lock);
            if let Err(e) = confirm::spawn_watchdog(&plan.id, opts.confirm_helper.as_deref()) {
                // Without a watchdog nothing would roll back: undo now rather than leave an
                // unguarded change.
                let _ = confirm::rollback_if_unconfirmed(&plan.id, false);
                return Err(e);
            }
            Some(deadline_ms)
        }
    };
    Ok(Applied {
        id: plan.id.clone(),
        changed,
        unchanged: plan.steps.len() - changed,
        confirm_deadline_ms,
    })
}
