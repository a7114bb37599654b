//! A built-in chain's policy: [`Step::SetIptablesPolicy`] (`iptables -t TABLE -P CHAIN
//! POLICY`). Lab drills use it to make FORWARD drop; its inverse sets the policy read just
//! before, so `netlens undo` puts the old one back.

use std::fmt;

use super::super::exec::Engine;
use super::super::proc_ops;
use super::super::shell::in_ns;
use super::super::step::Step;
use super::{lines, noop, not_mine, run, Family, Prepared, Role, StepError};

/// Chains that have a policy, per table netlens changes.
const BUILTIN: &[(&str, &[&str])] = &[
    ("filter", &["INPUT", "FORWARD", "OUTPUT"]),
    ("nat", &["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"]),
];

pub struct Policies;

fn fields(step: &Step) -> (&str, &str, &str, &str) {
    match step {
        Step::SetIptablesPolicy {
            ns,
            table,
            chain,
            policy,
        } => (ns, table, chain, policy),
        _ => not_mine(step),
    }
}

impl Family for Policies {
    fn describe(&self, step: &Step, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (ns, table, chain, policy) = fields(step);
        write!(f, "set the policy of {table}/{chain} to {policy} in {ns}")
    }

    fn check(&self, step: &Step, _: Role) -> Result<(), String> {
        let (_, table, chain, policy) = fields(step);
        let Some((_, chains)) = BUILTIN.iter().find(|(t, _)| *t == table) else {
            return Err(format!(
                "iptables table {table:?} is not one netlens changes"
            ));
        };
        if !chains.contains(&chain) {
            return Err(format!(
                "{chain} is not a built-in chain of {table} (only those have a policy)"
            ));
        }
        if !["ACCEPT", "DROP"].contains(&policy) {
            return Err(format!("policy {policy:?} is not ACCEPT or DROP"));
        }
        Ok(())
    }

    fn commands(&self, step: &Step) -> Vec<String> {
        let (ns, table, chain, policy) = fields(step);
        lines(&[in_ns(
            ns,
            &["iptables", "-w", "-t", table, "-P", chain, policy],
        )])
    }

    fn prepare(&self, _: &mut Engine, step: &Step) -> Result<Prepared, StepError> {
        let (ns, table, chain, policy) = fields(step);
        let before = proc_ops::chain_policy(ns, table, chain)?;
        if before == policy {
            return noop();
        }
        run(vec![Step::SetIptablesPolicy {
            ns: ns.to_string(),
            table: table.to_string(),
            chain: chain.to_string(),
            policy: before,
        }])
    }

    fn execute(&self, _: &mut Engine, step: &Step) -> Result<Option<Vec<Step>>, StepError> {
        let (ns, table, chain, policy) = fields(step);
        proc_ops::change_rule(ns, table, "-P", chain, None, &[policy.to_string()])?;
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use crate::plan::shell::commands;
    use crate::plan::validate::validate_offline;
    use crate::plan::{Plan, Step};

    fn policy(table: &str, chain: &str, policy: &str) -> Step {
        Step::SetIptablesPolicy {
            ns: "lab-a".into(),
            table: table.into(),
            chain: chain.into(),
            policy: policy.into(),
        }
    }

    #[test]
    fn words_checks_and_preview() {
        let step = policy("filter", "FORWARD", "DROP");
        assert_eq!(
            step.to_string(),
            "set the policy of filter/FORWARD to DROP in lab-a"
        );
        assert_eq!(
            commands(&step),
            ["ip netns exec lab-a iptables -w -t filter -P FORWARD DROP"]
        );
        assert!(validate_offline(&Plan::new("t", vec![step])).is_ok());
        for bad in [
            policy("filter", "MYCHAIN", "DROP"),
            policy("raw", "PREROUTING", "DROP"),
            policy("filter", "FORWARD", "REJECT"),
        ] {
            assert!(validate_offline(&Plan::new("t", vec![bad])).is_err());
        }
        let json = serde_json::to_string(&policy("filter", "INPUT", "ACCEPT")).unwrap();
        assert_eq!(
            json,
            r#"{"step":"set_iptables_policy","ns":"lab-a","table":"filter","chain":"INPUT","policy":"ACCEPT"}"#
        );
    }
}
