//! Steps on native nftables chains: [`Step::InsertNftRule`] and its inverse
//! [`Step::DelNftRule`]. `nft` runs inside the step's namespace (a throwaway thread that
//! entered it; the child starts there) and reads JSON on stdin — inserts, listings and
//! deletes alike — so no table, chain or interface name is ever parsed as nft syntax, and no
//! shell is involved. The inserted rule's handle comes from nft's echo; before a delete the
//! handle is read back and must still hold exactly netlens' rule.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use std::fmt;

use super::super::exec::Engine;
use super::super::nft_rule::{self, NftAccept, NFT_TAG};
use super::super::shell::in_ns;
use super::super::step::Step;
use super::{lines, not_mine, Family, Prepared, Role, StepError};
use crate::netns::enter::run_in_netns_file;
use crate::netns::resolve::open_ns;

pub struct Nft;

impl Family for Nft {
    fn describe(&self, step: &Step, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some((c, handle, rule)) = parts(step) else {
            not_mine(step)
        };
        match handle {
            None => write!(f, "insert nft rule `{rule}` at the top of {}", c.text()),
            Some(h) => write!(f, "remove nft rule `{rule}` (handle {h}) from {}", c.text()),
        }
    }

    fn check(&self, step: &Step, _: Role) -> Result<(), String> {
        let Some((c, _, rule)) = parts(step) else {
            not_mine(step)
        };
        nft_rule::check_names(c.family, c.table, c.chain)?;
        rule.check(c.family)
    }

    fn commands(&self, step: &Step) -> Vec<String> {
        let Some((c, handle, rule)) = parts(step) else {
            not_mine(step)
        };
        let argv = match handle {
            None => {
                let mut argv = in_ns(c.ns, &["nft", "insert", "rule", c.family, c.table, c.chain]);
                argv.extend(rule.words());
                argv
            }
            Some(h) => {
                let (family, table, chain) = (c.family, c.table, c.chain);
                let handle = h.to_string();
                in_ns(
                    c.ns,
                    &[
                        "nft", "delete", "rule", family, table, chain, "handle", &handle,
                    ],
                )
            }
        };
        lines(&[argv])
    }

    fn prepare(&self, _: &mut Engine, step: &Step) -> Result<Prepared, StepError> {
        let Some((c, handle, rule)) = parts(step) else {
            not_mine(step)
        };
        prepare(c, handle, rule)
    }

    fn execute(&self, _: &mut Engine, step: &Step) -> Result<Option<Vec<Step>>, StepError> {
        let Some((c, handle, rule)) = parts(step) else {
            not_mine(step)
        };
        let Some(handle) = handle else {
            // The handle exists only now: the inverse deletes exactly that rule.
            let handle = insert(c, rule)?;
            return Ok(Some(vec![c.delete_step(handle, rule)]));
        };
        delete(c, handle, rule)?;
        Ok(None)
    }
}

/// Where a rule goes: namespace, family, table, chain.
#[derive(Clone, Copy)]
struct Chain<'a> {
    ns: &'a str,
    family: &'a str,
    table: &'a str,
    chain: &'a str,
}

/// The chain, the handle (a delete's) and the rule of an nft step; `None` for other steps.
fn parts(step: &Step) -> Option<(Chain<'_>, Option<u64>, &NftAccept)> {
    let (ns, family, table, chain, handle, rule) = match step {
        Step::InsertNftRule {
            ns,
            family,
            table,
            chain,
            rule,
        } => (ns, family, table, chain, None, rule),
        Step::DelNftRule {
            ns,
            family,
            table,
            chain,
            handle,
            rule,
        } => (ns, family, table, chain, Some(*handle), rule),
        _ => return None,
    };
    let c = Chain {
        ns,
        family,
        table,
        chain,
    };
    Some((c, handle, rule))
}

impl Chain<'_> {
    /// `inet filter input in r`, as messages name the chain.
    fn text(&self) -> String {
        format!(
            "{} {} {} in {}",
            self.family, self.table, self.chain, self.ns
        )
    }

    /// The step that inserts `rule` at the top of this chain.
    fn insert_step(&self, rule: &NftAccept) -> Step {
        Step::InsertNftRule {
            ns: self.ns.to_string(),
            family: self.family.to_string(),
            table: self.table.to_string(),
            chain: self.chain.to_string(),
            rule: rule.clone(),
        }
    }

    /// The step that deletes `rule`, handle `handle` (0: not known yet), from this chain.
    fn delete_step(&self, handle: u64, rule: &NftAccept) -> Step {
        Step::DelNftRule {
            ns: self.ns.to_string(),
            family: self.family.to_string(),
            table: self.table.to_string(),
            chain: self.chain.to_string(),
            handle,
            rule: rule.clone(),
        }
    }
}

/// A rule as listed: handle, statements, comment.
struct Listed {
    handle: u64,
    expr: Vec<Value>,
    comment: Option<String>,
}

/// Runs `nft ARGS -f -` in `ns` with `input` on stdin: stdout, or `None` for "No such file or
/// directory" (the table or chain is not there).
fn nft(ns: &str, args: &[&str], input: &Value) -> Result<Option<String>, String> {
    let file = open_ns(ns).map_err(|e| e.to_string())?;
    let text = input.to_string();
    let run = || -> Result<Option<String>, String> {
        let mut child = Command::new("nft")
            .args(args)
            .args(["-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => "nft is not installed (no nft in PATH)".into(),
                _ => format!("cannot run nft in {ns}: {e}"),
            })?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(text.as_bytes())
                .map_err(|e| format!("cannot write to nft in {ns}: {e}"))?;
        }
        let out = child
            .wait_with_output()
            .map_err(|e| format!("nft in {ns}: {e}"))?;
        let err = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            Ok(Some(String::from_utf8_lossy(&out.stdout).into_owned()))
        } else if err.contains("No such file or directory") {
            Ok(None)
        } else {
            let first = err.lines().find(|l| l.contains("Error")).unwrap_or(&err);
            Err(format!("nft failed in {ns}: {}", first.trim()))
        }
    };
    run_in_netns_file(&file, ns, run).map_err(|e| e.to_string())?
}

/// The chain's rules, or `None` when the table or chain does not exist.
fn list(c: Chain) -> Result<Option<Vec<Listed>>, String> {
    let cmd = json!({"nftables": [{"list": {"chain": {
        "family": c.family, "table": c.table, "name": c.chain}}}]});
    let Some(out) = nft(c.ns, &["-j"], &cmd)? else {
        return Ok(None);
    };
    let v: Value = serde_json::from_str(&out)
        .map_err(|e| format!("nft listed {} as invalid JSON: {e}", c.text()))?;
    let items = v.get("nftables").and_then(Value::as_array);
    let rules = items
        .into_iter()
        .flatten()
        .filter_map(|i| i.get("rule"))
        .filter_map(|r| {
            Some(Listed {
                handle: r.get("handle")?.as_u64()?,
                expr: r.get("expr")?.as_array()?.clone(),
                comment: r.get("comment").and_then(Value::as_str).map(str::to_string),
            })
        })
        .collect();
    Ok(Some(rules))
}

fn rule_body(c: Chain, rule: &NftAccept) -> Value {
    json!({"family": c.family, "table": c.table, "chain": c.chain,
        "comment": NFT_TAG, "expr": rule.expr()})
}

/// Inserts `rule` at the top of the chain; its handle.
fn insert(c: Chain, rule: &NftAccept) -> Result<u64, String> {
    let cmd = json!({"nftables": [{"insert": {"rule": rule_body(c, rule)}}]});
    let out = nft(c.ns, &["-j", "-e", "-a"], &cmd)?
        .ok_or_else(|| format!("there is no chain {}", c.text()))?;
    let v: Value = serde_json::from_str(&out).map_err(|e| {
        format!(
            "nft inserted into {} but echoed no JSON ({e}): delete the rule commented \"{NFT_TAG}\" by hand",
            c.text()
        )
    })?;
    v.get("nftables")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find_map(|i| i.get("insert")?.get("rule")?.get("handle")?.as_u64())
        .ok_or_else(|| {
            format!(
                "nft inserted into {} but echoed no handle: delete the rule commented \"{NFT_TAG}\" by hand",
                c.text()
            )
        })
}

/// The handle to delete for `DelNftRule { handle, rule }`: `Ok(None)` when netlens' rule is
/// gone already (so is the chain, or the handle is free and no such rule is left).
fn to_delete(c: Chain, handle: u64, rule: &NftAccept) -> Result<Option<u64>, String> {
    let Some(rules) = list(c)? else {
        return Ok(None);
    };
    let ours: Vec<u64> = rules
        .iter()
        .filter(|r| rule.is(&r.expr, r.comment.as_deref()))
        .map(|r| r.handle)
        .collect();
    if handle == 0 {
        return match ours.as_slice() {
            [] => Ok(None),
            [h] => Ok(Some(*h)),
            _ => Err(format!(
                "{} rules `{rule}` in {}, and the journal does not say which netlens inserted: delete one by hand",
                ours.len(),
                c.text()
            )),
        };
    }
    match rules.iter().find(|r| r.handle == handle) {
        Some(r) if rule.is(&r.expr, r.comment.as_deref()) => Ok(Some(handle)),
        Some(_) => Err(format!(
            "handle {handle} of {} no longer holds the rule netlens inserted (`{rule}`; the ruleset was reloaded?): not deleted, check the chain by hand",
            c.text()
        )),
        None => match ours.first() {
            None => Ok(None),
            Some(h) => Err(format!(
                "the rule netlens inserted in {} is no longer handle {handle} but {h} (the ruleset was reloaded?): not deleted, check the chain by hand",
                c.text()
            )),
        },
    }
}

/// Deletes netlens' rule, when it is still there and still netlens'.
fn delete(c: Chain, handle: u64, rule: &NftAccept) -> Result<(), String> {
    let Some(h) = to_delete(c, handle, rule)? else {
        return Ok(());
    };
    let cmd = json!({"nftables": [{"delete": {"rule": {
        "family": c.family, "table": c.table, "chain": c.chain, "handle": h}}}]});
    nft(c.ns, &["-j"], &cmd)?;
    Ok(())
}

/// The inverse of an insert (`handle` None; the real handle is filled in once nft echoes it)
/// or of a delete (`handle` Some), read from the live chain. An insert whose rule is already
/// in the chain, and a delete whose rule is gone, change nothing.
fn prepare(c: Chain, handle: Option<u64>, rule: &NftAccept) -> Result<Prepared, StepError> {
    let nothing = Prepared {
        noop: true,
        inverse: Vec::new(),
    };
    let inverse = match handle {
        None => {
            let rules = list(c)?.ok_or_else(|| format!("there is no chain {}", c.text()))?;
            if rules.iter().any(|r| rule.is(&r.expr, r.comment.as_deref())) {
                return Ok(nothing);
            }
            c.delete_step(0, rule)
        }
        Some(h) => {
            if to_delete(c, h, rule)?.is_none() {
                return Ok(nothing);
            }
            c.insert_step(rule)
        }
    };
    Ok(Prepared {
        noop: false,
        inverse: vec![inverse],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> NftAccept {
        NftAccept {
            iif: Some("veth0".into()),
            proto: Some("tcp".into()),
            dport: Some(80),
            ..NftAccept::default()
        }
    }

    /// An insert and its inverse delete: words, preview, checks, and the parts they share.
    #[test]
    fn words_commands_and_checks() {
        let insert = Step::InsertNftRule {
            ns: "r".into(),
            family: "inet".into(),
            table: "lab".into(),
            chain: "input".into(),
            rule: rule(),
        };
        let delete = Step::DelNftRule {
            ns: "r".into(),
            family: "inet".into(),
            table: "lab".into(),
            chain: "input".into(),
            handle: 7,
            rule: rule(),
        };
        assert_eq!(
            insert.to_string(),
            r#"insert nft rule `iifname "veth0" tcp dport 80 accept comment "netlens"` at the top of inet lab input in r"#
        );
        assert_eq!(
            delete.to_string(),
            r#"remove nft rule `iifname "veth0" tcp dport 80 accept comment "netlens"` (handle 7) from inet lab input in r"#
        );
        assert_eq!(
            Nft.commands(&insert),
            [
                r#"ip netns exec r nft insert rule inet lab input iifname '"veth0"' tcp dport 80 accept comment '"netlens"'"#
            ]
        );
        assert_eq!(
            Nft.commands(&delete),
            ["ip netns exec r nft delete rule inet lab input handle 7"]
        );
        assert_eq!(Nft.check(&insert, Role::Forward), Ok(()));
        assert_eq!(Nft.check(&delete, Role::Inverse), Ok(()));
        let Some((c, handle, _)) = parts(&delete) else {
            panic!("a delete has parts")
        };
        assert_eq!(
            (c.text(), handle),
            ("inet lab input in r".to_string(), Some(7))
        );
        assert!(parts(&Step::CreateNs { name: "r".into() }).is_none());
        // Each is the other's inverse, built from the same chain.
        assert_eq!(c.insert_step(&rule()), insert);
        assert_eq!(c.delete_step(7, &rule()), delete);
    }
}
