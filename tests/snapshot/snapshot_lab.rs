//! `netlens snapshot` on the lab scenarios, built with the binary (`netlens lab up NAME`) inside
//! throwaway worlds (see `common::world`): the topology section must show the wiring of
//! `src/lab/{router,bridge,cluster}.rs`, and the JSON the facts the scenario's notes rely on.

use crate::common;

use common::snap::*;
use common::world::in_world;
use netlens::model::{NamespaceKind, NsStatus, Snapshot};

/// Brings scenario `name` up with the binary and snapshots the world. (The lab's routes are plan
/// steps, which mark them `proto boot` as the `ip route add` they preview does.)
fn lab_up(name: &str) -> Snapshot {
    let out = netlens(&["lab", "up", name]);
    assert!(
        out.status.success(),
        "lab up {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let snap = snapshot_json(&[]);
    for n in &snap.namespaces {
        assert_eq!(n.status, NsStatus::Ok, "{}", n.name);
        if n.name != "host" {
            assert_eq!(n.kind, NamespaceKind::Named, "{}", n.name);
            assert!(n.name.starts_with(&format!("{name}-")), "{}", n.name);
        }
    }
    // The lab never touches the namespace netlens runs in.
    assert_eq!(link_names(&snap, "host"), ["lo"]);
    assert_all_veths_paired(&snap);
    snap
}

fn sorted_topology() -> Vec<String> {
    let mut t = topology_lines(&snapshot_text(&[]));
    t.sort();
    t
}

fn sorted(v: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

/// Router: A — B — C over two veth pairs, B forwarding, A and C routing via B.
#[test]
fn lab_router_snapshot() {
    in_world("snapshot_lab::lab_router_snapshot", || {
        let snap = lab_up("router");
        let names: Vec<&str> = snap.namespaces.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["host", "router-a", "router-b", "router-c"]);
        assert_veth_pair(&snap, "router-a", "eth0", "router-b", "eth0");
        assert_veth_pair(&snap, "router-b", "eth1", "router-c", "eth0");
        assert_eq!(ns(&snap, "router-b").sysctls.ip_forward, Some(1));
        assert_eq!(ns(&snap, "router-a").sysctls.ip_forward, Some(0));
        assert_eq!(ns(&snap, "router-c").sysctls.ip_forward, Some(0));
        assert_eq!(
            routes(&snap, "router-a", "inet", 254),
            [
                "192.168.1.0/24 dev eth0 proto kernel scope link src 192.168.1.5",
                "192.168.2.0/24 via 192.168.1.6 dev eth0 proto boot scope global",
            ]
        );
        assert_eq!(
            sorted_topology(),
            sorted(&[
                "eth0 (router-a) ⇄ eth0 (router-b)",
                "eth1 (router-b) ⇄ eth0 (router-c)",
            ])
        );
    });
}

/// Bridge: red and blue on v-net-0 in bridge-host, which is a port of the LAN bridge and NATs;
/// the "internet" hangs off the LAN router on a plain veth.
#[test]
fn lab_bridge_snapshot() {
    in_world("snapshot_lab::lab_bridge_snapshot", || {
        let snap = lab_up("bridge");
        let names: Vec<&str> = snap.namespaces.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "host",
                "bridge-blue",
                "bridge-host",
                "bridge-inet",
                "bridge-lan",
                "bridge-lanhost",
                "bridge-red",
            ]
        );
        assert_eq!(
            sorted_topology(),
            sorted(&[
                "veth-red (bridge-red) ⇄ veth-red-br (bridge-host, master v-net-0)",
                "veth-blue (bridge-blue) ⇄ veth-blue-br (bridge-host, master v-net-0)",
                "eth0 (bridge-host) ⇄ to-host (bridge-lan, master lan0)",
                "eth0 (bridge-lanhost) ⇄ to-lanhost (bridge-lan, master lan0)",
                "eth0 (bridge-inet) ⇄ to-inet (bridge-lan)",
                "bridge v-net-0 (bridge-host): veth-red-br, veth-blue-br",
                "bridge lan0 (bridge-lan): to-host, to-lanhost",
            ])
        );
        assert_eq!(
            routes(&snap, "bridge-red", "inet", 254),
            [
                "192.168.15.0/24 dev veth-red proto kernel scope link src 192.168.15.1",
                "default via 192.168.15.5 dev veth-red proto boot scope global",
            ]
        );
        for (n, fwd) in [
            ("bridge-host", 1),
            ("bridge-lan", 1),
            ("bridge-red", 0),
            ("bridge-blue", 0),
            ("bridge-inet", 0),
            ("bridge-lanhost", 0),
        ] {
            assert_eq!(ns(&snap, n).sysctls.ip_forward, Some(fwd), "{n}");
        }
        // The host's NAT, exactly.
        let fw = ns(&snap, "bridge-host").firewall.as_ref().unwrap();
        // Each NAT rule as `CHAIN [-s SRC] -j TARGET [ARG VALUE]...`.
        let rules: Vec<String> = fw
            .nat_rules()
            .map(|r| {
                let mut line = r.chain.name.clone();
                if let Some(src) = &r.rule.source {
                    line += &format!(" -s {}", src.value);
                }
                line += &format!(" -j {}", r.rule.target.as_deref().unwrap_or("-"));
                for (k, v) in &r.rule.target_args {
                    line += &format!(" {k} {v}");
                }
                line
            })
            .collect();
        assert_eq!(
            rules,
            [
                "PREROUTING -j DNAT --to-destination 192.168.15.2:80",
                "POSTROUTING -s 192.168.15.0/24 -j MASQUERADE",
            ]
        );
        for n in snap.namespaces.iter().filter(|n| n.name != "bridge-host") {
            let fw = n.firewall.as_ref().unwrap();
            assert!(
                fw.iptables.is_empty() && fw.backends.is_empty(),
                "{}",
                n.name
            );
        }
        assert_eq!(
            v4_addresses(&snap, "bridge-inet"),
            [
                ("eth0".into(), "100.64.0.2/30".into(), "global".into()),
                ("lo".into(), "127.0.0.1/8".into(), "host".into()),
                ("lo".into(), "8.8.8.8/32".into(), "global".into()),
            ]
        );
    });
}

/// Cluster: three nodes on a LAN bridge, each with cni0 and two pods, and routes to the other
/// nodes' pod subnets.
#[test]
fn lab_cluster_snapshot() {
    in_world("snapshot_lab::lab_cluster_snapshot", || {
        let snap = lab_up("cluster");
        assert_eq!(snap.namespaces.len(), 1 + 1 + 3 + 6);
        let mut want: Vec<String> = Vec::new();
        for n in 1..=3 {
            want.push(format!(
                "eth0 (cluster-node{n}) ⇄ to-node{n} (cluster-lan, master lan0)"
            ));
            want.push(format!(
                "bridge cni0 (cluster-node{n}): vethn{n}p1, vethn{n}p2"
            ));
            for p in 1..=2 {
                want.push(format!(
                    "eth0 (cluster-n{n}-pod{p}) ⇄ vethn{n}p{p} (cluster-node{n}, master cni0)"
                ));
            }
            assert_eq!(
                ns(&snap, &format!("cluster-node{n}")).sysctls.ip_forward,
                Some(1)
            );
        }
        want.push("bridge lan0 (cluster-lan): to-node1, to-node2, to-node3".into());
        want.sort();
        assert_eq!(sorted_topology(), want);
        assert_eq!(
            routes(&snap, "cluster-node1", "inet", 254),
            [
                "10.244.1.0/24 dev cni0 proto kernel scope link src 10.244.1.1",
                "10.244.2.0/24 via 192.168.1.12 dev eth0 proto boot scope global",
                "10.244.3.0/24 via 192.168.1.13 dev eth0 proto boot scope global",
                "192.168.1.0/24 dev eth0 proto kernel scope link src 192.168.1.11",
            ]
        );
        assert_eq!(
            link(&snap, "cluster-lan", "lan0").ports,
            ["to-node1", "to-node2", "to-node3"]
        );
    });
}
