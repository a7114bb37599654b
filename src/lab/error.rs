//! The lab's errors. Each renders as one line naming the scenario, namespace or interface.

use super::SCENARIOS;
use crate::netns::create::NetnsError;
use crate::plan::PlanError;

#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error("unknown scenario {name:?}; known scenarios: {}", SCENARIOS.join(", "))]
    UnknownScenario { name: String },
    #[error("scenario {scenario} is invalid: {reason}")]
    InvalidScenario { scenario: String, reason: String },
    /// A step of the scenario's plan failed; the plan engine rolled back the steps before it
    /// (its message says which step, in which namespace, and what was undone).
    #[error("{error}")]
    StepFailed { error: PlanError },
    /// The plan engine refused or could not run the plan (not root, the state lock is held,
    /// the journal cannot be written, …).
    #[error("{0}")]
    Plan(PlanError),
    #[error("{action} {ns}: {reason}")]
    Namespace {
        action: &'static str,
        ns: String,
        reason: String,
    },
    #[error(transparent)]
    Netns(#[from] NetnsError),
    #[error("lab worker thread panicked")]
    Panicked,
    #[error("unknown fault {fault:?} for scenario {scenario}; its faults: {}", known.join(", "))]
    UnknownFault {
        scenario: String,
        fault: String,
        known: Vec<String>,
    },
    #[error("lab {scenario} is not up (namespace {ns} is missing); run `netlens lab up {scenario}` first")]
    NotUp { scenario: String, ns: String },
    #[error("breaking {scenario} with {fault}: {reason}")]
    BreakFailed {
        scenario: String,
        fault: String,
        reason: String,
    },
}

impl From<PlanError> for LabError {
    fn from(error: PlanError) -> LabError {
        match error {
            error @ PlanError::StepFailed { .. } => LabError::StepFailed { error },
            error => LabError::Plan(error),
        }
    }
}
