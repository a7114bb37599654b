//! The bridge-port, neighbour and policy-rule steps on the bridge lab's snapshot, and the
//! doctor accepting their fixes only because the simulated snapshot loses the finding.

use super::{simulate, Simulated};
use crate::model::{BridgePort, LinkKind, RoutingRule, RoutingRuleAction, Snapshot, StpPortState};
use crate::plan::step::Step;

fn lab() -> Snapshot {
    serde_json::from_str(include_str!("../../../assets/demo-bridge.json")).expect("asset parses")
}

fn done(snap: &Snapshot, steps: &[Step]) -> Snapshot {
    match simulate(snap, steps) {
        Simulated::Done(s) => *s,
        other => panic!("unexpected {other:?}"),
    }
}

fn port(state: StpPortState) -> BridgePort {
    BridgePort {
        state,
        isolated: false,
        learning: true,
        flood: true,
    }
}

fn set_port(link: &str, isolated: Option<bool>, state: Option<u8>) -> Step {
    Step::SetBridgePort {
        ns: "bridge-host".into(),
        link: link.into(),
        isolated,
        state,
        learning: None,
        flood: None,
    }
}

fn bp<'a>(s: &'a Snapshot, link: &str) -> &'a BridgePort {
    let n = s.namespace("bridge-host").unwrap();
    let l = n.links.iter().find(|l| l.name == link).unwrap();
    l.bridge_port.as_ref().unwrap()
}

#[test]
fn bridge_port_flags_change_in_place_and_only_on_a_port() {
    let mut s = lab();
    for l in &mut s.namespaces[2].links {
        if l.master.is_some() {
            l.bridge_port = Some(port(StpPortState::Disabled));
        }
    }
    let after = done(&s, &[set_port("veth-red-br", Some(true), Some(3))]);
    assert_eq!(bp(&after, "veth-red-br").state, StpPortState::Forwarding);
    assert!(bp(&after, "veth-red-br").isolated);
    assert_eq!(
        bp(&after, "veth-blue-br").state,
        StpPortState::Disabled,
        "other port untouched"
    );
    // eth0 is no bridge port: the kernel refuses port flags on it.
    assert!(matches!(
        simulate(&s, &[set_port("eth0", Some(false), None)]),
        Simulated::Refused(_)
    ));
}

#[test]
fn a_neighbour_goes_and_comes_back_pinned() {
    let s = lab();
    let n = &s.namespace("bridge-red").unwrap().neighbors[0];
    let (dev, addr) = (n.dev.clone(), n.address);
    let del = Step::DelNeigh {
        ns: "bridge-red".into(),
        link: dev.clone(),
        addr,
    };
    let gone = done(&s, &[del]);
    let left = &gone.namespace("bridge-red").unwrap().neighbors;
    assert!(!left.iter().any(|e| e.dev == dev && e.address == addr));
    let add = Step::AddNeigh {
        ns: "bridge-red".into(),
        link: dev.clone(),
        addr,
        lladdr: "02:00:00:00:00:99".into(),
    };
    let back = done(&gone, &[add]);
    let e = back
        .namespace("bridge-red")
        .unwrap()
        .neighbors
        .iter()
        .find(|e| e.dev == dev && e.address == addr)
        .unwrap();
    assert_eq!(e.state, crate::model::NeighborState::Permanent);
    assert_eq!(e.lladdr.as_deref(), Some("02:00:00:00:00:99"));
}

fn rule(priority: u32, dst: &str, action: RoutingRuleAction) -> RoutingRule {
    RoutingRule {
        family: crate::model::RouteFamily::Inet,
        priority,
        src: None,
        dst: Some(dst.into()),
        iif: None,
        oif: None,
        fwmark: None,
        fwmask: None,
        table: 0,
        action,
        invert: false,
        suppress_prefixlen: None,
        goto: None,
        protocol: Some(crate::model::RouteProtocol::Boot),
    }
}

#[test]
fn a_rule_is_deleted_on_all_its_attributes_not_its_priority() {
    let mut s = lab();
    let keep = rule(500, "10.9.0.0/24", RoutingRuleAction::Prohibit);
    let drop = rule(500, "10.9.1.0/24", RoutingRuleAction::Prohibit);
    let rules = &mut s.namespaces[1].rules;
    rules.insert(1, keep.clone());
    rules.insert(2, drop.clone());
    let ns = s.namespaces[1].name.clone();
    let del = Step::DelRule {
        ns: ns.clone(),
        rule: drop.clone(),
    };
    let after = done(&s, &[del]);
    let left = &after.namespace(&ns).unwrap().rules;
    assert!(left.contains(&keep) && !left.contains(&drop));
    // Written back after the rules of its priority, before the higher ones.
    let back = done(
        &after,
        &[Step::AddRule {
            ns: ns.clone(),
            rule: drop.clone(),
        }],
    );
    let order: Vec<&RoutingRule> = back.namespace(&ns).unwrap().rules.iter().collect();
    let at = order.iter().position(|r| **r == drop).unwrap();
    assert_eq!(*order[at - 1], keep);
    assert!(order[at + 1].priority > 500);
}

#[test]
fn the_doctor_offers_the_new_fixes_only_where_they_work() {
    // A pinned wrong MAC for bridge-red's gateway: the fix deletes it and the copy is clean.
    let mut s = lab();
    let red = s
        .namespaces
        .iter_mut()
        .find(|n| n.name == "bridge-red")
        .unwrap();
    let gw = red
        .routes
        .iter()
        .find(|r| r.dst.is_default())
        .and_then(|r| r.gateway)
        .expect("red has a default route");
    let dev = red
        .links
        .iter()
        .find(|l| l.kind == LinkKind::Veth)
        .unwrap()
        .name
        .clone();
    red.neighbors.retain(|n| n.address != gw);
    red.neighbors.push(crate::model::Neighbor {
        ifindex: 2,
        dev: dev.clone(),
        address: gw,
        lladdr: Some("02:00:00:00:00:99".into()),
        state: crate::model::NeighborState::Permanent,
        router: false,
    });
    let findings = crate::diagnose::diagnose(&s);
    let f = findings
        .iter()
        .find(|f| f.rule == "gateway-neigh")
        .unwrap_or_else(|| panic!("no gateway-neigh: {findings:#?}"));
    let fix = f.fix.as_ref().expect("a fix");
    assert_eq!(
        fix.steps,
        vec![Step::DelNeigh {
            ns: "bridge-red".into(),
            link: dev,
            addr: gw,
        }]
    );
    let after = done(&s, &fix.steps);
    assert!(!crate::diagnose::diagnose(&after)
        .iter()
        .any(|f| f.rule == "gateway-neigh"));
}

/// bridge-host's v-net-0 with veth-red-br disabled, the bridge's STP as given.
fn disabled_port(stp: Option<u32>) -> Snapshot {
    let mut s = lab();
    let host = s
        .namespaces
        .iter_mut()
        .find(|n| n.name == "bridge-host")
        .unwrap();
    for l in &mut host.links {
        if l.name == "v-net-0" {
            l.stp_state = stp;
        }
        if l.master.is_some() {
            let state = if l.name == "veth-red-br" {
                StpPortState::Disabled
            } else {
                StpPortState::Forwarding
            };
            l.bridge_port = Some(port(state));
        }
    }
    s
}

#[test]
fn a_disabled_port_is_set_forwarding_only_on_a_bridge_without_stp() {
    let s = disabled_port(Some(0));
    let findings = crate::diagnose::diagnose(&s);
    let f = findings
        .iter()
        .find(|f| f.rule == "port-blocking")
        .unwrap_or_else(|| panic!("no port-blocking: {findings:#?}"));
    let fix = f.fix.as_ref().expect("a fix without STP");
    assert_eq!(fix.steps, vec![set_port("veth-red-br", None, Some(3))]);
    let after = done(&s, &fix.steps);
    assert!(!crate::diagnose::diagnose(&after)
        .iter()
        .any(|f| f.rule == "port-blocking"));

    for stp in [Some(1), Some(2), None] {
        let s = disabled_port(stp);
        let findings = crate::diagnose::diagnose(&s);
        let f = findings.iter().find(|f| f.rule == "port-blocking").unwrap();
        assert!(f.fix.is_none(), "stp {stp:?}: {f:#?}");
        assert!(f.explanation.contains("STP"), "{}", f.explanation);
    }
}

#[test]
fn previews_and_bad_names() {
    let step = set_port("veth-red-br", Some(false), Some(3));
    assert_eq!(
        crate::plan::shell::commands(&step),
        vec!["bridge -n bridge-host link set dev veth-red-br isolated off state 3"]
    );
    let del = Step::DelRule {
        ns: "r".into(),
        rule: rule(500, "10.9.1.0/24", RoutingRuleAction::Prohibit),
    };
    assert_eq!(
        crate::plan::shell::commands(&del),
        vec!["ip -n r rule del pref 500 from all to 10.9.1.0/24 proto boot prohibit"]
    );
    let neigh = Step::DelNeigh {
        ns: "h".into(),
        link: "eth0".into(),
        addr: "10.0.0.1".parse().unwrap(),
    };
    assert_eq!(
        crate::plan::shell::commands(&neigh),
        vec!["ip -n h neigh del 10.0.0.1 dev eth0"]
    );
    let bad = [
        set_port("a/b", Some(false), None),
        set_port("p", None, Some(9)),
        set_port("p", None, None),
        Step::AddNeigh {
            ns: "h".into(),
            link: "eth0".into(),
            addr: "10.0.0.1".parse().unwrap(),
            lladdr: "zz".into(),
        },
        Step::DelRule {
            ns: "r".into(),
            rule: rule(1, "not-a-net", RoutingRuleAction::Prohibit),
        },
        Step::DelRule {
            ns: "r".into(),
            rule: rule(1, "10.0.0.0/8", RoutingRuleAction::parse("masquerade")),
        },
    ];
    for step in bad {
        let plan = crate::plan::Plan::new("t", vec![step.clone()]);
        let err = crate::plan::validate::validate_offline(&plan)
            .expect_err(&format!("{step:?} must be refused"))
            .to_string();
        assert!(!err.contains('\n'), "one line: {err}");
    }
}
