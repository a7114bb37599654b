//! Fixes tried on a copy before they are proposed. The rules here are the real ones plus one
//! test rule whose fix is chosen per test, so each way a fix can fail is shown on its own.

use super::super::{run_rules, Finding, Severity};
use super::keep_working_fixes;
use crate::model::Snapshot;
use crate::plan::{RouteSpec, Step};

fn lab() -> Snapshot {
    serde_json::from_str(include_str!("../../assets/demo-bridge.json")).expect("asset parses")
}

fn route(dst: &str, via: &str) -> RouteSpec {
    RouteSpec {
        dst: dst.parse().unwrap(),
        via: Some(via.parse().unwrap()),
        dev: None,
        table: None,
        metric: None,
    }
}

/// `test:bridge-red` while bridge-red has no route to 10.9.0.0/16.
fn test_rule(s: &Snapshot) -> Vec<Finding> {
    let mut out = run_rules(s);
    let n = s.namespace("bridge-red").unwrap();
    if !n
        .routes
        .iter()
        .any(|r| r.dst == crate::model::RouteDst::parse("10.9.0.0/16"))
    {
        out.push(Finding::new(
            "test",
            Severity::Error,
            "bridge-red",
            None,
            "no route to 10.9.0.0/16",
            "test rule",
        ));
    }
    out
}

fn checked(steps: Vec<Step>) -> Finding {
    let s = lab();
    let mut findings = test_rule(&s);
    let f = findings.iter_mut().find(|f| f.rule == "test").unwrap();
    f.fix = Some(super::super::Fix {
        title: "test fix".into(),
        steps,
    });
    keep_working_fixes(&s, &mut findings, &test_rule);
    findings.into_iter().find(|f| f.rule == "test").unwrap()
}

#[test]
fn a_fix_that_removes_its_finding_is_kept() {
    let f = checked(vec![Step::AddRoute {
        ns: "bridge-red".into(),
        route: route("10.9.0.0/16", "192.168.15.5"),
    }]);
    assert!(f.fix.is_some(), "{:?}", f.fix_rejected);
    assert!(f.fix_rejected.is_none() && f.fix_leaves.is_empty());
}

#[test]
fn a_fix_that_leaves_its_finding_is_dropped_with_the_reason() {
    let f = checked(vec![Step::AddRoute {
        ns: "bridge-red".into(),
        route: route("10.8.0.0/16", "192.168.15.5"),
    }]);
    assert!(f.fix.is_none());
    let why = f.fix_rejected.unwrap();
    assert!(
        why.contains("its 1 step, tried on a copy of the snapshot, leaves this finding in place"),
        "{why}"
    );
}

#[test]
fn a_fix_the_kernel_would_refuse_is_dropped() {
    // 10.50.0.1 is on no subnet of bridge-red: "Nexthop has invalid gateway".
    let f = checked(vec![Step::AddRoute {
        ns: "bridge-red".into(),
        route: route("10.9.0.0/16", "10.50.0.1"),
    }]);
    assert!(f.fix.is_none());
    assert!(f.fix_rejected.unwrap().contains("refuse"));
}

#[test]
fn a_fix_that_breaks_something_else_is_dropped() {
    // Repairs the test finding but takes bridge-red's way out.
    let f = checked(vec![
        Step::AddRoute {
            ns: "bridge-red".into(),
            route: route("10.9.0.0/16", "192.168.15.5"),
        },
        Step::DelRoute {
            ns: "bridge-red".into(),
            route: route("0.0.0.0/0", "192.168.15.5"),
        },
    ]);
    assert!(f.fix.is_none());
    let why = f.fix_rejected.unwrap();
    assert!(
        why.contains("new error") && why.contains("bridge-red"),
        "{why}"
    );
}

#[test]
fn a_fix_the_model_cannot_follow_is_kept() {
    // A namespace the snapshot did not read: nothing is known about the result.
    let f = checked(vec![Step::MoveLink {
        ns: "bridge-host".into(),
        name: "eth0".into(),
        to_ns: "not-read".into(),
    }]);
    assert!(f.fix.is_some() && f.fix_rejected.is_none());
}

/// `test:bridge-red` while bridge-red cannot reach its bridge's subnet.
fn no_bridge_subnet(s: &Snapshot) -> Vec<Finding> {
    let mut out = run_rules(s);
    let n = s.namespace("bridge-red").unwrap();
    if !n
        .routes
        .iter()
        .any(|r| r.dst == crate::model::RouteDst::parse("192.168.15.0/24"))
    {
        out.push(Finding::new(
            "test",
            Severity::Error,
            "bridge-red",
            None,
            "no route to 192.168.15.0/24",
            "test rule",
        ));
    }
    out
}

/// The test finding with `steps` as its fix, checked on `s`.
fn checked_on(s: &Snapshot, rules: fn(&Snapshot) -> Vec<Finding>, steps: Vec<Step>) -> Finding {
    let mut findings = rules(s);
    let f = findings.iter_mut().find(|f| f.rule == "test").unwrap();
    f.fix = Some(super::super::Fix {
        title: "test fix".into(),
        steps,
    });
    keep_working_fixes(s, &mut findings, &rules);
    findings.into_iter().find(|f| f.rule == "test").unwrap()
}

#[test]
fn a_fix_that_recreates_a_veth_but_forgets_its_address_is_rejected() {
    use crate::plan::simulate::moves_tests::{delete_red, recreate_red};
    let gone = match crate::plan::simulate(&lab(), &[delete_red()]) {
        crate::plan::Simulated::Done(s) => *s,
        other => panic!("{other:?}"),
    };
    let up = |ns: &str, link: &str| Step::SetLinkUp {
        ns: ns.into(),
        link: link.into(),
        up: true,
    };
    let mut steps = vec![
        recreate_red(),
        Step::SetMaster {
            ns: "bridge-host".into(),
            link: "veth-red-br".into(),
            master: Some("v-net-0".into()),
        },
        up("bridge-host", "veth-red-br"),
        up("bridge-red", "veth-red"),
    ];
    let f = checked_on(&gone, no_bridge_subnet, steps.clone());
    assert!(f.fix.is_none(), "no address, no connected route");
    let why = f.fix_rejected.unwrap();
    assert!(
        why.contains(" steps, ") && why.contains("leave this finding"),
        "{why}"
    );
    steps.push(Step::AddAddress {
        ns: "bridge-red".into(),
        link: "veth-red".into(),
        addr: "192.168.15.1/24".parse().unwrap(),
    });
    // The kernel flushed the default route with the old link: a complete fix puts it back.
    steps.push(Step::AddRoute {
        ns: "bridge-red".into(),
        route: route("0.0.0.0/0", "192.168.15.5"),
    });
    let f = checked_on(&gone, no_bridge_subnet, steps);
    assert!(f.fix.is_some(), "{:?}", f.fix_rejected);
}

/// `test:bridge-red` while 10.0.0.2 is leased.
fn leased(s: &Snapshot) -> Vec<Finding> {
    let mut out = run_rules(s);
    let cni = s.cni.as_ref().unwrap();
    if cni.ipam[0]
        .allocations
        .iter()
        .any(|a| a.ip.to_string() == "10.0.0.2")
    {
        out.push(Finding::new(
            "test",
            Severity::Warning,
            "host",
            None,
            "10.0.0.2 leaked",
            "test rule",
        ));
    }
    out
}

#[test]
fn a_lease_release_naming_the_wrong_container_is_rejected() {
    use crate::plan::simulate::moves_tests::{release, with_leases};
    let s = with_leases();
    let f = checked_on(&s, leased, vec![release("10.0.0.2", Some("bbbb"))]);
    assert!(f.fix.is_none() && f.fix_rejected.is_some());
    let f = checked_on(&s, leased, vec![release("10.0.0.2", Some("aaaa"))]);
    assert!(f.fix.is_some(), "{:?}", f.fix_rejected);
}
