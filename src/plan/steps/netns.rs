//! Named network namespaces: [`Step::CreateNs`] and [`Step::DeleteNs`], made and removed as
//! `ip netns add/del` do (see [`crate::netns::create`]). Deleting is undone by creating the
//! namespace again and giving back what `netns_state` recorded (`lo`, the namespace-wide
//! sysctls, the iptables tables) and what `netns_routing` did (policy rules, routes through
//! no interface). What no step could give back exactly is refused, naming it: any interface
//! but `lo` (a plan deletes them first with `DeleteLink`), ip6tables rules, native nft
//! tables, a rule or route no step writes exactly.

use std::fmt;

use super::super::exec::Engine;
use super::super::shell::join;
use super::super::step::Step;
use super::netns_routing::routing_steps;
use super::netns_state::{iptables_steps, lo_steps, refuse_unrestored_firewall, sysctl_steps};
use super::{noop, not_mine, run, Family, Prepared, Role, StepError};
use crate::netlink::query::{all_links, link_name};
use crate::netlink::session::Session;
use crate::netns::create::{
    create_netns, delete_netns, netns_exists, validate_netns_name, NetnsError,
};

pub struct Namespaces;

/// The name of a namespace step.
fn name_of(step: &Step) -> &str {
    match step {
        Step::CreateNs { name } | Step::DeleteNs { name } => name,
        _ => not_mine(step),
    }
}

fn netns_err(e: NetnsError) -> StepError {
    match e {
        NetnsError::AlreadyExists { .. } => StepError::Exists(e.to_string()),
        e => StepError::Other(e.to_string()),
    }
}

impl Family for Namespaces {
    fn describe(&self, step: &Step, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match step {
            Step::CreateNs { name } => write!(f, "create network namespace {name}"),
            Step::DeleteNs { name } => write!(f, "delete network namespace {name}"),
            _ => not_mine(step),
        }
    }

    fn check(&self, step: &Step, _: Role) -> Result<(), String> {
        validate_netns_name(name_of(step)).map_err(|e| e.to_string())
    }

    fn commands(&self, step: &Step) -> Vec<String> {
        let verb = match step {
            Step::CreateNs { .. } => "add",
            _ => "del",
        };
        let argv = ["ip", "netns", verb, name_of(step)].map(str::to_string);
        vec![join(&argv)]
    }

    fn prepare(&self, _: &mut Engine, step: &Step) -> Result<Prepared, StepError> {
        let name = name_of(step).to_string();
        let exists = netns_exists(&name).map_err(netns_err)?;
        match step {
            Step::CreateNs { .. } if exists => noop(),
            Step::CreateNs { .. } => run(vec![Step::DeleteNs { name }]),
            _ if !exists => noop(),
            _ => delete_inverse(&name),
        }
    }

    fn execute(&self, eng: &mut Engine, step: &Step) -> Result<Option<Vec<Step>>, StepError> {
        match step {
            Step::CreateNs { name } => create_netns(name).map(|_| ()),
            _ => delete_netns(name_of(step)),
        }
        .map_err(netns_err)?;
        eng.forget_ns(name_of(step));
        Ok(None)
    }
}

/// The inverse of deleting namespace `name`: the namespace again, then what it held. Refused
/// while it holds an interface but `lo`, or anything else undo could not give back.
fn delete_inverse(name: &str) -> Result<Prepared, StepError> {
    // A connection of its own, not the engine's: one cached there would keep the deleted
    // namespace alive and be handed to a later step naming a new one.
    let mut session = Session::new()?;
    let h = session.handle(name)?;
    let links = session.rt.block_on(all_links(&h, name))?;
    let others: Vec<&str> = links
        .iter()
        .filter_map(link_name)
        .filter(|n| *n != "lo")
        .collect();
    if !others.is_empty() {
        return Err(StepError::Busy(format!(
            "refusing to delete namespace {name}: it still holds {} (undo could not \
             recreate them with it; delete them first)",
            others.join(", ")
        )));
    }
    refuse_unrestored_firewall(name)?;
    let mut inverse = vec![Step::CreateNs {
        name: name.to_string(),
    }];
    if let Some(lo) = links.iter().find(|l| link_name(l) == Some("lo")) {
        inverse.extend(session.rt.block_on(lo_steps(&h, name, lo))?);
    }
    inverse.extend(session.rt.block_on(routing_steps(&h, name))?);
    inverse.extend(sysctl_steps(name));
    inverse.extend(iptables_steps(name)?);
    run(inverse)
}

#[cfg(test)]
mod tests {
    use crate::plan::shell::commands;
    use crate::plan::validate::validate_offline;
    use crate::plan::{Plan, Step};

    #[test]
    fn words_checks_and_preview() {
        let create = Step::CreateNs {
            name: "lab-a".into(),
        };
        let delete = Step::DeleteNs {
            name: "lab-a".into(),
        };
        assert_eq!(create.to_string(), "create network namespace lab-a");
        assert_eq!(delete.to_string(), "delete network namespace lab-a");
        assert_eq!(commands(&create), ["ip netns add lab-a"]);
        assert_eq!(commands(&delete), ["ip netns del lab-a"]);
        assert_eq!(create.ns(), "host");
        assert!(validate_offline(&Plan::new("t", vec![create.clone(), delete])).is_ok());
        for bad in ["", "..", "a/b"] {
            let e = validate_offline(&Plan::new("t", vec![Step::CreateNs { name: bad.into() }]))
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("invalid namespace name") || e.contains("namespace"),
                "{e}"
            );
        }
    }

    /// The inverse is read from `/run/netns`: a namespace that is not there is created and
    /// deleted again on undo; deleting it changes nothing.
    #[test]
    fn inverses_of_an_absent_namespace() {
        let name = format!("netlens-unit-absent-{}", std::process::id());
        let mut eng = crate::plan::exec::Engine::new("t".into(), Vec::new()).unwrap();
        let created = eng.prepare(&Step::CreateNs { name: name.clone() }).unwrap();
        assert!(!created.noop);
        assert_eq!(created.inverse, [Step::DeleteNs { name: name.clone() }]);
        let deleted = eng.prepare(&Step::DeleteNs { name }).unwrap();
        assert!(deleted.noop && deleted.inverse.is_empty(), "{deleted:?}");
    }

    /// The journal and plan files name them `create_ns` / `delete_ns`.
    #[test]
    fn serde_names() {
        let json = serde_json::to_string(&Step::CreateNs { name: "x".into() }).unwrap();
        assert_eq!(json, r#"{"step":"create_ns","name":"x"}"#);
        let back: Step = serde_json::from_str(r#"{"step":"delete_ns","name":"x"}"#).unwrap();
        assert_eq!(back, Step::DeleteNs { name: "x".into() });
    }
}
