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
    #[error("refusing to undo plan {id}: {} changed since it was applied: {}; nothing changed (`netlens undo {id} --force` undoes it anyway, overwriting those changes)", crate::text::plural(changes.len(), "object"), changes.join("; "))]
    ChangedSince { id: String, changes: Vec<String> },
    #[error("undoing plan {id} left {}: {}", crate::text::plural(errors.len(), "error"), errors.join("; "))]
    UndoFailed { id: String, errors: Vec<String> },
    #[error("{0}")]
    Internal(String),
}

fn rollback_summary(rolled_back: usize, errors: &[String]) -> String {
    if errors.is_empty() {
        format!(
            "rolled back the {} that had run; the network is as before",
            crate::text::plural(rolled_back, "step")
        )
    } else {
        format!(
            "rolled back {} but {} {} left: {}",
            crate::text::plural(rolled_back, "step"),
            crate::text::plural(errors.len(), "undo error"),
            if errors.len() == 1 { "is" } else { "are" },
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_in_the_singular_when_one() {
        assert_eq!(
            rollback_summary(1, &[]),
            "rolled back the 1 step that had run; the network is as before"
        );
        let two = rollback_summary(2, &["e".into()]);
        assert!(
            two.starts_with("rolled back 2 steps but 1 undo error is left: e"),
            "{two}"
        );
        let e = PlanError::UndoFailed {
            id: "p1".into(),
            errors: vec!["x".into()],
        };
        assert_eq!(e.to_string(), "undoing plan p1 left 1 error: x");
    }
}
