//! `netlens path` in throwaway worlds. On every lab scenario: each fault that stops a ping is
//! found by `path` on that ping's way, at a hop, with the doctor finding that fixes it; the
//! healthy lab delivers (masquerade shown at the gateway). On a node the lab never builds: a
//! DNAT port-forward to a listening process, the same port with nobody listening, and bad
//! input refused.

use crate::common;

use std::process::Command;

use common::flows::{json_run, lab_break, listen, ping_ok};
use common::rules::{addr, netns, port_forward, route, sysctl, veth};
use common::world::{in_world, netlens_bin, sh};
use netlens::lab;
use serde_json::Value;

fn path(args: &[&str]) -> (i32, Value, String) {
    json_run("path", args)
}

fn hops_of(v: &Value, leg: usize) -> Vec<String> {
    v["legs"][leg]["hops"]
        .as_array()
        .map(|h| {
            h.iter()
                .map(|h| h["namespace"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn drill(scenario: &str) {
    let mut checked = 0;
    for fault in lab::faults(scenario) {
        let Some(probe) = &fault.probe else { continue };
        if probe.size.is_some() {
            // An MTU fault stops big packets only; `path` has no packet size.
            continue;
        }
        lab::up(scenario).expect("lab up");
        let (code, v, err) = path(&["--from", &probe.ns, &probe.dst]);
        assert_eq!(
            code, 0,
            "{scenario} healthy {} → {}: {err}\n{v:#}",
            probe.ns, probe.dst
        );
        lab_break(scenario, fault.name);
        let (code, v, err) = path(&["--from", &probe.ns, &probe.dst]);
        assert_eq!(
            code, 1,
            "{scenario} {}: path must break: {err}\n{v:#}",
            fault.name
        );
        let broken = v["legs"]
            .as_array()
            .and_then(|legs| legs.iter().find(|l| l["outcome"]["outcome"] == "broken"))
            .unwrap_or_else(|| panic!("{scenario} {}: no broken leg\n{v:#}", fault.name));
        assert!(
            !broken["outcome"]["cause"].as_str().unwrap_or("").is_empty(),
            "{v:#}"
        );
        assert_eq!(
            broken["outcome"]["finding"].as_str(),
            Some(fault.finding.as_str()),
            "{scenario} {}: wrong finding\n{v:#}",
            fault.name
        );
        println!(
            "{scenario} {}: stops in {}: {}",
            fault.name, broken["outcome"]["namespace"], broken["outcome"]["cause"]
        );
        lab::down(scenario).expect("lab down");
        checked += 1;
    }
    assert!(
        checked >= 3,
        "{scenario}: only {checked} faults stop a ping"
    );
}

#[test]
fn path_finds_every_ping_breaking_fault_of_the_router_lab() {
    in_world(
        "path::path_finds_every_ping_breaking_fault_of_the_router_lab",
        || drill("router"),
    );
}

#[test]
fn path_finds_every_ping_breaking_fault_of_the_bridge_lab() {
    in_world(
        "path::path_finds_every_ping_breaking_fault_of_the_bridge_lab",
        || drill("bridge"),
    );
}

#[test]
fn path_finds_every_ping_breaking_fault_of_the_cluster_lab() {
    in_world(
        "path::path_finds_every_ping_breaking_fault_of_the_cluster_lab",
        || drill("cluster"),
    );
}

#[test]
fn healthy_bridge_path_shows_the_masquerade_and_the_way_back() {
    in_world(
        "path::healthy_bridge_path_shows_the_masquerade_and_the_way_back",
        || {
            lab::up("bridge").expect("lab up");
            let (code, v, err) = path(&["--from", "bridge-red", "8.8.8.8"]);
            assert_eq!(code, 0, "{err}\n{v:#}");
            assert_eq!(
                hops_of(&v, 0),
                ["bridge-red", "bridge-host", "bridge-lan", "bridge-inet"]
            );
            let gw = &v["legs"][0]["hops"][1];
            assert_eq!(gw["src"], "192.168.1.2", "{gw:#}");
            assert!(
                gw["nat"][0]
                    .as_str()
                    .unwrap_or("")
                    .starts_with("MASQUERADE 192.168.15.1 → 192.168.1.2"),
                "{gw:#}"
            );
            assert_eq!(
                hops_of(&v, 1),
                ["bridge-inet", "bridge-lan", "bridge-host", "bridge-red"]
            );
            assert_eq!(v["legs"][1]["outcome"]["namespace"], "bridge-red");
            assert_eq!(v["delivers"], true);
        },
    );
}

/// A node unlike the lab: `edge` port-forwards 198.18.0.1:8080 to `app` 10.61.0.2:80 across a
/// bridge `brx`; `client` sits on the outside link; `app` routes via `edge`.
fn edge_node() {
    for ns in ["edge", "app", "client"] {
        netns(ns);
    }
    sh(&["ip", "-n", "edge", "link", "add", "brx", "type", "bridge"]);
    veth("app", "ax", "edge", "ex");
    sh(&["ip", "-n", "edge", "link", "set", "ex", "master", "brx"]);
    veth("client", "c0", "edge", "up0");
    for (ns, cidr, dev) in [
        ("edge", "10.61.0.1/24", "brx"),
        ("edge", "198.18.0.1/24", "up0"),
        ("app", "10.61.0.2/24", "ax"),
        ("client", "198.18.0.9/24", "c0"),
    ] {
        addr(ns, cidr, dev);
    }
    sh(&["ip", "-n", "edge", "link", "set", "brx", "up"]);
    route("app", &["default", "via", "10.61.0.1"]);
    port_forward("edge", "198.18.0.1", 8080, "10.61.0.2:80");
}

#[test]
fn port_forward_to_a_listener_and_to_nobody() {
    in_world("path::port_forward_to_a_listener_and_to_nobody", || {
        edge_node();
        let args = [
            "--from",
            "client",
            "198.18.0.1",
            "--proto",
            "tcp",
            "--port",
            "8080",
        ];
        // Nobody listens on app's port 80 yet.
        let (code, v, _) = path(&args);
        assert_eq!(code, 1, "{v:#}");
        let out = &v["legs"][0]["outcome"];
        assert_eq!(out["namespace"], "app");
        assert!(
            out["cause"]
                .as_str()
                .unwrap_or("")
                .contains("nothing listens on tcp/80"),
            "{v:#}"
        );
        let edge = &v["legs"][0]["hops"][1];
        assert!(
            edge["nat"][0]
                .as_str()
                .unwrap_or("")
                .starts_with("DNAT 198.18.0.1 → 10.61.0.2:80"),
            "{edge:#}"
        );
        // A listener in app: the path delivers to it, and the reply comes back un-DNATed.
        let socat = listen("app", 80);
        let mut delivered = None;
        for _ in 0..50 {
            let (code, v, _) = path(&args);
            if code == 0 {
                delivered = Some(v);
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        drop(socat);
        let v = delivered.expect("path delivers once socat listens");
        assert!(
            v["legs"][0]["outcome"]["listener"]
                .as_str()
                .unwrap_or("")
                .starts_with("socat"),
            "{v:#}"
        );
        assert_eq!(hops_of(&v, 1), ["app", "edge", "client"]);
        let back = &v["legs"][1]["hops"][1];
        assert_eq!(
            back["src"], "198.18.0.1",
            "the reply shows the forwarded address: {back:#}"
        );
    });
}

#[test]
fn path_refuses_bad_input() {
    in_world("path::path_refuses_bad_input", || {
        edge_node();
        for (args, says) in [
            (vec!["--from", "nowhere", "10.61.0.2"], "no namespace"),
            (vec!["--from", "app", "app.example"], "not an IP address"),
            (
                vec!["--from", "app", "--src", "10.9.9.9", "10.61.0.1"],
                "not an address of app",
            ),
            (
                vec!["--from", "app", "--port", "80", "10.61.0.1"],
                "--port needs",
            ),
        ] {
            let (code, _, err) = path(&args);
            assert_eq!(code, 2, "{args:?}: {err}");
            assert_eq!(err.lines().count(), 1, "{err}");
            assert!(err.contains(says), "{args:?}: {err}");
        }
    });
}

/// ha — hr — hb: two subnets a router joins (names and subnets the lab never uses).
fn routed_trio() {
    for ns in ["ha", "hr", "hb"] {
        netns(ns);
    }
    for (ns, peer, cidr, gw, mine) in [
        (
            "ha",
            "to-a",
            "10.123.1.10/24",
            "10.123.1.1",
            "10.123.1.1/24",
        ),
        (
            "hb",
            "to-b",
            "10.123.2.20/24",
            "10.123.2.1",
            "10.123.2.1/24",
        ),
    ] {
        veth(ns, "eth0", "hr", peer);
        addr(ns, cidr, "eth0");
        addr("hr", mine, peer);
        route(ns, &["default", "via", gw]);
    }
    sysctl("hr", "net.ipv4.ip_forward", "1");
}

fn broken_outcome(v: &Value) -> Value {
    v["legs"]
        .as_array()
        .and_then(|legs| legs.iter().find(|l| l["outcome"]["outcome"] == "broken"))
        .map(|l| {
            let mut o = l["outcome"].clone();
            o["direction"] = l["direction"].clone();
            o
        })
        .unwrap_or_else(|| panic!("no broken leg\n{v:#}"))
}

#[test]
fn a_path_names_the_hop_that_breaks_and_only_a_fix_for_it() {
    in_world(
        "path::a_path_names_the_hop_that_breaks_and_only_a_fix_for_it",
        || {
            // An unrelated fault elsewhere on the node: the bridge lab's masquerade is gone.
            lab::up("bridge").expect("lab up");
            let nl = netlens_bin();
            lab_break("bridge", "no-masquerade");
            routed_trio();
            assert!(
                ping_ok("ha", "10.123.2.20"),
                "the healthy trio does not deliver"
            );
            sh(&["ip", "-n", "hb", "route", "del", "default"]);
            assert!(
                !ping_ok("ha", "10.123.2.20"),
                "delivered without hb's default route"
            );

            let (code, v, err) = path(&["--from", "ha", "10.123.2.20"]);
            assert_eq!(code, 1, "{err}\n{v:#}");
            let broken = broken_outcome(&v);
            assert_eq!(broken["direction"], "reply", "{v:#}");
            assert_eq!(broken["namespace"], "hb", "{v:#}");
            match broken["finding"].as_str() {
                // A finding about hb, and its fix really brings the reply back.
                Some(id) => {
                    assert!(
                        id.contains(":hb"),
                        "a finding about another hop: {id}\n{v:#}"
                    );
                    let out = Command::new(&nl)
                        .args(["fix", id, "--yes"])
                        .output()
                        .unwrap();
                    assert_eq!(out.status.code(), Some(0), "{out:?}");
                    assert!(ping_ok("ha", "10.123.2.20"), "{id} fixed, ping still fails");
                }
                None => assert!(
                    broken["no_fix"].as_str().is_some_and(|w| !w.is_empty()),
                    "no finding and no reason\n{v:#}"
                ),
            }

            // A namespace with no route at all: the source shown is its own, not the destination.
            let (code, v, err) = path(&["--from", "hb", "10.123.1.10"]);
            assert_eq!(code, 1, "{err}\n{v:#}");
            let hop = &v["legs"][0]["hops"][0];
            assert_eq!(hop["namespace"], "hb", "{v:#}");
            assert_eq!(hop["src"], "10.123.2.20", "{v:#}");
            assert_eq!(hop["dst"], "10.123.1.10", "{v:#}");
        },
    );
}
