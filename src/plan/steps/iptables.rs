//! iptables rules and user chains inside a namespace: [`Step::AddIptablesRule`],
//! [`Step::InsertIptablesRule`], [`Step::DelIptablesRule`], [`Step::AddIptablesChain`],
//! [`Step::DelIptablesChain`]. iptables runs with an argument vector (`plan::proc_ops`),
//! never a shell; which rules netlens may add is `plan::iptables_args`.

use std::fmt;

use super::super::exec::Engine;
use super::super::iptables_args::{self, Use};
use super::super::proc_ops;
use super::super::shell::in_ns;
use super::super::step::Step;
use super::{lines, noop, not_mine, run, Family, Prepared, Role, StepError};

/// The tables netlens' fixes add rules to (see `iptables_args` for the rules they may hold).
const IPTABLES_TABLES: &[&str] = &["filter", "nat"];
/// Tables where netlens only removes a rule (a DROP in raw or mangle) and puts it back.
const REMOVE_ONLY_TABLES: &[&str] = &["raw", "mangle"];

pub struct Iptables;

/// Whether `step` runs iptables (which must then be installed).
pub fn is_iptables(step: &Step) -> bool {
    matches!(
        step,
        Step::AddIptablesRule { .. }
            | Step::DelIptablesRule { .. }
            | Step::InsertIptablesRule { .. }
            | Step::AddIptablesChain { .. }
            | Step::DelIptablesChain { .. }
            | Step::SetIptablesPolicy { .. }
    )
}

impl Family for Iptables {
    fn describe(&self, step: &Step, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match step {
            Step::AddIptablesRule {
                ns,
                table,
                chain,
                rule,
            } => write!(f, "add {table}/{chain} rule `{}` in {ns}", rule.join(" ")),
            Step::DelIptablesRule {
                ns,
                table,
                chain,
                rule,
            } => write!(
                f,
                "remove {table}/{chain} rule `{}` in {ns}",
                rule.join(" ")
            ),
            Step::InsertIptablesRule {
                ns,
                table,
                chain,
                position,
                rule,
            } => write!(
                f,
                "insert {table}/{chain} rule `{}` at {position} in {ns}",
                rule.join(" ")
            ),
            Step::AddIptablesChain { ns, table, chain } => {
                write!(f, "create chain {table}/{chain} in {ns}")
            }
            Step::DelIptablesChain { ns, table, chain } => {
                write!(f, "remove chain {table}/{chain} and its rules in {ns}")
            }
            _ => not_mine(step),
        }
    }

    fn check(&self, step: &Step, role: Role) -> Result<(), String> {
        match step {
            Step::AddIptablesRule {
                table, chain, rule, ..
            } => {
                let use_ = match role {
                    Role::Forward => Use::Add,
                    Role::Inverse => Use::RemoveOrRestore,
                };
                check_rule(table, chain, rule, use_)
            }
            Step::DelIptablesRule {
                table, chain, rule, ..
            }
            | Step::InsertIptablesRule {
                table, chain, rule, ..
            } => check_rule(table, chain, rule, Use::RemoveOrRestore),
            Step::AddIptablesChain { table, chain, .. }
            | Step::DelIptablesChain { table, chain, .. } => user_chain_step(table, chain),
            _ => not_mine(step),
        }
    }

    fn commands(&self, step: &Step) -> Vec<String> {
        let argvs = match step {
            Step::AddIptablesRule {
                ns,
                table,
                chain,
                rule,
            } => vec![iptables(ns, table, &["-A".into(), chain.clone()], rule)],
            Step::DelIptablesRule {
                ns,
                table,
                chain,
                rule,
            } => vec![iptables(ns, table, &["-D".into(), chain.clone()], rule)],
            Step::InsertIptablesRule {
                ns,
                table,
                chain,
                position,
                rule,
            } => vec![iptables(
                ns,
                table,
                &["-I".into(), chain.clone(), position.to_string()],
                rule,
            )],
            Step::AddIptablesChain { ns, table, chain } => {
                vec![iptables(ns, table, &["-N".into(), chain.clone()], &[])]
            }
            Step::DelIptablesChain { ns, table, chain } => vec![
                iptables(ns, table, &["-F".into(), chain.clone()], &[]),
                iptables(ns, table, &["-X".into(), chain.clone()], &[]),
            ],
            _ => not_mine(step),
        };
        lines(&argvs)
    }

    fn prepare(&self, _: &mut Engine, step: &Step) -> Result<Prepared, StepError> {
        match step {
            Step::AddIptablesRule {
                ns,
                table,
                chain,
                rule,
            }
            | Step::InsertIptablesRule {
                ns,
                table,
                chain,
                rule,
                ..
            } => {
                if proc_ops::rule_exists(ns, table, chain, rule)? {
                    return noop();
                }
                run(vec![Step::DelIptablesRule {
                    ns: ns.clone(),
                    table: table.clone(),
                    chain: chain.clone(),
                    rule: rule.clone(),
                }])
            }
            Step::DelIptablesRule {
                ns,
                table,
                chain,
                rule,
            } => {
                if !proc_ops::rule_exists(ns, table, chain, rule)? {
                    return noop();
                }
                // Provisional: the engine learns the rule's position while deleting it and
                // then records an exact -I instead.
                run(vec![Step::AddIptablesRule {
                    ns: ns.clone(),
                    table: table.clone(),
                    chain: chain.clone(),
                    rule: rule.clone(),
                }])
            }
            Step::AddIptablesChain { ns, table, chain } => {
                if proc_ops::chain_exists(ns, table, chain)? {
                    return noop();
                }
                run(vec![Step::DelIptablesChain {
                    ns: ns.clone(),
                    table: table.clone(),
                    chain: chain.clone(),
                }])
            }
            Step::DelIptablesChain { ns, table, chain } => del_chain_inverse(ns, table, chain),
            _ => not_mine(step),
        }
    }

    fn execute(&self, _: &mut Engine, step: &Step) -> Result<Option<Vec<Step>>, StepError> {
        match step {
            Step::AddIptablesRule {
                ns,
                table,
                chain,
                rule,
            } => proc_ops::change_rule(ns, table, "-A", chain, None, rule)?,
            Step::InsertIptablesRule {
                ns,
                table,
                chain,
                position,
                rule,
            } => proc_ops::change_rule(ns, table, "-I", chain, Some(*position), rule)?,
            Step::AddIptablesChain { ns, table, chain } => {
                proc_ops::change_chain(ns, table, "-N", chain)?;
            }
            Step::DelIptablesChain { ns, table, chain } => del_chain(ns, table, chain)?,
            Step::DelIptablesRule {
                ns,
                table,
                chain,
                rule,
            } => {
                let before = proc_ops::list_rules(ns, table, chain)?;
                proc_ops::change_rule(ns, table, "-D", chain, None, rule)?;
                let after = proc_ops::list_rules(ns, table, chain)?;
                let position = proc_ops::removed_position(&before, &after);
                return Ok(Some(vec![Step::InsertIptablesRule {
                    ns: ns.clone(),
                    table: table.clone(),
                    chain: chain.clone(),
                    position,
                    rule: rule.clone(),
                }]));
            }
            _ => not_mine(step),
        }
        Ok(None)
    }
}

fn iptables(ns: &str, table: &str, action: &[String], rule: &[String]) -> Vec<String> {
    let mut argv = in_ns(ns, &["iptables", "-w", "-t", table]);
    argv.extend(action.iter().cloned());
    argv.extend(rule.iter().cloned());
    argv
}

fn check_rule(table: &str, chain: &str, rule: &[String], use_: Use) -> Result<(), String> {
    let remove_only = REMOVE_ONLY_TABLES.contains(&table) && matches!(use_, Use::RemoveOrRestore);
    if !IPTABLES_TABLES.contains(&table) && !remove_only {
        return Err(format!(
            "iptables table {table:?} is not one netlens changes (one of {})",
            IPTABLES_TABLES.join(", ")
        ));
    }
    if chain.is_empty()
        || chain.len() > 28
        || chain.starts_with('-')
        || !chain
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
    {
        return Err(format!("invalid chain name {chain:?}"));
    }
    if rule.is_empty() {
        return Err("empty rule".into());
    }
    if rule.iter().any(|a| a.contains('\0')) {
        return Err("rule argument contains a NUL byte".into());
    }
    iptables_args::check(table, rule, use_)
}

/// A chain step names a table netlens changes and a user chain: never a built-in chain (its
/// policy and hooks are not netlens' to remove) nor an extension target's name.
fn user_chain_step(table: &str, chain: &str) -> Result<(), String> {
    const BUILTIN: &[&str] = &["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"];
    // Verdicts and the NAT targets are not chains either.
    const TARGETS: &[&str] = &[
        "ACCEPT",
        "DROP",
        "RETURN",
        "QUEUE",
        "MASQUERADE",
        "SNAT",
        "DNAT",
        "REDIRECT",
    ];
    if TARGETS.contains(&chain) {
        return Err(format!("{chain} is a target, not a chain"));
    }
    if BUILTIN.contains(&chain) {
        return Err(format!(
            "{chain} is a built-in chain, not one netlens creates or removes"
        ));
    }
    if !iptables_args::is_user_chain(chain) {
        return Err(format!("invalid chain name {chain:?}"));
    }
    // A plain rule's checks cover the table; `-j ACCEPT` stands in for the rule.
    check_rule(
        table,
        chain,
        &["-j".to_string(), "ACCEPT".to_string()],
        Use::RemoveOrRestore,
    )
}

/// The inverse of removing a chain: the chain again, then its rules in their order. Refused
/// while anything jumps to it (`iptables -X` would fail after the flush).
fn del_chain_inverse(ns: &str, table: &str, chain: &str) -> Result<Prepared, StepError> {
    if !proc_ops::chain_exists(ns, table, chain)? {
        return noop();
    }
    let refs = proc_ops::chain_references(ns, table, chain)?;
    if refs > 0 {
        return Err(StepError::Busy(format!(
            "{refs} rule(s) in {ns} still jump to {table}/{chain}: remove them first"
        )));
    }
    let mut inverse = vec![Step::AddIptablesChain {
        ns: ns.to_string(),
        table: table.to_string(),
        chain: chain.to_string(),
    }];
    for line in proc_ops::list_rules(ns, table, chain)? {
        inverse.push(Step::AddIptablesRule {
            ns: ns.to_string(),
            table: table.to_string(),
            chain: chain.to_string(),
            rule: proc_ops::rule_argv(&line),
        });
    }
    run(inverse)
}

/// Flushes and removes a chain nothing jumps to. All or nothing: when `-X` fails after the
/// flush (a jump added meanwhile), the rules are put back.
fn del_chain(ns: &str, table: &str, chain: &str) -> Result<(), StepError> {
    let refs = proc_ops::chain_references(ns, table, chain)?;
    if refs > 0 {
        return Err(StepError::Busy(format!(
            "{refs} rule(s) in {ns} jump to {table}/{chain}"
        )));
    }
    let rules = proc_ops::list_rules(ns, table, chain)?;
    proc_ops::change_chain(ns, table, "-F", chain)?;
    if let Err(e) = proc_ops::change_chain(ns, table, "-X", chain) {
        for line in &rules {
            let argv = proc_ops::rule_argv(line);
            if let Err(e2) = proc_ops::change_rule(ns, table, "-A", chain, None, &argv) {
                return Err(format!("{e}; and restoring {table}/{chain} failed: {e2}").into());
            }
        }
        return Err(e.into());
    }
    Ok(())
}
