//! CNI rule tests on hand-built snapshots: a node whose names and subnets the lab never uses,
//! leases held, leaked, too fresh to judge, or behind a namespace that could not be read.

use std::net::IpAddr;

use super::*;
use crate::model::{
    Address, CniConfig, CniPlugin, CniState, IpamAllocation, IpamNetwork, IpamRange, Link,
    LinkFlag, LinkFlags, Namespace, NamespaceKind, NsStatus, ProcessRef, Snapshot,
};

const NOW: u64 = 1_800_000_000;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn with_addr(mut ns: Namespace, link: &str, addr: &str, prefix: u8) -> Namespace {
    let index = ns.links.len() as u32 + 1;
    let mut l = Link::new(index, link, "veth");
    l.flags = LinkFlags::from([LinkFlag::Up]);
    ns.links.push(l);
    ns.addresses.push(Address {
        ifindex: index,
        ifname: link.into(),
        address: ip(addr),
        prefix_len: prefix,
        scope: crate::model::RouteScope::Global,
        peer: None,
    });
    ns
}

fn lease(addr: &str, id: &str, age: u64) -> IpamAllocation {
    IpamAllocation {
        ip: ip(addr),
        container_id: id.into(),
        ifname: Some("eth0".into()),
        modified: Some(NOW - age),
    }
}

/// Host plus pod `web-1` holding 172.31.9.2; leases .2 (web-1), .3 (gone), .4 (seconds old).
fn node(range_end: &str, size: u64) -> Snapshot {
    let host = Namespace::new("host".into(), NamespaceKind::Host, 1);
    let pod = with_addr(
        Namespace::new("web-1".into(), NamespaceKind::Named, 2),
        "eth0",
        "172.31.9.2",
        24,
    );
    let conf = "/etc/cni/net.d/10-pods.conflist".to_string();
    Snapshot {
        schema_version: crate::model::SCHEMA_VERSION,
        taken_at: NOW,
        hostname: "n".into(),
        namespaces: vec![host, pod],
        warnings: Vec::new(),
        cni: Some(CniState {
            conf_dir: "/etc/cni/net.d".into(),
            conf_dir_exists: true,
            bin_dirs: vec!["/opt/cni/bin".into()],
            configs: vec![CniConfig {
                path: conf.clone(),
                format: "conflist".into(),
                name: Some("pods".into()),
                cni_version: Some("1.0.0".into()),
                plugins: vec![CniPlugin {
                    kind: "bridge".into(),
                    role: "plugin".into(),
                    binary: Some("/opt/cni/bin/bridge".into()),
                    known: true,
                }],
                problems: Vec::new(),
                bridge: Some("pods0".into()),
            }],
            selected: Some(conf.clone()),
            ipam: vec![IpamNetwork {
                backend: crate::model::HOST_LOCAL.to_string(),
                network: "pods".into(),
                config: Some(conf),
                dir: "/var/lib/cni/networks/pods".into(),
                dir_exists: true,
                ranges: vec![IpamRange {
                    set: 0,
                    subnet: "172.31.9.0/24".parse().unwrap(),
                    range_start: ip("172.31.9.2"),
                    range_end: ip(range_end),
                    gateway: Some(ip("172.31.9.1")),
                    size,
                }],
                allocations: vec![
                    lease("172.31.9.2", "aaaaaaaaaaaaaaaa", 600),
                    lease("172.31.9.3", "bbbbbbbbbbbbbbbb", 600),
                    lease("172.31.9.4", "cccccccccccccccc", 1),
                ],
                last_reserved: Vec::new(),
                other_files: Vec::new(),
                error: None,
            }],
            errors: Vec::new(),
            ..CniState::default()
        }),
    }
}

fn ids(snap: &Snapshot) -> Vec<String> {
    diagnose(snap)
        .iter()
        .map(|f| format!("{} {}", f.id, f.severity))
        .collect()
}

#[test]
fn leaked_lease_gets_a_release_plan() {
    let snap = node("172.31.9.254", 253);
    let found = diagnose(&snap);
    assert_eq!(ids(&snap), ["ipam-leak:host:pods warning"]);
    let f = &found[0];
    assert!(
        f.explanation
            .contains("172.31.9.3 (container bbbbbbbbbbbb, eth0)"),
        "{f:#?}"
    );
    assert!(
        !f.explanation.contains("172.31.9.4"),
        "a lease a second old is not judged"
    );
    assert_eq!(
        f.fix.as_ref().unwrap().steps,
        [Step::ReleaseIpamLease {
            dir: "/var/lib/cni/networks/pods".into(),
            ip: ip("172.31.9.3"),
            container_id: Some("bbbbbbbbbbbbbbbb".into()),
        }]
    );
}

#[test]
fn nearly_full_range_makes_the_leak_an_error() {
    // .2 to .4: three addresses, all leased.
    let snap = node("172.31.9.4", 3);
    assert_eq!(
        ids(&snap),
        [
            "cni-subnet-full:host:pods error",
            "ipam-leak:host:pods error"
        ]
    );
}

#[test]
fn no_leak_when_a_namespace_could_not_be_read_or_the_container_lives() {
    let mut snap = node("172.31.9.254", 253);
    let mut hidden = Namespace::new("pid:4242".into(), NamespaceKind::Process, 9);
    hidden.status = NsStatus::Inaccessible("permission denied".into());
    snap.namespaces.push(hidden);
    assert!(ids(&snap).is_empty(), "{:?}", ids(&snap));

    let mut snap = node("172.31.9.254", 253);
    let mut sandbox = Namespace::new("pid:77".into(), NamespaceKind::Process, 10);
    sandbox.processes.push(ProcessRef {
        pid: 77,
        comm: "pause".into(),
        container_id: Some("bbbbbbbbbbbbbbbb".into()),
    });
    snap.namespaces.push(sandbox);
    assert!(ids(&snap).is_empty(), "{:?}", ids(&snap));
}

#[test]
fn config_rules_only_on_a_cni_node() {
    let mut snap = node("172.31.9.254", 253);
    let cni = snap.cni.as_mut().unwrap();
    cni.ipam.clear();
    cni.configs[0].plugins[0].binary = None;
    assert_eq!(ids(&snap), ["cni-plugin-missing:host:bridge error"]);

    // No directory, no CNI interface: a plain host.
    let cni = snap.cni.as_mut().unwrap();
    cni.conf_dir_exists = false;
    cni.configs.clear();
    cni.selected = None;
    assert!(ids(&snap).is_empty());
    // A flannel VXLAN device in the host says otherwise.
    let mut vx = Link::new(7, "flannel.1", "vxlan");
    vx.flags = LinkFlags::from([LinkFlag::Up]);
    snap.namespaces[0].links.push(vx);
    assert_eq!(ids(&snap), ["cni-config-missing:host error"]);
    // A cni0 inside some namespace (the cluster lab's nodes) is not the host's.
    snap.namespaces[0].links.clear();
    let mut br = Link::new(3, "cni0", "bridge");
    br.flags = LinkFlags::from([LinkFlag::Up]);
    snap.namespaces[1].links.push(br);
    assert!(ids(&snap).is_empty());
}

#[test]
fn demo_snapshots_with_an_empty_cni_state_stay_clean() {
    for text in [
        include_str!("../../assets/demo-bridge.json"),
        include_str!("../../assets/demo-cluster.json"),
    ] {
        let mut snap: Snapshot = serde_json::from_str(text).unwrap();
        assert!(snap.cni.is_none(), "old snapshots load without a cni part");
        snap.cni = Some(CniState {
            conf_dir: "/etc/cni/net.d".into(),
            ..CniState::default()
        });
        assert!(diagnose(&snap)
            .iter()
            .all(|f| !cni::RULES.contains(&f.rule.as_str())));
    }
}
