//! Rule tests on hand-built topologies with names and subnets the lab never uses, so nothing
//! may lean on the lab's names; the helpers are those of `tests.rs`.

use super::tests::*;
use super::*;
use crate::model::{
    Address, Link, LinkFlag, LinkFlags, Namespace, NamespaceKind, OperState, PeerRef, Route,
    Snapshot,
};

// ---- hand-built topologies: names and subnets the lab never uses ----

fn link(index: u32, name: &str, kind: &str, up: bool) -> Link {
    let mut l = Link::new(index, name, kind);
    l.mtu = 1500;
    if up {
        l.flags = LinkFlags::from([LinkFlag::Up, LinkFlag::LowerUp]);
        l.oper_state = OperState::Up;
    } else {
        l.oper_state = OperState::Down;
    }
    l
}

fn veth(index: u32, name: &str, peer_ns: &str, peer_index: u32, peer_name: &str) -> Link {
    let mut l = link(index, name, "veth", true);
    l.peer = Some(PeerRef {
        namespace: Some(peer_ns.into()),
        ifindex: peer_index,
        name: Some(peer_name.into()),
    });
    l
}

fn addr(ns: &mut Namespace, link: &str, cidr: &str) {
    let (ip, len) = cidr.split_once('/').unwrap();
    let l = ns.link(link).unwrap_or_else(|| panic!("no link {link}"));
    ns.addresses.push(Address {
        ifindex: l.index,
        ifname: link.into(),
        address: ip.parse().unwrap(),
        prefix_len: len.parse().unwrap(),
        scope: crate::model::RouteScope::Global,
        peer: None,
    });
    let net: ipnet::IpNet = cidr.parse().unwrap();
    ns.routes.push(route(&net.trunc().to_string(), None, link));
}

fn route(dst: &str, via: Option<&str>, dev: &str) -> Route {
    Route {
        table: 254,
        table_name: "main".into(),
        family: crate::model::RouteFamily::Inet,
        dst: crate::model::RouteDst::parse(dst),
        gateway: via.map(|g| g.parse().unwrap()),
        dev: Some(dev.into()),
        prefsrc: None,
        protocol: if via.is_some() {
            crate::model::RouteProtocol::Static
        } else {
            crate::model::RouteProtocol::Kernel
        },
        scope: if via.is_some() {
            crate::model::RouteScope::Global
        } else {
            crate::model::RouteScope::Link
        },
        kind: crate::model::RouteKind::Unicast,
        metric: None,
        nexthops: Vec::new(),
    }
}

fn namespace(name: &str, links: Vec<Link>) -> Namespace {
    let mut ns = Namespace::new(
        name.into(),
        NamespaceKind::Named,
        4_000_000 + name.len() as u64,
    );
    let mut lo = link(1, "lo", "loopback", true);
    lo.mtu = 65536;
    ns.links.push(lo);
    ns.links.extend(links);
    ns.sysctls.ip_forward = Some(0);
    ns
}

fn snapshot(namespaces: Vec<Namespace>) -> Snapshot {
    Snapshot {
        schema_version: crate::model::SCHEMA_VERSION,
        taken_at: 0,
        hostname: "elsewhere".into(),
        namespaces,
        warnings: Vec::new(),
        cni: None,
    }
}

/// alpha 10.20.0.2 (ens1) — (p0) 10.20.0.1 mid 172.30.5.1 (p1) — (uplink0) 172.30.5.9 omega.
/// alpha routes 172.30.5.0/24 via mid; omega is a stub whose default goes via mid.
fn routed_elsewhere() -> Snapshot {
    let mut alpha = namespace("alpha", vec![veth(7, "ens1", "mid", 3, "p0")]);
    addr(&mut alpha, "ens1", "10.20.0.2/24");
    alpha
        .routes
        .push(route("172.30.5.0/24", Some("10.20.0.1"), "ens1"));
    let mut mid = namespace(
        "mid",
        vec![
            veth(3, "p0", "alpha", 7, "ens1"),
            veth(4, "p1", "omega", 9, "uplink0"),
        ],
    );
    addr(&mut mid, "p0", "10.20.0.1/24");
    addr(&mut mid, "p1", "172.30.5.1/24");
    mid.sysctls.ip_forward = Some(1);
    let mut omega = namespace("omega", vec![veth(9, "uplink0", "mid", 4, "p1")]);
    addr(&mut omega, "uplink0", "172.30.5.9/24");
    omega
        .routes
        .push(route("default", Some("172.30.5.1"), "uplink0"));
    snapshot(vec![alpha, mid, omega])
}

#[test]
fn elsewhere_healthy_router_is_clean() {
    let findings = diagnose(&routed_elsewhere());
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn elsewhere_forwarding_off() {
    let mut snap = routed_elsewhere();
    ns_mut(&mut snap, "mid").sysctls.ip_forward = Some(0);
    let f = only(&snap, "forwarding-off:mid", Severity::Error);
    assert!(f
        .explanation
        .contains("alpha routes 172.30.5.0/24 via 10.20.0.1"));
}

#[test]
fn elsewhere_missing_return_route() {
    // omega loses its default: alpha's packets arrive, replies have nowhere to go.
    let mut snap = routed_elsewhere();
    remove_route(&mut snap, "omega", "default");
    let f = only(&snap, "no-route:omega:10.20.0.0/24", Severity::Error);
    assert_eq!(
        fix_steps(&f),
        ["add route 10.20.0.0/24 via 172.30.5.1 in omega"]
    );
}

#[test]
fn elsewhere_mtu_mismatch_across_a_veth_pair() {
    let mut snap = routed_elsewhere();
    link_mut(&mut snap, "omega", "uplink0").mtu = 1450;
    only(&snap, "mtu-mismatch:omega:uplink0", Severity::Error);
}

#[test]
fn elsewhere_strict_rp_filter_on_asymmetric_path() {
    let mut snap = routed_elsewhere();
    let mid = ns_mut(&mut snap, "mid");
    mid.sysctls.rp_filter_all = Some(1);
    // mid answers alpha's address through p1: the path is asymmetric.
    mid.routes
        .push(route("10.20.0.2/32", Some("172.30.5.9"), "p1"));
    let findings = diagnose(&snap);
    assert!(
        errors(&findings).contains(&"rp-filter-strict:mid:p0"),
        "{findings:#?}"
    );
    let f = findings
        .iter()
        .find(|f| f.id == "rp-filter-strict:mid:p0")
        .unwrap();
    assert_eq!(fix_steps(f), ["set net.ipv4.conf.p0.rp_filter=2 in mid"]);
}

#[test]
fn elsewhere_unused_down_link_and_loopback_are_ignored() {
    let mut snap = routed_elsewhere();
    let mid = ns_mut(&mut snap, "mid");
    mid.links.push(link(12, "spare0", "device", false));
    mid.links[0].flags.clear(); // lo down, no addresses of interest
    mid.addresses.push(Address {
        ifindex: 4,
        ifname: "p1".into(),
        address: "fe80::1".parse().unwrap(),
        prefix_len: 64,
        scope: crate::model::RouteScope::Link,
        peer: None,
    });
    assert!(diagnose(&snap).is_empty());
}

/// A container host: bridge `brx` 172.18.0.1/16 with two containers, uplink NIC `wan0` to a
/// router outside the snapshot, MASQUERADE for the bridge's subnet.
fn container_host() -> Snapshot {
    let mut node = namespace(
        "node",
        vec![
            link(2, "wan0", "device", true),
            link(3, "brx", "bridge", true),
            veth(4, "vp1", "c1", 2, "eth0"),
            veth(5, "vp2", "c2", 2, "eth0"),
        ],
    );
    node.kind = NamespaceKind::Host;
    for p in ["vp1", "vp2"] {
        let l = node.links.iter_mut().find(|l| l.name == p).unwrap();
        l.master = Some("brx".into());
        l.master_index = Some(3);
    }
    node.links[2].ports = vec!["vp1".into(), "vp2".into()];
    addr(&mut node, "wan0", "203.0.113.10/24");
    addr(&mut node, "brx", "172.18.0.1/16");
    node.routes
        .push(route("default", Some("203.0.113.1"), "wan0"));
    node.sysctls.ip_forward = Some(1);
    let mut snap_ns = vec![node];
    for (name, ip, peer) in [("c1", "172.18.0.2/16", 4), ("c2", "172.18.0.3/16", 5)] {
        let mut c = namespace(
            name,
            vec![veth(
                2,
                "eth0",
                "node",
                peer,
                if peer == 4 { "vp1" } else { "vp2" },
            )],
        );
        c.kind = NamespaceKind::Process;
        addr(&mut c, "eth0", ip);
        c.routes.push(route("default", Some("172.18.0.1"), "eth0"));
        snap_ns.push(c);
    }
    let mut snap = snapshot(snap_ns);
    set_fw(
        &mut snap,
        "node",
        "*nat\n:PREROUTING ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -s 172.18.0.0/16 ! -o brx -j MASQUERADE\n-A PREROUTING -p tcp --dport 8443 -j DNAT --to-destination 172.18.0.3:443\nCOMMIT\n",
    );
    snap
}

#[test]
fn container_host_healthy_is_clean() {
    let findings = diagnose(&container_host());
    assert!(problems(&findings).is_empty(), "{findings:#?}");
}

#[test]
fn container_host_without_masquerade_warns_about_the_unknown_upstream() {
    let mut snap = container_host();
    set_fw(
        &mut snap,
        "node",
        "*nat\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n",
    );
    only(&snap, "no-masquerade:node:172.18.0.0/16", Severity::Warning);
}

#[test]
fn container_host_detached_port_and_stale_dnat() {
    let mut snap = container_host();
    let l = link_mut(&mut snap, "node", "vp2");
    l.master = None;
    l.master_index = None;
    // c2 is gone from the bridge; its DNAT now targets an address… still held (c2 has it):
    // only the detached port is wrong.
    only(&snap, "port-detached:node:vp2", Severity::Error);

    // c2 removed altogether: its veth went with it, and the DNAT to it is left behind.
    let mut snap = container_host();
    snap.namespaces.retain(|n| n.name != "c2");
    let node = ns_mut(&mut snap, "node");
    node.links.retain(|l| l.name != "vp2");
    node.links[2].ports = vec!["vp1".into()];
    only(&snap, "stale-nat:node:172.18.0.3", Severity::Warning);
}

#[test]
fn container_host_link_down_of_the_bridge() {
    let mut snap = container_host();
    set_down(&mut snap, "node", "brx");
    only(&snap, "link-down:node:brx", Severity::Error);
}

#[test]
fn vxlan_larger_than_its_underlay() {
    let mut node = namespace("edge-7", vec![link(2, "nic9", "device", true)]);
    let mut vx = link(3, "ovl0", "vxlan", true);
    vx.link_index = Some(2);
    node.links.push(vx);
    addr(&mut node, "nic9", "198.51.100.7/24");
    let mut snap = snapshot(vec![node]);
    let f = only(&snap, "mtu-overlay:edge-7:ovl0", Severity::Error);
    assert_eq!(fix_steps(&f), ["set mtu 1450 on ovl0 in edge-7"]);
    link_mut(&mut snap, "edge-7", "ovl0").mtu = 1450;
    assert!(diagnose(&snap).is_empty());
}

#[test]
fn nsswitch_with_systemd_resolved_is_fine() {
    let mut snap = asset("bridge");
    let red = ns_mut(&mut snap, "bridge-red");
    let dns = red.dns.as_mut().unwrap();
    dns.nsswitch.path = "/etc/netns/bridge-red/nsswitch.conf".into();
    dns.nsswitch.parsed = Some(crate::dnsconf::nsswitch::parse(
        "hosts: mymachines resolve [!UNAVAIL=return] myhostname\n",
    ));
    assert!(problems(&diagnose(&snap)).is_empty());
}

#[test]
fn down_physical_nic_with_an_address_is_a_warning() {
    let mut snap = container_host();
    let node = ns_mut(&mut snap, "node");
    node.links.push(link(9, "eno2", "device", false));
    node.addresses.push(Address {
        ifindex: 9,
        ifname: "eno2".into(),
        address: "192.0.2.4".parse().unwrap(),
        prefix_len: 24,
        scope: crate::model::RouteScope::Global,
        peer: None,
    });
    only(&snap, "link-down:node:eno2", Severity::Warning);
}

// ---- resolver configuration (dns_config.rs) ----

/// `ns` gets a resolv.conf of its own with `text`.
fn own_resolv(snap: &mut Snapshot, ns: &str, text: &str) {
    let dns = ns_mut(snap, ns).dns.as_mut().expect("dns files");
    dns.resolv_conf.path = format!("/etc/netns/{ns}/resolv.conf");
    dns.resolv_conf.raw = Some(text.into());
    dns.resolv_conf.parsed = Some(crate::dnsconf::resolv::parse(text));
}

fn sample_text(path: &str) -> String {
    let full = format!("{}/tests/samples/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

#[test]
fn search_list_of_seven_domains_is_too_long() {
    let mut snap = asset("bridge");
    own_resolv(
        &mut snap,
        "bridge-blue",
        "search d1.test d2.test d3.test d4.test d5.test d6.test d7.test\nnameserver 192.168.15.5\n",
    );
    let f = only(&snap, "search-too-long:bridge-blue", Severity::Warning);
    assert!(
        f.explanation.contains("7 search domains"),
        "{}",
        f.explanation
    );
}

#[test]
fn search_line_musl_cannot_read() {
    let mut snap = asset("cluster");
    let domains: Vec<String> = (0..5)
        .map(|i| format!("{}{i}.example", "x".repeat(50)))
        .collect();
    own_resolv(
        &mut snap,
        "cluster-n2-pod1",
        &format!("search {}\nnameserver 192.168.1.1\n", domains.join(" ")),
    );
    let f = only(&snap, "search-too-long:cluster-n2-pod1", Severity::Warning);
    assert!(f.explanation.contains("musl"), "{}", f.explanation);
}

#[test]
fn inherited_long_search_list_is_judged_on_the_host_only() {
    let mut snap = asset("bridge");
    let text = "search a.t b.t c.t d.t e.t f.t g.t\nnameserver 10.255.255.53\n";
    for ns in snap.namespaces.iter_mut() {
        let dns = ns.dns.as_mut().expect("dns");
        dns.resolv_conf.raw = Some(text.into());
        dns.resolv_conf.parsed = Some(crate::dnsconf::resolv::parse(text));
    }
    let ids: Vec<String> = diagnose(&snap)
        .into_iter()
        .filter(|f| f.rule == "search-too-long")
        .map(|f| f.id)
        .collect();
    assert_eq!(ids, vec!["search-too-long:host"]);
}

#[test]
fn kubernetes_ndots5_amplifies_external_names() {
    let mut snap = asset("cluster");
    own_resolv(
        &mut snap,
        "cluster-n1-pod1",
        &sample_text("resolv/k8s-docs_pod-clusterfirst-gce.resolv.conf"),
    );
    let findings = diagnose(&snap);
    assert!(problems(&findings).is_empty(), "{findings:#?}");
    let f = findings
        .iter()
        .find(|f| f.id == "ndots-amplification:cluster-n1-pod1")
        .expect("ndots finding");
    assert_eq!(f.severity, Severity::Info);
    // 5 search domains × (A + AAAA) before example.com. itself.
    assert!(f.explanation.contains("10 queries"), "{}", f.explanation);
}

#[test]
fn modest_ndots_is_fine() {
    let mut snap = asset("cluster");
    // ndots:2 with one search domain: example.com costs one candidate (2 queries), allowed.
    own_resolv(
        &mut snap,
        "cluster-n1-pod2",
        "search svc.test\nnameserver 192.168.1.1\noptions ndots:2\n",
    );
    // ndots:1: example.com goes as is first, whatever the list.
    own_resolv(
        &mut snap,
        "cluster-n2-pod1",
        "search a.test b.test c.test\nnameserver 192.168.1.1\n",
    );
    assert!(!diagnose(&snap)
        .iter()
        .any(|f| f.rule == "ndots-amplification"));
    // The pod dnsConfig sample: ndots:2 and two domains → 4 queries first.
    own_resolv(
        &mut snap,
        "cluster-n2-pod2",
        &sample_text("resolv/k8s-docs_pod-dnsconfig.resolv.conf"),
    );
    let f = diagnose(&snap)
        .into_iter()
        .find(|f| f.id == "ndots-amplification:cluster-n2-pod2")
        .expect("finding");
    assert!(f.explanation.contains("4 queries"), "{}", f.explanation);
}

#[test]
fn loopback_stub_without_a_listener() {
    let mut snap = asset("bridge");
    own_resolv(
        &mut snap,
        "bridge-lanhost",
        &sample_text("resolv/systemd_static-resolv.conf"),
    );
    let f = only(
        &snap,
        "stub-resolver-missing:bridge-lanhost:127.0.0.53",
        Severity::Warning,
    );
    assert!(
        f.explanation.contains("systemd-resolved"),
        "{}",
        f.explanation
    );

    // A resolver listening there (a dnsmasq on the wildcard address) makes it fine.
    ns_mut(&mut snap, "bridge-lanhost")
        .sockets
        .push(crate::model::ListeningSocket {
            proto: "udp".into(),
            address: "0.0.0.0".parse().expect("ip"),
            port: 53,
            inode: 1,
            processes: Vec::new(),
        });
    assert!(problems(&diagnose(&snap)).is_empty());
}

#[test]
fn inherited_stub_is_information_where_nothing_listens() {
    let mut snap = asset("bridge");
    let text = "nameserver 127.0.0.53\n";
    for ns in snap.namespaces.iter_mut() {
        let dns = ns.dns.as_mut().expect("dns");
        dns.resolv_conf.raw = Some(text.into());
        dns.resolv_conf.parsed = Some(crate::dnsconf::resolv::parse(text));
    }
    // The host runs the stub; every other namespace inherits a file pointing at its own,
    // empty, loopback.
    ns_mut(&mut snap, "host")
        .sockets
        .push(crate::model::ListeningSocket {
            proto: "udp".into(),
            address: "127.0.0.53".parse().expect("ip"),
            port: 53,
            inode: 1,
            processes: Vec::new(),
        });
    let findings = diagnose(&snap);
    assert!(problems(&findings).is_empty(), "{findings:#?}");
    let stub: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.rule == "stub-resolver-missing")
        .collect();
    assert!(stub
        .iter()
        .any(|f| f.id == "stub-resolver-missing:bridge-red:127.0.0.53"));
    assert!(!stub.iter().any(|f| f.namespace == "host"));
}
