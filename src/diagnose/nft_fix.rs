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
use crate::plan::simulate_nft::apply_ns;
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
pub struct Opener {
    /// A copy of the namespace with the steps so far applied; only when it has native nft
    /// tables (without, one iptables accept ahead of the drop opens the flow).
    sim: Option<Namespace>,
    pub steps: Vec<Step>,
    pub rejected: Vec<String>,
}

impl Opener {
    pub fn new(ns: &Namespace) -> Opener {
        Opener {
            sim: has_native_nft(ns).then(|| ns.clone()),
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
        let Some(sim) = self.sim.as_ref() else {
            match xt(by) {
                Some(s) => self.push(s),
                None => self.rejected.push(format!("dropped by {by}")),
            }
            return;
        };
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
    use super::nft_by;

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
