//! Kubernetes port rules on hand-built nodes (names and subnets the lab never uses) and on the
//! healthy demo snapshots, which must stay silent.

use std::net::IpAddr;

use super::*;
use crate::firewall::{iptables_save, Backend, Firewall, IpFamily, XtSource};
use crate::model::{
    Address, Link, LinkFlag, LinkFlags, ListeningSocket, Namespace, NamespaceKind, ProcessRef,
    Route, Snapshot,
};

fn listener(proto: &str, addr: &str, port: u16, comm: &str, pid: u32) -> ListeningSocket {
    ListeningSocket {
        proto: proto.into(),
        address: addr.parse().expect("address"),
        port,
        inode: u64::from(pid) * 100 + u64::from(port),
        processes: vec![ProcessRef {
            pid,
            comm: comm.into(),
            container_id: None,
        }],
    }
}

fn route(dst: &str, gw: Option<&str>, dev: &str) -> Route {
    Route {
        table: 254,
        table_name: "main".into(),
        family: crate::model::RouteFamily::Inet,
        dst: crate::model::RouteDst::parse(dst),
        gateway: gw.map(|g| g.parse().expect("gateway")),
        dev: Some(dev.into()),
        prefsrc: None,
        protocol: crate::model::RouteProtocol::Static,
        scope: crate::model::RouteScope::parse("universe"),
        kind: crate::model::RouteKind::Unicast,
        metric: None,
        nexthops: Vec::new(),
    }
}

/// A node `nodeA` on 172.30.40.0/22 via its NIC `enp7s0`, gateway 172.30.40.1.
fn node(sockets: Vec<ListeningSocket>, rules: &str) -> Snapshot {
    let mut ns = Namespace::new("host".into(), NamespaceKind::Host, 4026531840);
    let mut nic = Link::new(2, "enp7s0", "device");
    nic.flags = LinkFlags::from([LinkFlag::Up, LinkFlag::LowerUp]);
    nic.mac = Some("52:54:00:9a:0b:11".into());
    nic.mtu = 1500;
    ns.links = vec![Link::new(1, "lo", "loopback"), nic];
    ns.addresses = vec![Address {
        ifindex: 2,
        ifname: "enp7s0".into(),
        address: "172.30.41.7".parse().expect("ip"),
        prefix_len: 22,
        scope: crate::model::RouteScope::Global,
        peer: None,
    }];
    ns.routes = vec![
        route("default", Some("172.30.40.1"), "enp7s0"),
        route("172.30.40.0/22", None, "enp7s0"),
    ];
    ns.sockets = sockets;
    if !rules.is_empty() {
        let (tables, errors) = iptables_save::parse(rules, IpFamily::V4, XtSource::Nft);
        assert!(errors.is_empty(), "{errors:?}");
        ns.firewall = Some(Firewall {
            backends: vec![Backend::IptablesNft],
            iptables: tables,
            nft: Vec::new(),
            errors: Vec::new(),
        });
    } else {
        ns.firewall = Some(Firewall::default());
    }
    Snapshot {
        schema_version: crate::model::SCHEMA_VERSION,
        taken_at: 0,
        hostname: "nodeA".into(),
        namespaces: vec![ns],
        warnings: Vec::new(),
        cni: None,
    }
}

fn healthy_control_plane() -> Vec<ListeningSocket> {
    vec![
        listener("tcp6", "::", 6443, "kube-apiserver", 901),
        listener("tcp", "127.0.0.1", 2379, "etcd", 902),
        listener("tcp", "172.30.41.7", 2379, "etcd", 902),
        listener("tcp", "172.30.41.7", 2380, "etcd", 902),
        listener("tcp6", "::", 10250, "kubelet", 903),
        listener("tcp", "127.0.0.1", 10259, "kube-scheduler", 904),
        listener("tcp", "127.0.0.1", 10257, "kube-controller", 905),
        listener("tcp6", "::", 10256, "kube-proxy", 906),
    ]
}

const KUBE_PROXY: &str = "*nat
:PREROUTING ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-NODEPORTS - [0:0]
-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES
-A KUBE-NODEPORTS -p tcp -m comment --comment \"shop/cart:http\" -m tcp --dport 31080 -j KUBE-EXT-ABCDEF
COMMIT
";

fn by_rule<'a>(findings: &'a [Finding], rule: &str) -> Vec<&'a Finding> {
    findings.iter().filter(|f| f.rule == rule).collect()
}

#[test]
fn a_healthy_control_plane_node_is_clean() {
    let findings = diagnose(&node(healthy_control_plane(), KUBE_PROXY));
    assert!(findings.is_empty(), "{findings:#?}");
    let rep = crate::k8s::check(
        &node(healthy_control_plane(), KUBE_PROXY),
        &Default::default(),
    );
    assert_eq!(rep.role, crate::k8s::Role::ControlPlane);
    assert!(rep.role_detected && rep.ok, "{rep:#?}");
    let np = rep
        .ports
        .iter()
        .find(|p| p.port == 30000)
        .expect("nodeport row");
    assert_eq!(np.nodeports.len(), 1);
    assert_eq!(np.nodeports[0].service.as_deref(), Some("shop/cart:http"));
    assert_eq!(rep.identity.macs[0].mac, "52:54:00:9a:0b:11");
}

#[test]
fn apiserver_on_loopback_only_is_a_warning() {
    let mut sockets = healthy_control_plane();
    sockets[0] = listener("tcp", "127.0.0.1", 6443, "kube-apiserver", 901);
    let findings = diagnose(&node(sockets, KUBE_PROXY));
    let f = by_rule(&findings, "k8s-port-loopback");
    assert_eq!(f.len(), 1, "{findings:#?}");
    assert_eq!(f[0].id, "k8s-port-loopback:host:tcp/6443");
    assert_eq!(f[0].severity, Severity::Warning);
    assert!(
        f[0].explanation.contains("127.0.0.1:6443"),
        "{}",
        f[0].explanation
    );
    assert!(f[0].explanation.contains("kube-apiserver (pid 901)"));
    assert_eq!(problems_of(&findings), ["k8s-port-loopback:host:tcp/6443"]);
}

fn problems_of(findings: &[Finding]) -> Vec<&str> {
    findings
        .iter()
        .filter(|f| f.severity <= Severity::Warning)
        .map(|f| f.id.as_str())
        .collect()
}

#[test]
fn scheduler_on_loopback_is_fine() {
    // 10259 and 10257 serve the node itself: loopback is kubeadm's default, not a finding.
    let findings = diagnose(&node(healthy_control_plane(), KUBE_PROXY));
    assert!(by_rule(&findings, "k8s-port-loopback").is_empty());
}

#[test]
fn input_dropping_the_kubelet_from_the_nodes_subnet_is_a_warning() {
    let rules = format!(
        "{KUBE_PROXY}*filter
:INPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -s 172.30.40.0/22 -p tcp -m tcp --dport 10250 -j DROP
COMMIT
"
    );
    let findings = diagnose(&node(healthy_control_plane(), &rules));
    assert_eq!(
        problems_of(&findings),
        ["k8s-port-blocked:host:tcp/10250"],
        "{findings:#?}"
    );
    let f = &by_rule(&findings, "k8s-port-blocked")[0];
    assert!(
        f.explanation
            .contains("-A INPUT -s 172.30.40.0/22 -p tcp -m tcp --dport 10250 -j DROP"),
        "{}",
        f.explanation
    );
    assert!(f.explanation.contains("172.30.40.1 (in on enp7s0)"));
}

#[test]
fn input_policy_drop_blocks_nodeports_but_accepted_ports_pass() {
    let rules = format!(
        "{KUBE_PROXY}*filter
:INPUT DROP [0:0]
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m multiport --dports 6443,2379:2380,10250,10256 -j ACCEPT
COMMIT
"
    );
    let findings = diagnose(&node(healthy_control_plane(), &rules));
    assert_eq!(
        problems_of(&findings),
        ["k8s-port-blocked:host:tcp/31080"],
        "{findings:#?}"
    );
    assert!(by_rule(&findings, "k8s-port-blocked")[0]
        .explanation
        .contains("filter INPUT policy DROP"));
}

#[test]
fn a_worker_without_kube_proxy_gets_information_only() {
    let sockets = vec![listener("tcp6", "::", 10250, "kubelet", 77)];
    let findings = diagnose(&node(sockets, ""));
    assert!(problems_of(&findings).is_empty(), "{findings:#?}");
    let missing = by_rule(&findings, "k8s-port-missing");
    assert_eq!(missing.len(), 1);
    assert_eq!(missing[0].id, "k8s-port-missing:host:tcp/10256");
    assert_eq!(missing[0].severity, Severity::Info);
}

#[test]
fn plain_hosts_and_labs_get_nothing() {
    // sshd on 22 and a web server on 6443 without any other sign of Kubernetes.
    let sockets = vec![
        listener("tcp", "0.0.0.0", 22, "sshd", 5),
        listener("tcp", "127.0.0.1", 6443, "nginx", 6),
    ];
    let findings = diagnose(&node(sockets, ""));
    assert!(findings.is_empty(), "{findings:#?}");
    for text in [
        include_str!("../../assets/demo-bridge.json"),
        include_str!("../../assets/demo-cluster.json"),
    ] {
        let snap: Snapshot = serde_json::from_str(text).expect("demo");
        assert!(diagnose(&snap).iter().all(|f| !f.rule.starts_with("k8s-")));
    }
}

#[test]
fn a_peer_given_explicitly_is_judged_on_its_own_route() {
    let rules = "*filter
:INPUT ACCEPT [0:0]
:KUBE-FIREWALL - [0:0]
-A INPUT -s 198.51.100.0/24 -p tcp -m tcp --dport 6443 -j REJECT
COMMIT
";
    let snap = node(healthy_control_plane(), rules);
    let peer: IpAddr = "198.51.100.20".parse().expect("ip");
    let opts = crate::k8s::PortsOptions {
        peers: vec![peer],
        ..Default::default()
    };
    let rep = crate::k8s::check(&snap, &opts);
    let api = &rep.ports[0];
    assert_eq!(api.input.verdict, "drop");
    assert_eq!(api.input.from, Some(peer));
    assert_eq!(api.input.iif.as_deref(), Some("enp7s0"));
    assert!(!rep.ok);
    // The default peer (the gateway) is not in that subnet.
    assert!(crate::k8s::check(&snap, &Default::default()).ok);
}
