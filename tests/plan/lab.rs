//! Lab scenarios, built for real inside throwaway worlds (see `common::world`) and checked with
//! the standard tools: ping across namespaces, `ip`, `iptables-save`.

use crate::common;

use common::world::{in_world, sh, try_sh};
use netlens::lab::{self, LabError, LabState, SCENARIOS};
use netlens::model::LinkKind;
use netlens::netns::create::{create_netns, delete_netns, list_netns, netns_exists, NetnsError};

/// One ICMP echo from namespace `ns` to `dst`; panics with ping's output if it fails.
fn ping(ns: &str, dst: &str) {
    sh(&["ip", "netns", "exec", ns, "ping", "-c1", "-W1", dst]);
}

fn root_links() -> String {
    // Interface names and kinds of the world's root namespace (the "machine" for a lab).
    sh(&["ip", "-o", "-d", "link", "show"])
        .lines()
        .map(|l| l.split_whitespace().nth(1).unwrap_or_default().to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Up twice (the second changes nothing), status complete, down leaves no namespace, down again
/// is fine.
fn up_check_down(name: &str, check: impl Fn()) {
    let first = lab::up(name).unwrap_or_else(|e| panic!("lab up {name}: {e}"));
    assert_eq!(
        first.changed, first.steps,
        "fresh up of {name} changes every step"
    );
    println!("lab up {name}: {} ms (fresh)", first.elapsed_ms);
    check();

    let second = lab::up(name).unwrap_or_else(|e| panic!("second lab up {name}: {e}"));
    assert_eq!(second.changed, 0, "second up of {name} must change nothing");
    println!("lab up {name}: {} ms (already up)", second.elapsed_ms);
    check();

    let status = lab::status(name).unwrap();
    assert!(status.complete, "{status:#?}");
    assert_eq!(status.state, LabState::Complete);
    assert!(status.links.iter().all(|l| l.ok()), "{status:#?}");
    let json = serde_json::to_value(&status).unwrap();
    assert_eq!(json["state"], "complete");

    let start = std::time::Instant::now();
    let down = lab::down(name).unwrap();
    println!("lab down {name}: {} ms", start.elapsed().as_millis());
    assert_eq!(down.deleted.len(), first.namespaces.len());
    let left: Vec<String> = list_netns()
        .unwrap()
        .into_iter()
        .filter(|n| n.starts_with(&format!("{name}-")))
        .collect();
    assert!(left.is_empty(), "namespaces left after down: {left:?}");
    assert_eq!(sh(&["ip", "netns", "list"]).trim(), "");
    assert_eq!(lab::status(name).unwrap().state, LabState::Absent);
    assert!(lab::down(name).unwrap().deleted.is_empty());
}

#[test]
fn router_a_reaches_c_through_b() {
    in_world("lab::router_a_reaches_c_through_b", || {
        up_check_down("router", || {
            ping("router-a", "192.168.2.5");
            ping("router-c", "192.168.1.5");
            let fwd = sh(&[
                "ip",
                "netns",
                "exec",
                "router-b",
                "cat",
                "/proc/sys/net/ipv4/ip_forward",
            ]);
            assert_eq!(fwd.trim(), "1");
        });
    });
}

#[test]
fn bridge_red_reaches_lan_and_internet_through_nat() {
    in_world(
        "lab::bridge_red_reaches_lan_and_internet_through_nat",
        || {
            up_check_down("bridge", || {
                ping("bridge-red", "8.8.8.8");
                ping("bridge-red", "192.168.1.3");
                ping("bridge-blue", "8.8.8.8");
                // Replies only work thanks to MASQUERADE: the LAN router has no way back to the
                // namespaces' subnet.
                let back = try_sh(&["ip", "-n", "bridge-lan", "route", "get", "192.168.15.1"]);
                assert!(
                    !back.status.success(),
                    "bridge-lan must not route 192.168.15.0/24"
                );
                let nat = sh(&[
                    "ip",
                    "netns",
                    "exec",
                    "bridge-host",
                    "iptables-save",
                    "-t",
                    "nat",
                ]);
                assert!(
                    nat.contains("-A POSTROUTING -s 192.168.15.0/24 -j MASQUERADE"),
                    "{nat}"
                );
                assert!(nat.contains("--to-destination 192.168.15.2:80"), "{nat}");
                // Exactly once each, even after a second up.
                assert_eq!(nat.matches("MASQUERADE").count(), 1, "{nat}");
                assert_eq!(nat.matches("DNAT").count(), 1, "{nat}");
            });
        },
    );
}

#[test]
fn cluster_pod_reaches_pod_on_other_node() {
    in_world("lab::cluster_pod_reaches_pod_on_other_node", || {
        up_check_down("cluster", || {
            ping("cluster-n1-pod1", "10.244.3.2");
            ping("cluster-n3-pod2", "10.244.1.2");
            ping("cluster-n2-pod1", "10.244.2.3");
            let master = sh(&[
                "ip",
                "-n",
                "cluster-node1",
                "-o",
                "link",
                "show",
                "vethn1p1",
            ]);
            assert!(master.contains("master cni0"), "{master}");
        });
    });
}

#[test]
fn host_namespace_gains_no_links() {
    in_world("lab::host_namespace_gains_no_links", || {
        let before = root_links();
        let forward_before = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap();
        let nat_before = sh(&["iptables-save"]);
        for name in SCENARIOS {
            lab::up(name).unwrap_or_else(|e| panic!("lab up {name}: {e}"));
        }
        assert_eq!(
            root_links(),
            before,
            "lab up added links to the root namespace"
        );
        assert_eq!(sh(&["ip", "-o", "link", "show", "type", "veth"]), "");
        assert_eq!(sh(&["ip", "-o", "link", "show", "type", "bridge"]), "");
        assert_eq!(
            std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap(),
            forward_before,
            "lab up changed ip_forward of the root namespace"
        );
        assert_eq!(
            sh(&["iptables-save"]),
            nat_before,
            "lab up added root iptables rules"
        );
        for name in SCENARIOS {
            lab::down(name).unwrap();
        }
        assert!(list_netns().unwrap().is_empty());
    });
}

#[test]
fn failed_up_removes_what_it_created() {
    in_world("lab::failed_up_removes_what_it_created", || {
        // router-b already exists with an `eth0` that is a bridge: the veth step must fail.
        create_netns("router-b").unwrap();
        sh(&[
            "ip", "-n", "router-b", "link", "add", "eth0", "type", "bridge",
        ]);
        let err = lab::up("router").unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, LabError::StepFailed { .. }), "{msg}");
        assert!(msg.contains("router-b") && msg.contains("eth0"), "{msg}");
        assert!(!msg.contains('\n'), "{msg}");
        // router-a was created by this up and is gone again; router-b was not and stays.
        assert!(!netns_exists("router-a").unwrap(), "{msg}");
        assert!(!netns_exists("router-c").unwrap(), "{msg}");
        assert!(netns_exists("router-b").unwrap());
        let status = lab::status("router").unwrap();
        assert_eq!(status.state, LabState::Partial);
        let eth0 = status
            .links
            .iter()
            .find(|l| l.ns == "router-b" && l.name == "eth0")
            .unwrap();
        assert_eq!(eth0.kind, Some(LinkKind::Bridge));
        assert_eq!(eth0.expected_kind, Some(LinkKind::Veth));
        assert!(!eth0.ok());
        lab::down("router").unwrap();
        assert!(list_netns().unwrap().is_empty());
    });
}

#[test]
fn conflicting_route_is_an_error_not_replaced() {
    in_world("lab::conflicting_route_is_an_error_not_replaced", || {
        lab::up("router").unwrap();
        sh(&[
            "ip",
            "-n",
            "router-a",
            "route",
            "replace",
            "192.168.2.0/24",
            "dev",
            "eth0",
        ]);
        let msg = lab::up("router").unwrap_err().to_string();
        assert!(
            msg.contains("router-a") && msg.contains("192.168.2.0/24"),
            "{msg}"
        );
        // Namespaces that existed before the failed up are left alone.
        assert_eq!(lab::status("router").unwrap().state, LabState::Complete);
        lab::down("router").unwrap();
    });
}

#[test]
fn named_namespaces_behave_like_ip_netns() {
    in_world("lab::named_namespaces_behave_like_ip_netns", || {
        create_netns("t1").unwrap();
        // ip sees it and can use it.
        assert_eq!(
            sh(&["ip", "netns", "list"]).split_whitespace().next(),
            Some("t1")
        );
        sh(&["ip", "-n", "t1", "link", "set", "lo", "up"]);
        // The directory is a shared mount point, as `ip netns add` leaves it.
        let prop = sh(&["findmnt", "-n", "-o", "PROPAGATION", "/run/netns"]);
        assert!(prop.contains("shared"), "{prop}");
        assert!(matches!(
            create_netns("t1"),
            Err(NetnsError::AlreadyExists { .. })
        ));
        // ip's namespaces are ours too.
        sh(&["ip", "netns", "add", "t2"]);
        assert!(netns_exists("t2").unwrap());
        delete_netns("t1").unwrap();
        delete_netns("t2").unwrap();
        delete_netns("t2").unwrap();
        assert_eq!(sh(&["ip", "netns", "list"]), "");
        assert!(create_netns("a/b").is_err());
    });
}

#[test]
fn netns_dir_override_is_respected() {
    in_world("lab::netns_dir_override_is_respected", || {
        // Only this test runs in this world's process, so changing the settings is safe.
        let before = netlens::env::current();
        netlens::env::install(netlens::env::Settings {
            netns_dir: Some("/run/netlens-test-ns".into()),
            ..(*before).clone()
        });
        create_netns("x").unwrap();
        assert!(std::path::Path::new("/run/netlens-test-ns/x").exists());
        assert!(!std::path::Path::new("/run/netns/x").exists());
        assert!(netns_exists("x").unwrap());
        delete_netns("x").unwrap();
        assert!(list_netns().unwrap().is_empty());
        netlens::env::install((*before).clone());
    });
}

#[test]
fn net_sysctls_follow_the_thread() {
    in_world("lab::net_sysctls_follow_the_thread", || {
        use netlens::netns::enter::run_in_netns;
        create_netns("s1").unwrap();
        create_netns("s2").unwrap();
        let read = |ns: &str| {
            sh(&[
                "ip",
                "netns",
                "exec",
                ns,
                "cat",
                "/proc/sys/net/ipv4/ip_forward",
            ])
            .trim()
            .to_string()
        };
        let root = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap();
        let s2 = read("s2");
        let path = std::path::Path::new("/run/netns/s1");
        run_in_netns(path, || {
            std::fs::write("/proc/sys/net/ipv4/ip_forward", "1").unwrap();
        })
        .unwrap();
        run_in_netns(path, || {
            std::fs::write("/proc/sys/net/ipv4/ip_forward", "0").unwrap();
        })
        .unwrap();
        run_in_netns(path, || {
            std::fs::write("/proc/sys/net/ipv4/ip_forward", "1").unwrap();
        })
        .unwrap();
        assert_eq!(read("s1"), "1");
        assert_eq!(read("s2"), s2, "writing in s1 changed s2");
        assert_eq!(
            std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap(),
            root,
            "writing in s1 changed the root namespace"
        );
    });
}

#[test]
fn unknown_scenario_lists_known_ones() {
    // No world needed: nothing is created.
    let msg = lab::up("nope").unwrap_err().to_string();
    assert!(msg.contains("router, bridge, cluster"), "{msg}");
    assert!(lab::down("nope").is_err());
    assert!(lab::status("nope").is_err());
}

/// `lab down` as a plan, and undone.
mod down;
