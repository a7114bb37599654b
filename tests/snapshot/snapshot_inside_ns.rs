//! netlens started inside a namespace other than the host's (`ip netns exec X netlens`, a debug
//! pod): its collector threads move between namespaces, and every namespace must still be
//! read from inside itself — including the one netlens runs in.

use crate::common;

use common::snap::link_names;
use common::world::{in_world, netlens_bin, sh};
use netlens::model::{NsStatus, Snapshot};

#[test]
fn run_from_inside_a_named_namespace() {
    in_world(
        "snapshot_inside_ns::run_from_inside_a_named_namespace",
        || {
            for k in 0..12 {
                let name = format!("n{k:02}");
                sh(&["ip", "netns", "add", &name]);
                let (a, b) = (format!("k{k:02}a"), format!("k{k:02}b"));
                sh(&[
                    "ip", "-n", &name, "link", "add", &a, "type", "veth", "peer", "name", &b,
                ]);
            }
            let out = std::process::Command::new("ip")
                .args(["netns", "exec", "n07"])
                .arg(netlens_bin())
                .args(["snapshot", "--json"])
                .output()
                .expect("ip netns exec");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let snap: Snapshot = serde_json::from_slice(&out.stdout).expect("json");
            for k in 0..12 {
                let name = format!("n{k:02}");
                let ns = snap
                    .namespaces
                    .iter()
                    .find(|n| n.name == name)
                    .expect("listed");
                assert_eq!(ns.status, NsStatus::Ok, "{name}");
                assert_eq!(
                    link_names(&snap, &name),
                    vec![format!("k{k:02}a"), format!("k{k:02}b"), "lo".to_string()],
                    "{name} must show its own links"
                );
            }
            // The world's root (PID 1's namespace) is the host, with only lo.
            assert_eq!(link_names(&snap, "host"), vec!["lo".to_string()]);
        },
    );
}

/// A namespace mounted as `/run/netns/host` does not take the host's name.
#[test]
fn a_namespace_named_host_is_renamed() {
    in_world(
        "snapshot_inside_ns::a_namespace_named_host_is_renamed",
        || {
            sh(&["ip", "netns", "add", "host"]);
            sh(&[
                "ip",
                "-n",
                "host",
                "link",
                "add",
                "impostor0",
                "type",
                "veth",
                "peer",
                "name",
                "impostor1",
            ]);
            let out = std::process::Command::new(netlens_bin())
                .args(["snapshot", "--json"])
                .output()
                .expect("netlens");
            let snap: Snapshot = serde_json::from_slice(&out.stdout).expect("json");
            let hosts: Vec<_> = snap
                .namespaces
                .iter()
                .filter(|n| n.name == "host")
                .collect();
            assert_eq!(hosts.len(), 1);
            assert_eq!(link_names(&snap, "host"), vec!["lo".to_string()]);
            let renamed = snap
                .namespaces
                .iter()
                .find(|n| n.name.starts_with("host@"))
                .expect("renamed namespace");
            assert_eq!(renamed.name, format!("host@{}", renamed.inode));
            assert!(renamed.links.iter().any(|l| l.name == "impostor0"));
        },
    );
}
