//! Reads a scenario's status back: which of its namespaces and interfaces exist, of the
//! expected kind and up. Reads only; building and breaking are plans the plan engine runs.

use std::collections::HashSet;

use super::{LabError, LabState, LabStatus, LinkStatus, Scenario, ScenarioNs};
use crate::netlink::query::{get_link, is_up, kind_name, link_kind};
use crate::netlink::session::Session;
use crate::netns::create::netns_exists;

/// Reads which of the scenario's namespaces and links exist. Creates nothing.
pub(super) fn status(scenario: &Scenario) -> Result<LabStatus, LabError> {
    let fail = |reason: String| LabError::Namespace {
        action: "read status of scenario",
        ns: scenario.name.to_string(),
        reason,
    };
    let mut session = Session::new().map_err(fail)?;
    let mut namespaces = Vec::new();
    let mut live = HashSet::new();
    for ns in scenario.namespaces() {
        let exists = netns_exists(ns)?;
        if exists {
            live.insert(ns);
        }
        namespaces.push(ScenarioNs {
            name: ns.to_string(),
            exists,
        });
    }
    let mut links = Vec::new();
    for expected in scenario.links() {
        let found = if live.contains(expected.ns) {
            let handle = session.handle(expected.ns).map_err(fail)?;
            session
                .rt
                .block_on(get_link(&handle, expected.name))
                .map_err(fail)?
        } else {
            None
        };
        links.push(LinkStatus {
            ns: expected.ns.to_string(),
            name: expected.name.to_string(),
            exists: found.is_some(),
            expected_kind: expected.kind,
            kind: found.as_ref().and_then(link_kind).map(kind_name),
            expected_up: expected.up,
            up: found.as_ref().is_some_and(is_up),
        });
    }
    let complete = namespaces.iter().all(|n| n.exists) && links.iter().all(LinkStatus::ok);
    let state = if complete {
        LabState::Complete
    } else if live.is_empty() {
        LabState::Absent
    } else {
        LabState::Partial
    };
    Ok(LabStatus {
        scenario: scenario.name.to_string(),
        state,
        complete,
        namespaces,
        links,
    })
}
