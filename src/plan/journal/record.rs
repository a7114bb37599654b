//! The journal's records, one a line (see [`super`]), and the states a plan's records put it
//! in: the file format netlens reads back, from this version and older ones.

use serde::{Deserialize, Serialize};

use crate::plan::spec::Plan;
use crate::plan::step::Step;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Started {
        plan: Plan,
        pid: u32,
        /// The plan's place in the order plans were applied (0 in older journals).
        #[serde(default)]
        plan_seq: u64,
    },
    StepStarted {
        index: usize,
        inverse: Vec<Step>,
    },
    StepDone {
        index: usize,
        inverse: Vec<Step>,
    },
    StepSkipped {
        index: usize,
    },
    /// After step `index` changed something: the state of every object the plan has changed
    /// so far, as it left them (undo compares before reverting; see `marks`).
    Left {
        index: usize,
        marks: Vec<crate::plan::marks::Mark>,
    },
    Committed,
    AwaitingConfirm {
        /// Unix milliseconds.
        deadline_ms: u64,
    },
    Confirmed,
    RolledBack {
        reason: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        errors: Vec<String>,
    },
    UndoStarted {
        pid: u32,
    },
    Undone {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        errors: Vec<String>,
    },
    /// The confirm watchdog runs as this pid (`journal` says whether it still does).
    WatchdogStarted {
        pid: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The record's number in its file, from 1 (0: an older journal without numbers).
    #[serde(default)]
    pub seq: u64,
    /// Unix seconds.
    pub at: u64,
    #[serde(flatten)]
    pub event: Event,
}

/// Where a plan stands, from its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanState {
    /// Being applied by a live process.
    Applying,
    /// The applying process died mid-way: undo reverts the steps it did.
    Interrupted,
    AwaitingConfirm,
    Committed,
    RolledBack,
    Undoing,
    Undone,
    /// An undo left errors; undo can be run again.
    UndoFailed,
    /// The journal cannot be read as a plan (no readable `started` record).
    Damaged,
}

impl PlanState {
    pub fn as_str(self) -> &'static str {
        match self {
            PlanState::Applying => "applying",
            PlanState::Interrupted => "interrupted",
            PlanState::AwaitingConfirm => "awaiting confirm",
            PlanState::Committed => "committed",
            PlanState::RolledBack => "rolled back",
            PlanState::Undoing => "undoing",
            PlanState::Undone => "undone",
            PlanState::UndoFailed => "undo failed",
            PlanState::Damaged => "damaged",
        }
    }

    /// States in which the network still holds (part of) the plan's changes.
    pub fn undoable(self) -> bool {
        matches!(
            self,
            PlanState::Interrupted
                | PlanState::AwaitingConfirm
                | PlanState::Committed
                | PlanState::Undoing
                | PlanState::UndoFailed
        )
    }
}
