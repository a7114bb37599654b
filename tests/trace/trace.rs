//! `netlens trace` in throwaway worlds: a real probe watched at every interface of its path.
//! Healthy: seen everywhere, masquerade visible at the gateway's uplink, the reply back. With
//! forwarding off, a missing route, a detached bridge port or missing masquerade: it stops
//! where the path says, and the report says where it was last seen. A TCP probe through a
//! port-forward to a listener is answered.

use crate::common;

use common::flows::{json_run, lab_break, listen};
use common::rules::{addr, netns, port_forward, route, veth};
use common::snap::netlens;
use common::world::in_world;
use netlens::lab;
use serde_json::Value;

fn trace(args: &[&str]) -> (i32, Value, String) {
    json_run("trace", args)
}

/// (namespace, iface, direction, seen, packet) per sighting.
fn seen(v: &Value) -> Vec<(String, String, String, bool, String)> {
    v["sightings"]
        .as_array()
        .expect("sightings")
        .iter()
        .map(|s| {
            (
                s["namespace"].as_str().unwrap_or("").into(),
                s["iface"].as_str().unwrap_or("").into(),
                s["direction"].as_str().unwrap_or("").into(),
                s["seen"].as_bool().unwrap_or(false),
                s["packet"].as_str().unwrap_or("").into(),
            )
        })
        .collect()
}

#[test]
fn healthy_probe_is_seen_everywhere_and_answered() {
    in_world(
        "trace::healthy_probe_is_seen_everywhere_and_answered",
        || {
            lab::up("bridge").expect("lab up");
            let (code, v, err) = trace(&["--from", "bridge-red", "8.8.8.8"]);
            assert_eq!(code, 0, "{err}\n{v:#}");
            assert_eq!(v["answered"], true);
            let s = seen(&v);
            assert!(s.iter().all(|x| x.3), "{s:#?}");
            // Masquerade shows on the gateway's uplink, not before it.
            let at = |ns: &str, iface: &str, dir: &str| {
                s.iter()
                    .find(|x| x.0 == ns && x.1 == iface && x.2 == dir)
                    .map(|x| x.4.clone())
                    .unwrap_or_else(|| panic!("no sighting {ns} {iface} {dir}: {s:#?}"))
            };
            assert!(
                at("bridge-host", "v-net-0", "request").starts_with("IP 192.168.15.1 > 8.8.8.8")
            );
            assert!(at("bridge-host", "eth0", "request").starts_with("IP 192.168.1.2 > 8.8.8.8"));
            assert!(at("bridge-inet", "eth0", "reply").starts_with("IP 8.8.8.8 > 192.168.1.2"));
            assert!(at("bridge-red", "veth-red", "reply").starts_with("IP 8.8.8.8 > 192.168.15.1"));
        },
    );
}

#[test]
fn broken_probes_stop_where_the_path_says() {
    in_world("trace::broken_probes_stop_where_the_path_says", || {
        for (fault, says) in [
            ("forwarding-off", "last seen on v-net-0 in bridge-host"),
            ("no-route", "last seen on lan0 in bridge-lan"),
            ("detach-port", "ARP for 192.168.15.1 got no answer"),
            (
                "no-masquerade",
                "the reply was last seen on lan0 in bridge-lan",
            ),
        ] {
            lab::up("bridge").expect("lab up");
            let f = lab::faults("bridge")
                .into_iter()
                .find(|f| f.name == fault)
                .expect("fault");
            let p = f.probe.clone().expect("a probe");
            lab_break("bridge", fault);
            let (code, v, err) = trace(&["--from", &p.ns, &p.dst, "--wait", "1"]);
            assert_eq!(code, 1, "{fault}: {err}\n{v:#}");
            assert_eq!(v["answered"], false);
            let vanished = v["vanished"].as_str().unwrap_or("");
            assert!(vanished.contains(says), "{fault}: {vanished}\n{v:#}");
            // The static path points at the same fault's finding.
            let legs = v["path"]["legs"].as_array().expect("legs");
            assert!(
                legs.iter()
                    .any(|l| l["outcome"]["finding"] == f.finding.as_str()),
                "{fault}: {v:#}"
            );
            lab::down("bridge").expect("lab down");
        }
    });
}

#[test]
fn tcp_probe_through_a_port_forward_is_answered() {
    in_world(
        "trace::tcp_probe_through_a_port_forward_is_answered",
        || {
            build_port_forward();
            probe_answered_through_dnat();
            probe_refused_without_listener();
        },
    );
}

/// cli — fwd — srv, with fwd forwarding 172.20.9.1:9443 to srv's 10.71.0.2:443.
fn build_port_forward() {
    for ns in ["fwd", "srv", "cli"] {
        netns(ns);
    }
    veth("srv", "s0", "fwd", "fs");
    veth("cli", "c0", "fwd", "fc");
    for (ns, dev, cidr) in [
        ("srv", "s0", "10.71.0.2/24"),
        ("fwd", "fs", "10.71.0.1/24"),
        ("fwd", "fc", "172.20.9.1/24"),
        ("cli", "c0", "172.20.9.2/24"),
    ] {
        addr(ns, cidr, dev);
    }
    route("srv", &["default", "via", "10.71.0.1"]);
    port_forward("fwd", "172.20.9.1", 9443, "10.71.0.2:443");
}

/// The TCP probe from cli to fwd's forwarded port, waiting a second for the answer.
const TCP_PROBE: [&str; 9] = [
    "--from",
    "cli",
    "172.20.9.1",
    "--proto",
    "tcp",
    "--port",
    "9443",
    "--wait",
    "1",
];

/// With socat listening in srv, the TCP probe is answered and the DNAT shows in srv.
fn probe_answered_through_dnat() {
    let socat = listen("srv", 443);
    let mut result = None;
    let mut last = None;
    for _ in 0..30 {
        let r = trace(&TCP_PROBE);
        // Until socat listens, the snapshot the path is read from says nobody does.
        if r.0 == 0 && r.1["path"]["delivers"] == true {
            result = Some(r);
            break;
        }
        last = Some(r);
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    drop(socat);
    let (_, v, _) = result.unwrap_or_else(|| panic!("the TCP probe is never answered: {last:#?}"));
    let s = seen(&v);
    let syn_in_srv = s
        .iter()
        .find(|x| x.0 == "srv" && x.2 == "request")
        .expect("srv saw the SYN");
    assert!(
        syn_in_srv.4.contains("> 10.71.0.2.443: TCP [S]"),
        "DNAT shows in srv: {s:#?}"
    );
    let back = s
        .iter()
        .find(|x| x.0 == "cli" && x.2 == "reply")
        .expect("cli saw the reply");
    assert!(back.4.starts_with("IP 172.20.9.1.9443 >"), "{s:#?}");
}

/// With the listener gone the server resets the SYN: the trace shows the RST, says
/// refused and fails, as `path` does; it never says the reply came back.
fn probe_refused_without_listener() {
    let (code, v, err) = trace(&TCP_PROBE);
    assert_eq!(code, 1, "{err}\n{v:#}");
    assert_eq!(v["answered"], false, "{v:#}");
    let refused = v["refused"].as_str().unwrap_or_default();
    assert!(refused.contains("TCP reset"), "{v:#}");
    let s = seen(&v);
    let rst = s
        .iter()
        .find(|x| x.0 == "cli" && x.2 == "reply")
        .expect("cli saw the reset");
    assert!(rst.3 && rst.4.contains("TCP [R"), "{s:#?}");
    let mut argv = vec!["trace"];
    argv.extend_from_slice(&TCP_PROBE);
    let text = netlens(&argv);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("refused:"), "{text}");
    assert!(!text.contains("the reply came back"), "{text}");
    // The probe's words but its wait, which `path` does not take.
    let (pcode, pv, _) = json_run("path", &TCP_PROBE[..7]);
    assert_eq!(pcode, 1, "path agrees it fails: {pv:#}");
}

/// Per-hop times are the kernel's receive timestamps: along the probe's way they never go
/// backwards, and they fall inside the watch window (not a monotonic clock read as epoch).
#[test]
fn hop_times_follow_the_packet() {
    in_world("trace::hop_times_follow_the_packet", || {
        lab::up("bridge").expect("lab up");
        for _ in 0..3 {
            let (code, v, err) = trace(&["--from", "bridge-red", "8.8.8.8", "--wait", "1"]);
            assert_eq!(code, 0, "{err}\n{v:#}");
            let mut last = 0.0f64;
            for dir in ["request", "reply"] {
                for s in v["sightings"].as_array().expect("sightings") {
                    if s["direction"] != dir {
                        continue;
                    }
                    let ms = s["after_ms"].as_f64().expect("a time");
                    assert!((0.0..1000.0).contains(&ms), "{v:#}");
                    assert!(ms >= last, "time goes backwards at {s}: {v:#}");
                    last = ms;
                }
            }
        }
    });
}

/// A wait outside (0, 60] is bad input: exit 2 and one line saying the real bounds, before
/// anything is read or sent (0 itself is refused, so the message must not say "between 0").
#[test]
fn a_wait_out_of_bounds_is_one_line_and_exit_2() {
    for wait in ["0", "-1", "61"] {
        let arg = format!("--wait={wait}");
        let out = netlens(&["trace", "--from", "x", "10.0.0.1", &arg]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "--wait {wait}: {stderr}");
        assert_eq!(
            stderr.trim(),
            "netlens trace: --wait must be more than 0 and at most 60 seconds",
            "--wait {wait}"
        );
    }
}
