//! The fix check with compiled firewalls shared between the snapshot and each fix's copy
//! ([`super::facts::Facts::sharing`]) gives exactly the findings of the check that compiled
//! every copy afresh: seeded random faults on the node fixture (links down, default routes
//! removed, ports detached, a pod's masquerade rule or a host address removed, forwarding
//! off), each compared finding by finding, fixes and their verdicts included.

use super::node_fixture::{node_snapshot, pod_ns, NodeShape};
use super::{diagnose, fix_check, link_routes, run_rules, Finding};
use crate::model::{LinkFlag, OperState, Snapshot};

use crate::test_rng::Rng;

/// What `diagnose` did before the copies shared anything.
fn reference(snap: &Snapshot) -> Vec<Finding> {
    let mut out = run_rules(snap);
    link_routes::complete(snap, &mut out);
    fix_check::keep_working_fixes(snap, &mut out, &run_rules);
    out
}

fn ns_mut<'s>(snap: &'s mut Snapshot, name: &str) -> &'s mut crate::model::Namespace {
    snap.namespaces
        .iter_mut()
        .find(|n| n.name == name)
        .expect("namespace")
}

/// One random fault.
fn fault(rng: &mut Rng, snap: &mut Snapshot, pods: usize) {
    let pod = pod_ns(rng.below(pods));
    match rng.below(6) {
        0 => {
            let n = ns_mut(snap, &pod);
            if let Some(l) = n.links.iter_mut().find(|l| l.name == "eth0") {
                l.flags
                    .retain(|f| !matches!(f, LinkFlag::Up | LinkFlag::LowerUp | LinkFlag::Running));
                l.oper_state = OperState::Down;
            }
            n.routes.retain(|r| r.dev.as_deref() != Some("eth0"));
        }
        1 => ns_mut(snap, &pod).routes.retain(|r| r.gateway.is_none()),
        2 => {
            let port = format!("veth{}", rng.below(pods));
            if let Some(l) = snap.namespaces[0].links.iter_mut().find(|l| l.name == port) {
                l.master = None;
                l.master_index = None;
                l.bridge_port = None;
            }
        }
        3 => {
            // A pod's masquerade rule (POSTROUTING -s POD/32 -j CNI-…) deleted.
            let k = rng.below(pods);
            let fw = snap.namespaces[0].firewall.as_mut().expect("host rules");
            for t in fw.iptables.iter_mut().filter(|t| t.name == "nat") {
                for c in t.chains.iter_mut().filter(|c| c.name == "POSTROUTING") {
                    let per_pod: Vec<usize> = (0..c.rules.len())
                        .filter(|&i| c.rules[i].source.is_some())
                        .collect();
                    if let Some(&i) = per_pod.get(k) {
                        c.rules.remove(i);
                    }
                }
            }
        }
        4 => {
            let host = &mut snap.namespaces[0];
            let i = rng.below(host.addresses.len());
            host.addresses.remove(i);
        }
        _ => snap.namespaces[0].sysctls.ip_forward = Some(0),
    }
}

#[test]
fn shared_fix_check_equals_the_fresh_one() {
    let pods = 24;
    let mut rng = Rng(0xf1c5);
    let mut fixes = 0;
    for round in 0..8 {
        let mut snap = node_snapshot(NodeShape::pods(pods));
        for _ in 0..=rng.below(3) {
            fault(&mut rng, &mut snap, pods);
        }
        let want = reference(&snap);
        assert_eq!(diagnose(&snap), want, "round {round}");
        fixes += want.iter().filter(|f| f.fix.is_some()).count();
    }
    assert!(
        fixes > 5,
        "the faults gave too few fixes to compare ({fixes})"
    );
}
