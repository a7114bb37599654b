//! The doctor told of a namespace seen under a new name as "the old name gone, the new one
//! changed" (not started over on the whole snapshot): equal to `diagnose` after every
//! hand-over of a seeded churn in which each pod created takes the inode of one deleted since
//! the last scan (the kernel hands out the lowest free nsfs inode, so on a churning node most
//! creations do). Some pods are faulty, so a name the doctor is not told is gone keeps a
//! finding `diagnose` no longer makes (`gone_since` by inode did exactly that).

use std::collections::BTreeSet;

use super::{doctor_touched, gone_since};
use crate::collect::Patch;
use crate::diagnose::node_fixture::{node_snapshot, NodeShape};
use crate::diagnose::{diagnose, Incremental};
use crate::model::{Namespace, Snapshot};

/// A small LCG: the sequence depends on the seed alone.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % n
    }
}

/// Pod `ns` made faulty one way or another (the doctor has a finding about it).
fn break_pod(ns: &mut Namespace, how: usize) {
    match how {
        0 => ns.routes.clear(),
        _ => ns.addresses.retain(|a| a.ifname != "eth0"),
    }
}

/// A pod of `universe` (not the host), by name order.
fn pods(universe: &Snapshot) -> Vec<Namespace> {
    universe.namespaces[1..].to_vec()
}

#[test]
fn inode_reuse_is_the_old_name_gone_and_the_new_one_changed() {
    let universe = node_snapshot(NodeShape {
        pods: 30,
        services: 10,
    });
    let all = pods(&universe);
    let mut faulty_gone = 0;
    for seed in 1..=3u64 {
        let mut rng = Rng(seed);
        let mut model = Snapshot {
            namespaces: std::iter::once(universe.namespaces[0].clone())
                .chain(all[..12].iter().cloned())
                .collect(),
            ..universe.clone()
        };
        for (i, ns) in model.namespaces.iter_mut().enumerate().skip(1) {
            if i % 3 == 0 {
                break_pod(ns, i % 2);
            }
        }
        let mut copy = model.clone();
        let mut doctor = Incremental::new(&copy);
        assert_eq!(doctor.findings(), &diagnose(&model)[..]);
        for _ in 0..10 {
            // What the collector owes the doctor over 1 to 3 reads.
            let mut inodes = BTreeSet::new();
            let mut gone = BTreeSet::new();
            for _ in 0..1 + rng.below(3) {
                let before: Vec<String> = model.namespaces.iter().map(|n| n.name.clone()).collect();
                let k = 1 + rng.below(model.namespaces.len() - 1);
                let old = model.namespaces.remove(k);
                let absent: Vec<&Namespace> = all
                    .iter()
                    .filter(|p| p.name != old.name && model.namespace(&p.name).is_none())
                    .collect();
                let mut created = absent[rng.below(absent.len())].clone();
                created.inode = old.inode;
                if rng.below(2) == 0 {
                    break_pod(&mut created, rng.below(2));
                }
                let pristine = all.iter().find(|p| p.name == old.name);
                let faulty = pristine
                    .is_some_and(|p| p.routes != old.routes || p.addresses != old.addresses);
                faulty_gone += usize::from(faulty);
                let at = model.namespaces[1..].partition_point(|n| n.name < created.name) + 1;
                inodes.insert(created.inode);
                model.namespaces.insert(at, created);
                // Sometimes another pod changes in the same read.
                if rng.below(2) == 0 {
                    let other = 1 + rng.below(model.namespaces.len() - 1);
                    break_pod(&mut model.namespaces[other], rng.below(2));
                    inodes.insert(model.namespaces[other].inode);
                }
                gone.extend(gone_since(&model, Some(before)));
            }
            // As `Collector::hand_over` sends it and the doctor's copy takes it.
            let patch = Patch {
                snapshot: Snapshot {
                    namespaces: model
                        .namespaces
                        .iter()
                        .filter(|n| inodes.contains(&n.inode))
                        .cloned()
                        .collect(),
                    ..model.clone()
                },
                present: model.namespaces.iter().map(|n| n.inode).collect(),
                whole: inodes.clone(),
                deltas: Vec::new(),
            };
            patch.apply(&mut copy);
            assert_eq!(copy, model, "seed {seed}: the doctor's copy");
            let touched = doctor_touched(&copy, &inodes, gone);
            assert_eq!(
                doctor.update(&copy, &touched),
                diagnose(&model),
                "seed {seed}"
            );
        }
    }
    assert!(
        faulty_gone >= 5,
        "{faulty_gone} faulty pods deleted: too few to tell"
    );
}
