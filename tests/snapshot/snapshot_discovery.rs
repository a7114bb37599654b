//! Which namespaces `netlens snapshot` finds and how it names them: held only by a process,
//! vanished or re-created between discovery and collection, selected with `--ns`, mounted
//! under Docker's directory.
//!
//! Built by hand with `ip`/`iptables` inside throwaway worlds (see `common::world`), with names
//! and subnets the lab never uses; every fact is asserted exactly, and checked against
//! iproute2 where it has an independent answer.

use crate::common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::bridge_world::build_bridge_world;
use common::snap::*;
use common::world::{in_world, sh};
use netlens::model::{NamespaceKind, NsStatus, ProcessRef, Snapshot};

/// Spawns `unshare --net sleep 60` and waits until it runs `sleep` in its own namespace.
fn spawn_netns_holder() -> Child {
    let own = std::fs::read_link("/proc/self/ns/net").expect("own netns");
    let mut child = Command::new("unshare")
        .args(["--net", "sleep", "60"])
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn unshare --net sleep");
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(10);
    let started = loop {
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        let netns = std::fs::read_link(format!("/proc/{pid}/ns/net")).ok();
        if comm.trim() == "sleep" && netns.is_some_and(|n| n != own) {
            break true;
        }
        if Instant::now() >= deadline {
            break false;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    if started {
        child
    } else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("unshare --net sleep never started");
    }
}

/// A namespace with no name, held by `sleep`: reported as `pid:N`, kind process, with its
/// process; a veth moved into it pairs with its root end both ways; `--ns N` selects it.
#[test]
fn process_held_namespace_is_found_and_paired() {
    in_world(
        "snapshot_discovery::process_held_namespace_is_found_and_paired",
        || {
            let mut child = spawn_netns_holder();
            let pid = child.id();
            let pid_s = pid.to_string();
            sh(&[
                "ip",
                "link",
                "add",
                "to-sleeper",
                "type",
                "veth",
                "peer",
                "name",
                "in-sleeper",
            ]);
            sh(&["ip", "link", "set", "in-sleeper", "netns", &pid_s]);

            let snap = snapshot_json(&[]);
            let name = format!("pid:{pid}");
            let names: Vec<&str> = snap.namespaces.iter().map(|n| n.name.as_str()).collect();
            assert_eq!(names, ["host", name.as_str()]);
            let held = ns(&snap, &name);
            assert_eq!(held.kind, NamespaceKind::Process);
            assert_eq!(held.status, NsStatus::Ok);
            assert!(held.paths.is_empty(), "{:?}", held.paths);
            assert_eq!(
                held.processes,
                [ProcessRef {
                    pid,
                    comm: "sleep".into(),
                    container_id: None
                }]
            );
            assert_eq!(link_names(&snap, &name), ["in-sleeper", "lo"]);
            assert_veth_pair(&snap, "host", "to-sleeper", &name, "in-sleeper");
            // DNS files are read through the process's root.
            let dns = held.dns.as_ref().expect("dns");
            assert_eq!(
                dns.resolv_conf.path,
                format!("/proc/{pid}/root/etc/resolv.conf")
            );

            let mut topo = topology_lines(&snapshot_text(&[]));
            topo.sort();
            // Neither end is a bridge port, so the ends read in name order.
            assert_eq!(topo, [format!("to-sleeper (host) ⇄ in-sleeper ({name})")]);

            // Selecting by pid returns just that namespace, still paired with the root.
            let only = snapshot_json(&["--ns", &pid_s]);
            let names: Vec<&str> = only.namespaces.iter().map(|n| n.name.as_str()).collect();
            assert_eq!(names, [name.as_str()]);
            assert_veth_pair_one_sided(&only, &name, "in-sleeper", "host", "to-sleeper");

            child.kill().unwrap();
            child.wait().unwrap();
            let after = snapshot_json(&[]);
            assert!(after.namespace(&name).is_none());
            // The kernel dismantles a dead namespace (and the veth with it) asynchronously.
            let deadline = Instant::now() + Duration::from_secs(10);
            while link_names(&snapshot_json(&[]), "host") != ["lo"] {
                assert!(
                    Instant::now() < deadline,
                    "to-sleeper outlived its peer's namespace"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        },
    );
}

/// Peer of `a` is `b` in `ns_b` (which is filtered out of the snapshot, so only one side).
fn assert_veth_pair_one_sided(snap: &Snapshot, ns_a: &str, a: &str, ns_b: &str, b: &str) {
    assert_eq!(
        peer_of(snap, ns_a, a),
        (Some(ns_b.to_string()), Some(b.to_string())),
        "peer of {ns_a}/{a}"
    );
}

// ---------------------------------------------------------------------------------------------
// A namespace that vanishes between discovery and collection

/// `discover()`, then one named namespace is deleted and one process-held namespace's process
/// exits: both come out `Gone`, the others complete with their links and a pair across them.
#[test]
fn namespace_deleted_after_discovery_is_gone() {
    in_world(
        "snapshot_discovery::namespace_deleted_after_discovery_is_gone",
        || {
            for n in ["keep-a", "doomed", "keep-c"] {
                sh(&["ip", "netns", "add", n]);
            }
            sh(&[
                "ip", "-n", "keep-a", "link", "add", "a-c", "type", "veth", "peer", "name", "c-a",
                "netns", "keep-c",
            ]);
            sh(&[
                "ip", "-n", "doomed", "link", "add", "d0", "type", "veth", "peer", "name", "d1",
            ]);
            let mut holder = spawn_netns_holder();
            let holder_name = format!("pid:{}", holder.id());

            let discovery = netlens::netns::discover::discover();
            let mut names = discovery.names();
            names.sort();
            let mut want = vec![
                "doomed".to_string(),
                "host".into(),
                holder_name.clone(),
                "keep-a".into(),
                "keep-c".into(),
            ];
            want.sort();
            assert_eq!(names, want);

            sh(&["ip", "netns", "del", "doomed"]);
            holder.kill().unwrap();
            holder.wait().unwrap();

            let snap = netlens::collect::collect(&discovery, &netlens::collect::Options::default())
                .expect("collect");
            let statuses: Vec<(&str, &NsStatus)> = snap
                .namespaces
                .iter()
                .map(|n| (n.name.as_str(), &n.status))
                .collect();
            assert_eq!(
                statuses,
                [
                    ("host", &NsStatus::Ok),
                    ("doomed", &NsStatus::Gone),
                    ("keep-a", &NsStatus::Ok),
                    ("keep-c", &NsStatus::Ok),
                    (holder_name.as_str(), &NsStatus::Gone),
                ]
            );
            for gone in ["doomed", holder_name.as_str()] {
                let g = ns(&snap, gone);
                assert!(g.links.is_empty() && g.addresses.is_empty() && g.routes.is_empty());
                assert!(g.dns.is_none() && g.firewall.is_none(), "{gone}");
            }
            assert_eq!(link_names(&snap, "keep-a"), ["a-c", "lo"]);
            assert_eq!(link_names(&snap, "keep-c"), ["c-a", "lo"]);
            assert_veth_pair(&snap, "keep-a", "a-c", "keep-c", "c-a");

            // The text report says so instead of failing.
            let text = netlens::report::snapshot::render(&snap);
            assert!(
                text.contains("== doomed") && text.contains("gone"),
                "{text}"
            );
        },
    );
}

// ---------------------------------------------------------------------------------------------
// --ns selection

/// An unknown `--ns` exits 2 with one line on stderr naming the known namespaces and prints
/// nothing; `--ns a --ns b` returns exactly those two (by name, path or inode), peers still
/// resolved to namespaces left out.
#[test]
fn ns_selection_and_unknown_namespace() {
    in_world(
        "snapshot_discovery::ns_selection_and_unknown_namespace",
        || {
            build_bridge_world();

            let out = netlens(&["snapshot", "--ns", "nosuch"]);
            assert_eq!(out.status.code(), Some(2));
            assert!(out.stdout.is_empty());
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(err.lines().count(), 1, "{err}");
            for word in ["nosuch", "host", "app1", "app2", "db"] {
                assert!(err.contains(word), "{word} missing: {err}");
            }
            let out = netlens(&["snapshot", "--json", "--ns", "app1", "--ns", "nosuch"]);
            assert_eq!(out.status.code(), Some(2));
            assert!(out.stdout.is_empty());

            let snap = snapshot_json(&["--ns", "app1", "--ns", "app2"]);
            let names: Vec<&str> = snap.namespaces.iter().map(|n| n.name.as_str()).collect();
            assert_eq!(names, ["app1", "app2"]);
            assert_veth_pair_one_sided(&snap, "app1", "eth0", "host", "h-app1");
            assert_veth_pair_one_sided(&snap, "app2", "eth0", "host", "h-app2");

            let db_inode = ns(&snapshot_json(&[]), "db").inode.to_string();
            let snap = snapshot_json(&["--ns", "/run/netns/app2", "--ns", &db_inode]);
            let names: Vec<&str> = snap.namespaces.iter().map(|n| n.name.as_str()).collect();
            assert_eq!(names, ["app2", "db"]);

            // Text output with a filter: only those sections.
            let text = snapshot_text(&["--ns", "host"]);
            let headers: Vec<&str> = text.lines().filter(|l| l.starts_with("== ")).collect();
            assert_eq!(headers.len(), 2, "{text}");
            assert!(headers[0].starts_with("== host "), "{text}");
            assert_eq!(headers[1], "== topology");
        },
    );
}

/// An unknown `--ns` on a node of many namespaces names the closest few, not all of them
/// (532 names on one line before issue 13), and says how many more there are.
#[test]
fn unknown_namespace_lists_the_closest_few() {
    in_world(
        "snapshot_discovery::unknown_namespace_lists_the_closest_few",
        || {
            for i in 0..60 {
                sh(&["ip", "netns", "add", &format!("svc-{i}")]);
            }
            let out = netlens(&["snapshot", "--ns", "svc-590"]);
            assert_eq!(out.status.code(), Some(2));
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(err.trim().lines().count(), 1, "{err}");
            let offered = err.split_once("(closest: ").map(|x| x.1).unwrap_or("");
            let shown = offered.matches("svc-").count();
            assert!((1..=5).contains(&shown), "{err}");
            // One edit away, so first: svc-59 and svc-50.
            assert!(offered.starts_with("svc-50, svc-59,"), "{err}");
            assert!(err.contains("more"), "{err}");
            assert!(!err.contains("svc-37,"), "{err}");
        },
    );
}

/// Named namespaces are listed in natural order (`svc-2` before `svc-10`), the JSON too.
#[test]
fn named_namespaces_in_natural_order() {
    in_world(
        "snapshot_discovery::named_namespaces_in_natural_order",
        || {
            for n in ["svc-10", "svc-2", "svc-19", "svc-1"] {
                sh(&["ip", "netns", "add", n]);
            }
            let snap = snapshot_json(&[]);
            let names: Vec<&str> = snap.namespaces.iter().map(|n| n.name.as_str()).collect();
            assert_eq!(names, ["host", "svc-1", "svc-2", "svc-10", "svc-19"]);
        },
    );
}

/// A namespace bind-mounted only under Docker's directory is named `docker:NAME`; one mounted
/// in both places is listed once, under its `/run/netns` name, with both paths.
#[test]
fn docker_netns_directory_and_shared_mounts() {
    in_world(
        "snapshot_discovery::docker_netns_directory_and_shared_mounts",
        || {
            std::fs::create_dir_all("/run/docker/netns").unwrap();
            for n in ["tmp-ctr", "shared"] {
                sh(&["ip", "netns", "add", n]);
            }
            for (src, dst) in [("tmp-ctr", "1a2b3c4d5e6f"), ("shared", "77aa88bb99cc")] {
                let target = format!("/run/docker/netns/{dst}");
                std::fs::write(&target, "").unwrap();
                sh(&["mount", "--bind", &format!("/run/netns/{src}"), &target]);
            }
            // Only Docker's mount keeps tmp-ctr alive now.
            sh(&["ip", "netns", "del", "tmp-ctr"]);
            sh(&[
                "ip",
                "-n",
                "shared",
                "link",
                "add",
                "s0",
                "type",
                "veth",
                "peer",
                "name",
                "d0",
                "netns",
                "/run/docker/netns/1a2b3c4d5e6f",
            ]);

            let snap = snapshot_json(&[]);
            let names: Vec<&str> = snap.namespaces.iter().map(|n| n.name.as_str()).collect();
            assert_eq!(names, ["host", "docker:1a2b3c4d5e6f", "shared"]);
            let d = ns(&snap, "docker:1a2b3c4d5e6f");
            assert_eq!(d.kind, NamespaceKind::Named);
            assert_eq!(d.paths, ["/var/run/docker/netns/1a2b3c4d5e6f"]);
            assert_eq!(
                ns(&snap, "shared").paths,
                ["/run/netns/shared", "/var/run/docker/netns/77aa88bb99cc"]
            );
            assert_veth_pair(&snap, "shared", "s0", "docker:1a2b3c4d5e6f", "d0");
            // Docker namespaces get no /etc/netns override.
            assert_eq!(d.dns.as_ref().unwrap().resolv_conf.path, "/etc/resolv.conf");
            let only = snapshot_json(&["--ns", "docker:1a2b3c4d5e6f"]);
            assert_eq!(only.namespaces.len(), 1);
        },
    );
}

/// A name deleted and re-created between discovery and collection points at a different
/// namespace: the discovered one is reported `Gone`, never the impostor's contents.
#[test]
fn recreated_name_after_discovery_is_gone() {
    in_world(
        "snapshot_discovery::recreated_name_after_discovery_is_gone",
        || {
            sh(&["ip", "netns", "add", "phoenix"]);
            sh(&[
                "ip", "-n", "phoenix", "link", "add", "old0", "type", "veth", "peer", "name",
                "old1",
            ]);
            let discovery = netlens::netns::discover::discover();
            sh(&["ip", "netns", "del", "phoenix"]);
            sh(&["ip", "netns", "add", "phoenix"]);
            sh(&[
                "ip", "-n", "phoenix", "link", "add", "new0", "type", "veth", "peer", "name",
                "new1",
            ]);
            let snap = netlens::collect::collect(&discovery, &netlens::collect::Options::default())
                .expect("collect");
            let p = ns(&snap, "phoenix");
            assert_eq!(p.status, NsStatus::Gone);
            assert!(p.links.is_empty(), "{:?}", p.links);
            assert_eq!(ns(&snap, "host").status, NsStatus::Ok);
        },
    );
}
