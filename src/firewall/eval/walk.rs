//! The chain walk of one table: jumps, gotos, RETURN and the policy at the end, the marks
//! rules set on the way, and a fork at each rule that cannot be judged.

use std::net::IpAddr;

use super::compiled::CTable;
use super::matches::{dst_hit, matches_but_src, parse_mark, src_hit, Ctx, Rec};
use super::memo::Tested;
use super::{Pkt, Verdict};
use crate::firewall::{XtRule, XtTable};

/// Jumps nested deeper than this are not followed (the kernel allows more, rules never do).
const MAX_DEPTH: usize = 16;
/// Forks at rules that cannot be judged, per table walk, before the walk gives up.
const MAX_FORKS: usize = 64;

/// Where the walk is: the chain stack (chain index, next rule index) and the marks.
#[derive(Clone)]
struct State {
    /// The built-in chain the walk began in: its policy ends a walk that returns from it.
    start: usize,
    stack: Vec<(usize, usize)>,
    mark: Option<u32>,
    ctmark: Option<u32>,
}

/// The end of one table's walk.
pub(super) struct Out {
    pub verdict: Verdict,
    pub assumed: Verdict,
    pub mark: Option<u32>,
    pub ctmark: Option<u32>,
}

impl Out {
    /// A walk that ended with `v` (nothing left to assume), carrying the marks it set.
    pub(super) fn ended(v: Verdict, mark: Option<u32>, ctmark: Option<u32>) -> Out {
        Out {
            assumed: v.clone(),
            verdict: v,
            mark,
            ctmark,
        }
    }
}

enum Flow {
    Continue,
    Return,
    Done(Verdict),
}

/// The rule as iptables-save prints it, without counters.
pub fn rule_text(r: &XtRule) -> String {
    let raw = r.raw.trim();
    // Most rules are read without counters and with single spaces, and the stripped text
    // is then the rule itself: a node's bridge plugin ends each pod's masquerade walk on a
    // rule of its own, and re-splitting and joining each one's words was 3% of a doctor run.
    if plain_words(raw) {
        return raw.to_string();
    }
    crate::model::diff::strip_xt_counters(raw)
}

/// Whether [`crate::model::diff::strip_xt_counters`] would return `raw` unchanged: no
/// `[packets:bytes]` prefix, no `-c` word, every word separated by one space.
fn plain_words(raw: &str) -> bool {
    !raw.starts_with('[')
        && !raw.starts_with("-c ")
        && !raw.contains(" -c ")
        && !raw.contains("  ")
        && !raw.contains(|c: char| c.is_whitespace() && c != ' ')
}

/// Walks `chain` of `t`; updates the marks in `cx`.
pub(super) fn table(
    (t, ct): (&XtTable, &CTable),
    chain: &str,
    pkt: &Pkt,
    cx: &mut Ctx,
    unsure: &mut Vec<String>,
) -> Out {
    let Some(ci) = ct.chain(chain) else {
        return Out {
            verdict: Verdict::Accept,
            assumed: Verdict::Accept,
            mark: cx.mark,
            ctmark: cx.ctmark,
        };
    };
    let st = State {
        start: ci,
        stack: vec![(ci, 0)],
        mark: cx.mark,
        ctmark: cx.ctmark,
    };
    let mut forks = MAX_FORKS;
    let out = run((t, ct), st, pkt, (cx.is_local, cx.rec), unsure, &mut forks);
    cx.mark = out.mark;
    cx.ctmark = out.ctmark;
    out
}

/// Notes that the walk asked `test` and got `answer` (see [`super::memo`]).
fn note(rec: Rec, test: Tested, answer: u32) {
    if let Some(rec) = rec {
        rec.borrow_mut().push((test, answer));
    }
}

fn run(
    (t, ct): (&XtTable, &CTable),
    mut st: State,
    pkt: &Pkt,
    (is_local, rec): (&dyn Fn(IpAddr) -> bool, Rec),
    unsure: &mut Vec<String>,
    forks: &mut usize,
) -> Out {
    // Not `stack[0]`: a fork at an unjudged RETURN in the built-in chain empties the stack.
    let start = st.start;
    loop {
        let Some(&mut (ci, ref mut ri)) = st.stack.last_mut() else {
            return end(policy(t, start), &st);
        };
        let chain = &t.chains[ci];
        let cc = ct.at(t, ci);
        // In a run of one-host rules, only the packet's own host's rules can match.
        if let Some(run) = cc.run_at(*ri) {
            let ip = if run.by_src { pkt.src } else { pkt.dst };
            let next = run.next(*ri, ip);
            note(rec, Tested::Run(ct.idx, ci, *ri), next as u32);
            *ri = next;
        }
        let Some(r) = chain.rules.get(*ri) else {
            st.stack.pop();
            continue;
        };
        let cr = &cc.rules[*ri];
        let at = *ri;
        *ri += 1;
        let cx = Ctx {
            mark: st.mark,
            ctmark: st.ctmark,
            is_local,
            rec,
        };
        // The addresses last, each noted for the memo: destination, then source.
        let matched = match matches_but_src(r, cr, pkt, &cx) {
            Ok(true) => Ok(match dst_hit(cr, pkt.dst) {
                Some((hit, inside)) => {
                    note(rec, Tested::Dst(ct.idx, ci, at), u32::from(inside));
                    hit
                }
                None => true,
            } && match src_hit(cr, pkt.src) {
                None => true,
                Some((hit, inside)) => {
                    note(rec, Tested::Src(ct.idx, ci, at), u32::from(inside));
                    hit
                }
            }),
            other => other,
        };
        if matches!(matched, Ok(false)) {
            continue;
        }
        // Named only once it matters: most rules of a walk do not match, and formatting
        // each one's text was most of the doctor's time on a kube-proxy node (5000 rules).
        // Nor for a matched jump or mark, which the verdict does not name: a pod's packet
        // passes a handful of those per walk, thousands of walks a run.
        // And made once per compiled rule: every pod's walk ends on the same MASQUERADE.
        let name = || {
            cr.name
                .get_or_init(|| format!("{} {}: {}", t.name, chain.name, rule_text(r)))
                .clone()
        };
        match matched {
            Ok(false) => {}
            Ok(true) => match apply(ct, r, &name, &mut st) {
                Flow::Continue => {}
                Flow::Return => {
                    st.stack.pop();
                }
                Flow::Done(v) => return end(v, &st),
            },
            Err(why) => {
                let by = name();
                if !unsure.contains(&by) {
                    unsure.push(by.clone());
                }
                if harmless(r) {
                    continue;
                }
                if *forks == 0 {
                    let v = Verdict::CannotJudge {
                        by,
                        why: "too many rules netlens cannot judge".into(),
                    };
                    return end(v, &st);
                }
                *forks -= 1;
                // Both ways: the rule matches (a) or not (b).
                let mut sa = st.clone();
                let a = match apply(ct, r, &name, &mut sa) {
                    Flow::Continue => run((t, ct), sa, pkt, (is_local, rec), unsure, forks),
                    Flow::Return => {
                        sa.stack.pop();
                        run((t, ct), sa, pkt, (is_local, rec), unsure, forks)
                    }
                    Flow::Done(v) => end(v, &sa),
                };
                let b = run((t, ct), st, pkt, (is_local, rec), unsure, forks);
                return combine(a, b, by, why);
            }
        }
    }
}

fn end(v: Verdict, st: &State) -> Out {
    Out::ended(v, st.mark, st.ctmark)
}

/// The built-in chain's policy, when the walk falls off its end.
fn policy(t: &XtTable, ci: usize) -> Verdict {
    let c = &t.chains[ci];
    if c.policy.as_deref() == Some("DROP") {
        Verdict::Drop {
            by: format!("{} {} policy DROP", t.name, c.name),
        }
    } else {
        Verdict::Accept
    }
}

/// Same outcome either way the unjudged rule goes? Then it does not matter.
pub(super) fn combine(a: Out, b: Out, by: String, why: String) -> Out {
    let same = match (&a.verdict, &b.verdict) {
        (Verdict::Accept, Verdict::Accept) => true,
        (Verdict::Drop { .. }, Verdict::Drop { .. }) => true,
        (
            Verdict::Nat { target, to, .. },
            Verdict::Nat {
                target: t2, to: o2, ..
            },
        ) => target == t2 && to == o2,
        _ => false,
    };
    let mark = if a.mark == b.mark { b.mark } else { None };
    let ctmark = if a.ctmark == b.ctmark { b.ctmark } else { None };
    let verdict = if same {
        b.verdict
    } else if let Verdict::CannotJudge { .. } = b.verdict {
        b.verdict
    } else {
        Verdict::CannotJudge { by, why }
    };
    Out {
        verdict,
        assumed: b.assumed,
        mark,
        ctmark,
    }
}

/// A rule that neither decides nor changes anything later rules can see.
fn harmless(r: &XtRule) -> bool {
    match r.target.as_deref() {
        None => true,
        Some(t) => NON_TERMINAL.contains(&t),
    }
}

/// Targets that only log, count or touch headers netlens does not model; the walk goes on.
const NON_TERMINAL: [&str; 17] = [
    "LOG",
    "NFLOG",
    "ULOG",
    "NOTRACK",
    "CT",
    "TRACE",
    "CHECKSUM",
    "TCPMSS",
    "AUDIT",
    "CLASSIFY",
    "DSCP",
    "TOS",
    "TTL",
    "HL",
    "SECMARK",
    "CONNSECMARK",
    "IDLETIMER",
];

/// `name()`: the rule's text, for a verdict that names it (formatted only then).
fn apply(ct: &CTable, r: &XtRule, name: &dyn Fn() -> String, st: &mut State) -> Flow {
    let Some(target) = r.target.as_deref() else {
        return Flow::Continue;
    };
    let arg = |k: &str| {
        r.target_args
            .iter()
            .find(|(o, _)| o == k)
            .map(|(_, v)| v.as_str())
    };
    match target {
        "ACCEPT" => Flow::Done(Verdict::Accept),
        "DROP" | "REJECT" => Flow::Done(Verdict::Drop { by: name() }),
        "RETURN" => Flow::Return,
        "DNAT" | "SNAT" | "MASQUERADE" | "REDIRECT" => {
            let to = arg("--to-destination")
                .or(arg("--to-source"))
                .or(arg("--to"))
                .or(arg("--to-ports"))
                .map(str::to_string);
            Flow::Done(Verdict::Nat {
                target: target.into(),
                to,
                by: name(),
            })
        }
        "MARK" => match set_mark(st.mark, &r.target_args) {
            Ok(m) => {
                st.mark = m;
                Flow::Continue
            }
            Err(why) => Flow::Done(Verdict::CannotJudge { by: name(), why }),
        },
        "CONNMARK" => match connmark(st, &r.target_args) {
            Ok(()) => Flow::Continue,
            Err(why) => Flow::Done(Verdict::CannotJudge { by: name(), why }),
        },
        t2 if NON_TERMINAL.contains(&t2) => Flow::Continue,
        user => match ct.chain(user) {
            Some(_) if st.stack.len() >= MAX_DEPTH => Flow::Done(Verdict::CannotJudge {
                by: name(),
                why: format!("jumps nest deeper than {MAX_DEPTH}"),
            }),
            Some(ci) => {
                // `-g` (goto) does not come back to this chain.
                if r.goto {
                    st.stack.pop();
                }
                st.stack.push((ci, 0));
                Flow::Continue
            }
            None => Flow::Done(Verdict::CannotJudge {
                by: name(),
                why: format!("target {user} is not modelled"),
            }),
        },
    }
}

/// `MARK --set-xmark v/m`, `--set-mark v/m`, `--or-mark`, `--and-mark`, `--xor-mark`.
fn set_mark(mark: Option<u32>, args: &[(String, String)]) -> Result<Option<u32>, String> {
    let (opt, val) = args.first().ok_or("MARK without an option")?;
    let (v, m) = parse_mark(val).ok_or_else(|| format!("mark {val:?} is not understood"))?;
    let Some(old) = mark else {
        // Only a full overwrite makes an unknown mark known again.
        let full = matches!(opt.as_str(), "--set-xmark" | "--set-mark") && m == u32::MAX;
        return Ok(full.then_some(v));
    };
    Ok(Some(match opt.as_str() {
        "--set-xmark" => (old & !m) ^ v,
        "--set-mark" => (old & !m) | v,
        "--or-mark" => old | v,
        "--and-mark" => old & v,
        "--xor-mark" => old ^ v,
        other => return Err(format!("MARK {other} is not modelled")),
    }))
}

/// `CONNMARK --set-xmark/--set-mark`, `--save-mark`, `--restore-mark` (without masks).
fn connmark(st: &mut State, args: &[(String, String)]) -> Result<(), String> {
    let (opt, _) = args.first().ok_or("CONNMARK without an option")?;
    match opt.as_str() {
        "--set-xmark" | "--set-mark" | "--or-mark" | "--and-mark" | "--xor-mark" => {
            st.ctmark = set_mark(st.ctmark, args)?;
        }
        "--save-mark" | "--restore-mark" if args.len() > 1 => {
            return Err("CONNMARK with masks is not modelled".into());
        }
        "--save-mark" => st.ctmark = st.mark,
        "--restore-mark" => st.mark = st.ctmark,
        other => return Err(format!("CONNMARK {other} is not modelled")),
    }
    Ok(())
}
