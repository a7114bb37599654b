//! What can go wrong with a plan, one line each, naming the step, namespace and object.

/// Errors of the plan engine. [`PlanError::is_bad_input`] tells refusals before anything ran
/// (exit 2 at the CLI) from failures while running (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("cannot read plan {path}: {reason}")]
    BadPlanFile { path: String, reason: String },
    #[error("step {number} ({step}): {reason}")]
    Invalid {
        /// 1-based, as shown in the preview.
        number: usize,
        step: String,
        reason: String,
    },
    #[error("{0}")]
    Refused(String),
    #[error("changing a network needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN to enter namespaces); run it with sudo")]
    NotRoot,
    #[error("journal {path}: {reason}")]
    Journal { path: String, reason: String },
    /// The state dir or journal dir could be swapped or written by someone else.
    #[error("refusing the state directory {path}: it {reason}")]
    UnsafeStateDir { path: String, reason: String },
    /// `--no-wait` and another change holds the state lock.
    #[error("another change is in progress: {holder}; nothing changed (run again without --no-wait to wait for it)")]
    Busy { holder: String },
    /// Every step ran but the outcome could not be journaled, so it was all reverted.
    #[error("plan {id}: {reason}; {}", rollback_summary(*rolled_back, rollback_errors))]
    NotJournaled {
        id: String,
        reason: String,
        rolled_back: usize,
        rollback_errors: Vec<String>,
    },
    #[error("step {number} ({step}) failed in {ns}: {reason}; {}", rollback_summary(*rolled_back, rollback_errors))]
    StepFailed {
        number: usize,
        step: String,
        ns: String,
        reason: String,
        /// Steps undone.
        rolled_back: usize,
        rollback_errors: Vec<String>,
    },
    #[error("no plan {id} in the journal")]
    UnknownPlan { id: String },
    #[error("nothing to undo: no applied plan in the journal")]
    NothingToUndo,
    #[error("plan {id} is {state}: {action}")]
    WrongState {
        id: String,
        state: String,
        action: String,
    },
    #[error("refusing to undo plan {id}: {} object(s) changed since it was applied: {}; nothing changed (`netlens undo {id} --force` undoes it anyway, overwriting those changes)", changes.len(), changes.join("; "))]
    ChangedSince { id: String, changes: Vec<String> },
    #[error("undoing plan {id} left {} error(s): {}", errors.len(), errors.join("; "))]
    UndoFailed { id: String, errors: Vec<String> },
    #[error("{0}")]
    Internal(String),
}

fn rollback_summary(rolled_back: usize, errors: &[String]) -> String {
    if errors.is_empty() {
        format!("rolled back the {rolled_back} step(s) that had run; the network is as before")
    } else {
        format!(
            "rolled back {rolled_back} step(s) but {} undo error(s) remain: {}",
            errors.len(),
            errors.join("; ")
        )
    }
}

impl PlanError {
    /// Refused before anything ran: bad file, invalid step, unknown namespace, no root, an
    /// unsafe state directory, another change in progress under `--no-wait`.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            PlanError::BadPlanFile { .. }
                | PlanError::Invalid { .. }
                | PlanError::Refused(_)
                | PlanError::NotRoot
                | PlanError::UnknownPlan { .. }
                | PlanError::UnsafeStateDir { .. }
                | PlanError::Busy { .. }
        )
    }
}
