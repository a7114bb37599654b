//! `netlens snapshot` run without root degrades without failing.
//!
//! Built by hand with `ip`/`iptables` inside throwaway worlds (see `common::world`), with names
//! and subnets the lab never uses; every fact is asserted exactly, and checked against
//! iproute2 where it has an independent answer.

use crate::common;

use std::process::{Command, Stdio};

use crate::bridge_world::build_bridge_world;
use common::snap::*;
use common::world::{in_world, netlens_bin};
use netlens::model::{NamespaceKind, NsStatus, Snapshot};

/// PID 1 (root's) cannot be inspected: the first-run note says what that means and how to
/// see the node's namespace (issue 13: it puzzled users inside containers).
fn assert_pid1_note(snap: &Snapshot) {
    let note = snap
        .warnings
        .iter()
        .find(|w| w.starts_with("cannot read /proc/1/ns/net"))
        .unwrap_or_else(|| panic!("no note about PID 1: {:?}", snap.warnings));
    for words in [
        "shown as `host`",
        "container's own",
        "--pid host",
        "hostPID",
    ] {
        assert!(note.contains(words), "{words:?} not in {note}");
    }
}

/// Run as `nobody` with no capabilities: exit 0, valid JSON, the not-root warning, the own
/// namespace's links read, every other namespace `inaccessible`, and no panic.
#[test]
fn unprivileged_snapshot_degrades_without_failing() {
    in_world(
        "snapshot_nonroot::unprivileged_snapshot_degrades_without_failing",
        || {
            build_bridge_world();
            // Somewhere nobody can surely execute the binary from.
            std::fs::create_dir_all("/run/nl-bin").unwrap();
            std::fs::copy(netlens_bin(), "/run/nl-bin/netlens").unwrap();
            let out = Command::new("setpriv")
                .args([
                    "--reuid=65534",
                    "--regid=65534",
                    "--clear-groups",
                    "--inh-caps=-all",
                    "/run/nl-bin/netlens",
                    "snapshot",
                    "--json",
                ])
                .stdin(Stdio::null())
                .output()
                .expect("setpriv");
            let stdout = String::from_utf8_lossy(&out.stdout);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "exit {}: {stderr}", out.status);
            assert!(!stderr.contains("panicked"), "{stderr}");
            let snap: Snapshot = serde_json::from_str(&stdout).expect("JSON");
            assert!(
                snap.warnings
                    .iter()
                    .any(|w| w.starts_with("not running as root")),
                "{:?}",
                snap.warnings
            );
            assert_pid1_note(&snap);
            let host = ns(&snap, "host");
            assert_eq!(host.kind, NamespaceKind::Host);
            // The root's NAT rules cannot be read without CAP_NET_ADMIN: that must show in the
            // status, not pass for an empty rule set.
            let fw = host.firewall.as_ref().expect("firewall attempted");
            assert!(!fw.errors.is_empty(), "{fw:#?}");
            match &host.status {
                NsStatus::Partial(problems) => assert!(
                    problems.iter().any(|p| p.starts_with("firewall: ")),
                    "{problems:?}"
                ),
                other => panic!("host status {other:?}: firewall errors not reflected"),
            }
            assert!(host.link("br-test").is_some(), "{host:#?}");
            assert_eq!(
                link_names(&snap, "host"),
                ["br-test", "h-app1", "h-app2", "h-db", "lo"]
            );
            for n in ["app1", "app2", "db"] {
                let x = ns(&snap, n);
                assert!(
                    matches!(&x.status, NsStatus::Inaccessible(why) if why.contains("cannot enter")),
                    "{n}: {:?}",
                    x.status
                );
                assert!(x.links.is_empty(), "{n}");
            }
            // The root's veths point into namespaces it could not read: the namespace may be
            // known (by nsid) but the name cannot be.
            for n in ["app1", "app2", "db"] {
                let h = link(&snap, "host", &format!("h-{n}"));
                let p = h
                    .peer
                    .as_ref()
                    .expect("peer ifindex is known without entering");
                assert_eq!(p.name, None, "{n}");
            }

            // Text works too.
            let out = Command::new("setpriv")
                .args([
                    "--reuid=65534",
                    "--regid=65534",
                    "--clear-groups",
                    "--inh-caps=-all",
                    "/run/nl-bin/netlens",
                    "snapshot",
                ])
                .stdin(Stdio::null())
                .output()
                .expect("setpriv");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.success() && !stderr.contains("panicked"),
                "{stderr}"
            );
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                text.lines()
                    .any(|l| l.starts_with("warning: not running as root")),
                "{text}"
            );
        },
    );
}
