//! The senders shared by `no-masquerade` and `forward-drop` ([`Senders`]) are what each rule
//! found for itself: seeded variations of the demo snapshots and the node fixture (forwarding
//! turned on in random namespaces, so that routers stand in front of other hosts; random routes
//! removed), compared per namespace — the shared set with a fresh [`senders`], and the union
//! `no-masquerade` iterates with the one set it used to build ([`senders_through_ref`]).

use super::super::facts::Facts;
use super::super::node_fixture::{node_snapshot, NodeShape};
use super::super::tests::asset;
use super::{behind_routers, senders, senders_through, senders_through_ref, Senders};
use crate::model::Snapshot;
use crate::test_rng::Rng;

fn vary(rng: &mut Rng, snap: &mut Snapshot) {
    let n = snap.namespaces.len();
    for _ in 0..rng.below(4) {
        let ns = &mut snap.namespaces[rng.below(n)];
        ns.sysctls.ip_forward = Some(1);
    }
    // A router without rules translates nothing: the hosts behind it send as themselves.
    for _ in 0..rng.below(3) {
        snap.namespaces[rng.below(n)].firewall = None;
    }
    for _ in 0..rng.below(3) {
        let ns = &mut snap.namespaces[rng.below(n)];
        if !ns.routes.is_empty() {
            let i = rng.below(ns.routes.len());
            ns.routes.remove(i);
        }
    }
}

#[test]
fn shared_senders_are_each_rules_own() {
    let mut rng = Rng(0x005e_4de2);
    let (mut compared, mut behind_seen) = (0, 0);
    for seed in 0..120 {
        let mut snap = match seed % 3 {
            0 => asset("cluster"),
            1 => asset("bridge"),
            _ => node_snapshot(NodeShape::pods(6)),
        };
        if seed >= 3 {
            vary(&mut rng, &mut snap);
        }
        let f = Facts::new(&snap);
        for (_, ns) in &f.namespaces {
            let shared = Senders::new(&f, ns);
            assert_eq!(*shared.get(), senders(&f, ns), "seed {seed}, {}", ns.name);
            let behind = behind_routers(&f, ns);
            let through: Vec<_> = senders_through(shared.get(), &behind).cloned().collect();
            let reference: Vec<_> = senders_through_ref(&f, ns).into_iter().collect();
            assert_eq!(through, reference, "seed {seed}, {}", ns.name);
            compared += through.len();
            behind_seen += usize::from(!behind.is_subset(shared.get()));
        }
    }
    assert!(
        compared > 500 && behind_seen > 5,
        "senders {compared}, behind {behind_seen}"
    );
}
