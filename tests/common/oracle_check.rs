//! The random-topology oracle's judgements on one seed: `path` against the kernel, the
//! doctor's findings against the fault, `fix all` and `undo` against real probes; and the
//! tally per fault kind the test prints.

use std::collections::BTreeMap;

use serde_json::Value;

use super::oracle_fault::Fault;
use super::oracle_probe::{doctor, ids, names_fault, netlens, path, reality, Pair};
use super::topo_gen::{script, Topology};
use super::world::try_sh;

/// One seed's network, its fault, and what the kernel did before and after the fault.
pub struct Case {
    pub seed: u64,
    pub t: Topology,
    pub fault: Fault,
    pub pairs: Vec<Pair>,
    pub healthy: Vec<bool>,
    pub broken: Vec<bool>,
}

impl Case {
    /// Indexes of the pairs the fault broke.
    pub fn failing(&self) -> Vec<usize> {
        (0..self.pairs.len())
            .filter(|&i| self.healthy[i] && !self.broken[i])
            .collect()
    }
}

pub fn all_reality(pairs: &[Pair]) -> Vec<bool> {
    pairs.iter().map(reality).collect()
}

#[derive(Default)]
pub struct Tally {
    pub seeds: u32,
    pub path_agree: u32,
    pub path_disagree: u32,
    /// Seeds where the fault broke at least one pair.
    pub effective: u32,
    pub found: u32,
    pub missed: u32,
    pub false_alarms: u32,
    pub fix_worked: u32,
    pub fix_failed: u32,
    pub fix_broke_other: u32,
    pub undo_restored: u32,
    pub undo_failed: u32,
}

#[derive(Default)]
pub struct Run {
    pub tally: BTreeMap<&'static str, Tally>,
    /// One line per disagreement.
    pub problems: Vec<String>,
    /// Seed → the commands that rebuild its topology and fault.
    pub scripts: BTreeMap<u64, String>,
}

impl Run {
    pub fn tally(&mut self, kind: &'static str) -> &mut Tally {
        self.tally.entry(kind).or_default()
    }

    pub fn problem(&mut self, c: &Case, what: String) {
        let f = &c.fault;
        self.problems.push(format!(
            "seed {} [{}] {}: {what}",
            c.seed,
            f.kind,
            f.describe()
        ));
        self.scripts.entry(c.seed).or_insert_with(|| {
            let (build, fault) = (script(&c.t.build), script(&f.commands));
            format!("{build}# fault: {}\n{fault}", f.describe())
        });
    }

    /// Per fault kind: seeds; path agreed/disagreed; seeds the fault broke a pair in; doctor
    /// found/missed/false alarms; fix worked/failed/broke another pair; undo restored/failed.
    pub fn table(&self) -> String {
        let mut s = String::from(
            "kind            seeds  path ok/bad  broke  doctor found/missed/false  fix ok/failed/broke-other  undo ok/failed\n",
        );
        for (kind, t) in &self.tally {
            s += &format!(
                "{kind:<15} {:>5}  {:>4}/{:<4}   {:>5}  {:>5}/{:<3}/{:<3}            {:>3}/{:<3}/{:<3}                  {:>3}/{:<3}\n",
                t.seeds, t.path_agree, t.path_disagree, t.effective, t.found, t.missed,
                t.false_alarms, t.fix_worked, t.fix_failed, t.fix_broke_other, t.undo_restored,
                t.undo_failed
            );
        }
        s
    }
}

/// `netlens path` must say `delivers` exactly when the kernel delivered (after the fault).
pub fn check_paths(c: &Case, run: &mut Run) {
    for (p, real) in c.pairs.iter().zip(&c.broken) {
        let (says, why) = path(p);
        if says == Some(*real) {
            run.tally(c.fault.kind).path_agree += 1;
            continue;
        }
        run.tally(c.fault.kind).path_disagree += 1;
        let said = match says {
            Some(true) => "delivers".to_string(),
            Some(false) => format!("broken ({why})"),
            None => format!("no verdict ({why})"),
        };
        let kernel = if *real { "delivered" } else { "lost" };
        let line = format!(
            "path {}: netlens says {said}, the kernel {kernel}",
            p.label()
        );
        run.problem(c, line);
    }
}

/// Healthy: no error or warning (except about a namespace where a pair really fails, e.g. a
/// DNAT hairpin). Broken, when the fault broke a pair: a finding that names it.
pub fn check_doctor(c: &Case, run: &mut Run) {
    let (_, findings) = doctor();
    let kind = c.fault.kind;
    if kind == "none" {
        let fails_in: Vec<&String> = (0..c.pairs.len())
            .filter(|&i| !c.healthy[i])
            .flat_map(|i| &c.pairs[i].through)
            .collect();
        let about = |f: &Value| fails_in.iter().any(|n| f["namespace"] == n.as_str());
        let alarms: Vec<Value> = findings.into_iter().filter(|f| !about(f)).collect();
        if !alarms.is_empty() {
            run.tally(kind).false_alarms += 1;
            let what = format!("doctor false alarm on a healthy topology: {}", ids(&alarms));
            run.problem(c, what);
        }
        return;
    }
    if c.failing().is_empty() {
        return; // The fault broke nothing that was probed: nothing to name.
    }
    run.tally(kind).effective += 1;
    if findings.iter().any(|f| names_fault(f, &c.fault)) {
        run.tally(kind).found += 1;
    } else {
        run.tally(kind).missed += 1;
        run.problem(c, format!("doctor misses it (it says: {})", ids(&findings)));
    }
}

fn labels(c: &Case, idx: impl Iterator<Item = usize>) -> String {
    idx.map(|i| c.pairs[i].label())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Forgets every learned neighbour entry (PERMANENT and NOARP stay: `ip neigh flush` skips
/// them, and the neigh-wrong fault is one). A fault can change a MAC under them — detaching
/// the port a bridge took its MAC from changes the bridge's (seed 365) — and an entry
/// learned before then sends to the old MAC until the kernel re-probes it, 15–45 s later or
/// once traffic has found it STALE: whether a probe is lost then depends on when it runs, and
/// `path`'s snapshot, taken seconds after the probes, may see the entry already re-learned.
/// Flushed, the probes and `path` see one state. A fix can do the same: re-attaching a port
/// whose MAC is lower than the bridge's changes the bridge's MAC (seed 441), so the entries are
/// flushed after `fix all` and after `undo` too; hosts on a real node re-learn within seconds. `path` does model such an entry from the
/// snapshot; the kernel test doctor_rules::oracle_cases checks it without a race.
pub fn settle_neighbours() {
    let out = try_sh(&["ip", "-all", "netns", "exec", "ip", "neigh", "flush", "all"]);
    assert!(
        out.status.success(),
        "ip neigh flush: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
}

/// `fix all --yes` must repair every pair the fault broke and break none that worked;
/// `undo --yes` must bring the failure back.
pub fn fix_and_undo(c: &Case, run: &mut Run) {
    let failing = c.failing();
    let kind = c.fault.kind;
    let state = format!("/run/oracle-state-{}", c.seed);
    let fix = netlens(&["fix", "all", "--yes"], Some(&state));
    settle_neighbours();
    let mut fixed = all_reality(&c.pairs);
    // A link brought back up leaves neighbour entries the fault made INCOMPLETE/FAILED: the
    // kernel's first packet can still fail (EHOSTUNREACH when its ARP probes run out) and the
    // next one works. A client retries; so does the oracle, once, after the kernel's own
    // re-probe time — a fix that did not repair fails again.
    if failing.iter().any(|&i| !fixed[i]) {
        std::thread::sleep(std::time::Duration::from_millis(1500));
        for &i in &failing {
            if !fixed[i] {
                fixed[i] = reality(&c.pairs[i]);
            }
        }
    }
    let still = labels(c, failing.iter().copied().filter(|&i| !fixed[i]));
    let newly = labels(
        c,
        (0..c.pairs.len()).filter(|&i| c.healthy[i] && c.broken[i] && !fixed[i]),
    );
    if !newly.is_empty() {
        run.tally(kind).fix_broke_other += 1;
        run.problem(c, format!("fix all breaks what worked: {newly}"));
    }
    if !still.is_empty() {
        run.tally(kind).fix_failed += 1;
        let out = String::from_utf8_lossy(&fix.stdout);
        let said = format!(
            "{} {}",
            out.lines().last().unwrap_or("").trim(),
            String::from_utf8_lossy(&fix.stderr).trim()
        );
        let code = fix.status.code();
        run.problem(
            c,
            format!("fix all (exit {code:?}, {said:?}) leaves broken: {still}"),
        );
        return; // Not repaired: nothing for undo to bring back.
    }
    run.tally(kind).fix_worked += 1;
    let undo = netlens(&["undo", "--yes"], Some(&state));
    settle_neighbours();
    let undone = all_reality(&c.pairs);
    let back = labels(c, failing.iter().copied().filter(|&i| undone[i]));
    if back.is_empty() {
        run.tally(kind).undo_restored += 1;
    } else {
        run.tally(kind).undo_failed += 1;
        let what = format!(
            "undo (exit {:?}: {}) does not bring the failure back: {back}",
            undo.status.code(),
            String::from_utf8_lossy(&undo.stderr).trim()
        );
        run.problem(c, what);
    }
}
