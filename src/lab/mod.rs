//! Lab scenarios: small, reproducible network topologies built from namespaces, veth pairs and
//! bridges, following the reference notes (host as a router, namespaces behind a bridge with
//! NAT, a three-node cluster with routed pod subnets).
//!
//! Each scenario is pure data: a list of [`Step`]s (see `router.rs`, `bridge.rs`,
//! `cluster.rs`). `apply.rs` executes the steps with rtnetlink, each step idempotent, so `up`
//! twice gives the same result. Every object lives in namespaces named `<scenario>-<role>` —
//! even the scenario's "host" is a namespace — so nothing is ever added to the namespace
//! netlens runs in, and `down` deletes exactly the scenario's namespaces (their interfaces go
//! with them).

mod apply;
mod break_apply;
mod bridge;
mod build;
mod cluster;
mod faults;
mod router;
mod steps;

pub use faults::{faults, Breakage, Fault, Probe, ETC_MARKER, FAULTS};

use std::fmt;
use std::net::Ipv4Addr;
use std::time::Instant;

use ipnet::Ipv4Net;
use serde::Serialize;

use crate::netns::create::{delete_netns, validate_ifname, validate_netns_name, NetnsError};

/// Names of the known scenarios.
pub const SCENARIOS: &[&str] = &["router", "bridge", "cluster"];

/// One idempotent configuration step. Interface names refer to the namespace `ns`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// Named namespace (`ip netns add`).
    CreateNs { ns: String },
    /// veth pair with end `a` in `ns_a` and end `b` in `ns_b`.
    AddVeth {
        a: String,
        ns_a: String,
        b: String,
        ns_b: String,
    },
    /// Linux bridge (created up).
    AddBridge { ns: String, name: String },
    /// Enslave `link` to bridge `master`.
    SetMaster {
        ns: String,
        link: String,
        master: String,
    },
    /// IPv4 address with prefix on `link`.
    AddAddr {
        ns: String,
        link: String,
        addr: Ipv4Net,
    },
    /// Set `link` administratively up.
    LinkUp { ns: String, link: String },
    /// Route in the main table; `dst` 0.0.0.0/0 is the default route.
    AddRoute {
        ns: String,
        dst: Ipv4Net,
        via: Ipv4Addr,
    },
    /// Write `value` to `/proc/sys/<key>` inside `ns` (key like `net/ipv4/ip_forward`).
    Sysctl {
        ns: String,
        key: String,
        value: String,
    },
    /// iptables rule `iptables -t TABLE -A CHAIN RULE...` inside `ns`, added unless an identical
    /// rule exists (`-C`).
    IptablesRule {
        ns: String,
        table: String,
        chain: String,
        rule: Vec<String>,
    },
}

impl Step {
    /// The namespace the step acts in (for AddVeth, the namespace of end `a`).
    pub fn ns(&self) -> &str {
        match self {
            Step::CreateNs { ns }
            | Step::AddBridge { ns, .. }
            | Step::SetMaster { ns, .. }
            | Step::AddAddr { ns, .. }
            | Step::LinkUp { ns, .. }
            | Step::AddRoute { ns, .. }
            | Step::Sysctl { ns, .. }
            | Step::IptablesRule { ns, .. } => ns,
            Step::AddVeth { ns_a, .. } => ns_a,
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::CreateNs { ns } => write!(f, "create namespace {ns}"),
            Step::AddVeth { a, ns_a, b, ns_b } => {
                write!(f, "add veth pair {a} (in {ns_a}) <-> {b} (in {ns_b})")
            }
            Step::AddBridge { ns, name } => write!(f, "add bridge {name} in {ns}"),
            Step::SetMaster { ns, link, master } => {
                write!(f, "set master of {link} to {master} in {ns}")
            }
            Step::AddAddr { ns, link, addr } => write!(f, "add address {addr} to {link} in {ns}"),
            Step::LinkUp { ns, link } => write!(f, "set {link} up in {ns}"),
            Step::AddRoute { ns, dst, via } => write!(f, "add route {dst} via {via} in {ns}"),
            Step::Sysctl { ns, key, value } => write!(f, "set sysctl {key}={value} in {ns}"),
            Step::IptablesRule {
                ns,
                table,
                chain,
                rule,
            } => write!(
                f,
                "add iptables rule -t {table} -A {chain} {} in {ns}",
                rule.join(" ")
            ),
        }
    }
}

/// A scenario: its name and the steps that build it, in order.
#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    pub name: &'static str,
    pub steps: Vec<Step>,
}

impl Scenario {
    /// Namespaces the scenario creates, in creation order.
    pub fn namespaces(&self) -> Vec<&str> {
        self.steps
            .iter()
            .filter_map(|s| match s {
                Step::CreateNs { ns } => Some(ns.as_str()),
                _ => None,
            })
            .collect()
    }

    /// Interfaces the scenario creates or configures, in first-mention order.
    pub fn links(&self) -> Vec<ExpectedLink<'_>> {
        let mut links: Vec<ExpectedLink<'_>> = Vec::new();
        for step in &self.steps {
            match step {
                Step::AddVeth { a, ns_a, b, ns_b } => {
                    note(&mut links, ns_a, a, Some("veth"), false);
                    note(&mut links, ns_b, b, Some("veth"), false);
                }
                // Bridges are created up.
                Step::AddBridge { ns, name } => note(&mut links, ns, name, Some("bridge"), true),
                Step::LinkUp { ns, link } => note(&mut links, ns, link, None, true),
                Step::SetMaster { ns, link, .. } | Step::AddAddr { ns, link, .. } => {
                    note(&mut links, ns, link, None, false)
                }
                _ => {}
            }
        }
        links
    }

    /// Checks the plan before anything is created: valid names, every namespace named
    /// `<scenario>-<role>`, and every step acting in a namespace the scenario creates (so a
    /// scenario can never touch a namespace it does not own).
    pub fn validate(&self) -> Result<(), LabError> {
        let invalid = |reason: String| LabError::InvalidScenario {
            scenario: self.name.to_string(),
            reason,
        };
        let prefix = format!("{}-", self.name);
        let created = self.namespaces();
        for ns in &created {
            validate_netns_name(ns).map_err(|e| invalid(e.to_string()))?;
            if !ns.starts_with(&prefix) || ns.len() == prefix.len() {
                return Err(invalid(format!(
                    "namespace {ns} is not named {prefix}<role>"
                )));
            }
        }
        for step in &self.steps {
            let mut namespaces = vec![step.ns()];
            if let Step::AddVeth { ns_b, .. } = step {
                namespaces.push(ns_b);
            }
            for ns in namespaces {
                if !created.contains(&ns) {
                    return Err(invalid(format!(
                        "step \"{step}\" acts in namespace {ns}, which the scenario does not create"
                    )));
                }
            }
        }
        for link in self.links() {
            validate_ifname(link.name).map_err(|e| invalid(e.to_string()))?;
        }
        if let Some(step) = self.steps.iter().find(|s| match s {
            Step::Sysctl { key, .. } => !key.starts_with("net/") || key.contains(".."),
            _ => false,
        }) {
            return Err(invalid(format!(
                "step \"{step}\" is not a per-namespace net/ sysctl"
            )));
        }
        Ok(())
    }
}

fn note<'a>(
    links: &mut Vec<ExpectedLink<'a>>,
    ns: &'a str,
    name: &'a str,
    kind: Option<&'static str>,
    up: bool,
) {
    match links.iter_mut().find(|l| l.ns == ns && l.name == name) {
        Some(link) => {
            link.up |= up;
            link.kind = link.kind.or(kind);
        }
        None => links.push(ExpectedLink { ns, name, kind, up }),
    }
}

/// An interface a scenario expects: where, what kind (`None`: pre-existing, like `lo`), and
/// whether it should be up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpectedLink<'a> {
    pub ns: &'a str,
    pub name: &'a str,
    pub kind: Option<&'static str>,
    pub up: bool,
}

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

/// Errors from the lab. Each renders as one line naming the scenario, namespace or interface.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error("unknown scenario {name:?}; known scenarios: {}", SCENARIOS.join(", "))]
    UnknownScenario { name: String },
    #[error("scenario {scenario} is invalid: {reason}")]
    InvalidScenario { scenario: String, reason: String },
    #[error("{step}: {reason}{}", rollback_note(.rolled_back, .rollback_errors))]
    StepFailed {
        step: String,
        reason: String,
        /// Namespaces/links removed again because this `up` had created them.
        rolled_back: Vec<String>,
        rollback_errors: Vec<String>,
    },
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

fn rollback_note(rolled_back: &[String], errors: &[String]) -> String {
    let mut note = String::new();
    if !rolled_back.is_empty() {
        note.push_str(&format!(" (removed again: {})", rolled_back.join(", ")));
    }
    if !errors.is_empty() {
        note.push_str(&format!(" (cleanup failed: {})", errors.join("; ")));
    }
    note
}

/// What `up` did.
#[derive(Debug, Clone, Serialize)]
pub struct UpReport {
    pub scenario: String,
    pub namespaces: Vec<String>,
    pub steps: usize,
    /// Steps that changed something (0 when the scenario was already up).
    pub changed: usize,
    pub elapsed_ms: u128,
}

/// What `down` did.
#[derive(Debug, Clone, Serialize)]
pub struct DownReport {
    pub scenario: String,
    /// Namespaces that existed and were deleted.
    pub deleted: Vec<String>,
}

/// Whether one expected namespace exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NsStatus {
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
    pub expected_kind: Option<String>,
    /// The kind found (`None` if missing or a kind-less device such as `lo`).
    pub kind: Option<String>,
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
    pub namespaces: Vec<NsStatus>,
    pub links: Vec<LinkStatus>,
}

/// Builds scenario `name` (idempotent). If a step fails, the namespaces and links this call
/// created are removed again and the step's error is returned.
///
/// Blocking. Runs on its own thread with its own runtime, so it may be called from anywhere,
/// including from inside a tokio runtime.
pub fn up(name: &str) -> Result<UpReport, LabError> {
    let scenario = scenario(name)?;
    scenario.validate()?;
    let start = Instant::now();
    let changed = on_worker(|| apply::apply(&scenario.steps))??;
    Ok(UpReport {
        scenario: scenario.name.to_string(),
        namespaces: scenario
            .namespaces()
            .iter()
            .map(|s| s.to_string())
            .collect(),
        steps: scenario.steps.len(),
        changed,
        elapsed_ms: start.elapsed().as_millis(),
    })
}

/// Deletes every namespace of scenario `name` (and with them all their interfaces). Succeeds
/// when the scenario is not up.
pub fn down(name: &str) -> Result<DownReport, LabError> {
    let scenario = scenario(name)?;
    scenario.validate()?;
    let mut deleted = Vec::new();
    let mut errors = Vec::new();
    // Reverse order: pods before nodes, and so on; not required by the kernel but it keeps
    // a partially failed down in a sensible shape.
    for ns in scenario.namespaces().into_iter().rev() {
        // Files `lab break` wrote for the namespace go with it.
        errors.extend(break_apply::remove_etc_files(ns));
        let existed = crate::netns::create::netns_path(ns)?.exists();
        match delete_netns(ns) {
            Ok(()) if existed => deleted.push(ns.to_string()),
            Ok(()) => {}
            Err(e) => errors.push(e.to_string()),
        }
    }
    if !errors.is_empty() {
        return Err(LabError::Namespace {
            action: "delete namespaces of scenario",
            ns: scenario.name.to_string(),
            reason: errors.join("; "),
        });
    }
    deleted.reverse();
    Ok(DownReport {
        scenario: scenario.name.to_string(),
        deleted,
    })
}

/// What `break` did.
#[derive(Debug, Clone, Serialize)]
pub struct BreakReport {
    pub scenario: String,
    pub fault: Fault,
}

/// Introduces fault `fault` into the built scenario `name` (see [`faults`]). Touches only the
/// scenario's own namespaces (and their `/etc/netns/NAME` files).
pub fn break_fault(name: &str, fault: &str) -> Result<BreakReport, LabError> {
    let scenario = scenario(name)?;
    scenario.validate()?;
    let all = faults::faults(scenario.name);
    let Some(chosen) = all.iter().find(|f| f.name == fault).cloned() else {
        return Err(LabError::UnknownFault {
            scenario: scenario.name.to_string(),
            fault: fault.to_string(),
            known: all.iter().map(|f| f.name.to_string()).collect(),
        });
    };
    let owned = scenario.namespaces();
    for change in &chosen.changes {
        let ns = change.ns();
        if !owned.contains(&ns) {
            return Err(LabError::InvalidScenario {
                scenario: scenario.name.to_string(),
                reason: format!("fault {fault} acts in {ns}, which the scenario does not create"),
            });
        }
        if let Breakage::Sysctl { key, .. } = change {
            if !key.starts_with("net/") || key.contains("..") {
                return Err(LabError::InvalidScenario {
                    scenario: scenario.name.to_string(),
                    reason: format!("fault {fault} writes {key}, not a per-namespace net/ sysctl"),
                });
            }
        }
        if !crate::netns::create::netns_exists(ns)? {
            return Err(LabError::NotUp {
                scenario: scenario.name.to_string(),
                ns: ns.to_string(),
            });
        }
    }
    on_worker(|| break_apply::apply(&chosen.changes))?.map_err(|reason| LabError::BreakFailed {
        scenario: scenario.name.to_string(),
        fault: fault.to_string(),
        reason,
    })?;
    Ok(BreakReport {
        scenario: scenario.name.to_string(),
        fault: chosen,
    })
}

/// Reports which namespaces and interfaces of scenario `name` exist. Creates nothing.
pub fn status(name: &str) -> Result<LabStatus, LabError> {
    let scenario = scenario(name)?;
    scenario.validate()?;
    on_worker(|| apply::status(&scenario))?
}

/// Runs `f` on a dedicated thread: the apply engine creates its own current-thread runtime,
/// which would panic on a thread already inside a runtime.
fn on_worker<T: Send>(f: impl FnOnce() -> T + Send) -> Result<T, LabError> {
    std::thread::scope(|scope| scope.spawn(f).join().map_err(|_| LabError::Panicked))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_scenarios_are_valid() {
        for name in SCENARIOS {
            let s = scenario(name).unwrap();
            s.validate().unwrap();
            assert_eq!(s.name, *name);
            assert!(s.namespaces().len() >= 3, "{name}");
        }
    }

    #[test]
    fn unknown_scenario_lists_known_ones() {
        let err = scenario("nope").unwrap_err().to_string();
        assert_eq!(
            err,
            "unknown scenario \"nope\"; known scenarios: router, bridge, cluster"
        );
    }

    #[test]
    fn validate_rejects_foreign_namespaces() {
        let s = Scenario {
            name: "router",
            steps: vec![
                Step::CreateNs {
                    ns: "router-a".into(),
                },
                Step::LinkUp {
                    ns: "other".into(),
                    link: "lo".into(),
                },
            ],
        };
        assert!(s.validate().unwrap_err().to_string().contains("other"));
        let s = Scenario {
            name: "router",
            steps: vec![Step::CreateNs { ns: "red".into() }],
        };
        assert!(s.validate().is_err());
    }

    #[test]
    fn links_merge_up_flag() {
        let s = scenario("router").unwrap();
        let links = s.links();
        let find =
            |ns: &str, name: &str| *links.iter().find(|l| l.ns == ns && l.name == name).unwrap();
        assert_eq!(find("router-b", "eth1").kind, Some("veth"));
        assert!(find("router-b", "eth1").up);
        assert_eq!(find("router-a", "lo").kind, None);
        assert!(find("router-a", "lo").up);
    }
}
