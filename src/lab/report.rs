//! What `up`, `down`, `break` and `status` report (serialized by `lab status --json`).

use serde::Serialize;

use super::Fault;
use crate::model::LinkKind;

/// What `up` did.
#[derive(Debug, Clone, Serialize)]
pub struct UpReport {
    pub scenario: String,
    pub namespaces: Vec<String>,
    pub steps: usize,
    /// Steps that changed something (0 when the scenario was already up).
    pub changed: usize,
    pub elapsed_ms: u128,
    /// The id of the journaled plan: `netlens undo ID` takes the scenario down again.
    pub plan_id: String,
}

/// What `down` did.
#[derive(Debug, Clone, Serialize)]
pub struct DownReport {
    pub scenario: String,
    /// Namespaces that existed and were deleted.
    pub deleted: Vec<String>,
    /// The id of the journaled plan (`None` when there was nothing to delete): `netlens undo
    /// ID` brings the scenario back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_id: Option<String>,
}

/// What `break` did.
#[derive(Debug, Clone, Serialize)]
pub struct BreakReport {
    pub scenario: String,
    pub fault: Fault,
}

/// Whether one namespace a scenario expects exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScenarioNs {
    pub name: String,
    pub exists: bool,
}

/// Whether one expected interface exists, has the expected kind, and is up when it should be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkStatus {
    pub ns: String,
    pub name: String,
    pub exists: bool,
    /// `veth`, `bridge`, or `None` for interfaces the scenario only configures (`lo`).
    pub expected_kind: Option<LinkKind>,
    /// The kind found (`None` if missing or a kind-less device such as `lo`).
    pub kind: Option<LinkKind>,
    pub expected_up: bool,
    pub up: bool,
}

impl LinkStatus {
    /// Exists, right kind, up if it should be.
    pub fn ok(&self) -> bool {
        self.exists
            && (self.expected_kind.is_none() || self.kind == self.expected_kind)
            && (self.up || !self.expected_up)
    }
}

/// Overall state of a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LabState {
    /// Every namespace and interface exists and is up as expected.
    Complete,
    /// Some but not all.
    Partial,
    /// No namespace of the scenario exists.
    Absent,
}

/// Which of a scenario's namespaces and interfaces exist, against what the scenario expects.
#[derive(Debug, Clone, Serialize)]
pub struct LabStatus {
    pub scenario: String,
    pub state: LabState,
    pub complete: bool,
    pub namespaces: Vec<ScenarioNs>,
    pub links: Vec<LinkStatus>,
}
