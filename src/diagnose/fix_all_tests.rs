//! `fix all` composed on a copy: the real rules' findings plus test findings whose fixes
//! overlap.

use super::super::{run_rules, Finding, Fix, Severity};
use super::{compose, compose_with};
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

fn ids<'a>(fs: impl IntoIterator<Item = &'a Finding>) -> Vec<&'a str> {
    fs.into_iter().map(|f| f.id.as_str()).collect()
}

/// red's link down: the kernel flushed its default route, and the link-down fix puts it back
/// through 192.168.15.5. A `no-default` whose fix adds a default route through another
/// address would make the kernel refuse the plan after it: it is left out, with why.
#[test]
fn a_fix_that_clashes_with_the_root_cause_fix_is_left_out() {
    let mut snap = asset("bridge");
    set_down(&mut snap, "bridge-red", "veth-red");
    let found = run_rules(&snap);
    let link = found
        .iter()
        .find(|f| f.rule == "link-down")
        .expect("link-down");
    let default = finding("no-default", "t", vec![route("0.0.0.0/0", "192.168.15.6")]);
    let composed = compose(&snap, &[&default, link], None);
    assert_eq!(ids(composed.chosen.iter().copied()), [link.id.as_str()]);
    assert_eq!(composed.steps, link.fix.as_ref().unwrap().steps);
    assert_eq!(composed.left_out.len(), 1);
    assert_eq!(composed.left_out[0].0.id, default.id);
    let why = &composed.left_out[0].1;
    assert!(
        why.contains("after the fix for link-down") && why.contains("refuse"),
        "{why}"
    );
}

/// Two fixes that route the same destination through two gateways, each fine alone: the
/// earlier stage (a route, before the firewall) is taken even when listed second, and the
/// other is left out instead of rolling the whole plan back.
#[test]
fn root_cause_order_decides_which_of_two_clashing_fixes_runs() {
    let snap = asset("bridge");
    let lan = finding(
        "no-route",
        "lan",
        vec![route("10.9.0.0/16", "192.168.15.5")],
    );
    let other = finding(
        "forward-drop",
        "x",
        vec![route("10.9.0.0/16", "192.168.15.6")],
    );
    let composed = compose(&snap, &[&other, &lan], None);
    assert_eq!(ids(composed.chosen.iter().copied()), [lan.id.as_str()]);
    assert_eq!(composed.steps, lan.fix.as_ref().unwrap().steps);
    assert_eq!(
        ids(composed.left_out.iter().map(|x| x.0)),
        [other.id.as_str()]
    );
}

/// Two fixes that do not clash both run, even when the first would already make the second
/// finding go away: the doctor names two causes when it cannot tell which was meant (oracle
/// seed 232), and a step two fixes share runs once.
#[test]
fn fixes_that_do_not_clash_all_run_and_shared_steps_run_once() {
    let snap = asset("bridge");
    let shared = route("10.9.0.0/16", "192.168.15.5");
    let a = finding("no-route", "lan", vec![shared.clone()]);
    let b = finding(
        "no-masquerade",
        "y",
        vec![shared.clone(), route("10.8.0.0/16", "192.168.15.5")],
    );
    let composed = compose(&snap, &[&b, &a], None);
    assert_eq!(
        ids(composed.chosen.iter().copied()),
        [a.id.as_str(), b.id.as_str()]
    );
    assert_eq!(
        composed.steps,
        [shared, route("10.8.0.0/16", "192.168.15.5")]
    );
    assert!(composed.left_out.is_empty());
}

fn has_route(s: &Snapshot, dst: &str) -> bool {
    let n = s.namespace("bridge-red").unwrap();
    n.routes
        .iter()
        .any(|r| r.dst == crate::model::RouteDst::parse(dst))
}

/// Seed 593: a bridge's port to the gateway detached, so `bridge-no-addr` (give the bridge the
/// gateway's address) shows beside `port-detached` (attach it again). Once the port is back,
/// the bridge-no-addr fix would hold the gateway's address twice on the segment: repaired by
/// the first fix and harmful after it, it is left out. Here 10.9.0.0/16 stands for the port
/// and 10.8.0.0/16 for the second address.
#[test]
fn a_repaired_finding_whose_fix_would_then_cause_an_error_is_left_out() {
    let snap = asset("bridge");
    let rules = |s: &Snapshot| {
        let mut out = run_rules(s);
        if !has_route(s, "10.9.0.0/16") {
            out.push(finding("port-detached", "p0", vec![]));
            out.push(finding("bridge-no-addr", "br0", vec![]));
        }
        if has_route(s, "10.8.0.0/16") && has_route(s, "10.9.0.0/16") {
            out.push(finding("dup-ip", "gw", vec![]));
        }
        out
    };
    let port = finding(
        "port-detached",
        "p0",
        vec![route("10.9.0.0/16", "192.168.15.5")],
    );
    let addr = finding(
        "bridge-no-addr",
        "br0",
        vec![route("10.8.0.0/16", "192.168.15.5")],
    );
    // The doctor lists bridge-no-addr first (alphabetical): root-cause order puts it after.
    let composed = compose_with(&snap, &[&addr, &port], &rules);
    assert_eq!(ids(composed.chosen.iter().copied()), [port.id.as_str()]);
    assert_eq!(
        ids(composed.left_out.iter().map(|x| x.0)),
        [addr.id.as_str()]
    );
    let why = &composed.left_out[0].1;
    assert!(
        why.contains("repaired by the fix for port-detached") && why.contains("dup-ip"),
        "{why}"
    );
}

/// Past the cap, fixes are taken without being composed: a clash there is not seen (the
/// plan's own check catches it), but `fix all` stays linear on a node with many findings.
#[test]
fn past_the_cap_fixes_are_taken_as_they_are() {
    let snap = asset("bridge");
    let many: Vec<Finding> = (0..super::MAX_COMPOSED)
        .map(|i| {
            let dst = format!("10.{}.0.0/16", 100 + i);
            finding(
                "no-route",
                &format!("n{i}"),
                vec![route(&dst, "192.168.15.5")],
            )
        })
        .collect();
    let first = finding(
        "no-route",
        "lan",
        vec![route("10.9.0.0/16", "192.168.15.5")],
    );
    let clash = finding(
        "forward-drop",
        "x",
        vec![route("10.9.0.0/16", "192.168.15.6")],
    );
    let mut all: Vec<&Finding> = vec![&first];
    all.extend(many.iter());
    all.push(&clash);
    let composed = compose(&snap, &all, None);
    assert!(composed.left_out.is_empty());
    assert_eq!(composed.chosen.len(), super::MAX_COMPOSED + 2);
    // Within the cap, the same clash is left out.
    let composed = compose(&snap, &[&first, &clash], None);
    assert_eq!(composed.left_out.len(), 1);
}
