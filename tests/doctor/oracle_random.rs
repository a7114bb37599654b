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
//! (default [`DEFAULT_PAIRS`]); `NETLENS_ORACLE_LOG=FILE` appends a line per seed as it ends.
//! See docs/testing.md.

use crate::common;

use std::time::Instant;

use common::oracle_check::{
    all_reality, check_doctor, check_paths, fix_and_undo, settle_neighbours, Case, Run,
};
use common::oracle_fault::{self, Fault, KINDS};
use common::oracle_probe::{candidates, choose, Listeners};
use common::topo_gen::{self, script, Rng, Topology};
use common::world::{in_world, try_sh, TIMEOUT_ENV};

/// One seed per kind: about two minutes on a 2-core VM.
const DEFAULT_SEEDS: u64 = KINDS.len() as u64;
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

fn one_seed(seed: u64, cfg: &Config, run: &mut Run) {
    let start = Instant::now();
    let known = run.problems.len();
    let (mut rng, t, fault) = draw(seed, &cfg.kinds);
    run_all(&t.build, &format!("seed {seed}: build"), &t);
    let listeners = Listeners::start(&t.listeners);
    let pairs = choose(candidates(&t), &fault, &mut rng, cfg.pairs);
    // What works before the fault. A pair may fail on a topology the generator meant to be
    // healthy (a DNAT hairpin from the target's own segment): `path` is still judged on it,
    // but the fault is judged only on pairs it broke.
    let healthy = all_reality(&pairs);
    run_all(&fault.commands, &format!("seed {seed}: fault"), &t);
    settle_neighbours();
    let broken = all_reality(&pairs);
    let c = Case {
        seed,
        t,
        fault,
        pairs,
        healthy,
        broken,
    };
    run.tally(c.fault.kind).seeds += 1;
    check_paths(&c, run);
    check_doctor(&c, run);
    if c.fault.kind != "none" && oracle_fault::fixable(c.fault.kind) && !c.failing().is_empty() {
        fix_and_undo(&c, run);
    }
    listeners.stop();
    // Named namespaces only: deleting them takes every link, route and rule with them.
    try_sh(&["ip", "-all", "netns", "delete"]);
    let line = format!(
        "oracle: seed {seed} [{}{}] {}: {} namespaces, {} pairs ({} failing before the fault), {} broken by the fault, {} ms, {} disagreements so far",
        c.fault.kind,
        if c.t.nft_nat { ", NAT in nft" } else { "" },
        c.fault.describe(),
        c.t.namespaces.len(),
        c.pairs.len(),
        c.healthy.iter().filter(|ok| !**ok).count(),
        c.failing().len(),
        start.elapsed().as_millis(),
        run.problems.len()
    );
    println!("{line}");
    progress(&line);
    for p in &run.problems[known..] {
        progress(&format!("  {p}"));
    }
}

/// Appends `line` to `NETLENS_ORACLE_LOG` when set: the world prints the test's output only
/// when it ends, and a long run is worth watching as it goes.
fn progress(line: &str) {
    use std::io::Write;
    let Some(path) = std::env::var_os("NETLENS_ORACLE_LOG") else {
        return;
    };
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("NETLENS_ORACLE_LOG {path:?}: {e}"));
    writeln!(f, "{line}").expect("write NETLENS_ORACLE_LOG");
}

#[test]
fn oracle_random_topologies() {
    let cfg = config();
    if std::env::var_os(TIMEOUT_ENV).is_none() {
        // One world runs every seed; give it room for the longest seeds.
        let secs = 120 + 60 * cfg.seeds.len() as u64;
        std::env::set_var(TIMEOUT_ENV, secs.to_string());
    }
    in_world("oracle_random::oracle_random_topologies", || {
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
            run.table()
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
                "\n# seed {seed}: replay with NETLENS_ORACLE_SEED={seed}{} cargo test --test doctor oracle_random -- --nocapture\n{s}",
                if faults.is_empty() { String::new() } else { format!(" NETLENS_ORACLE_FAULTS={faults}") }
            );
        }
        panic!("{msg}");
    });
}
