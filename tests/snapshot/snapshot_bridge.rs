//! `netlens snapshot` on three namespaces on a root bridge: every fact exact (MAC addresses
//! and IPv6 link-local addresses checked against iproute2).
//!
//! Built by hand with `ip`/`iptables` inside throwaway worlds (see `common::world`), with names
//! and subnets the lab never uses; every fact is asserted exactly, and checked against
//! iproute2 where it has an independent answer.

use crate::common;

use crate::bridge_world::build_bridge_world;
use common::snap::*;
use common::world::in_world;
use netlens::firewall::{Backend, IpFamily, XtSource};
use netlens::model::{
    LinkFlag, LinkKind, NamespaceKind, NeighborState, NsStatus, OperState, ProcessRef, Snapshot,
};

/// A neighbour state that means "resolved": what a ping leaves behind for a while.
fn resolved(state: &NeighborState) -> bool {
    use NeighborState::*;
    matches!(state, Reachable | Stale | Delay | Probe)
}

/// `(address, lladdr)` of the resolved IPv4 neighbours of a namespace, sorted.
fn v4_neighbors(snap: &Snapshot, ns_name: &str) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = ns(snap, ns_name)
        .neighbors
        .iter()
        .filter(|n| n.address.is_ipv4())
        .map(|n| {
            assert!(
                resolved(&n.state),
                "{ns_name}: neighbour {n:?} not resolved"
            );
            (
                n.dev.clone(),
                n.address.to_string(),
                n.lladdr.clone().unwrap_or_default(),
            )
        })
        .collect();
    v.sort();
    v
}

// ---------------------------------------------------------------------------------------------
// Bridge topology

/// Three namespaces on a root bridge: names, kinds, MACs, peers both ways, masters and ports,
/// addresses, routes, neighbours after pings, NAT rules, ip_forward, DNS defaults and the text
/// output's topology section, all exact.
#[test]
fn bridge_topology_is_reported_exactly() {
    in_world(
        "snapshot_bridge::bridge_topology_is_reported_exactly",
        || {
            build_bridge_world();
            ping("app1", "10.77.0.12");
            ping("app1", "10.77.0.1");
            let snap = snapshot_json(&[]);

            assert_namespaces(&snap);
            assert_links(&snap);
            assert_addresses(&snap);
            assert_routes(&snap);
            assert_neighbours(&snap);

            // Sysctls.
            assert_eq!(ns(&snap, "host").sysctls.ip_forward, Some(1));
            for n in ["app1", "app2", "db"] {
                assert_eq!(ns(&snap, n).sysctls.ip_forward, Some(0), "{n}");
            }
            assert!(ns(&snap, "host").sysctls.rp_filter.contains_key("br-test"));

            assert_nat_rules(&snap);

            // DNS: no /etc/netns overrides, so everyone reads the machine's files.
            for n in &snap.namespaces {
                let dns = n.dns.as_ref().expect("dns read");
                assert_eq!(dns.resolv_conf.path, "/etc/resolv.conf", "{}", n.name);
                assert_eq!(dns.hosts.path, "/etc/hosts", "{}", n.name);
            }

            // `--no-firewall` leaves the firewall out and changes nothing else of substance.
            let nofw = snapshot_json(&["--no-firewall"]);
            assert!(nofw.namespaces.iter().all(|n| n.firewall.is_none()));
            assert_eq!(link_names(&nofw, "host"), link_names(&snap, "host"));

            assert_topology_text();
        },
    );
}

/// Namespaces: host first, then named ones sorted; all fully read.
fn assert_namespaces(snap: &Snapshot) {
    let names: Vec<&str> = snap.namespaces.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["host", "app1", "app2", "db"]);
    assert_eq!(ns(snap, "host").kind, NamespaceKind::Host);
    for n in ["app1", "app2", "db"] {
        let nsx = ns(snap, n);
        assert_eq!(nsx.kind, NamespaceKind::Named, "{n}");
        assert_eq!(nsx.paths, [format!("/run/netns/{n}")], "{n}");
        assert_eq!(nsx.processes, Vec::<ProcessRef>::new(), "{n}");
    }
    for n in &snap.namespaces {
        assert_eq!(n.status, NsStatus::Ok, "{}", n.name);
    }
    assert!(snap.warnings.is_empty(), "{:?}", snap.warnings);
    assert_eq!(snap.schema_version, netlens::model::SCHEMA_VERSION);
}

/// Links.
fn assert_links(snap: &Snapshot) {
    assert_eq!(
        link_names(snap, "host"),
        ["br-test", "h-app1", "h-app2", "h-db", "lo"]
    );
    let br = link(snap, "host", "br-test");
    assert_eq!(br.kind, LinkKind::Bridge);
    assert_eq!(br.ports, ["h-app1", "h-app2", "h-db"]);
    assert_eq!(br.master, None);
    assert_eq!(br.peer, None);
    assert_eq!(link(snap, "host", "lo").kind, LinkKind::Loopback);
    for n in ["app1", "app2", "db"] {
        assert_eq!(link_names(snap, n), ["eth0", "lo"], "{n}");
        let host_end = format!("h-{n}");
        let h = link(snap, "host", &host_end);
        assert_eq!(h.master.as_deref(), Some("br-test"), "{host_end}");
        assert_eq!(h.master_index, Some(br.index), "{host_end}");
        assert!(h.ports.is_empty());
        let e = link(snap, n, "eth0");
        assert_eq!((e.master.as_deref(), e.master_index), (None, None), "{n}");
        assert_eq!(e.oper_state, OperState::Up, "{n}/eth0");
        assert!(e.flags.contains(LinkFlag::Up), "{n}/eth0 {:?}", e.flags);
        assert_eq!(e.mtu, 1500);
        assert_veth_pair(snap, n, "eth0", "host", &host_end);
        assert_eq!(
            e.mac.as_deref(),
            Some(mac_from_ip(Some(n), "eth0").as_str())
        );
        assert_eq!(
            h.mac.as_deref(),
            Some(mac_from_ip(None, &host_end).as_str())
        );
    }
    assert_eq!(
        br.mac.as_deref(),
        Some(mac_from_ip(None, "br-test").as_str())
    );
    assert_all_veths_paired(snap);
}

/// Addresses: IPv4 exact, IPv6 (kernel-made link-locals) as iproute2 sees them.
fn assert_addresses(snap: &Snapshot) {
    let lo4 = (
        "lo".to_string(),
        "127.0.0.1/8".to_string(),
        "host".to_string(),
    );
    let global =
        |ifname: &str, cidr: &str| (ifname.to_string(), cidr.to_string(), "global".to_string());
    assert_eq!(
        v4_addresses(snap, "host"),
        [global("br-test", "10.77.0.1/24"), lo4.clone()]
    );
    for (n, ip) in [
        ("app1", "10.77.0.11"),
        ("app2", "10.77.0.12"),
        ("db", "10.77.0.13"),
    ] {
        assert_eq!(
            v4_addresses(snap, n),
            [global("eth0", &format!("{ip}/24")), lo4.clone()],
            "{n}"
        );
        assert_eq!(v6_addresses(snap, n), v6_addresses_from_ip(Some(n)), "{n}");
    }
    assert_eq!(v6_addresses(snap, "host"), v6_addresses_from_ip(None));
}

/// Routes.
fn assert_routes(snap: &Snapshot) {
    assert_eq!(
        routes(snap, "host", "inet", 254),
        ["10.77.0.0/24 dev br-test proto kernel scope link src 10.77.0.1"]
    );
    assert_eq!(
        routes(snap, "app1", "inet", 254),
        [
            "10.77.0.0/24 dev eth0 proto kernel scope link src 10.77.0.11",
            "default via 10.77.0.1 dev eth0 proto boot scope global",
        ]
    );
    assert_eq!(
        routes(snap, "app1", "inet", 255),
        [
            "broadcast 10.77.0.255/32 dev eth0 proto kernel scope link src 10.77.0.11",
            "broadcast 127.255.255.255/32 dev lo proto kernel scope link src 127.0.0.1",
            "local 10.77.0.11/32 dev eth0 proto kernel scope host src 10.77.0.11",
            "local 127.0.0.0/8 dev lo proto kernel scope host src 127.0.0.1",
            "local 127.0.0.1/32 dev lo proto kernel scope host src 127.0.0.1",
        ]
    );
    for (n, ip) in [("app2", "10.77.0.12"), ("db", "10.77.0.13")] {
        assert_eq!(
            routes(snap, n, "inet", 254),
            [
                format!("10.77.0.0/24 dev eth0 proto kernel scope link src {ip}"),
                "default via 10.77.0.1 dev eth0 proto boot scope global".to_string(),
            ],
            "{n}"
        );
    }
}

/// Neighbours: app1 pinged app2 and the gateway; app2 and the root answered app1.
fn assert_neighbours(snap: &Snapshot) {
    let app1_mac = mac_from_ip(Some("app1"), "eth0");
    let nb = |dev: &str, ip: &str, mac: &str| (dev.to_string(), ip.to_string(), mac.to_string());
    assert_eq!(
        v4_neighbors(snap, "app1"),
        [
            nb("eth0", "10.77.0.1", &mac_from_ip(None, "br-test")),
            nb("eth0", "10.77.0.12", &mac_from_ip(Some("app2"), "eth0")),
        ]
    );
    assert_eq!(
        v4_neighbors(snap, "app2"),
        [nb("eth0", "10.77.0.11", &app1_mac)]
    );
    assert_eq!(
        v4_neighbors(snap, "host"),
        [nb("br-test", "10.77.0.11", &app1_mac)]
    );
    assert_eq!(v4_neighbors(snap, "db"), []);
}

/// Firewall: the root's two NAT rules, nothing anywhere else.
fn assert_nat_rules(snap: &Snapshot) {
    let fw = ns(snap, "host").firewall.as_ref().expect("root firewall");
    assert!(fw.errors.is_empty(), "{:?}", fw.errors);
    assert_eq!(fw.backends, [Backend::IptablesNft]);
    let tables: Vec<_> = fw
        .iptables
        .iter()
        .map(|t| (t.family, t.source, t.name.as_str()))
        .collect();
    assert_eq!(tables, [(IpFamily::V4, XtSource::Nft, "nat")]);
    let nat = &fw.iptables[0];
    let chain = |name: &str| {
        nat.chains
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no nat chain {name}: {nat:#?}"))
    };
    let mut chains: Vec<&str> = nat.chains.iter().map(|c| c.name.as_str()).collect();
    chains.sort();
    assert_eq!(chains, ["INPUT", "OUTPUT", "POSTROUTING", "PREROUTING"]);
    assert!(chain("INPUT").rules.is_empty() && chain("OUTPUT").rules.is_empty());
    let post = &chain("POSTROUTING");
    assert_eq!(post.policy.as_deref(), Some("ACCEPT"));
    assert_eq!(post.rules.len(), 1, "{post:#?}");
    let masq = &post.rules[0];
    assert_eq!(masq.target.as_deref(), Some("MASQUERADE"));
    assert!(masq.target_args.is_empty(), "{masq:#?}");
    let src = masq.source.as_ref().expect("-s");
    assert_eq!((src.negated, src.value.as_str()), (false, "10.77.0.0/24"));
    let out = masq.out_iface.as_ref().expect("! -o");
    assert_eq!((out.negated, out.value.as_str()), (true, "br-test"));
    assert!(masq
        .raw
        .ends_with("-A POSTROUTING -s 10.77.0.0/24 ! -o br-test -j MASQUERADE"));
    let pre = &chain("PREROUTING");
    assert_eq!(pre.rules.len(), 1, "{pre:#?}");
    let dnat = &pre.rules[0];
    assert_eq!(dnat.target.as_deref(), Some("DNAT"));
    assert_eq!(
        dnat.target_args,
        [(
            "--to-destination".to_string(),
            "10.77.0.13:5432".to_string()
        )]
    );
    assert_eq!(dnat.dport.as_ref().map(|c| c.value.as_str()), Some("8080"));
    assert_eq!(
        dnat.protocol.as_ref().map(|c| c.value.as_str()),
        Some("tcp")
    );
    assert_eq!(dnat.source, None);
    assert_eq!(dnat.comment, None);
    for n in ["app1", "app2", "db"] {
        let fw = ns(snap, n).firewall.as_ref().expect("firewall read");
        assert!(
            fw.backends.is_empty() && fw.iptables.is_empty(),
            "{n}: {fw:#?}"
        );
        assert!(fw.nft.is_empty() && fw.errors.is_empty(), "{n}: {fw:#?}");
    }
}

/// Text: the topology section.
fn assert_topology_text() {
    let text = snapshot_text(&[]);
    let mut topo = topology_lines(&text);
    topo.sort();
    assert_eq!(
        topo,
        [
            "bridge br-test (host): h-app1, h-app2, h-db",
            "eth0 (app1) ⇄ h-app1 (host, master br-test)",
            "eth0 (app2) ⇄ h-app2 (host, master br-test)",
            "eth0 (db) ⇄ h-db (host, master br-test)",
        ],
        "{text}"
    );
}
