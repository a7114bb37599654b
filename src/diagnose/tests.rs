//! Rule tests on recorded snapshots (`assets/demo-*.json`: healthy labs as collected), on
//! mutations of them that reproduce each fault, and on hand-built topologies with names and
//! subnets the lab never uses, so nothing may lean on the lab's names.

use std::net::IpAddr;

use super::*;
use crate::firewall::{iptables_save, Firewall, IpFamily, XtSource};
use crate::model::{Address, Link, LinkFlag, Namespace, OperState, Snapshot};

pub(crate) fn asset(name: &str) -> Snapshot {
    let text = match name {
        "bridge" => include_str!("../../assets/demo-bridge.json"),
        "cluster" => include_str!("../../assets/demo-cluster.json"),
        _ => unreachable!("no such asset"),
    };
    serde_json::from_str(text).expect("demo snapshot parses")
}

pub(super) fn ns_mut<'a>(snap: &'a mut Snapshot, name: &str) -> &'a mut Namespace {
    snap.namespaces
        .iter_mut()
        .find(|n| n.name == name)
        .unwrap_or_else(|| panic!("no namespace {name}"))
}

pub(super) fn link_mut<'a>(snap: &'a mut Snapshot, ns: &str, link: &str) -> &'a mut Link {
    ns_mut(snap, ns)
        .links
        .iter_mut()
        .find(|l| l.name == link)
        .unwrap_or_else(|| panic!("no link {link} in {ns}"))
}

pub(super) fn remove_route(snap: &mut Snapshot, ns: &str, dst: &str) {
    let n = ns_mut(snap, ns);
    let before = n.routes.len();
    n.routes
        .retain(|r| !(r.dst == crate::model::RouteDst::parse(dst) && r.table == 254));
    assert!(n.routes.len() < before, "no route {dst} in {ns}");
}

/// A link taken down: the kernel drops every route through it.
pub(crate) fn set_down(snap: &mut Snapshot, ns: &str, link: &str) {
    let l = link_mut(snap, ns, link);
    l.flags
        .retain(|f| !matches!(f, LinkFlag::Up | LinkFlag::LowerUp | LinkFlag::Running));
    l.oper_state = OperState::Down;
    ns_mut(snap, ns)
        .routes
        .retain(|r| r.dev.as_deref() != Some(link));
}

pub(super) fn set_fw(snap: &mut Snapshot, ns: &str, iptables_save_text: &str) {
    let (tables, errors) = iptables_save::parse(iptables_save_text, IpFamily::V4, XtSource::Nft);
    assert!(errors.is_empty(), "{errors:?}");
    ns_mut(snap, ns).firewall = Some(Firewall {
        backends: vec![crate::firewall::Backend::IptablesNft],
        iptables: tables,
        nft: Vec::new(),
        errors: Vec::new(),
    });
}

pub(super) const BRIDGE_HOST_NAT: &str = "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp -m tcp --dport 80 -j DNAT --to-destination 192.168.15.2:80\n-A POSTROUTING -s 192.168.15.0/24 -j MASQUERADE\nCOMMIT\n";

pub(super) fn errors(findings: &[Finding]) -> Vec<&str> {
    findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| f.id.as_str())
        .collect()
}

pub(super) fn problems(findings: &[Finding]) -> Vec<&str> {
    findings
        .iter()
        .filter(|f| f.severity <= Severity::Warning)
        .map(|f| f.id.as_str())
        .collect()
}

/// The fault shows as exactly `id` (at `severity`), with no other warning or error.
pub(super) fn only(snap: &Snapshot, id: &str, severity: Severity) -> Finding {
    let findings = diagnose(snap);
    assert_eq!(problems(&findings), vec![id], "{findings:#?}");
    let f = findings.into_iter().find(|f| f.id == id).expect("finding");
    assert_eq!(f.severity, severity, "{f:#?}");
    assert!(!f.explanation.is_empty() && !f.title.contains('\n'));
    f
}

pub(super) fn fix_steps(f: &Finding) -> Vec<String> {
    f.fix
        .as_ref()
        .map(|x| x.steps.iter().map(|s| s.to_string()).collect())
        .unwrap_or_default()
}

#[test]
fn healthy_demo_snapshots_have_no_warning_or_error() {
    for name in ["bridge", "cluster"] {
        let findings = diagnose(&asset(name));
        for f in &findings {
            println!("{name}: {:?} {} — {}", f.severity, f.id, f.explanation);
        }
        assert!(problems(&findings).is_empty(), "{name}: {findings:#?}");
        // What remains is information about nameservers the lab namespaces inherit from the
        // host but cannot reach (they have no route out): true, and harmless for the lab.
        assert!(findings
            .iter()
            .all(|f| f.id.starts_with("nameserver-unreachable:")));
    }
}

#[test]
fn findings_round_trip_through_json_and_sort_errors_first() {
    let mut snap = asset("bridge");
    ns_mut(&mut snap, "bridge-host").sysctls.ip_forward = Some(0);
    let findings = diagnose(&snap);
    assert_eq!(findings[0].severity, Severity::Error);
    let json = serde_json::to_string(&findings).unwrap();
    let back: Vec<Finding> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, findings);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v[0]["severity"], "error");
    assert_eq!(v[0]["fix"]["steps"][0]["step"], "set_sysctl");
}

#[test]
fn forwarding_off_on_the_bridge_gateway() {
    let mut snap = asset("bridge");
    ns_mut(&mut snap, "bridge-host").sysctls.ip_forward = Some(0);
    let f = only(&snap, "forwarding-off:bridge-host", Severity::Error);
    assert!(
        f.explanation.contains("via 192.168.15.5"),
        "{}",
        f.explanation
    );
    assert!(f.explanation.contains("ip_forward=0"));
    assert_eq!(fix_steps(&f), ["set net.ipv4.ip_forward=1 in bridge-host"]);
}

#[test]
fn forwarding_off_on_a_cluster_node() {
    let mut snap = asset("cluster");
    ns_mut(&mut snap, "cluster-node2").sysctls.ip_forward = Some(0);
    only(&snap, "forwarding-off:cluster-node2", Severity::Error);
}

#[test]
fn stub_with_ip_forward_off_is_not_a_gateway() {
    // bridge-inet holds 8.8.8.8, which bridge-lan routes to via bridge-inet: that is a route
    // to bridge-inet itself, not through it.
    let snap = asset("bridge");
    assert_eq!(
        snap.namespace("bridge-inet").unwrap().sysctls.ip_forward,
        Some(0)
    );
    assert!(!diagnose(&snap).iter().any(|f| f.rule == "forwarding-off"));
}

#[test]
fn no_default_in_a_bridged_namespace() {
    let mut snap = asset("bridge");
    remove_route(&mut snap, "bridge-red", "default");
    let f = only(&snap, "no-default:bridge-red", Severity::Error);
    assert_eq!(
        fix_steps(&f),
        ["add route default via 192.168.15.5 in bridge-red"]
    );
}

#[test]
fn no_default_in_a_pod() {
    let mut snap = asset("cluster");
    remove_route(&mut snap, "cluster-n3-pod2", "default");
    only(&snap, "no-default:cluster-n3-pod2", Severity::Error);
}

#[test]
fn no_route_between_cluster_nodes() {
    let mut snap = asset("cluster");
    remove_route(&mut snap, "cluster-node1", "10.244.2.0/24");
    let f = only(
        &snap,
        "no-route:cluster-node1:10.244.2.0/24",
        Severity::Error,
    );
    assert_eq!(
        fix_steps(&f),
        ["add route 10.244.2.0/24 via 192.168.1.12 in cluster-node1"]
    );
}

#[test]
fn no_route_back_to_a_stub() {
    let mut snap = asset("bridge");
    remove_route(&mut snap, "bridge-lan", "8.8.8.8/32");
    let f = only(&snap, "no-route:bridge-lan:8.8.8.8/32", Severity::Error);
    assert_eq!(
        fix_steps(&f),
        ["add route 8.8.8.8/32 via 100.64.0.2 in bridge-lan"]
    );
}

#[test]
fn link_down_in_a_bridged_namespace() {
    let mut snap = asset("bridge");
    set_down(&mut snap, "bridge-red", "veth-red");
    let f = only(&snap, "link-down:bridge-red:veth-red", Severity::Error);
    // The kernel flushed red's default route with the link: the fix brings it back, through
    // the forwarding host on the link's segment that masquerades red.
    assert_eq!(
        fix_steps(&f),
        [
            "set veth-red up in bridge-red",
            "add route default via 192.168.15.5 in bridge-red"
        ]
    );
}

#[test]
fn peer_down_is_reported_from_the_end_that_carries_addresses() {
    let mut snap = asset("bridge");
    set_down(&mut snap, "bridge-host", "veth-red-br");
    let f = only(&snap, "peer-down:bridge-red:veth-red", Severity::Error);
    assert_eq!(fix_steps(&f), ["set veth-red-br up in bridge-host"]);
}

#[test]
fn detached_bridge_port() {
    let mut snap = asset("bridge");
    let l = link_mut(&mut snap, "bridge-host", "veth-red-br");
    l.master = None;
    l.master_index = None;
    link_mut(&mut snap, "bridge-host", "v-net-0")
        .ports
        .retain(|p| p != "veth-red-br");
    let f = only(
        &snap,
        "port-detached:bridge-host:veth-red-br",
        Severity::Error,
    );
    assert_eq!(
        fix_steps(&f),
        ["attach veth-red-br to bridge v-net-0 in bridge-host"]
    );
}

#[test]
fn bridge_without_its_gateway_address() {
    let mut snap = asset("bridge");
    let host = ns_mut(&mut snap, "bridge-host");
    host.addresses
        .retain(|a| a.address != "192.168.15.5".parse::<IpAddr>().unwrap());
    host.routes
        .retain(|r| r.dst != crate::model::RouteDst::parse("192.168.15.0/24"));
    let f = only(&snap, "bridge-no-addr:bridge-host:v-net-0", Severity::Error);
    assert_eq!(
        fix_steps(&f),
        ["add address 192.168.15.5/24 to v-net-0 in bridge-host"]
    );
}

#[test]
fn cluster_bridge_without_its_gateway_address() {
    let mut snap = asset("cluster");
    let node = ns_mut(&mut snap, "cluster-node1");
    node.addresses
        .retain(|a| a.address != "10.244.1.1".parse::<IpAddr>().unwrap());
    node.routes
        .retain(|r| r.dst != crate::model::RouteDst::parse("10.244.1.0/24"));
    only(&snap, "bridge-no-addr:cluster-node1:cni0", Severity::Error);
}

#[test]
fn no_masquerade_when_upstream_cannot_route_back() {
    let mut snap = asset("bridge");
    set_fw(
        &mut snap,
        "bridge-host",
        &BRIDGE_HOST_NAT.replace("-A POSTROUTING -s 192.168.15.0/24 -j MASQUERADE\n", ""),
    );
    // bridge-host still port-forwards: a router meant to route its LAN upstream that lost
    // the route back there looks the same, so that is named too, as a warning (oracle seed
    // 232).
    let findings = diagnose(&snap);
    assert_eq!(
        problems(&findings),
        [
            "no-masquerade:bridge-host:192.168.15.0/24",
            "no-route:bridge-lan:192.168.15.0/24"
        ],
        "{findings:#?}"
    );
    assert_eq!(
        errors(&findings),
        ["no-masquerade:bridge-host:192.168.15.0/24"]
    );
    let by_id = |id: &str| findings.iter().find(|f| f.id == id).expect("finding");
    let f = by_id("no-masquerade:bridge-host:192.168.15.0/24");
    assert!(f.explanation.contains("bridge-lan"), "{}", f.explanation);
    assert_eq!(
        fix_steps(f),
        ["add nat/POSTROUTING rule `-s 192.168.15.0/24 -o eth0 -m comment --comment netlens -j MASQUERADE` in bridge-host"]
    );
    let back = by_id("no-route:bridge-lan:192.168.15.0/24");
    assert!(
        back.explanation.contains("port-forwards"),
        "{}",
        back.explanation
    );
    assert!(back.fix.is_some(), "{back:#?}");
}

#[test]
fn forward_policy_drop() {
    let mut snap = asset("bridge");
    let text = format!(
        "{BRIDGE_HOST_NAT}*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [12:900]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\nCOMMIT\n"
    );
    set_fw(&mut snap, "bridge-host", &text);
    let f = only(&snap, "forward-drop:bridge-host", Severity::Error);
    assert!(f.explanation.contains("192.168.15.0/24"));
    // Accepting the bridge's subnet clears it.
    let text = text.replace(
        "COMMIT\n",
        "-A FORWARD -s 192.168.15.0/24 -j ACCEPT\nCOMMIT\n",
    );
    set_fw(&mut snap, "bridge-host", &text);
    assert!(problems(&diagnose(&snap)).is_empty());
}

#[test]
fn mtu_mismatch_on_one_bridge_port() {
    let mut snap = asset("bridge");
    link_mut(&mut snap, "bridge-red", "veth-red").mtu = 1400;
    let f = only(&snap, "mtu-mismatch:bridge-red:veth-red", Severity::Error);
    assert_eq!(fix_steps(&f), ["set mtu 1500 on veth-red in bridge-red"]);
}

/// Containers outvoting the host: the segment's "usual" MTU is a majority count, and links
/// inside containers (which a container with NET_ADMIN sets, and multiplies with links of its
/// own) count. The MTU of a physical NIC is the physical network's, which netlens cannot see:
/// the finding stays, but no fix raises the host's uplink to what containers chose.
#[test]
fn containers_cannot_vote_the_uplink_mtu() {
    let mut snap = asset("bridge");
    link_mut(&mut snap, "bridge-host", "veth-red-br").kind = "device".into();
    link_mut(&mut snap, "bridge-red", "veth-red").mtu = 9000;
    link_mut(&mut snap, "bridge-blue", "veth-blue").mtu = 9000;
    let findings = diagnose(&snap);
    let uplink = findings
        .iter()
        .find(|f| f.id == "mtu-mismatch:bridge-host:veth-red-br")
        .expect("the mismatch is still reported");
    assert_eq!(fix_steps(uplink), Vec::<String>::new());
}

#[test]
fn duplicate_ip_on_the_bridge() {
    let mut snap = asset("bridge");
    let blue = ns_mut(&mut snap, "bridge-blue");
    blue.addresses.push(Address {
        ifindex: 2,
        ifname: "veth-blue".into(),
        address: "192.168.15.1".parse().unwrap(),
        prefix_len: 24,
        scope: crate::model::RouteScope::Global,
        peer: None,
    });
    let f = only(&snap, "dup-ip:192.168.15.1", Severity::Error);
    assert!(f.explanation.contains("bridge-red") && f.explanation.contains("bridge-blue"));
}

#[test]
fn stale_dnat_to_an_address_nobody_holds() {
    let mut snap = asset("bridge");
    set_fw(
        &mut snap,
        "bridge-host",
        &BRIDGE_HOST_NAT.replace(
            "COMMIT",
            "-A PREROUTING -p tcp -m tcp --dport 8080 -j DNAT --to-destination 192.168.15.99:8080\nCOMMIT",
        ),
    );
    let f = only(
        &snap,
        "stale-nat:bridge-host:192.168.15.99",
        Severity::Warning,
    );
    assert_eq!(
        fix_steps(&f),
        ["remove nat/PREROUTING rule `-p tcp -m tcp --dport 8080 -j DNAT --to-destination 192.168.15.99:8080` in bridge-host"]
    );
}

#[test]
fn gateway_neighbour_failed() {
    let mut snap = asset("bridge");
    let red = ns_mut(&mut snap, "bridge-red");
    for n in &mut red.neighbors {
        if n.address == "192.168.15.5".parse::<IpAddr>().unwrap() {
            n.state = crate::model::NeighborState::Failed;
            n.lladdr = None;
        }
    }
    only(
        &snap,
        "gateway-neigh:bridge-red:192.168.15.5",
        Severity::Warning,
    );
}

#[test]
fn conntrack_nearly_full() {
    let mut snap = asset("cluster");
    let s = &mut ns_mut(&mut snap, "cluster-node1").sysctls;
    s.conntrack_count = Some(250_000);
    s.conntrack_max = Some(262_144);
    only(&snap, "conntrack-full:cluster-node1", Severity::Error);
    ns_mut(&mut snap, "cluster-node1")
        .sysctls
        .conntrack_insert_failed = Some(7);
    let findings = diagnose(&snap);
    let info = findings
        .iter()
        .find(|f| f.id == "conntrack-insert-failed:cluster-node1")
        .expect("insert_failed reported");
    assert_eq!(info.severity, Severity::Info);
}

#[test]
fn nsswitch_without_dns_in_a_namespace_of_its_own() {
    let mut snap = asset("bridge");
    let red = ns_mut(&mut snap, "bridge-red");
    let dns = red.dns.as_mut().unwrap();
    dns.nsswitch.path = "/etc/netns/bridge-red/nsswitch.conf".into();
    dns.nsswitch.parsed = Some(crate::dnsconf::nsswitch::parse("hosts: files\n"));
    let f = only(&snap, "nsswitch-hosts:bridge-red", Severity::Warning);
    assert!(f.explanation.contains("hosts: files"));
}

#[test]
fn own_resolv_conf_with_unreachable_nameserver() {
    let mut snap = asset("cluster");
    let node = ns_mut(&mut snap, "cluster-node2");
    let dns = node.dns.as_mut().unwrap();
    dns.resolv_conf.path = "/etc/netns/cluster-node2/resolv.conf".into();
    dns.resolv_conf.parsed = Some(crate::dnsconf::resolv::parse("nameserver 10.53.0.53\n"));
    only(
        &snap,
        "nameserver-unreachable:cluster-node2:10.53.0.53",
        Severity::Warning,
    );
}

#[test]
fn a_dead_nameserver_beside_a_live_one_is_dropped_by_the_fix() {
    let mut snap = asset("cluster");
    let node = ns_mut(&mut snap, "cluster-node2");
    let dns = node.dns.as_mut().unwrap();
    let text = "search lab\nnameserver 10.53.0.53\nnameserver 192.168.1.11\n";
    dns.resolv_conf.path = "/etc/netns/cluster-node2/resolv.conf".into();
    dns.resolv_conf.raw = Some(text.into());
    dns.resolv_conf.parsed = Some(crate::dnsconf::resolv::parse(text));
    let f = only(
        &snap,
        "nameserver-unreachable:cluster-node2:10.53.0.53",
        Severity::Warning,
    );
    let steps = &f.fix.as_ref().expect("a fix").steps;
    assert_eq!(
        steps,
        &[Step::WriteFile {
            ns: "cluster-node2".into(),
            path: "/etc/netns/cluster-node2/resolv.conf".into(),
            content: Some("search lab\nnameserver 192.168.1.11\n".into()),
            pid_start: None,
        }]
    );
}

#[test]
fn no_fix_rewrites_a_cut_file_or_a_link_target() {
    let text = "search lab\nnameserver 10.53.0.53\nnameserver 192.168.1.11\n";
    for (path, truncated) in [
        // resolv.conf was a link: the snapshot shows its target, which netlens does not write.
        ("/proc/42/root/run/systemd/resolve/stub-resolv.conf", false),
        // Cut at 1 MiB: writing it back would drop the rest.
        ("/etc/netns/cluster-node2/resolv.conf", true),
    ] {
        let mut snap = asset("cluster");
        let node = ns_mut(&mut snap, "cluster-node2");
        let dns = node.dns.as_mut().unwrap();
        dns.resolv_conf.path = path.into();
        dns.resolv_conf.truncated = truncated;
        dns.resolv_conf.raw = Some(text.into());
        dns.resolv_conf.parsed = Some(crate::dnsconf::resolv::parse(text));
        let f = only(
            &snap,
            "nameserver-unreachable:cluster-node2:10.53.0.53",
            Severity::Warning,
        );
        assert!(f.fix.is_none(), "{path}: {:?}", f.fix);
    }
}

#[test]
fn finding_ids_are_stable_across_runs() {
    let mut snap = asset("cluster");
    ns_mut(&mut snap, "cluster-node2").sysctls.ip_forward = Some(0);
    let a: Vec<String> = diagnose(&snap).into_iter().map(|f| f.id).collect();
    snap.taken_at += 60;
    for ns in &mut snap.namespaces {
        ns.inode += 1;
        ns.neighbors.clear();
    }
    let b: Vec<String> = diagnose(&snap).into_iter().map(|f| f.id).collect();
    assert_eq!(a, b);
}
