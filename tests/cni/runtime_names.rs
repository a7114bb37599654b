//! Real names (issue 13): a real podman's and docker's containers, offline in a throwaway
//! world, are called by their names — in `snapshot --json` (the namespace's `workload`), as
//! `--ns` and `--from`, in the text reports and in the TUI's namespace list (tmux) — and an
//! unknown name gets the closest ones, not every namespace.

use crate::common;

use std::time::Duration;

use common::docker::{self, docker, Docker};
use common::out::{assert_code, both};
use common::plan::private_state;
use common::podman::{self, Podman};
use common::snap::{netlens, snapshot_json, snapshot_text};
use common::tmux::{tmux, wait_for};
use common::world::{in_world, netlens_bin};
use netlens::model::{Namespace, Runtime, Snapshot, WorkloadKind};

/// The namespace whose workload is called `name`; its kind, runtime and id checked.
fn named<'a>(snap: &'a Snapshot, name: &str, runtime: Runtime, id: &str) -> &'a Namespace {
    let ns = snap
        .namespaces
        .iter()
        .find(|n| n.workload.as_ref().is_some_and(|w| w.name == name))
        .unwrap_or_else(|| {
            let all: Vec<(&str, Option<String>)> = snap
                .namespaces
                .iter()
                .map(|n| (n.name.as_str(), n.workload.as_ref().map(|w| w.name.clone())))
                .collect();
            panic!("no namespace of {name}: {all:?}")
        });
    let w = ns.workload.as_ref().unwrap();
    assert_eq!(w.kind, WorkloadKind::Container, "{name}");
    assert_eq!(w.runtime, runtime, "{name}");
    assert_eq!(w.id, id, "{name}: the runtime's id");
    assert_eq!(ns.label(), name);
    ns
}

/// `name` selects its namespace alone (`--ns`), `path --from NAME` starts there and says so,
/// and a name one letter off is refused with exit 2 and the real one offered.
fn selectable(name: &str, ns: &Namespace, dst: &str, typo: &str) {
    let only = snapshot_json(&["--ns", name]);
    let names: Vec<&str> = only.namespaces.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, [ns.name.as_str()], "--ns {name}");

    let out = netlens(&["path", "--from", name, dst]);
    assert_code(&out, 0, &format!("path --from {name} {dst}"));
    let text = both(&out);
    let want = format!("path from {name} ({}) to {dst}", ns.name);
    assert!(text.contains(&want), "{want:?} not in:\n{text}");
    let out = netlens(&["path", "--from", name, dst, "--json"]);
    assert_code(&out, 0, "path --json");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("path JSON");
    assert_eq!(v["probe"]["from"], ns.name.as_str());

    let out = netlens(&["snapshot", "--ns", typo]);
    assert_code(&out, 2, &format!("snapshot --ns {typo}"));
    let err = both(&out);
    assert!(err.contains("closest: ") && err.contains(name), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    // The text report's header names it, with the namespace beside it.
    let text = snapshot_text(&["--ns", name]);
    let header = format!("== {name} ({})", ns.name);
    assert!(text.contains(&header), "{header:?} not in:\n{text}");
}

/// podman (netavark): `c3` and `c5` are found by name everywhere, and the TUI lists them so.
#[test]
fn podman_containers_by_name() {
    in_world("runtime_names::podman_containers_by_name", || {
        let _state = private_state();
        let _pm = Podman::setup("netavark");
        let c3 = podman::run_sleeper("c3", "podman");
        podman::run_sleeper("c5", "podman");
        let (c5_ip, _) = podman::address_on("c5", "podman");
        let snap = snapshot_json(&[]);
        let ns = named(&snap, "c3", Runtime::Podman, &c3);
        // The container's own address is in the namespace called c3.
        let (c3_ip, _) = podman::address_on("c3", "podman");
        assert!(
            ns.addresses.iter().any(|a| a.address.to_string() == c3_ip),
            "{ns:#?}"
        );
        assert!(ns.name.starts_with("netns-"), "{}", ns.name);
        selectable("c3", ns, &c5_ip, "c4");

        // The TUI's namespace list shows the containers by name.
        let cmd = format!("{}; sleep 60", netlens_bin().display());
        tmux(&["new-session", "-d", "-x", "120", "-y", "30", &cmd]);
        let (s, ok) = wait_for(Duration::from_secs(15), |s| {
            s.contains("c3 (podman)") && s.contains("c5 (podman)")
        });
        assert!(ok, "containers not listed by name:\n{s}");
        // Enter on it shows the kernel name and the id.
        let rows: Vec<&str> = s.lines().collect();
        let at = rows.iter().position(|l| l.contains("c3 (podman)")).unwrap();
        let first = rows.iter().position(|l| l.contains("host (")).unwrap();
        for _ in first..at {
            tmux(&["send-keys", "j"]);
        }
        tmux(&["send-keys", "Enter"]);
        let (s, ok) = wait_for(Duration::from_secs(3), |s| {
            s.contains(&ns.name) && s.contains(&c3[..12])
        });
        assert!(ok, "details of c3 without its namespace name and id:\n{s}");
        let _ = tmux(&["kill-server"]);
    });
}

/// docker 20.10: containers `d3` and `d5` by name, as for podman.
#[test]
fn docker_containers_by_name() {
    in_world("runtime_names::docker_containers_by_name", || {
        let _state = private_state();
        let _d = Docker::setup();
        let run = |name: &str| {
            docker(&[
                "run",
                "-d",
                "--name",
                name,
                podman::IMAGE,
                "sleep",
                "100000",
            ])
            .trim()
            .to_string()
        };
        let d3 = run("d3");
        run("d5");
        let d5_ip = docker::inspect("d5")["NetworkSettings"]["Networks"]["bridge"]["IPAddress"]
            .as_str()
            .expect("d5's address")
            .to_string();
        let snap = snapshot_json(&[]);
        let ns = named(&snap, "d3", Runtime::Docker, &d3);
        assert!(ns.name.starts_with("docker:"), "{}", ns.name);
        selectable("d3", ns, &d5_ip, "d4");
    });
}
