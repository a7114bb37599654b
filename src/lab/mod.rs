//! Lab scenarios: small, reproducible network topologies built from namespaces, veth pairs and
//! bridges, following the reference notes (host as a router, namespaces behind a bridge with
//! NAT, a three-node cluster with routed pod subnets), and fault drills that break them.
//!
//! The lab writes nothing itself. A scenario is a list of [`plan::Step`](crate::plan::Step)s
//! (`router.rs`, `bridge.rs`, `cluster.rs`, built with `build.rs`), starting with `CreateNs`;
//! a fault is a few more (`faults.rs`, `fault_lists.rs`). `up` and `break` hand them to the
//! plan engine as a plan — validated, journaled, all or nothing, undoable with `netlens undo`.
//! Steps whose target already holds are no-ops there, so `up` twice gives the same result.
//! Every object lives in namespaces named `<scenario>-<role>` — even the scenario's "host" is
//! a namespace — so nothing is ever added to the namespace netlens runs in.
//!
//! `down` is a plan too (`down.rs`), built from the scenario and what exists of it now rather
//! than by undoing `up` (which fails once the lab changed since — a drill, a doctor fix — or
//! when an older netlens built it without a journal): the drills' `/etc/netns` files, the
//! scenario's links, then each namespace. `netlens undo` after `down` brings the scenario back
//! as it was, drills included.

mod bridge;
mod build;
mod cluster;
mod down;
mod error;
mod etc_files;
mod fault_lists;
mod faults;
mod report;
mod router;
mod scenario;
mod status;

pub use error::LabError;
pub use fault_lists::faults;
pub use faults::{DrillProbe, Fault, ETC_MARKER, FAULTS};
pub use report::{BreakReport, DownReport, LabState, LabStatus, LinkStatus, ScenarioNs, UpReport};
pub use scenario::{ExpectedLink, Scenario};

use std::time::Instant;

use crate::netns::create::netns_exists;
use crate::plan::{self, ApplyOptions, Plan, Step};

/// Names of the known scenarios.
pub const SCENARIOS: &[&str] = &["router", "bridge", "cluster"];

/// The scenario called `name`, or [`LabError::UnknownScenario`].
pub fn scenario(name: &str) -> Result<Scenario, LabError> {
    let steps = match name {
        "router" => router::steps(),
        "bridge" => bridge::steps(),
        "cluster" => cluster::steps(),
        _ => {
            return Err(LabError::UnknownScenario {
                name: name.to_string(),
            })
        }
    };
    let name = SCENARIOS
        .iter()
        .find(|known| **known == name)
        .copied()
        .unwrap_or("unknown");
    Ok(Scenario { name, steps })
}

/// Builds scenario `name` (idempotent) as a plan the plan engine applies and journals, with
/// no confirmation (as `netlens apply --yes`). If a step fails, the engine undoes the steps
/// before it — namespaces and links this call created go again — and the step's error is
/// returned.
///
/// Blocking. Runs on its own thread, so it may be called from anywhere, including from inside
/// a tokio runtime.
pub fn up(name: &str) -> Result<UpReport, LabError> {
    let scenario = scenario(name)?;
    scenario.validate()?;
    let start = Instant::now();
    let plan = Plan::new(format!("lab up {}", scenario.name), scenario.steps.clone());
    let applied = on_worker(|| plan::apply(&plan, &ApplyOptions::default()))??;
    close_if_unchanged(&applied)?;
    Ok(UpReport {
        scenario: scenario.name.to_string(),
        namespaces: scenario
            .namespaces()
            .iter()
            .map(|s| s.to_string())
            .collect(),
        steps: scenario.steps.len(),
        changed: applied.changed,
        elapsed_ms: start.elapsed().as_millis(),
        plan_id: applied.id,
    })
}

/// Deletes every namespace of scenario `name` with the links the scenario made in them, and
/// the `/etc/netns` files its drills wrote, as a plan the plan engine applies and journals
/// (`netlens undo` brings them back). Succeeds, changing nothing, when the scenario is not up.
pub fn down(name: &str) -> Result<DownReport, LabError> {
    let scenario = scenario(name)?;
    scenario.validate()?;
    let mut up = Vec::new();
    let mut files = Vec::new();
    for ns in scenario.namespaces() {
        if netns_exists(ns)? {
            up.push(ns);
        }
        files.extend(
            etc_files::drill_files(ns)
                .into_iter()
                .map(|p| (ns.to_string(), p)),
        );
    }
    let mut report = DownReport {
        scenario: scenario.name.to_string(),
        deleted: up.iter().map(|s| s.to_string()).collect(),
        plan_id: None,
    };
    let steps = down::steps(&scenario, &up, &files);
    if steps.is_empty() {
        return Ok(report);
    }
    let plan = Plan::new(format!("lab down {}", scenario.name), steps);
    let applied = on_worker(|| plan::apply(&plan, &ApplyOptions::default()))??;
    close_if_unchanged(&applied)?;
    if applied.changed > 0 {
        report.plan_id = Some(applied.id);
    }
    Ok(report)
}

/// Introduces fault `fault` into the built scenario `name` (see [`faults`]) as a plan the
/// plan engine applies and journals, so `netlens undo` repairs it. Touches only the
/// scenario's own namespaces (and their `/etc/netns/NAME` files).
pub fn break_fault(name: &str, fault: &str) -> Result<BreakReport, LabError> {
    let scenario = scenario(name)?;
    scenario.validate()?;
    let chosen = find_fault(&scenario, fault)?;
    let owned = scenario.namespaces();
    for change in &chosen.changes {
        scenario.in_own_namespaces(change, &owned)?;
        for ns in change.namespaces() {
            if !crate::netns::create::netns_exists(ns)? {
                return Err(LabError::NotUp {
                    scenario: scenario.name.to_string(),
                    ns: ns.to_string(),
                });
            }
        }
    }
    let failed = |reason: String| LabError::BreakFailed {
        scenario: scenario.name.to_string(),
        fault: fault.to_string(),
        reason,
    };
    let plan = Plan::new(
        format!("lab break {} {fault}", scenario.name),
        chosen.changes.clone(),
    );
    // The drill's precondition, before anything runs: what it takes away (a route, an
    // address, a rule) is there. Removing nothing would break nothing.
    let removals: Vec<Step> = chosen
        .changes
        .iter()
        .filter(|s| must_exist(s))
        .cloned()
        .collect();
    let held = on_worker(|| plan::already_hold(&removals))?.map_err(|e| failed(e.to_string()))?;
    if let Some((step, _)) = removals.iter().zip(held).find(|(_, held)| *held) {
        return Err(failed(format!(
            "nothing to break: \"{step}\" found nothing to remove"
        )));
    }
    let applied = on_worker(|| plan::apply(&plan, &ApplyOptions::default()))?
        .map_err(|e| failed(e.to_string()))?;
    close_if_unchanged(&applied)?;
    Ok(BreakReport {
        scenario: scenario.name.to_string(),
        fault: chosen,
    })
}

/// A plan that changed nothing (a second `up`, a drill with nothing to break) is marked undone
/// at once — undoing it reverts nothing — so `netlens undo` reaches the last plan that did
/// change something. Best effort: the network is as it should be either way.
fn close_if_unchanged(applied: &plan::Applied) -> Result<(), LabError> {
    if applied.changed == 0 {
        let target = plan::UndoTarget::Id(applied.id.clone());
        let _ = on_worker(|| plan::undo(&target))?;
    }
    Ok(())
}

fn find_fault(scenario: &Scenario, fault: &str) -> Result<Fault, LabError> {
    let all = faults(scenario.name);
    all.iter()
        .find(|f| f.name == fault)
        .cloned()
        .ok_or_else(|| LabError::UnknownFault {
            scenario: scenario.name.to_string(),
            fault: fault.to_string(),
            known: all.iter().map(|f| f.name.to_string()).collect(),
        })
}

/// Steps a drill runs only where their object exists: removing nothing is not a fault.
fn must_exist(step: &Step) -> bool {
    matches!(
        step,
        Step::DelRoute { .. } | Step::DelAddress { .. } | Step::DelIptablesRule { .. }
    )
}

/// Reports which namespaces and interfaces of scenario `name` exist. Creates nothing.
pub fn status(name: &str) -> Result<LabStatus, LabError> {
    let scenario = scenario(name)?;
    scenario.validate()?;
    on_worker(|| status::status(&scenario))?
}

/// Runs `f` on a dedicated thread: the plan engine and the status reader create their own
/// current-thread runtime, which would panic on a thread already inside a runtime.
fn on_worker<T: Send>(f: impl FnOnce() -> T + Send) -> Result<T, LabError> {
    std::thread::scope(|scope| scope.spawn(f).join().map_err(|_| LabError::Panicked))
}
