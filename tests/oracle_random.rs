//! The random-topology oracle: netlens checked against the kernel on networks it was never
//! built on.
//!
//! For each seed, inside one throwaway world: a seeded generator (`common::topo_gen`) builds
//! namespaces, veth pairs, bridges (in a router or a switch namespace), routers with or without
//! MASQUERADE, a DNAT port-forward and an "internet" namespace, with TCP listeners in every
//! host; then injects at most one fault (`common::oracle_fault`). For a bounded set of
//! (source, destination, icmp|tcp) pairs, `netlens path`'s verdict must equal a real ping or
//! TCP connect. A healthy topology must get no error or warning from `netlens doctor`; a
//! broken one must get a finding in the fault's namespace, `netlens fix all --yes` must make
//! every probe the fault broke succeed (and break none that worked), and `netlens undo --yes`
//! must bring the failure back.
//!
//! Every disagreement fails the test, after all seeds ran, with a table per fault kind and,
//! for each failing seed, the commands that rebuild its topology and fault. Knobs:
//! `NETLENS_ORACLE_SEED=N` replays one seed; `NETLENS_ORACLE_SEEDS=COUNT` (default
//! [`DEFAULT_SEEDS`]) from `NETLENS_ORACLE_FIRST_SEED` (default 1); `NETLENS_ORACLE_FAULTS=
//! route,link-down,…` (default: every kind, seeds cycle through them); `NETLENS_ORACLE_PAIRS`
//! (default [`DEFAULT_PAIRS`]). See docs/testing.md.

mod common;

use std::collections::BTreeMap;
use std::time::Instant;

use common::oracle_fault::{self, Fault, KINDS};
use common::oracle_probe::{
    candidates, choose, doctor, ids, names_fault, netlens, path, reality, Listeners, Pair,
};
use common::topo_gen::{self, script, Rng, Topology};
use common::world::{in_world, try_sh, TIMEOUT_ENV};

/// One seed per kind: about a minute and a half on a 2-core VM.
const DEFAULT_SEEDS: u64 = 10;
const DEFAULT_PAIRS: usize = 8;

struct Config {
    seeds: Vec<u64>,
    kinds: Vec<&'static str>,
    pairs: usize,
}

fn env_num(name: &str) -> Option<u64> {
    std::env::var(name).ok().map(|v| {
        v.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number"))
    })
}

fn config() -> Config {
    let kinds: Vec<&'static str> = match std::env::var("NETLENS_ORACLE_FAULTS") {
        Ok(list) if !list.trim().is_empty() && list.trim() != "all" => list
            .split(',')
            .map(|k| {
                *KINDS
                    .iter()
                    .find(|known| **known == k.trim())
                    .unwrap_or_else(|| {
                        panic!("NETLENS_ORACLE_FAULTS: unknown kind {k:?}; known: {KINDS:?}")
                    })
            })
            .collect(),
        _ => KINDS.to_vec(),
    };
    let seeds = match env_num("NETLENS_ORACLE_SEED") {
        Some(s) => vec![s],
        None => {
            let first = env_num("NETLENS_ORACLE_FIRST_SEED").unwrap_or(1);
            let n = env_num("NETLENS_ORACLE_SEEDS").unwrap_or(DEFAULT_SEEDS);
            (first..first + n).collect()
        }
    };
    let pairs = env_num("NETLENS_ORACLE_PAIRS").map_or(DEFAULT_PAIRS, |n| n as usize);
    Config {
        seeds,
        kinds,
        pairs,
    }
}

#[derive(Default)]
struct Tally {
    seeds: u32,
    path_agree: u32,
    path_disagree: u32,
    /// The fault broke at least one probe.
    effective: u32,
    found: u32,
    missed: u32,
    false_alarms: u32,
    fix_worked: u32,
    fix_failed: u32,
    fix_broke_other: u32,
    undo_restored: u32,
    undo_failed: u32,
}

#[derive(Default)]
struct Run {
    tally: BTreeMap<&'static str, Tally>,
    /// One line per disagreement.
    problems: Vec<String>,
    /// Seed → the commands that rebuild its topology and fault.
    scripts: BTreeMap<u64, String>,
}

impl Run {
    fn problem(&mut self, seed: u64, fault: &Fault, what: String, t: &Topology) {
        self.problems.push(format!(
            "seed {seed} [{}] {}: {what}",
            fault.kind,
            fault.describe()
        ));
        self.scripts.entry(seed).or_insert_with(|| {
            format!(
                "{}# fault: {}\n{}",
                script(&t.build),
                fault.describe(),
                script(&fault.commands)
            )
        });
    }
}

fn run_all(argv: &[Vec<String>], what: &str, t: &Topology) {
    for c in argv {
        let args: Vec<&str> = c.iter().map(String::as_str).collect();
        let out = try_sh(&args);
        assert!(
            out.status.success(),
            "{what}: `{}` failed: {}\nwhole topology:\n{}",
            c.join(" "),
            String::from_utf8_lossy(&out.stderr).trim(),
            script(&t.build)
        );
    }
}

/// The topology and fault of `seed`: the kind comes from the seed (cycling through `kinds`);
/// a topology with no place for it (no bridge port, no MASQUERADE…) is drawn again.
fn draw(seed: u64, kinds: &[&'static str]) -> (Rng, Topology, Fault) {
    let mut rng = Rng::new(seed);
    let kind = kinds[(seed % kinds.len() as u64) as usize];
    for _ in 0..50 {
        let t = topo_gen::generate(&mut rng, kind == "rp-filter");
        if let Some(f) = oracle_fault::inject(kind, &t, &mut rng) {
            return (rng, t, f);
        }
    }
    panic!("seed {seed}: no topology with a place for fault {kind} in 50 draws");
}

fn all_reality(pairs: &[Pair]) -> Vec<bool> {
    pairs.iter().map(reality).collect()
}

fn one_seed(seed: u64, cfg: &Config, run: &mut Run) {
    let start = Instant::now();
    let (mut rng, t, fault) = draw(seed, &cfg.kinds);
    run_all(&t.build, &format!("seed {seed}: build"), &t);
    let listeners = Listeners::start(&t.listeners);
    let pairs = choose(candidates(&t), &fault, &mut rng, cfg.pairs);

    // What works before the fault. A pair may fail on a topology the generator meant to be
    // healthy (a DNAT hairpin from the target's own segment): `path` is still judged on it,
    // but the fault is judged only on pairs it broke.
    let healthy = all_reality(&pairs);
    run_all(&fault.commands, &format!("seed {seed}: fault"), &t);
    let broken = all_reality(&pairs);
    let tally = run.tally.entry(fault.kind).or_default();
    tally.seeds += 1;

    let mut lines = Vec::new();
    for (p, real) in pairs.iter().zip(&broken) {
        let (says, why) = path(p);
        if says == Some(*real) {
            run.tally.get_mut(fault.kind).unwrap().path_agree += 1;
        } else {
            run.tally.get_mut(fault.kind).unwrap().path_disagree += 1;
            let said = match says {
                Some(true) => "delivers".to_string(),
                Some(false) => format!("broken ({why})"),
                None => format!("no verdict ({why})"),
            };
            let kernel = if *real { "delivered" } else { "lost" };
            lines.push(format!(
                "path {}: netlens says {said}, the kernel {kernel}",
                p.label()
            ));
        }
    }
    for l in lines {
        run.problem(seed, &fault, l, &t);
    }

    let failing: Vec<usize> = (0..pairs.len())
        .filter(|&i| healthy[i] && !broken[i])
        .collect();
    let (_, findings) = doctor();
    if fault.kind == "none" {
        // A finding about a namespace where a pair really fails is no false alarm.
        let fails_in: Vec<&String> = (0..pairs.len())
            .filter(|&i| !healthy[i])
            .flat_map(|i| &pairs[i].through)
            .collect();
        let about = |f: &serde_json::Value| fails_in.iter().any(|n| f["namespace"] == n.as_str());
        let findings: Vec<_> = findings.into_iter().filter(|f| !about(f)).collect();
        if !findings.is_empty() {
            run.tally.get_mut(fault.kind).unwrap().false_alarms += 1;
            run.problem(
                seed,
                &fault,
                format!(
                    "doctor false alarm on a healthy topology: {}",
                    ids(&findings)
                ),
                &t,
            );
        }
    } else if !failing.is_empty() {
        run.tally.get_mut(fault.kind).unwrap().effective += 1;
        if findings.iter().any(|f| names_fault(f, &fault)) {
            run.tally.get_mut(fault.kind).unwrap().found += 1;
        } else {
            run.tally.get_mut(fault.kind).unwrap().missed += 1;
            run.problem(
                seed,
                &fault,
                format!("doctor misses it (it says: {})", ids(&findings)),
                &t,
            );
        }
        fix_and_undo(seed, &fault, &t, &pairs, &healthy, &broken, &failing, run);
    }
    listeners.stop();
    // Named namespaces only: deleting them takes every link, route and rule with them.
    try_sh(&["ip", "-all", "netns", "delete"]);
    println!(
        "oracle: seed {seed} [{}] {}: {} namespaces, {} pairs ({} failing before the fault), {} broken by the fault, {} ms",
        fault.kind,
        fault.describe(),
        t.namespaces.len(),
        pairs.len(),
        healthy.iter().filter(|ok| !**ok).count(),
        failing.len(),
        start.elapsed().as_millis()
    );
}

/// `fix all --yes` must repair every probe the fault broke and break none that worked;
/// `undo --yes` must bring the failure back.
#[allow(clippy::too_many_arguments)]
fn fix_and_undo(
    seed: u64,
    fault: &Fault,
    t: &Topology,
    pairs: &[Pair],
    healthy: &[bool],
    broken: &[bool],
    failing: &[usize],
    run: &mut Run,
) {
    let state = format!("/run/oracle-state-{seed}");
    let fix = netlens(&["fix", "all", "--yes"], Some(&state));
    let fixed = all_reality(pairs);
    let still: Vec<String> = failing
        .iter()
        .filter(|&&i| !fixed[i])
        .map(|&i| pairs[i].label())
        .collect();
    let newly: Vec<String> = (0..pairs.len())
        .filter(|&i| healthy[i] && broken[i] && !fixed[i])
        .map(|i| pairs[i].label())
        .collect();
    let fix_said = format!(
        "{} {}",
        String::from_utf8_lossy(&fix.stdout)
            .lines()
            .last()
            .unwrap_or("")
            .trim(),
        String::from_utf8_lossy(&fix.stderr).trim()
    );
    if still.is_empty() {
        run.tally.get_mut(fault.kind).unwrap().fix_worked += 1;
    } else {
        run.tally.get_mut(fault.kind).unwrap().fix_failed += 1;
        let what = format!(
            "fix all (exit {:?}, {fix_said:?}) leaves broken: {}",
            fix.status.code(),
            still.join(", ")
        );
        run.problem(seed, fault, what, t);
    }
    if !newly.is_empty() {
        run.tally.get_mut(fault.kind).unwrap().fix_broke_other += 1;
        run.problem(
            seed,
            fault,
            format!("fix all breaks what worked: {}", newly.join(", ")),
            t,
        );
    }
    if !still.is_empty() {
        return; // Nothing repaired: nothing for undo to bring back.
    }
    let undo = netlens(&["undo", "--yes"], Some(&state));
    let undone = all_reality(pairs);
    let back: Vec<String> = failing
        .iter()
        .filter(|&&i| undone[i])
        .map(|&i| pairs[i].label())
        .collect();
    if back.is_empty() {
        run.tally.get_mut(fault.kind).unwrap().undo_restored += 1;
    } else {
        run.tally.get_mut(fault.kind).unwrap().undo_failed += 1;
        let what = format!(
            "undo (exit {:?}: {}) does not bring the failure back: {}",
            undo.status.code(),
            String::from_utf8_lossy(&undo.stderr).trim(),
            back.join(", ")
        );
        run.problem(seed, fault, what, t);
    }
}

fn table(run: &Run) -> String {
    let mut s = String::from(
        "kind            seeds  path ok/bad  broke  doctor found/missed/false  fix ok/failed/broke-other  undo ok/failed\n",
    );
    for (kind, t) in &run.tally {
        s += &format!(
            "{kind:<15} {:>5}  {:>4}/{:<4}   {:>5}  {:>5}/{:<3}/{:<3}            {:>3}/{:<3}/{:<3}                  {:>3}/{:<3}\n",
            t.seeds, t.path_agree, t.path_disagree, t.effective, t.found, t.missed,
            t.false_alarms, t.fix_worked, t.fix_failed, t.fix_broke_other, t.undo_restored,
            t.undo_failed
        );
    }
    s
}

#[test]
fn oracle_random_topologies() {
    let cfg = config();
    if std::env::var_os(TIMEOUT_ENV).is_none() {
        // One world runs every seed; give it room for the longest seeds.
        let secs = 120 + 60 * cfg.seeds.len() as u64;
        std::env::set_var(TIMEOUT_ENV, secs.to_string());
    }
    in_world("oracle_random_topologies", || {
        let cfg = config();
        let mut run = Run::default();
        let start = Instant::now();
        for &seed in &cfg.seeds {
            one_seed(seed, &cfg, &mut run);
        }
        println!(
            "oracle: {} seeds in {} s, fault kinds {:?}\n{}",
            cfg.seeds.len(),
            start.elapsed().as_secs(),
            cfg.kinds,
            table(&run)
        );
        if run.problems.is_empty() {
            return;
        }
        let faults = std::env::var("NETLENS_ORACLE_FAULTS").unwrap_or_default();
        let mut msg = format!("{} disagreements with the kernel:\n", run.problems.len());
        for p in &run.problems {
            msg += &format!("  {p}\n");
        }
        for (seed, s) in &run.scripts {
            msg += &format!(
                "\n# seed {seed}: replay with NETLENS_ORACLE_SEED={seed}{} cargo test --test oracle_random -- --nocapture\n{s}",
                if faults.is_empty() { String::new() } else { format!(" NETLENS_ORACLE_FAULTS={faults}") }
            );
        }
        panic!("{msg}");
    });
}
