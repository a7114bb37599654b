//! `fix all` composed on a copy: the real rules plus test findings whose fixes overlap.

use super::super::{run_rules, Finding, Fix, Severity};
use super::compose_with;
use crate::diagnose::tests::{asset, set_down};
use crate::model::Snapshot;
use crate::plan::{RouteSpec, Step};

fn route(dst: &str, via: &str) -> Step {
    Step::AddRoute {
        ns: "bridge-red".into(),
        route: RouteSpec {
            dst: dst.parse().unwrap(),
            via: Some(via.parse().unwrap()),
            dev: None,
            table: None,
            metric: None,
        },
    }
}

fn finding(rule: &str, id: &str, steps: Vec<Step>) -> Finding {
    let mut f = Finding::new(
        rule,
        Severity::Error,
        "bridge-red",
        Some(id),
        "test",
        "test",
    );
    f.fix = Some(Fix {
        title: "test fix".into(),
        steps,
    });
    f
}

fn has_route(s: &Snapshot, dst: &str) -> bool {
    s.namespace("bridge-red")
        .unwrap()
        .routes
        .iter()
        .any(|r| r.dst == dst)
}

/// The real rules, plus `no-route:bridge-red:lan` while red has no route to 10.9.0.0/16 and
/// `no-default:bridge-red:t` while it has no default route.
fn rules(s: &Snapshot) -> Vec<Finding> {
    let mut out = run_rules(s);
    if !has_route(s, "10.9.0.0/16") {
        out.push(finding("no-route", "lan", vec![]));
    }
    if !has_route(s, "default") {
        out.push(finding("no-default", "t", vec![]));
    }
    out
}

/// red's link down: the kernel flushed its default route. The link-down fix puts it back, so
/// a `no-default` finding listed first (as the doctor's alphabetical order might) is repaired
/// by it and left out, instead of adding the default route twice.
#[test]
fn a_finding_an_earlier_root_cause_fix_repairs_is_left_out() {
    let mut snap = asset("bridge");
    set_down(&mut snap, "bridge-red", "veth-red");
    let found = rules(&snap);
    let link = found
        .iter()
        .find(|f| f.rule == "link-down")
        .expect("link-down");
    let default = finding("no-default", "t", vec![route("0.0.0.0/0", "192.168.15.5")]);
    let composed = compose_with(&snap, &[&default, link], &rules);
    let chosen: Vec<&str> = composed.chosen.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(chosen, [link.id.as_str()]);
    assert_eq!(composed.covered.len(), 1);
    assert_eq!(composed.covered[0].id, default.id);
    assert_eq!(composed.steps, link.fix.as_ref().unwrap().steps);
    assert!(composed.left_out[0]
        .1
        .contains("repaired by the fix for link-down"));
}

/// Two fixes for different findings that add the same destination: the second would make the
/// kernel refuse the plan (and roll back the first), so it is left out with the reason.
#[test]
fn a_fix_the_kernel_would_refuse_after_the_others_is_left_out() {
    let snap = asset("bridge");
    let lan = finding(
        "no-route",
        "lan",
        vec![route("10.9.0.0/16", "192.168.15.5")],
    );
    // The same destination through another address of red's subnet.
    let same = route("10.9.0.0/16", "192.168.15.6");
    // Still reported after lan's fix: its own rule does not look at routes.
    let other = finding("forward-drop", "x", vec![same]);
    let composed = compose_with(&snap, &[&other, &lan], &|s| {
        let mut out = rules(s);
        out.push(finding("forward-drop", "x", vec![]));
        out
    });
    let chosen: Vec<&str> = composed.chosen.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(chosen, [lan.id.as_str()]);
    assert_eq!(composed.left_out.len(), 1);
    assert_eq!(composed.left_out[0].0.id, other.id);
    assert!(
        composed.left_out[0].1.contains("kernel would refuse"),
        "{}",
        composed.left_out[0].1
    );
    assert!(composed.covered.is_empty());
}

/// Identical steps in two fixes run once.
#[test]
fn a_step_two_fixes_share_runs_once() {
    let snap = asset("bridge");
    let step = route("10.9.0.0/16", "192.168.15.5");
    let a = finding("no-route", "lan", vec![step.clone()]);
    let b = finding("input-drop", "y", vec![step.clone()]);
    let composed = compose_with(&snap, &[&a, &b], &|s| {
        let mut out = rules(s);
        out.push(finding("input-drop", "y", vec![]));
        out
    });
    assert_eq!(composed.steps, vec![step]);
    assert_eq!(composed.chosen.len(), 2);
}
