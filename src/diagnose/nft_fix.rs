//! Fixes that open a flow netfilter drops, wherever it is dropped: an iptables chain gets the
//! rule's own iptables step, a native nftables chain an accept at the top of the base chain
//! whose walk reached the drop. Each base chain decides on its own, so an iptables ACCEPT
//! never opens an nft drop (nor the reverse): the flow is run again through the evaluator
//! on a copy of the namespace with the steps so far applied, and the next drop gets its own
//! accept, until nothing drops the flow — or why it cannot be opened.

use std::collections::BTreeSet;

use crate::firewall::eval::claimed_by_iptables_nft;
use crate::firewall::nft_expr::NftStmt;
use crate::firewall::NftTable;
use crate::model::Namespace;
use crate::plan::nft_rule::check_names;
use crate::plan::simulate::nft::apply_ns;
use crate::plan::{NftAccept, Step};

/// Drops one flow may meet in a row (raw, mangle, filter, nft chains at several priorities).
const MAX_ROUNDS: usize = 8;

/// `nft FAMILY TABLE CHAIN: rule` / `nft FAMILY TABLE CHAIN policy drop` → the three names.
pub fn nft_by(by: &str) -> Option<(&str, &str, &str)> {
    let rest = by.strip_prefix("nft ")?;
    let (family, rest) = rest.split_once(' ')?;
    let (table, rest) = rest.split_once(' ')?;
    let chain = rest.split([' ', ':']).next()?;
    Some((family, table, chain))
}

/// Whether `ns` holds native nft tables with rules (not iptables-nft's own).
fn has_native_nft(ns: &Namespace) -> bool {
    ns.firewall.as_ref().is_some_and(|fw| {
        fw.nft
            .iter()
            .any(|t| t.holds_rules() && !claimed_by_iptables_nft(fw, t))
    })
}

/// Chains a chain jumps or goes to (verdict maps included).
fn targets(t: &NftTable, ci: usize) -> Vec<String> {
    let mut out = Vec::new();
    for s in t.chains[ci]
        .rules
        .iter()
        .filter_map(|r| r.stmts.as_ref())
        .flatten()
    {
        match s {
            NftStmt::Verdict {
                target: Some(x), ..
            } => out.push(x.clone()),
            NftStmt::Vmap { entries, named, .. } => {
                let named = named
                    .as_ref()
                    .and_then(|n| t.named.iter().find(|s| &s.name == n))
                    .and_then(|s| s.verdicts.as_ref());
                for e in entries.iter().chain(named.into_iter().flatten()) {
                    out.extend(e.target.clone());
                }
            }
            _ => {}
        }
    }
    out
}

/// Base chains of `t` from which `chain` is reached (itself, when it is one).
fn base_chains_reaching(t: &NftTable, chain: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (bi, b) in t
        .chains
        .iter()
        .enumerate()
        .filter(|(_, c)| c.hook.is_some())
    {
        let mut seen = BTreeSet::from([b.name.clone()]);
        let mut todo = vec![bi];
        while let Some(ci) = todo.pop() {
            for x in targets(t, ci) {
                if let Some(xi) = t.chains.iter().position(|c| c.name == x) {
                    if seen.insert(x) {
                        todo.push(xi);
                    }
                }
            }
        }
        if seen.contains(chain) {
            out.push(b.name.clone());
        }
    }
    out
}

/// The steps that put `m` at the top of each base chain whose walk reaches the nft drop `by`.
pub fn nft_accept_steps(ns: &Namespace, by: &str, m: &NftAccept) -> Result<Vec<Step>, String> {
    let (family, table, chain) =
        nft_by(by).ok_or_else(|| format!("`{by}` does not name an nft chain"))?;
    check_names(family, table, chain)?;
    m.check(family)?;
    let t = ns
        .firewall
        .as_ref()
        .and_then(|fw| {
            fw.nft
                .iter()
                .find(|t| t.family == family && t.name == table)
        })
        .ok_or_else(|| format!("nft table {family} {table} is not in the snapshot"))?;
    let bases = base_chains_reaching(t, chain);
    if bases.is_empty() {
        return Err(format!("no base chain of {family} {table} reaches {chain}"));
    }
    let mut steps = Vec::new();
    for b in bases {
        check_names(family, table, &b)?;
        steps.push(Step::InsertNftRule {
            ns: ns.name.clone(),
            family: family.to_string(),
            table: table.to_string(),
            chain: b,
            rule: m.clone(),
        });
    }
    Ok(steps)
}

/// The steps of one fix, built flow by flow, and why a flow could not be opened.
pub struct Opener<'a> {
    ns: &'a Namespace,
    /// Whether `ns` has native nft tables: without, one iptables accept ahead of the drop
    /// opens the flow, and no copy is needed.
    native: bool,
    /// A copy of the namespace with the steps so far applied, made at the first drop.
    sim: Option<Namespace>,
    pub steps: Vec<Step>,
    pub rejected: Vec<String>,
}

impl<'a> Opener<'a> {
    pub fn new(ns: &'a Namespace) -> Opener<'a> {
        Opener {
            ns,
            native: has_native_nft(ns),
            sim: None,
            steps: Vec::new(),
            rejected: Vec::new(),
        }
    }

    fn push(&mut self, s: Step) {
        if !self.steps.contains(&s) {
            self.steps.push(s);
        }
    }

    /// Opens a flow found dropped by `by` (on the namespace as it is). `xt(by)` is the
    /// iptables step for an iptables drop (None: netlens does not open it), `m` the accept
    /// for an nft drop, `dropped(ns)` what drops the flow in a namespace (None: nothing).
    pub fn open(
        &mut self,
        by: &str,
        xt: impl Fn(&str) -> Option<Step>,
        m: &NftAccept,
        dropped: impl Fn(&Namespace) -> Option<String>,
    ) {
        if !self.native {
            match xt(by) {
                Some(s) => self.push(s),
                None => self.rejected.push(format!("dropped by {by}")),
            }
            return;
        }
        let sim = self.sim.get_or_insert_with(|| self.ns.clone());
        let mut by = dropped(sim);
        for _ in 0..MAX_ROUNDS {
            let Some(b) = by else { return };
            let sim = self.sim.as_ref().expect("checked above");
            let new = if b.starts_with("nft ") {
                match nft_accept_steps(sim, &b, m) {
                    Ok(s) => s,
                    Err(e) => return self.rejected.push(format!("{b}: {e}")),
                }
            } else {
                match xt(&b) {
                    Some(s) => vec![s],
                    None => return self.rejected.push(format!("dropped by {b}")),
                }
            };
            if new.iter().all(|s| self.steps.contains(s)) {
                return self
                    .rejected
                    .push(format!("{b} still drops it after its accept"));
            }
            for s in new {
                let sim = self.sim.as_mut().expect("checked above");
                if let Err(e) = apply_ns(sim, &s) {
                    return self.rejected.push(format!("`{s}`: {e}"));
                }
                self.push(s);
            }
            by = dropped(self.sim.as_ref().expect("checked above"));
        }
        if let Some(b) = by {
            self.rejected
                .push(format!("still dropped by {b} after {MAX_ROUNDS} accepts"));
        }
    }

    /// The nft chains the steps insert into, as `nft FAMILY TABLE CHAIN`.
    pub fn nft_chains(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .steps
            .iter()
            .filter_map(|s| match s {
                Step::InsertNftRule {
                    family,
                    table,
                    chain,
                    ..
                } => Some(format!("nft {family} {table} {chain}")),
                _ => None,
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{asset, ns_mut};
    use super::super::{diagnose, Finding};
    use super::nft_by;
    use crate::firewall::nft_json;
    use crate::model::Snapshot;
    use crate::plan::Step;

    /// bridge-host of the bridge lab with a native nft table `inet T` of these chains (the
    /// base chain `base` hooks forward, policy `policy`) and rules (`[chain, expr]` JSON).
    fn with_nft(table: &str, base: &str, policy: &str, rules: &[(&str, &str)]) -> Snapshot {
        let mut snap = asset("bridge");
        let mut items = vec![
            format!(r#"{{"table": {{"family": "inet", "name": "{table}", "handle": 1}}}}"#),
            format!(
                r#"{{"chain": {{"family": "inet", "table": "{table}", "name": "{base}", "handle": 1, "type": "filter", "hook": "forward", "prio": 0, "policy": "{policy}"}}}}"#
            ),
        ];
        for (i, (chain, expr)) in rules.iter().enumerate() {
            items.push(format!(
                r#"{{"rule": {{"family": "inet", "table": "{table}", "chain": "{chain}", "handle": {}, "expr": {expr}}}}}"#,
                i + 10
            ));
        }
        let text = format!(r#"{{"nftables": [{}]}}"#, items.join(","));
        let (tables, warnings) = nft_json::parse(&text);
        assert!(warnings.is_empty(), "{warnings:?}");
        ns_mut(&mut snap, "bridge-host")
            .firewall
            .get_or_insert_with(Default::default)
            .nft = tables;
        snap
    }

    fn forward_drop(snap: &Snapshot) -> Finding {
        diagnose(snap)
            .into_iter()
            .find(|f| f.id == "forward-drop:bridge-host")
            .expect("forward-drop:bridge-host")
    }

    fn nft_chains(f: &Finding) -> Vec<String> {
        let fix = f
            .fix
            .as_ref()
            .unwrap_or_else(|| panic!("no fix: {:?}", f.fix_rejected));
        fix.steps
            .iter()
            .map(|s| match s {
                Step::InsertNftRule {
                    family,
                    table,
                    chain,
                    ..
                } => format!("{family} {table} {chain}"),
                other => panic!("not an nft step: {other}"),
            })
            .collect()
    }

    /// A policy drop in a native forward chain: accepts at its top, which the fix check (the
    /// simulator applying them to a copy and the rules run again) accepts.
    #[test]
    fn a_policy_drop_gets_accepts_in_its_chain() {
        let snap = with_nft("filter", "forward", "drop", &[]);
        let f = forward_drop(&snap);
        let chains = nft_chains(&f);
        assert!(!chains.is_empty());
        assert!(
            chains.iter().all(|c| c == "inet filter forward"),
            "{chains:?}"
        );
        let fixed = crate::plan::simulate(&snap, &f.fix.as_ref().unwrap().steps);
        let crate::plan::Simulated::Done(after) = fixed else {
            panic!("{fixed:?}")
        };
        assert!(
            diagnose(&after).iter().all(|x| x.rule != "forward-drop"),
            "the fix clears it"
        );
    }

    /// A drop in a regular chain the base chain jumps to: the accept goes to the base chain.
    #[test]
    fn a_drop_behind_a_jump_is_opened_in_the_base_chain() {
        let jump = r#"[{"jump": {"target": "deny"}}]"#;
        let drop = r#"[{"drop": null}]"#;
        let mut snap = with_nft("lab", "fwd", "accept", &[("fwd", jump), ("deny", drop)]);
        // The regular chain, as `nft -j` lists it (no hook).
        let t = &mut ns_mut(&mut snap, "bridge-host")
            .firewall
            .as_mut()
            .unwrap()
            .nft[0];
        assert!(t
            .chains
            .iter()
            .any(|c| c.name == "deny" && c.hook.is_none()));
        let f = forward_drop(&snap);
        let chains = nft_chains(&f);
        assert!(chains.iter().all(|c| c == "inet lab fwd"), "{chains:?}");
    }

    /// A hostile chain name in the snapshot never reaches a step: no fix, and why.
    #[test]
    fn a_hostile_chain_name_gets_no_fix() {
        let snap = with_nft("filter", "fwd;flush", "drop", &[]);
        let f = forward_drop(&snap);
        assert!(f.fix.is_none(), "{:?}", f.fix);
        let why = f.fix_rejected.unwrap_or_default();
        assert!(why.contains("not a plain nft name"), "{why}");
    }

    #[test]
    fn names_of_a_drop() {
        assert_eq!(
            nft_by("nft inet lab fwd_c policy drop"),
            Some(("inet", "lab", "fwd_c"))
        );
        assert_eq!(
            nft_by("nft ip filter deny: ip saddr 10.0.0.0/8 drop"),
            Some(("ip", "filter", "deny"))
        );
        assert_eq!(nft_by("filter FORWARD policy DROP"), None);
    }
}
