//! `Live::adopt` (namespaces taken from the model in the scan's order, fields copied only when
//! they differ) against the way it was done before, through a map of every namespace (the
//! slow path kept here): after each step of a seeded sequence of scans — namespaces gone,
//! new, an inode reused by another name, a `pid:N` named (which moves it in the order),
//! processes and bind paths changed — the model, the namespaces to read whole, those renamed
//! or naming a renamed one as peer, and those the scan changed must be the same.

use std::collections::{BTreeSet, HashMap};

use serde_json::json;

use super::{rename_peers, Live};
use crate::collect::sysctl::HostProbe;
use crate::collect::Options;
use crate::diagnose::node_fixture::{node_snapshot, NodeShape};
use crate::model::{Link, Namespace, NamespaceKind, ProcessRef};
use crate::netns::discover::{Discovery, FoundNs};

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % n.max(1)
    }
}

/// A namespace's data: a veth whose peer is in `peer`, with a marker (the MTU) that tells
/// one namespace's data from another's.
fn data(f: &FoundNs, peer: &str, marker: u32) -> Namespace {
    let mut ns = Namespace::new(f.name.clone(), f.kind, f.inode);
    let link: Link = serde_json::from_value(json!({
        "index": 2, "name": "eth0", "kind": "veth", "flags": ["UP"], "oper_state": "UP",
        "mtu": marker, "mac": "0a:00:00:00:00:01",
        "peer": {"namespace": peer, "ifindex": 7, "name": "veth7"}
    }))
    .expect("a link");
    ns.links.push(link);
    ns.paths.clone_from(&f.named_paths);
    ns.processes.clone_from(&f.processes);
    ns
}

fn found(name: String, inode: u64, pids: &[u32]) -> FoundNs {
    let kind = match name.starts_with("pid:") {
        true => NamespaceKind::Process,
        false => NamespaceKind::Named,
    };
    FoundNs {
        named_paths: match kind {
            NamespaceKind::Named => vec![format!("/run/netns/{name}")],
            _ => Vec::new(),
        },
        paths: Vec::new(),
        processes: pids
            .iter()
            .map(|&pid| ProcessRef {
                pid,
                comm: "pause".into(),
                container_id: None,
            })
            .collect(),
        workload: None,
        etc_override: None,
        root: "/".into(),
        name,
        kind,
        inode,
    }
}

/// The natural order discovery lists them in: named ones by name, then `pid:` ones.
fn sorted(mut d: Vec<FoundNs>) -> Vec<FoundNs> {
    d.sort_by(|a, b| {
        (a.kind != NamespaceKind::Named, &a.name).cmp(&(b.kind != NamespaceKind::Named, &b.name))
    });
    d
}

/// The slow path: every namespace through a map by inode, every field copied.
fn adopt_by_map(
    old: Vec<Namespace>,
    d: &Discovery,
) -> (Vec<Namespace>, Vec<usize>, BTreeSet<u64>, BTreeSet<u64>) {
    let mut old: HashMap<u64, Namespace> = old.into_iter().map(|ns| (ns.inode, ns)).collect();
    let mut renamed: HashMap<String, String> = HashMap::new();
    let mut rescanned = BTreeSet::new();
    let mut new = Vec::new();
    let mut out = Vec::new();
    for (i, f) in d.namespaces.iter().enumerate() {
        let ns = match old.remove(&f.inode) {
            Some(mut ns) => {
                if ns.name != f.name {
                    renamed.insert(ns.name.clone(), f.name.clone());
                    new.push(i);
                }
                if ns.processes != f.processes
                    || ns.paths != f.named_paths
                    || ns.workload != f.workload
                {
                    rescanned.insert(f.inode);
                }
                ns.name = f.name.clone();
                ns.kind = f.kind;
                ns.paths = f.named_paths.clone();
                ns.processes = f.processes.clone();
                ns.workload = f.workload.clone();
                ns
            }
            None => {
                new.push(i);
                Namespace::new(f.name.clone(), f.kind, f.inode)
            }
        };
        out.push(ns);
    }
    let mut by_rename = BTreeSet::new();
    if !renamed.is_empty() {
        by_rename = rename_peers(&mut out, &renamed);
        let names: BTreeSet<&String> = renamed.values().collect();
        by_rename.extend(
            out.iter()
                .filter(|n| names.contains(&n.name))
                .map(|n| n.inode),
        );
    }
    (out, new, by_rename, rescanned)
}

/// The scan after one step: some namespaces gone, some new (most on a freed inode), a
/// `pid:` one named or a named one turned `pid:`, processes come and gone.
fn next_scan(
    rng: &mut Rng,
    scan: &mut Vec<FoundNs>,
    (seed, step): (u64, u32),
    (fresh, next_inode): (&mut usize, &mut u64),
) {
    let mut freed = Vec::new();
    // Some gone.
    for _ in 0..rng.below(4) {
        if scan.len() > 2 {
            freed.push(scan.remove(rng.below(scan.len())).inode);
        }
    }
    // Some new: most take a freed inode (the kernel's lowest free), others a new one.
    for _ in 0..rng.below(4) {
        *fresh += 1;
        let inode = match freed.pop() {
            Some(i) if rng.below(4) != 0 => i,
            _ => {
                *next_inode += 1;
                *next_inode
            }
        };
        scan.push(found(format!("new-{seed}-{fresh:03}"), inode, &[]));
    }
    // A `pid:` one named (it moves from the end), or a named one held by a process.
    if rng.below(3) == 0 {
        let k = rng.below(scan.len());
        let f = &scan[k];
        scan[k] = match f.kind {
            NamespaceKind::Named => found(format!("pid:{}", 50 + step), f.inode, &[50 + step]),
            _ => found(format!("named-{seed}-{step}"), f.inode, &[]),
        };
    }
    // Processes come and go.
    for _ in 0..rng.below(3) {
        let k = rng.below(scan.len());
        let pids = [rng.below(5) as u32 + 100];
        scan[k].processes = found(String::new(), 0, &pids[..rng.below(2)]).processes;
    }
}

#[test]
fn adopting_a_scan_in_order_equals_adopting_it_through_a_map() {
    let (mut in_order, mut by_map) = (0, 0);
    for seed in 1..=20u64 {
        let mut rng = Rng(seed);
        let mut next_inode = 1000u64;
        let mut scan: Vec<FoundNs> = (0..30)
            .map(|k| {
                next_inode += 1;
                found(format!("ns-{k:03}"), next_inode, &[])
            })
            .collect();
        scan = sorted(scan);
        let names: Vec<String> = scan.iter().map(|f| f.name.clone()).collect();
        let namespaces: Vec<Namespace> = scan
            .iter()
            .enumerate()
            .map(|(i, f)| data(f, &names[(i * 7) % names.len()], 1000 + i as u32))
            .collect();
        let mut live = Live {
            snapshot: crate::model::Snapshot {
                namespaces,
                ..node_snapshot(NodeShape {
                    pods: 0,
                    services: 0,
                })
            },
            discovery: Discovery {
                namespaces: scan.clone(),
                ..Discovery::default()
            },
            opts: Options::default(),
            probe: HostProbe::default(),
            whole_at: std::time::Instant::now(),
            deltas: HashMap::new(),
            fw_gen: HashMap::new(),
            read_whole: BTreeSet::new(),
            renamed: false,
        };
        let mut fresh = 0;
        for step in 0..25u32 {
            next_scan(
                &mut rng,
                &mut scan,
                (seed, step),
                (&mut fresh, &mut next_inode),
            );
            scan = sorted(scan);
            let d = Discovery {
                namespaces: scan.clone(),
                ..Discovery::default()
            };
            let expected = adopt_by_map(live.snapshot.namespaces.clone(), &d);
            let order_kept = {
                let at: HashMap<u64, usize> = live
                    .snapshot
                    .namespaces
                    .iter()
                    .enumerate()
                    .map(|(i, n)| (n.inode, i))
                    .collect();
                let kept: Vec<usize> = scan
                    .iter()
                    .filter_map(|f| at.get(&f.inode).copied())
                    .collect();
                kept.windows(2).all(|w| w[0] < w[1])
            };
            match order_kept {
                true => in_order += 1,
                false => by_map += 1,
            }
            let (new, by_rename, rescanned) = live.adopt(d);
            assert_eq!(
                live.snapshot.namespaces, expected.0,
                "seed {seed} step {step}"
            );
            assert_eq!(new, expected.1, "seed {seed} step {step}: read whole");
            assert_eq!(by_rename, expected.2, "seed {seed} step {step}: renamed");
            assert_eq!(rescanned, expected.3, "seed {seed} step {step}: rescanned");
        }
    }
    // Both ways of taking them were exercised.
    assert!(
        in_order > 100 && by_map > 10,
        "in order {in_order}, by map {by_map}"
    );
}
