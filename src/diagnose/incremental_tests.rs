//! `Incremental::update` with nothing touched: the previous findings, equal to `diagnose`
//! while the host-wide inputs are the same, and a full run once a lease leaves its grace.

use std::collections::BTreeSet;

use super::Incremental;
use crate::diagnose::diagnose;
use crate::diagnose::node_fixture::{node_snapshot, pod_ns, NodeShape};
use crate::model::IpamAllocation;

fn ids(f: &[crate::diagnose::Finding]) -> Vec<String> {
    f.iter().map(|f| f.id.clone()).collect()
}

#[test]
fn nothing_touched_returns_the_previous_findings_without_a_run() {
    let mut snap = node_snapshot(NodeShape::pods(12));
    // A fault, so there is something to keep: pod 3 lost its routes.
    let pod = pod_ns(3);
    let i = snap.namespaces.iter().position(|n| n.name == pod).unwrap();
    snap.namespaces[i].routes.clear();
    let mut inc = Incremental::new(&snap);
    assert!(!inc.findings().is_empty());

    // A re-read a minute later, nothing changed: the same findings as a fresh run.
    let mut later = snap.clone();
    later.taken_at += 60;
    let none = BTreeSet::new();
    assert_eq!(inc.update(&later, &none), diagnose(&later));

    // "Nothing touched" is trusted, not checked: a change the caller did not name is not seen
    // (this is what shows no rule ran); naming it gives the full run.
    let mut changed = later.clone();
    changed.namespaces[i].routes = node_snapshot(NodeShape::pods(12)).namespaces[i]
        .routes
        .clone();
    let fresh = diagnose(&changed);
    assert_ne!(ids(&fresh), ids(inc.findings()));
    assert_eq!(ids(&inc.update(&changed, &none)), ids(&diagnose(&snap)));
    let touched: BTreeSet<String> = [pod].into_iter().collect();
    assert_eq!(inc.update(&changed, &touched), fresh);
}

#[test]
fn a_lease_leaving_its_grace_period_is_a_full_run() {
    let mut snap = node_snapshot(NodeShape::pods(6));
    let shape = NodeShape::pods(6);
    let t0 = snap.taken_at;
    snap.cni.as_mut().unwrap().ipam[0]
        .allocations
        .push(IpamAllocation {
            ip: std::net::IpAddr::V4(shape.pod_ip(40)),
            container_id: format!("{:064x}", 0xdead_u32),
            ifname: Some("eth0".into()),
            modified: Some(t0),
        });
    let mut inc = Incremental::new(&snap);
    let before = inc.findings().to_vec();
    let none = BTreeSet::new();

    // Still within the grace period: nothing changes.
    let mut soon = snap.clone();
    soon.taken_at = t0 + 1;
    assert_eq!(inc.update(&soon, &none), diagnose(&soon));
    assert_eq!(inc.findings(), &before[..]);

    // Past it the lease is leaked: the rules see a different time, so the update runs them.
    let mut late = snap.clone();
    late.taken_at = t0 + 60;
    let fresh = diagnose(&late);
    assert!(ids(&fresh).iter().any(|id| id.contains("ipam-leak")));
    assert_ne!(fresh, before);
    assert_eq!(inc.update(&late, &none), fresh);
}
