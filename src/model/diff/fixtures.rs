//! Snapshots and objects the diff tests are built from.

use super::*;
use crate::model::dns_files::{DnsFiles, FileRead, Hosts, NsSwitch, ResolvConf};
use crate::model::firewall::{Counters, NftChain, NftRule, NftTable, XtChain, XtRule, XtTable};
use crate::model::{LinkFlag, LinkFlags, NamespaceKind, OperState, ProcessRef, Sysctls};

pub(super) fn link(index: u32, name: &str, kind: &str, up: bool) -> Link {
    Link {
        flags: if up {
            LinkFlags::from([LinkFlag::Broadcast, LinkFlag::Up, LinkFlag::LowerUp])
        } else {
            LinkFlags::from([LinkFlag::Broadcast])
        },
        oper_state: if up { OperState::Up } else { OperState::Down },
        mtu: 1500,
        mac: Some("aa:bb:cc:dd:ee:01".into()),
        ..Link::new(index, name, kind)
    }
}

pub(super) fn route(dst: &str, gw: Option<&str>, dev: &str) -> Route {
    Route {
        table: 254,
        table_name: "main".into(),
        family: crate::model::RouteFamily::Inet,
        dst: crate::model::RouteDst::parse(dst),
        gateway: gw.map(|g| g.parse().unwrap()),
        dev: Some(dev.into()),
        prefsrc: None,
        protocol: crate::model::RouteProtocol::Static,
        scope: crate::model::RouteScope::Global,
        kind: crate::model::RouteKind::Unicast,
        metric: None,
        nexthops: Vec::new(),
    }
}

pub(super) fn xt_rule(raw: &str, packets: u64) -> XtRule {
    XtRule {
        raw: raw.into(),
        packets: Some(packets),
        bytes: Some(packets * 60),
        ..XtRule::default()
    }
}

pub(super) fn file<T>(path: &str, raw: &str) -> FileRead<T> {
    FileRead {
        path: path.into(),
        raw: Some(raw.into()),
        parsed: None,
        error: None,
        truncated: false,
    }
}

/// A namespace with one of everything, packet counters at `packets`.
pub(super) fn red(packets: u64) -> Namespace {
    let mut ns = Namespace::new("red".into(), NamespaceKind::Named, 4026532001);
    ns.links = vec![
        link(1, "lo", "loopback", true),
        link(2, "eth0", "veth", true),
    ];
    ns.addresses = vec![Address {
        ifindex: 2,
        ifname: "eth0".into(),
        address: "10.0.0.2".parse().unwrap(),
        prefix_len: 24,
        scope: crate::model::RouteScope::Global,
        peer: None,
    }];
    ns.routes = vec![route("default", Some("10.0.0.1"), "eth0")];
    ns.neighbors = vec![Neighbor {
        ifindex: 2,
        dev: "eth0".into(),
        address: "10.0.0.1".parse().unwrap(),
        lladdr: Some("aa:bb:cc:dd:ee:99".into()),
        state: crate::model::NeighborState::Reachable,
        router: false,
    }];
    ns.rules = vec![RoutingRule::lookup(
        crate::model::RouteFamily::Inet,
        32766,
        254,
    )];
    ns.sysctls = Sysctls {
        ip_forward: Some(1),
        rp_filter_all: Some(0),
        rp_filter: [("eth0".to_string(), 0u8)].into_iter().collect(),
        conntrack_count: Some(packets),
        ..Sysctls::default()
    };
    ns.sockets = vec![ListeningSocket {
        proto: "tcp".into(),
        address: "0.0.0.0".parse().unwrap(),
        port: 22,
        inode: 1000 + packets,
        processes: vec![ProcessRef {
            pid: 100 + packets as u32,
            comm: "sshd".into(),
            container_id: None,
        }],
    }];
    ns.firewall = Some(red_firewall(packets));
    ns.dns = Some(red_dns());
    ns
}

/// Red's firewall: one iptables and one nft rule, counters at `packets`.
fn red_firewall(packets: u64) -> Firewall {
    Firewall {
        backends: Vec::new(),
        iptables: vec![XtTable {
            family: IpFamily::V4,
            source: XtSource::Nft,
            name: "filter".into(),
            chains: vec![XtChain {
                name: "INPUT".into(),
                policy: Some("ACCEPT".into()),
                packets,
                bytes: packets * 100,
                rules: vec![xt_rule(
                    &format!(
                        "[{packets}:{}] -A INPUT -p tcp --dport 22 -j ACCEPT",
                        packets * 60
                    ),
                    packets,
                )],
            }],
        }],
        nft: vec![NftTable {
            family: "inet".into(),
            name: "fw".into(),
            handle: Some(1),
            chains: vec![NftChain {
                name: "input".into(),
                handle: Some(1),
                hook: Some("input".into()),
                prio: Some(0),
                policy: Some("accept".into()),
                chain_type: Some("filter".into()),
                rules: vec![NftRule {
                    handle: Some(2),
                    comment: None,
                    expr_summary: format!(
                        "tcp dport 80 counter packets {packets} bytes {} accept",
                        packets * 60
                    ),
                    verdict: Some("accept".into()),
                    counters: Some(Counters {
                        packets,
                        bytes: packets * 60,
                    }),
                    stmts: None,
                }],
            }],
            sets: Vec::new(),
            named: Vec::new(),
        }],
        errors: Vec::new(),
    }
}

/// Red's resolver files, unparsed.
fn red_dns() -> DnsFiles {
    DnsFiles {
        resolv_conf: file::<ResolvConf>(
            "/etc/netns/red/resolv.conf",
            "search lab\nnameserver 10.0.0.1\nnameserver 10.0.0.53\n",
        ),
        nsswitch: file::<NsSwitch>("/etc/nsswitch.conf", "hosts: files dns\n"),
        hosts: file::<Hosts>("/etc/hosts", "127.0.0.1 localhost\n"),
    }
}

pub(super) fn snap(namespaces: Vec<Namespace>, taken_at: u64) -> Snapshot {
    Snapshot {
        schema_version: crate::model::SCHEMA_VERSION,
        taken_at,
        hostname: "node".into(),
        namespaces,
        warnings: Vec::new(),
        cni: None,
    }
}

pub(super) fn host() -> Namespace {
    let mut ns = Namespace::new("host".into(), NamespaceKind::Host, 4026531840);
    ns.links = vec![link(1, "lo", "loopback", true)];
    ns
}

/// `(kind, object, key)` of each change, for compact assertions.
pub(super) fn keys(d: &SnapshotDiff) -> Vec<(ChangeKind, ObjectKind, String)> {
    d.changes
        .iter()
        .map(|c| (c.kind, c.object, c.key.clone()))
        .collect()
}

pub(super) fn only(d: &SnapshotDiff, object: ObjectKind) -> Vec<&Change> {
    d.changes.iter().filter(|c| c.object == object).collect()
}
