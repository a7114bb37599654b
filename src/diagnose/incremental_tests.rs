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

/// What `diagnose` gives with every fix checked by a full run of every rule on its copy (no
/// scopes, nothing shared): the reference for the fixes' verdicts.
fn fully_checked(snap: &crate::model::Snapshot) -> Vec<crate::diagnose::Finding> {
    use crate::diagnose::{fix_check, link_routes, run_rules};
    let mut out = run_rules(snap);
    link_routes::complete(snap, &mut out);
    fix_check::keep_working_fixes(snap, &mut out, &run_rules);
    out
}

/// Seeded random changes, each followed by an `update` naming exactly the namespaces that
/// differ: it must equal a fresh `diagnose`, and that must equal the run whose fixes were
/// checked by full re-runs (the scoped fix check gives the same verdicts). Returns how many
/// findings and fixes were compared, so a sequence that found nothing cannot pass unseen.
fn replay(mut snap: crate::model::Snapshot, seed: u64, steps: usize) -> (usize, usize) {
    use crate::diagnose::random_change::{change, touched};
    let mut rng = crate::test_rng::Rng(seed);
    let mut inc = Incremental::new(&snap);
    assert_eq!(
        inc.findings(),
        &fully_checked(&snap)[..],
        "seed {seed:#x}, start"
    );
    let (mut found, mut fixes) = (0, 0);
    for step in 0..steps {
        let mut next = snap.clone();
        for _ in 0..=rng.below(2) {
            change(&mut rng, &mut next);
        }
        let t = touched(&snap, &next);
        let got = inc.update(&next, &t);
        let want = fully_checked(&next);
        assert_eq!(got, want, "seed {seed:#x}, step {step}, touched {t:?}");
        assert_eq!(diagnose(&next), want, "seed {seed:#x}, step {step}");
        found += want.len();
        fixes += want
            .iter()
            .filter(|f| f.fix.is_some() || f.fix_rejected.is_some())
            .count();
        snap = next;
    }
    (found, fixes)
}

#[test]
fn update_equals_diagnose_after_random_changes_to_the_node_fixture() {
    let shape = NodeShape {
        pods: 10,
        services: 20,
    };
    let (mut found, mut fixes) = (0, 0);
    for seed in [0x1c4e_u64, 0x77a1, 0x5eed] {
        let (f, x) = replay(node_snapshot(shape), seed, 14);
        found += f;
        fixes += x;
    }
    assert!(
        found > 100 && fixes > 10,
        "too little compared: {found} findings, {fixes} fixes"
    );
}

#[test]
fn update_equals_diagnose_after_random_changes_to_the_labs() {
    let (mut found, mut fixes) = (0, 0);
    for (lab, seed) in [
        ("bridge", 0xb41d_u64),
        ("cluster", 0xc105),
        ("bridge", 0x9e7),
    ] {
        let (f, x) = replay(crate::diagnose::tests::asset(lab), seed, 16);
        found += f;
        fixes += x;
    }
    assert!(
        found > 30 && fixes > 10,
        "too little compared: {found} findings, {fixes} fixes"
    );
}

#[test]
fn incremental_can_move_to_the_doctor_thread() {
    fn send<T: Send>() {}
    send::<Incremental>();
}

/// The host's compiled firewall, with its memo, is kept across an update that leaves the host
/// alone and compiled afresh once the host is touched, each update still equal to
/// `diagnose`. (The seeded replays above add firewall rules to random namespaces, the
/// touched ones named: a kept firewall reused where it changed would show there.)
#[test]
fn compiled_firewalls_are_kept_only_for_untouched_namespaces() {
    let shape = NodeShape {
        pods: 10,
        services: 20,
    };
    let snap = node_snapshot(shape);
    let mut inc = Incremental::new(&snap);
    assert_eq!(
        inc.kept.reuses("host"),
        Some(0),
        "the host's rules were compiled"
    );

    // A pod lost its routes: the host is not touched, its firewall kept.
    let pod = pod_ns(3);
    let i = snap.namespaces.iter().position(|n| n.name == pod).unwrap();
    let mut down = snap.clone();
    down.namespaces[i].routes.clear();
    let touched: BTreeSet<String> = [pod].into_iter().collect();
    assert_eq!(inc.update(&down, &touched), diagnose(&down));
    assert_eq!(inc.kept.reuses("host"), Some(1));
    let again: BTreeSet<String> = [pod_ns(4)].into_iter().collect();
    assert_eq!(inc.update(&down, &again), diagnose(&down));
    assert_eq!(inc.kept.reuses("host"), Some(2));

    // The host's FORWARD now drops pod 5's traffic: the host touched, compiled afresh, and
    // the drop is found.
    let pod5 = shape.pod_ip(5);
    let text = format!("*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD -s {pod5}/32 -j DROP\nCOMMIT\n");
    let (tables, errors) = crate::firewall::iptables_save::parse(
        &text,
        crate::firewall::IpFamily::V4,
        crate::firewall::XtSource::Nft,
    );
    assert!(errors.is_empty(), "{errors:?}");
    let mut dropped = down.clone();
    let host = dropped
        .namespaces
        .iter_mut()
        .find(|n| n.name == "host")
        .unwrap();
    let fw = host.firewall.as_mut().unwrap();
    let rule = tables[0].chains[0].rules[0].clone();
    let filter = fw.iptables.iter_mut().find(|t| t.name == "filter").unwrap();
    let fwd = filter
        .chains
        .iter_mut()
        .find(|c| c.name == "FORWARD")
        .unwrap();
    fwd.rules.insert(0, rule);
    let host_touched: BTreeSet<String> = ["host".to_string()].into_iter().collect();
    let got = inc.update(&dropped, &host_touched);
    assert_eq!(got, diagnose(&dropped));
    assert!(
        got.iter().any(|f| f.rule == "forward-drop"),
        "the drop is found: {:?}",
        ids(&got)
    );
    assert_eq!(inc.kept.reuses("host"), Some(0), "compiled afresh");
}
