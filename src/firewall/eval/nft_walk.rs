//! The walk of one native nft base chain: statements in order, jumps, gotos, returns, the
//! marks rules set, the chain's policy at its end, and a fork at each statement that cannot
//! be judged (as for iptables). `accept` ends only this base chain; drop, reject and NAT
//! statements end the walk.

use super::matches::Ctx;
use super::nft_match::holds;
use super::walk::{combine, Out};
use super::{Pkt, Verdict};
use crate::firewall::nft_expr::{NftAtom, NftOp, NftStmt};
use crate::firewall::{NftChain, NftRule, NftTable};

/// Jumps nested deeper than this are not followed (the kernel stops at 16 too).
const MAX_DEPTH: usize = 16;
/// Forks at statements that cannot be judged, per base-chain walk.
const MAX_FORKS: usize = 64;
/// Statements looked at per walk: `goto` loops do not grow the stack, this ends them.
const MAX_STEPS: usize = 100_000;

/// Where the walk is: (chain, rule, statement) per level, and the marks.
#[derive(Clone)]
struct State {
    stack: Vec<(usize, usize, usize)>,
    mark: Option<u32>,
    ctmark: Option<u32>,
}

/// Budgets shared by every branch of one walk.
struct Budget {
    forks: usize,
    steps: usize,
}

/// `nft FAMILY TABLE CHAIN`: how a verdict names where it came from.
pub fn chain_name(t: &NftTable, c: &NftChain) -> String {
    format!("nft {} {} {}", t.family, t.name, c.name)
}

/// The rule as `nft list` would show it, without counter values.
fn rule_text(r: &NftRule) -> String {
    let mut out = Vec::new();
    let mut words = r.expr_summary.split(' ').peekable();
    while let Some(w) = words.next() {
        out.push(w);
        if w == "counter" {
            // `counter packets N bytes M`: traffic is not part of the rule.
            while words.peek().is_some_and(|n| {
                matches!(*n, "packets" | "bytes") || n.bytes().all(|b| b.is_ascii_digit())
            }) {
                words.next();
            }
        }
    }
    out.join(" ")
}

/// Walks base chain `ci` of `t` for `pkt`; updates the marks in `cx`.
pub(super) fn base_chain(
    t: &NftTable,
    ci: usize,
    pkt: &Pkt,
    cx: &mut Ctx,
    unsure: &mut Vec<String>,
) -> Out {
    let st = State {
        stack: vec![(ci, 0, 0)],
        mark: cx.mark,
        ctmark: cx.ctmark,
    };
    let mut budget = Budget {
        forks: MAX_FORKS,
        steps: MAX_STEPS,
    };
    let out = run(t, ci, st, pkt, unsure, &mut budget);
    cx.mark = out.mark;
    cx.ctmark = out.ctmark;
    out
}

fn end(v: Verdict, st: &State) -> Out {
    Out::ended(v, st.mark, st.ctmark)
}

fn policy(t: &NftTable, ci: usize) -> Verdict {
    let c = &t.chains[ci];
    match c.policy.as_deref() {
        Some("drop") => Verdict::Drop {
            by: format!("{} policy drop", chain_name(t, c)),
        },
        _ => Verdict::Accept,
    }
}

/// What one statement does to the walk.
enum Step {
    Next,
    NextRule,
    Unsure(String),
    Done(Verdict),
    /// A jump, goto or return already moved the stack.
    Resume,
}

fn run(
    t: &NftTable,
    base: usize,
    mut st: State,
    pkt: &Pkt,
    unsure: &mut Vec<String>,
    budget: &mut Budget,
) -> Out {
    loop {
        if budget.steps == 0 {
            let why = "the chains loop or are too long to follow".to_string();
            let by = chain_name(t, &t.chains[base]);
            return end(Verdict::CannotJudge { by, why }, &st);
        }
        budget.steps -= 1;
        let Some(&(ci, ri, si)) = st.stack.last() else {
            return end(policy(t, base), &st);
        };
        let chain = &t.chains[ci];
        let Some(rule) = chain.rules.get(ri) else {
            // End of a chain: back to the rule after the jump, or the base chain's policy.
            st.stack.pop();
            continue;
        };
        let by = format!("{}: {}", chain_name(t, chain), rule_text(rule));
        let step = match &rule.stmts {
            // Saved before nft was evaluated: only a rule without a verdict is known harmless.
            None if rule.verdict.is_none() => Step::NextRule,
            None => Step::Unsure("the rule's statements were not recorded".into()),
            Some(stmts) => match stmts.get(si) {
                None => Step::NextRule,
                Some(s) => statement(t, s, &by, pkt, &mut st),
            },
        };
        let top = st.stack.len().saturating_sub(1);
        match step {
            Step::Resume => {}
            Step::Next => st.stack[top].2 += 1,
            Step::NextRule => st.stack[top] = (ci, ri + 1, 0),
            Step::Done(v) => return end(v, &st),
            Step::Unsure(why) => {
                if !unsure.contains(&by) {
                    unsure.push(by.clone());
                }
                let rest = rule.stmts.as_deref().map_or(&[][..], |s| &s[si + 1..]);
                if rule.stmts.is_some() && rest.iter().all(|s| matches!(s, NftStmt::Nop)) {
                    st.stack[top] = (ci, ri + 1, 0);
                    continue;
                }
                if budget.forks == 0 {
                    let why = "too many rules netlens cannot judge".to_string();
                    return end(Verdict::CannotJudge { by, why }, &st);
                }
                budget.forks -= 1;
                // Both ways: the statement holds (a) or the rule ends here (b).
                let mut sa = st.clone();
                sa.stack[top].2 += 1;
                let a = match &rule.stmts {
                    Some(_) => run(t, base, sa, pkt, unsure, budget),
                    // A rule without its statements: it ends with its verdict or not at all.
                    None => end(old_verdict(rule, &by), &sa),
                };
                st.stack[top] = (ci, ri + 1, 0);
                let b = run(t, base, st, pkt, unsure, budget);
                return combine(a, b, by, why);
            }
        }
    }
}

/// The verdict of a rule from an old snapshot, from its summary.
fn old_verdict(rule: &NftRule, by: &str) -> Verdict {
    match rule.verdict.as_deref() {
        Some("accept") => Verdict::Accept,
        Some("drop" | "reject") => Verdict::Drop { by: by.into() },
        _ => Verdict::CannotJudge {
            by: by.into(),
            why: "the rule's statements were not recorded".into(),
        },
    }
}

fn statement(t: &NftTable, s: &NftStmt, by: &str, pkt: &Pkt, st: &mut State) -> Step {
    match s {
        NftStmt::Match { key, op, right } => {
            let cx = Ctx {
                mark: st.mark,
                ctmark: st.ctmark,
                is_local: &|_| false,
                rec: None,
            };
            let right = match expand(t, right) {
                Ok(r) => r,
                Err(why) => return Step::Unsure(why),
            };
            match holds(key, *op, &right, pkt, &cx) {
                Ok(true) => Step::Next,
                Ok(false) => Step::NextRule,
                Err(why) => Step::Unsure(why),
            }
        }
        NftStmt::Nop => Step::Next,
        NftStmt::Unmodeled { what } => Step::Unsure(format!("{what} is not modelled")),
        NftStmt::SetMark { ct, value } => {
            if *ct {
                st.ctmark = Some(*value);
            } else {
                st.mark = Some(*value);
            }
            Step::Next
        }
        NftStmt::Reject => Step::Done(Verdict::Drop { by: by.into() }),
        NftStmt::Nat { nat, to } => Step::Done(Verdict::Nat {
            target: nat.to_ascii_uppercase(),
            to: to.clone(),
            by: by.into(),
        }),
        NftStmt::Verdict { verdict, target } => verdict_step(t, verdict, target, by, st),
        NftStmt::Vmap {
            key,
            entries,
            named,
        } => {
            let named_entries;
            let entries = match named {
                None => entries,
                Some(n) => match t
                    .named
                    .iter()
                    .find(|s| &s.name == n)
                    .and_then(|s| s.verdicts.as_ref())
                {
                    Some(e) => {
                        named_entries = e;
                        named_entries
                    }
                    None => {
                        let why = format!("verdict map @{n} is not known or not usable");
                        return Step::Done(Verdict::CannotJudge { by: by.into(), why });
                    }
                },
            };
            let cx = Ctx {
                mark: st.mark,
                ctmark: st.ctmark,
                is_local: &|_| false,
                rec: None,
            };
            for e in entries {
                match holds(key, NftOp::Eq, std::slice::from_ref(&e.when), pkt, &cx) {
                    Ok(true) => return verdict_step(t, &e.verdict, &e.target, by, st),
                    Ok(false) => {}
                    // Which entry (or none) applies is not known: no fork can stand for it.
                    Err(why) => {
                        let by = by.into();
                        return Step::Done(Verdict::CannotJudge { by, why });
                    }
                }
            }
            // A lookup that finds nothing ends the rule.
            Step::NextRule
        }
    }
}

/// The right side with each `@set` replaced by the named set's elements.
fn expand<'a>(
    t: &NftTable,
    right: &'a [NftAtom],
) -> Result<std::borrow::Cow<'a, [NftAtom]>, String> {
    if !right.iter().any(|a| matches!(a, NftAtom::SetRef(_))) {
        return Ok(std::borrow::Cow::Borrowed(right));
    }
    let mut out = Vec::new();
    for a in right {
        match a {
            NftAtom::SetRef(n) => {
                let elems = t
                    .named
                    .iter()
                    .find(|s| &s.name == n)
                    .and_then(|s| s.elems.as_ref())
                    .ok_or_else(|| format!("set @{n} is not known or not usable"))?;
                out.extend(elems.iter().cloned());
            }
            other => out.push(other.clone()),
        }
    }
    Ok(std::borrow::Cow::Owned(out))
}

fn verdict_step(
    t: &NftTable,
    verdict: &str,
    target: &Option<String>,
    by: &str,
    st: &mut State,
) -> Step {
    match verdict {
        "accept" => Step::Done(Verdict::Accept),
        "drop" => Step::Done(Verdict::Drop { by: by.into() }),
        "continue" => Step::NextRule,
        "return" => {
            st.stack.pop();
            // The caller's rule that jumped is done; a return in the base chain ends it.
            if let Some(top) = st.stack.last_mut() {
                *top = (top.0, top.1 + 1, 0);
            }
            Step::Resume
        }
        "jump" | "goto" => {
            let Some(ti) = target
                .as_deref()
                .and_then(|n| t.chains.iter().position(|c| c.name == n))
            else {
                let why = format!("{verdict} to a chain not in the snapshot");
                return Step::Done(Verdict::CannotJudge { by: by.into(), why });
            };
            if st.stack.len() >= MAX_DEPTH {
                let why = format!("jumps nest deeper than {MAX_DEPTH}");
                return Step::Done(Verdict::CannotJudge { by: by.into(), why });
            }
            if verdict == "goto" {
                st.stack.pop();
            } else if let Some(top) = st.stack.last_mut() {
                *top = (top.0, top.1 + 1, 0);
            }
            st.stack.push((ti, 0, 0));
            Step::Resume
        }
        other => Step::Unsure(format!("the `{other}` verdict is not modelled")),
    }
}
