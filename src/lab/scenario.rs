//! A scenario as data: its name and the plan steps that build it, and what it expects to find
//! once built (namespaces, interfaces). Checked before anything runs, so a scenario can only
//! ever act in namespaces it creates.

use serde::Serialize;

use super::LabError;
use crate::model::LinkKind;
use crate::netns::create::{validate_ifname, validate_netns_name};
use crate::plan::Step;

/// A scenario: its name and the steps that build it, in order (a plan's steps).
#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    pub name: &'static str,
    pub steps: Vec<Step>,
}

/// An interface a scenario expects: where, what kind (`None`: pre-existing, like `lo`), and
/// whether it should be up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedLink<'a> {
    pub ns: &'a str,
    pub name: &'a str,
    pub kind: Option<LinkKind>,
    pub up: bool,
}

impl Scenario {
    /// Namespaces the scenario creates, in creation order.
    pub fn namespaces(&self) -> Vec<&str> {
        self.steps
            .iter()
            .filter_map(|s| match s {
                Step::CreateNs { name } => Some(name.as_str()),
                _ => None,
            })
            .collect()
    }

    /// Interfaces the scenario creates or configures, in first-mention order.
    pub fn links(&self) -> Vec<ExpectedLink<'_>> {
        let mut links: Vec<ExpectedLink<'_>> = Vec::new();
        for step in &self.steps {
            match step {
                Step::AddVeth {
                    ns,
                    name,
                    peer_ns,
                    peer,
                } => {
                    note(&mut links, ns, name, Some(LinkKind::Veth), false);
                    note(&mut links, peer_ns, peer, Some(LinkKind::Veth), false);
                }
                Step::AddBridge { ns, name } => {
                    note(&mut links, ns, name, Some(LinkKind::Bridge), false)
                }
                Step::SetLinkUp { ns, link, up } => note(&mut links, ns, link, None, *up),
                Step::SetMaster { ns, link, .. } | Step::AddAddress { ns, link, .. } => {
                    note(&mut links, ns, link, None, false)
                }
                _ => {}
            }
        }
        links
    }

    /// Checks the scenario before anything is created: valid names, every namespace named
    /// `<scenario>-<role>`, and every step acting in a namespace the scenario creates (so a
    /// scenario can never touch a namespace it does not own). The plan engine checks the
    /// steps themselves again when it validates the plan.
    pub fn validate(&self) -> Result<(), LabError> {
        let created = self.namespaces();
        for ns in &created {
            self.owns(ns)?;
        }
        for step in &self.steps {
            self.in_own_namespaces(step, &created)?;
        }
        for link in self.links() {
            validate_ifname(link.name).map_err(|e| self.invalid(e.to_string()))?;
        }
        Ok(())
    }

    /// `ns` is a valid name of the form `<scenario>-<role>`.
    fn owns(&self, ns: &str) -> Result<(), LabError> {
        let prefix = format!("{}-", self.name);
        validate_netns_name(ns).map_err(|e| self.invalid(e.to_string()))?;
        if !ns.starts_with(&prefix) || ns.len() == prefix.len() {
            return Err(self.invalid(format!("namespace {ns} is not named {prefix}<role>")));
        }
        Ok(())
    }

    /// `step` acts only in namespaces of `created` (creating one acts in none), and a sysctl
    /// it writes is a per-namespace `net/` one.
    pub(super) fn in_own_namespaces(&self, step: &Step, created: &[&str]) -> Result<(), LabError> {
        if let Step::CreateNs { .. } = step {
            return Ok(());
        }
        for ns in step.namespaces() {
            if !created.contains(&ns) {
                return Err(self.invalid(format!(
                    "step \"{step}\" acts in namespace {ns}, which the scenario does not create"
                )));
            }
        }
        match step {
            Step::SetSysctl { key, .. } if !key.starts_with("net/") || key.contains("..") => {
                Err(self.invalid(format!(
                    "step \"{step}\" is not a per-namespace net/ sysctl"
                )))
            }
            _ => Ok(()),
        }
    }

    fn invalid(&self, reason: String) -> LabError {
        LabError::InvalidScenario {
            scenario: self.name.to_string(),
            reason,
        }
    }
}

fn note<'a>(
    links: &mut Vec<ExpectedLink<'a>>,
    ns: &'a str,
    name: &'a str,
    kind: Option<LinkKind>,
    up: bool,
) {
    match links.iter_mut().find(|l| l.ns == ns && l.name == name) {
        Some(link) => {
            link.up |= up;
            link.kind = link.kind.take().or(kind);
        }
        None => links.push(ExpectedLink { ns, name, kind, up }),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{build, scenario, SCENARIOS};
    use super::*;

    #[test]
    fn all_scenarios_are_valid() {
        for name in SCENARIOS {
            let s = scenario(name).unwrap();
            s.validate().unwrap();
            assert_eq!(s.name, *name);
            assert!(s.namespaces().len() >= 3, "{name}");
            // The plan engine's own offline checks take every scenario as it is.
            let plan = crate::plan::Plan::new("t", s.steps.clone());
            crate::plan::validate::validate_offline(&plan).unwrap();
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
            steps: vec![build::ns("router-a"), build::link_up("other", "lo")],
        };
        assert!(s.validate().unwrap_err().to_string().contains("other"));
        let s = Scenario {
            name: "router",
            steps: vec![build::ns("red")],
        };
        assert!(s.validate().is_err());
    }

    #[test]
    fn links_merge_up_flag() {
        let s = scenario("router").unwrap();
        let links = s.links();
        let find =
            |ns: &str, name: &str| links.iter().find(|l| l.ns == ns && l.name == name).unwrap();
        assert_eq!(find("router-b", "eth1").kind, Some(LinkKind::Veth));
        assert!(find("router-b", "eth1").up);
        assert_eq!(find("router-a", "lo").kind, None);
        assert!(find("router-a", "lo").up);
        let s = scenario("bridge").unwrap();
        let links = s.links();
        let v_net = links.iter().find(|l| l.name == "v-net-0").unwrap();
        assert_eq!((&v_net.kind, v_net.up), (&Some(LinkKind::Bridge), true));
    }
}
