//! The simulator, step kind by step kind, on a snapshot collected from the bridge lab: links,
//! addresses and routes here (with the helpers the other test files share), firewall rules,
//! sysctls and resolver files in `fw_tests`, and in `inverse_tests` the property that a step
//! followed by its inverse gives back the snapshot on every modelled field.

use super::simulate;
use super::Simulated;
use crate::model::{OperState, Route, Snapshot};
use crate::plan::step::{RouteSpec, Step};

pub(super) fn lab() -> Snapshot {
    serde_json::from_str(include_str!("../../../assets/demo-bridge.json")).expect("asset parses")
}

pub(super) fn done(snap: &Snapshot, steps: &[Step]) -> Snapshot {
    match simulate(snap, steps) {
        Simulated::Done(s) => *s,
        other => panic!("unexpected {other:?}"),
    }
}

pub(super) fn routes<'a>(s: &'a Snapshot, ns: &str) -> Vec<&'a Route> {
    s.namespace(ns).unwrap().routes.iter().collect()
}

pub(super) fn has_route(s: &Snapshot, ns: &str, table: u32, dst: &str) -> bool {
    routes(s, ns)
        .iter()
        .any(|r| r.table == table && r.dst == crate::model::RouteDst::parse(dst))
}

pub(super) fn link<'a>(s: &'a Snapshot, ns: &str, name: &str) -> &'a crate::model::Link {
    let n = s.namespace(ns).unwrap();
    n.links.iter().find(|l| l.name == name).unwrap()
}

pub(super) fn up(ns: &str, link: &str, up: bool) -> Step {
    Step::SetLinkUp {
        ns: ns.into(),
        link: link.into(),
        up,
    }
}

pub(super) fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

#[test]
fn link_down_flushes_its_routes_and_up_brings_back_only_the_connected_ones() {
    let s = lab();
    let down = done(&s, &[up("bridge-red", "veth-red", false)]);
    assert!(!link(&down, "bridge-red", "veth-red").is_up());
    assert!(routes(&down, "bridge-red")
        .iter()
        .all(|r| r.dev.as_deref() != Some("veth-red")));
    // The peer loses its carrier.
    assert_eq!(
        link(&down, "bridge-host", "veth-red-br").oper_state,
        OperState::LowerLayerDown
    );
    let again = done(&down, &[up("bridge-red", "veth-red", true)]);
    assert!(has_route(&again, "bridge-red", 254, "192.168.15.0/24"));
    assert!(has_route(&again, "bridge-red", 255, "192.168.15.1/32"));
    assert!(has_route(&again, "bridge-red", 255, "192.168.15.255/32"));
    assert!(!has_route(&again, "bridge-red", 254, "default"));
    assert_eq!(
        link(&again, "bridge-host", "veth-red-br").oper_state,
        OperState::Up
    );
}

#[test]
fn addresses_bring_and_take_their_routes() {
    let s = lab();
    let add = Step::AddAddress {
        ns: "bridge-red".into(),
        link: "veth-red".into(),
        addr: "10.9.8.7/24".parse().unwrap(),
    };
    let with = done(&s, &[add]);
    assert!(has_route(&with, "bridge-red", 254, "10.9.8.0/24"));
    assert!(has_route(&with, "bridge-red", 255, "10.9.8.7/32"));
    // The last IPv4 address leaving a link takes the static default route with it.
    let del = Step::DelAddress {
        ns: "bridge-red".into(),
        link: "veth-red".into(),
        addr: "192.168.15.1/24".parse().unwrap(),
    };
    let without = done(&s, &[del]);
    assert!(!has_route(&without, "bridge-red", 254, "default"));
    assert!(!has_route(&without, "bridge-red", 254, "192.168.15.0/24"));
}

#[test]
fn routes_are_added_on_the_gateways_link_or_refused() {
    let s = lab();
    let spec = |via: &str| RouteSpec {
        dst: "10.50.0.0/16".parse().unwrap(),
        via: Some(via.parse().unwrap()),
        dev: None,
        table: None,
        metric: None,
    };
    let add = Step::AddRoute {
        ns: "bridge-red".into(),
        route: spec("192.168.15.5"),
    };
    let with = done(&s, std::slice::from_ref(&add));
    let r = routes(&with, "bridge-red")
        .into_iter()
        .find(|r| r.dst == crate::model::RouteDst::parse("10.50.0.0/16"))
        .cloned()
        .unwrap();
    assert_eq!(r.dev.as_deref(), Some("veth-red"));
    let del = Step::DelRoute {
        ns: "bridge-red".into(),
        route: spec("192.168.15.5"),
    };
    assert_eq!(done(&with, &[del]), s);
    // Nobody on a subnet of bridge-red holds 10.99.0.1: the kernel says "Nexthop has invalid
    // gateway".
    let bad = Step::AddRoute {
        ns: "bridge-red".into(),
        route: spec("10.99.0.1"),
    };
    assert!(matches!(simulate(&s, &[bad]), Simulated::Refused(_)));
}

#[test]
fn links_bridges_masters_and_mtu() {
    let s = lab();
    let steps = vec![
        Step::AddBridge {
            ns: "bridge-host".into(),
            name: "br9".into(),
        },
        Step::AddVeth {
            ns: "bridge-host".into(),
            name: "v9".into(),
            peer_ns: "bridge-blue".into(),
            peer: "v9p".into(),
        },
        Step::SetMaster {
            ns: "bridge-host".into(),
            link: "veth-red-br".into(),
            master: Some("br9".into()),
        },
        Step::SetMtu {
            ns: "bridge-host".into(),
            link: "br9".into(),
            mtu: 1400,
        },
    ];
    let after = done(&s, &steps);
    assert_eq!(
        link(&after, "bridge-host", "br9").ports,
        vec!["veth-red-br"]
    );
    assert_eq!(link(&after, "bridge-host", "br9").mtu, 1400);
    assert!(!link(&after, "bridge-host", "v-net-0")
        .ports
        .contains(&"veth-red-br".to_string()));
    let peer = link(&after, "bridge-host", "v9").peer.clone().unwrap();
    assert_eq!(peer.namespace.as_deref(), Some("bridge-blue"));
    let gone = done(
        &after,
        &[Step::DeleteLink {
            ns: "bridge-blue".into(),
            name: "v9p".into(),
        }],
    );
    assert!(gone
        .namespace("bridge-host")
        .unwrap()
        .links
        .iter()
        .all(|l| l.name != "v9"));
}

#[test]
fn steps_the_model_cannot_hold_are_unknown_never_guessed() {
    let s = lab();
    for step in [
        Step::MoveLink {
            ns: "bridge-host".into(),
            name: "eth0".into(),
            to_ns: "not-read".into(),
        },
        Step::ReleaseIpamLease {
            dir: "/var/lib/cni/networks/x".into(),
            ip: "10.0.0.2".parse().unwrap(),
            container_id: None,
        },
        up("nowhere", "eth0", true),
    ] {
        assert!(matches!(simulate(&s, &[step]), Simulated::Unknown(_)));
    }
    // A link that is not there is the kernel's "Cannot find device", not a guess.
    let missing = up("bridge-red", "no-such-link", true);
    assert!(matches!(simulate(&s, &[missing]), Simulated::Refused(_)));
}
