//! The fixture is a healthy node: the doctor finds nothing wrong in it, at any size; and it has
//! the shape the collector gives (every namespace read, veth pairs that point at each other).

use super::*;
use crate::diagnose::{diagnose, Severity};

#[test]
fn a_node_of_any_size_is_healthy() {
    for pods in [1, 3, 40, 1000] {
        let snap = node_snapshot(NodeShape::pods(pods));
        assert_eq!(snap.namespaces.len(), pods + 1);
        let bad: Vec<_> = diagnose(&snap)
            .into_iter()
            .filter(|f| f.severity <= Severity::Warning)
            .map(|f| f.id)
            .collect();
        assert!(bad.is_empty(), "{pods} pods: {bad:?}");
    }
}

#[test]
fn the_pod_subnet_is_never_nearly_full() {
    for pods in [1, 40, 110, 200, 250, 1000, 3000, 5000] {
        let shape = NodeShape::pods(pods);
        let size = 1u64 << (32 - shape.pod_cidr().prefix_len());
        let used = (pods + 3) as f64 * 100.0 / size as f64;
        assert!(
            used < crate::diagnose::cni::FULL_PERCENT,
            "{pods} pods: {used:.0}%"
        );
    }
    // 110 pods, a real node's limit, still fit kubeadm's usual /24.
    assert_eq!(NodeShape::pods(110).pod_cidr().prefix_len(), 24);
}

#[test]
fn veth_pairs_point_at_each_other_and_addresses_are_unique() {
    let snap = node_snapshot(NodeShape::pods(300));
    let host = &snap.namespaces[0];
    let mut ips = std::collections::HashSet::new();
    for ns in &snap.namespaces[1..] {
        let eth0 = ns.link("eth0").expect("eth0");
        let peer = eth0.peer.as_ref().expect("peer");
        let port = host
            .links
            .iter()
            .find(|l| l.index == peer.ifindex)
            .expect("port");
        assert_eq!(
            port.peer.as_ref().and_then(|p| p.namespace.as_deref()),
            Some(ns.name.as_str())
        );
        assert_eq!(port.master.as_deref(), Some("cni0"));
        let v4 = ns
            .addresses
            .iter()
            .find(|a| a.address.is_ipv4() && a.ifname == "eth0");
        assert!(ips.insert(v4.expect("an IPv4 address").address));
    }
}

#[test]
fn kube_proxy_is_node_sized() {
    let snap = node_snapshot(NodeShape::pods(1000));
    let fw = snap.namespaces[0].firewall.as_ref().expect("firewall");
    let rules = fw.rule_count();
    assert!((5000..8000).contains(&rules), "{rules} rules");
    let nat = fw
        .nat_rules()
        .filter(|r| r.rule.target.as_deref() == Some("DNAT"))
        .count();
    assert_eq!(nat, 1000, "two endpoints for each of 500 services");
}

/// Where the doctor's time goes on a node (debug build): `cargo test --features test-hooks
/// --lib node_fixture::tests::stage_times -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement, not a check"]
fn stage_times() {
    let pods = std::env::var("PODS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let snap = node_snapshot(NodeShape::pods(pods));
    for (name, t) in crate::diagnose::profile::stage_times(&snap) {
        eprintln!("{name:<16} {:10.3} ms", t.as_secs_f64() * 1000.0);
    }
}
