//! `netlens doctor` against the real lab, in throwaway worlds: each scenario built healthy
//! gives exit 0; then, for every fault `lab break` knows, the fault is introduced, proved real
//! with a ping inside the lab that worked before, and the doctor (the real binary) must report
//! the fault's finding and no unrelated error. `lab down` + `up` repairs between faults.

use crate::common;

use std::process::Command;
use std::time::Instant;

use common::world::{in_world, netlens_bin, sh, try_sh};
use netlens::lab::{self, DrillProbe};

/// Runs `netlens doctor --json`; returns (exit code, findings as JSON values).
fn doctor() -> (i32, Vec<serde_json::Value>) {
    let out = Command::new(netlens_bin())
        .args(["doctor", "--json"])
        .output()
        .expect("run netlens doctor");
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 1,
        "doctor exit {code}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("doctor JSON: {e}: {}", String::from_utf8_lossy(&out.stdout)));
    let findings = v["findings"].as_array().cloned().unwrap_or_default();
    (code, findings)
}

fn ids(findings: &[serde_json::Value], severity: &str) -> Vec<String> {
    findings
        .iter()
        .filter(|f| f["severity"] == severity)
        .map(|f| f["id"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn ping_ok(p: &DrillProbe) -> bool {
    let mut argv = vec!["ip", "netns", "exec", &p.ns, "ping", "-c1", "-W1"];
    let size = p.size.map(|s| s.to_string());
    if let Some(size) = &size {
        argv.extend(["-M", "do", "-s", size]);
    }
    argv.push(&p.dst);
    try_sh(&argv).status.success()
}

/// The world's /etc is the machine's: give it a private copy, so the `/etc/netns/NAME` files
/// faults write stay inside the world.
fn private_etc() {
    sh(&["mkdir", "-p", "/run/etc-copy"]);
    sh(&["cp", "-a", "/etc/.", "/run/etc-copy/"]);
    sh(&["mount", "--bind", "/run/etc-copy", "/etc"]);
}

/// Breaks, diagnoses, fixes and undoes every fault of `scenario`; returns the faults whose
/// finding has no automatic fix.
fn drill(scenario: &str) -> Vec<&'static str> {
    private_etc();
    let start = Instant::now();
    let (mut fixed, mut unfixable) = (Vec::new(), Vec::new());
    for fault in lab::faults(scenario) {
        lab::up(scenario).unwrap_or_else(|e| panic!("lab up {scenario}: {e}"));
        let (code, findings) = doctor();
        assert_eq!(
            code, 0,
            "healthy {scenario} (before {}): {findings:#?}",
            fault.name
        );
        if let Some(p) = &fault.probe {
            assert!(ping_ok(p), "{scenario}: {p:?} fails on the healthy lab");
        }

        let out = Command::new(netlens_bin())
            .args(["lab", "break", scenario, fault.name])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "lab break {scenario} {}: {}",
            fault.name,
            String::from_utf8_lossy(&out.stderr)
        );

        let (code, findings) = doctor();
        let errors = ids(&findings, "error");
        let warnings = ids(&findings, "warning");
        println!(
            "{scenario} {}: errors {errors:?} warnings {warnings:?}",
            fault.name
        );
        assert_eq!(code, 1, "{scenario} {}: doctor must exit 1", fault.name);
        assert!(
            errors.contains(&fault.finding) || warnings.contains(&fault.finding),
            "{scenario} {}: expected {} in {findings:#?}",
            fault.name,
            fault.finding
        );
        let unrelated: Vec<&String> = errors.iter().filter(|id| **id != fault.finding).collect();
        assert!(
            unrelated.is_empty(),
            "{scenario} {}: unrelated errors {unrelated:?}",
            fault.name
        );
        if let Some(p) = &fault.probe {
            assert!(!ping_ok(p), "{scenario} {}: {p:?} still works", fault.name);
        }

        // `netlens fix ID --yes` repairs it: the doctor is clean and the ping works again.
        // `netlens undo` then puts the fault back, which the doctor sees again.
        let finding = findings
            .iter()
            .find(|f| f["id"] == fault.finding.as_str())
            .expect("finding");
        if finding.get("fix").is_some() {
            fix_then_undo(scenario, fault.name, &fault.finding, fault.probe.as_ref());
            fixed.push(fault.name);
        } else {
            unfixable.push(fault.name);
        }
        lab::down(scenario).unwrap_or_else(|e| panic!("lab down {scenario}: {e}"));
        assert!(!std::path::Path::new("/etc/netns")
            .join(fault.changes[0].ns())
            .join("resolv.conf")
            .exists());
    }
    println!(
        "{scenario}: {} faults in {} ms; fixed and undone: {fixed:?}; no automatic fix: {unfixable:?}",
        lab::faults(scenario).len(),
        start.elapsed().as_millis()
    );
    unfixable
}

/// `netlens fix ID --yes` repairs it: the doctor is clean and the ping works again; `netlens undo` then puts the fault back, which the doctor sees again.
fn fix_then_undo(scenario: &str, name: &str, finding: &str, probe: Option<&DrillProbe>) {
    let out = netlens_in_state(&["fix", finding, "--yes"]);
    assert!(
        out.status.success(),
        "fix {}: {}{}",
        finding,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // A repair may uncover a consequence (a link set up again does not bring back
    // the routes the kernel dropped): `fix` says so, and `fix all` repairs it.
    let mut plans = 1;
    let (mut code, mut after) = doctor();
    if code != 0 {
        let said = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(said.contains("still found:"), "{said}");
        let out = netlens_in_state(&["fix", "all", "--yes"]);
        assert!(
            out.status.success(),
            "fix all: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        plans += 1;
        (code, after) = doctor();
    }
    assert_eq!(code, 0, "{scenario} {}: after fix: {after:#?}", name);
    if let Some(p) = probe {
        assert!(ping_ok(p), "{scenario} {}: {p:?} fails after fix", name);
    }
    for _ in 0..plans {
        let out = netlens_in_state(&["undo", "--yes"]);
        assert!(
            out.status.success(),
            "undo: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let (code, again) = doctor();
    assert_eq!(code, 1, "{scenario} {}: undo must bring it back", name);
    assert!(
        again.iter().any(|f| f["id"] == finding),
        "{scenario} {}: after undo: {again:#?}",
        name
    );
}

/// Runs netlens with its journal and sysctl.d inside the world (tmpfs on /run).
fn netlens_in_state(args: &[&str]) -> std::process::Output {
    Command::new(netlens_bin())
        .args(args)
        .env("NETLENS_STATE_DIR", "/run/netlens-state")
        .env("NETLENS_SYSCTL_DIR", "/run/netlens-sysctl.d")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run netlens")
}

#[test]
fn doctor_router_faults() {
    in_world("doctor_lab::doctor_router_faults", || {
        // The one nameserver of the file is unreachable: a route, or another server? That is
        // the engineer's choice; the doctor explains, it does not guess.
        assert_eq!(drill("router"), ["nameserver-unreachable"]);
    });
}

#[test]
fn doctor_bridge_faults() {
    in_world("doctor_lab::doctor_bridge_faults", || {
        // The one nameserver of the file is unreachable: a route, or another server? That is
        // the engineer's choice; the doctor explains, it does not guess.
        assert_eq!(drill("bridge"), ["nameserver-unreachable"]);
    });
}

#[test]
fn doctor_cluster_faults() {
    in_world("doctor_lab::doctor_cluster_faults", || {
        // The one nameserver of the file is unreachable: a route, or another server? That is
        // the engineer's choice; the doctor explains, it does not guess.
        assert_eq!(drill("cluster"), ["nameserver-unreachable"]);
    });
}

#[test]
fn doctor_exit_codes_on_saved_snapshots() {
    // No root needed: a saved healthy snapshot, a missing file, a non-snapshot.
    let asset = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo-cluster.json");
    let out = Command::new(netlens_bin())
        .args(["doctor", "--snapshot", asset])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("doctor: 0 errors, 0 warnings"));

    let out = Command::new(netlens_bin())
        .args(["doctor", "--snapshot", "/nonexistent.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"schema_version\": 1, \"namespaces\": 3}").unwrap();
    let out = Command::new(netlens_bin())
        .args(["doctor", "--snapshot", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));

    let out = Command::new(netlens_bin())
        .args(["doctor", "--snapshot", asset, "--ns", "no-such-ns"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));

    // A broken copy: exit 1, JSON lists the finding, --ns filters to it.
    let mut snap: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(asset).unwrap()).unwrap();
    for ns in snap["namespaces"].as_array_mut().unwrap() {
        if ns["name"] == "cluster-node2" {
            ns["sysctls"]["ip_forward"] = 0.into();
        }
    }
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, serde_json::to_string(&snap).unwrap()).unwrap();
    let out = Command::new(netlens_bin())
        .args(["doctor", "--json", "--snapshot", broken.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["findings"][0]["id"], "forwarding-off:cluster-node2");
    let out = Command::new(netlens_bin())
        .args([
            "doctor",
            "--snapshot",
            broken.to_str().unwrap(),
            "--ns",
            "cluster-n3-pod1",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = Command::new(netlens_bin())
        .args(["doctor", "--snapshot", broken.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("== errors (1)")
            && text.contains("1. set net.ipv4.ip_forward=1 in cluster-node2"),
        "{text}"
    );
    // Each step's shell commands (what `fix --dry-run` shows), indented under the step.
    let steps: Vec<netlens::plan::Step> =
        serde_json::from_value(v["findings"][0]["fix"]["steps"].clone()).expect("fix steps");
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("    1. "))
        .expect("step line");
    let cmds = netlens::plan::shell::commands(&steps[0]);
    assert!(!cmds.is_empty());
    for (i, cmd) in cmds.iter().enumerate() {
        assert_eq!(lines[at + 1 + i], format!("      $ {cmd}"), "{text}");
    }
    assert!(text.contains("sysctl -w net.ipv4.ip_forward=1"), "{text}");
    // One error, in the singular.
    assert!(text.contains("doctor: 1 error, 0 warnings"), "{text}");
}
