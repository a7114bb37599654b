//! MoveLink, RecreateLink and the IPAM lease steps on a copy of the bridge lab: each changes
//! the model as the kernel (or host-local) changes itself, so a fix using them is checked like
//! any other.

use super::{simulate, Simulated};
use crate::model::{CniState, IpamAllocation, IpamNetwork, Link, Snapshot};
use crate::plan::step::{LinkEnd, Step};

fn lab() -> Snapshot {
    serde_json::from_str(include_str!("../../../assets/demo-bridge.json")).expect("asset parses")
}

fn done(snap: &Snapshot, steps: &[Step]) -> Snapshot {
    match simulate(snap, steps) {
        Simulated::Done(s) => *s,
        other => panic!("unexpected {other:?}"),
    }
}

fn link<'a>(s: &'a Snapshot, ns: &str, name: &str) -> Option<&'a Link> {
    s.namespace(ns)?.links.iter().find(|l| l.name == name)
}

fn mv(ns: &str, name: &str, to: &str) -> Step {
    Step::MoveLink {
        ns: ns.into(),
        name: name.into(),
        to_ns: to.into(),
    }
}

#[test]
fn a_moved_link_arrives_down_and_bare_and_its_peer_follows_it() {
    let s = lab();
    let after = done(&s, &[mv("bridge-host", "veth-red-br", "bridge-blue")]);
    assert!(link(&after, "bridge-host", "veth-red-br").is_none());
    let host = after.namespace("bridge-host").unwrap();
    let bridge = host.links.iter().find(|l| l.name == "v-net-0").unwrap();
    assert!(!bridge.ports.iter().any(|p| p == "veth-red-br"));
    let moved = link(&after, "bridge-blue", "veth-red-br").expect("moved");
    assert!(!moved.is_up() && moved.master.is_none());
    // Index 4 is free in bridge-blue: kept.
    assert_eq!(moved.index, 4);
    let blue = after.namespace("bridge-blue").unwrap();
    assert!(!blue.addresses.iter().any(|a| a.ifname == "veth-red-br"));
    let peer = link(&after, "bridge-red", "veth-red")
        .unwrap()
        .peer
        .clone()
        .unwrap();
    assert_eq!(peer.namespace.as_deref(), Some("bridge-blue"));
    assert_eq!(peer.ifindex, 4);
}

#[test]
fn a_moved_link_takes_its_addresses_and_routes_along_nowhere() {
    let s = lab();
    let after = done(&s, &[mv("bridge-red", "veth-red", "bridge-blue")]);
    let red = after.namespace("bridge-red").unwrap();
    assert!(red
        .routes
        .iter()
        .all(|r| r.dev.as_deref() != Some("veth-red")));
    assert!(red.addresses.iter().all(|a| a.ifname != "veth-red"));
    // Index 2 is taken by veth-blue there: the kernel picks another.
    let moved = link(&after, "bridge-blue", "veth-red").unwrap();
    assert_ne!(moved.index, 2);
    let peer = link(&after, "bridge-host", "veth-red-br")
        .unwrap()
        .peer
        .clone()
        .unwrap();
    assert_eq!(peer.ifindex, moved.index);
}

#[test]
fn the_kernel_refuses_to_move_a_bridge_or_onto_a_taken_name() {
    let s = lab();
    let bridge = simulate(&s, &[mv("bridge-host", "v-net-0", "bridge-red")]);
    assert!(matches!(bridge, Simulated::Refused(_)), "{bridge:?}");
    // bridge-inet has an eth0 already.
    let clash = simulate(&s, &[mv("bridge-lanhost", "eth0", "bridge-inet")]);
    assert!(matches!(clash, Simulated::Refused(_)), "{clash:?}");
    let elsewhere = simulate(&s, &[mv("bridge-lanhost", "eth0", "nowhere")]);
    assert!(matches!(elsewhere, Simulated::Unknown(_)), "{elsewhere:?}");
}

fn end(ns: &str, name: &str, index: u32, mac: &str) -> LinkEnd {
    LinkEnd {
        ns: ns.into(),
        name: name.into(),
        index,
        mac: mac.into(),
        mtu: 1500,
        up: true,
    }
}

pub(crate) fn recreate_red() -> Step {
    Step::RecreateLink {
        kind: "veth".into(),
        link: end("bridge-red", "veth-red", 2, "ca:14:d0:4f:4b:cd"),
        peer: Some(end("bridge-host", "veth-red-br", 4, "f6:be:56:5d:13:78")),
    }
}

pub(crate) fn delete_red() -> Step {
    Step::DeleteLink {
        ns: "bridge-red".into(),
        name: "veth-red".into(),
    }
}

#[test]
fn a_recreated_veth_pair_is_down_paired_and_has_no_address() {
    let gone = done(&lab(), &[delete_red()]);
    assert!(link(&gone, "bridge-host", "veth-red-br").is_none());
    let after = done(&gone, &[recreate_red()]);
    let a = link(&after, "bridge-red", "veth-red").expect("recreated");
    let b = link(&after, "bridge-host", "veth-red-br").expect("recreated");
    assert_eq!((a.index, b.index, a.mtu), (2, 4, 1500));
    assert_eq!(a.mac.as_deref(), Some("ca:14:d0:4f:4b:cd"));
    assert!(!a.is_up() && !b.is_up() && b.master.is_none());
    let pa = a.peer.clone().unwrap();
    assert_eq!(
        (pa.namespace.as_deref(), pa.ifindex),
        (Some("bridge-host"), 4)
    );
    let pb = b.peer.clone().unwrap();
    assert_eq!(
        (pb.namespace.as_deref(), pb.ifindex),
        (Some("bridge-red"), 2)
    );
    let red = after.namespace("bridge-red").unwrap();
    assert!(red.addresses.iter().all(|x| x.ifname != "veth-red"));
    // Recreating a link that is there is the kernel's "File exists".
    assert!(matches!(
        simulate(&lab(), &[recreate_red()]),
        Simulated::Refused(_)
    ));
}

const DIR: &str = "/var/lib/cni/networks/pods";

pub(crate) fn with_leases() -> Snapshot {
    let mut s = lab();
    let lease = |ip: &str, id: &str| IpamAllocation {
        ip: ip.parse().unwrap(),
        container_id: id.into(),
        ifname: Some("eth0".into()),
        modified: None,
    };
    s.cni = Some(CniState {
        ipam: vec![IpamNetwork {
            backend: crate::model::HOST_LOCAL.into(),
            network: "pods".into(),
            config: None,
            dir: DIR.into(),
            dir_exists: true,
            ranges: Vec::new(),
            allocations: vec![lease("10.0.0.2", "aaaa"), lease("10.0.0.3", "bbbb")],
            last_reserved: Vec::new(),
            other_files: Vec::new(),
            error: None,
        }],
        ..CniState::default()
    });
    s
}

pub(crate) fn release(ip: &str, id: Option<&str>) -> Step {
    Step::ReleaseIpamLease {
        dir: DIR.into(),
        ip: ip.parse().unwrap(),
        container_id: id.map(str::to_string),
    }
}

fn leased(s: &Snapshot) -> Vec<(String, String)> {
    s.cni.as_ref().unwrap().ipam[0]
        .allocations
        .iter()
        .map(|a| (a.ip.to_string(), a.container_id.clone()))
        .collect()
}

#[test]
fn a_lease_is_released_only_while_it_names_the_container_and_restored_only_when_free() {
    let s = with_leases();
    let other = done(&s, &[release("10.0.0.2", Some("bbbb"))]);
    assert_eq!(leased(&other).len(), 2, "another container's lease stays");
    let gone = done(&s, &[release("10.0.0.2", Some("aaaa"))]);
    assert_eq!(leased(&gone), [("10.0.0.3".into(), "bbbb".into())]);
    let back = Step::RestoreIpamLease {
        dir: DIR.into(),
        ip: "10.0.0.2".parse().unwrap(),
        content: "aaaa\r\neth0".into(),
    };
    let restored = done(&gone, std::slice::from_ref(&back));
    assert!(leased(&restored).contains(&("10.0.0.2".into(), "aaaa".into())));
    // Over a lease someone holds it changes nothing.
    let held = done(&s, &[release("10.0.0.3", None), back]);
    assert!(leased(&held).contains(&("10.0.0.2".into(), "aaaa".into())));
    assert_eq!(leased(&held).len(), 1);
    // A directory the snapshot did not read is outside the model.
    let elsewhere = Step::ReleaseIpamLease {
        dir: "/var/lib/cni/networks/other".into(),
        ip: "10.0.0.2".parse().unwrap(),
        container_id: None,
    };
    assert!(matches!(simulate(&s, &[elsewhere]), Simulated::Unknown(_)));
}
