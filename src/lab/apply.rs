//! Executes lab steps with rtnetlink, and reads a scenario's status back.
//!
//! One netlink connection per namespace ([`Session`], shared with the plan engine). Work that
//! is not netlink (sysctls, iptables) runs on a thread inside the namespace, because both
//! `/proc/sys/net` and a spawned child follow the calling *thread's* network namespace.
//!
//! Every step first looks at what exists: equal configuration counts as done, a conflicting one
//! is an error naming the namespace and interface, never silently replaced.

use std::collections::HashSet;

use super::steps::*;
use super::{LabError, LabState, LabStatus, LinkStatus, NsStatus, Scenario, Step};
use crate::netns::create::{delete_netns, ensure_netns, netns_exists};
use crate::rtnl::query::{get_link, is_up, kind_name, link_kind, nl_err};
use crate::rtnl::session::Session;

/// Something `apply` created, to undo if a later step fails.
enum Created {
    Ns(String),
    Link { ns: String, name: String },
}

/// Runs all steps in order. Returns how many changed something. On failure removes what this
/// call created (namespaces, and links created in namespaces that existed before).
pub(super) fn apply(steps: &[Step]) -> Result<usize, LabError> {
    let mut session = Session::new().map_err(|reason| LabError::StepFailed {
        step: "start lab runtime".into(),
        reason,
        rolled_back: Vec::new(),
        rollback_errors: Vec::new(),
    })?;
    let mut created = Vec::new();
    let mut changed = 0;
    for step in steps {
        match apply_step(&mut session, step, &mut created) {
            Ok(true) => changed += 1,
            Ok(false) => {}
            Err(reason) => {
                let (rolled_back, rollback_errors) = rollback(&mut session, created);
                return Err(LabError::StepFailed {
                    step: step.to_string(),
                    reason,
                    rolled_back,
                    rollback_errors,
                });
            }
        }
    }
    Ok(changed)
}

fn rollback(session: &mut Session, created: Vec<Created>) -> (Vec<String>, Vec<String>) {
    let new_namespaces: HashSet<String> = created
        .iter()
        .filter_map(|c| match c {
            Created::Ns(ns) => Some(ns.clone()),
            Created::Link { .. } => None,
        })
        .collect();
    let mut done = Vec::new();
    let mut errors = Vec::new();
    for item in created.into_iter().rev() {
        match item {
            // Links in new namespaces go away with the namespace.
            Created::Link { ns, .. } if new_namespaces.contains(&ns) => {}
            Created::Link { ns, name } => match delete_link(session, &ns, &name) {
                Ok(()) => done.push(format!("{name} in {ns}")),
                Err(e) => errors.push(e),
            },
            Created::Ns(ns) => {
                session.drop_ns(&ns);
                match delete_netns(&ns) {
                    Ok(()) => done.push(format!("namespace {ns}")),
                    Err(e) => errors.push(e.to_string()),
                }
            }
        }
    }
    (done, errors)
}

fn delete_link(session: &mut Session, ns: &str, name: &str) -> Result<(), String> {
    let handle = session.handle(ns)?;
    session.rt.block_on(async {
        if let Some(link) = get_link(&handle, name).await? {
            handle
                .link()
                .del(link.header.index)
                .execute()
                .await
                .map_err(|e| format!("cannot delete {name} in {ns}: {}", nl_err(e)))?;
        }
        Ok(())
    })
}

/// Executes one step; `Ok(true)` if it changed something.
fn apply_step(
    session: &mut Session,
    step: &Step,
    created: &mut Vec<Created>,
) -> Result<bool, String> {
    match step {
        Step::CreateNs { ns } => {
            let new = ensure_netns(ns).map_err(|e| e.to_string())?;
            if new {
                created.push(Created::Ns(ns.clone()));
            }
            Ok(new)
        }
        Step::AddVeth { a, ns_a, b, ns_b } => {
            let new = add_veth(session, a, ns_a, b, ns_b)?;
            if new {
                created.push(Created::Link {
                    ns: ns_a.clone(),
                    name: a.clone(),
                });
            }
            Ok(new)
        }
        Step::AddBridge { ns, name } => {
            let handle = session.handle(ns)?;
            let new = session.rt.block_on(add_bridge(&handle, ns, name))?;
            if new {
                created.push(Created::Link {
                    ns: ns.clone(),
                    name: name.clone(),
                });
            }
            Ok(new)
        }
        Step::SetMaster { ns, link, master } => {
            let handle = session.handle(ns)?;
            session.rt.block_on(set_master(&handle, ns, link, master))
        }
        Step::AddAddr { ns, link, addr } => {
            let handle = session.handle(ns)?;
            session.rt.block_on(add_addr(&handle, ns, link, *addr))
        }
        Step::LinkUp { ns, link } => {
            let handle = session.handle(ns)?;
            session.rt.block_on(link_up(&handle, ns, link))
        }
        Step::AddRoute { ns, dst, via } => {
            let handle = session.handle(ns)?;
            session.rt.block_on(add_route(&handle, ns, *dst, *via))
        }
        Step::Sysctl { ns, key, value } => set_sysctl(ns, key, value),
        Step::IptablesRule {
            ns,
            table,
            chain,
            rule,
        } => iptables_rule(ns, table, chain, rule),
    }
}

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
        namespaces.push(NsStatus {
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
            expected_kind: expected.kind.map(str::to_string),
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
