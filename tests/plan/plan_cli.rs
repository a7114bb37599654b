//! `netlens apply/undo/confirm/journal` end to end, in throwaway worlds: undo after a commit,
//! undo after a crash mid-apply, confirm-within rolling back by itself or staying when
//! confirmed, and bad input refused with exit 2, one line, and nothing changed.

use crate::common;

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::out::{assert_code, text};
use common::plan::{assert_same, changes, private_state, snap, write_plan};
use common::snap::netlens;
use common::world::{in_world, netlens_bin, sh};
use serde_json::{json, Value};

fn journal() -> Vec<Value> {
    let out = netlens(&["journal", "--json"]);
    assert_code(&out, 0, "journal --json");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn state_of(id: &str) -> String {
    journal()
        .iter()
        .find(|p| p["id"] == id)
        .unwrap_or_else(|| panic!("plan {id} not in the journal"))["state"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A veth from the host into red with an address, up, a route, a sysctl and a NAT rule.
fn red_plan(id: &str) -> Value {
    json!({"id": id, "title": "connect red", "steps": [
        {"step": "add_veth", "ns": "host", "name": "to-red", "peer_ns": "red", "peer": "eth0"},
        {"step": "add_address", "ns": "red", "link": "eth0", "addr": "10.77.0.2/24"},
        {"step": "set_link_up", "ns": "red", "link": "eth0", "up": true},
        {"step": "set_sysctl", "ns": "red", "key": "net/ipv4/ip_forward", "value": "1"},
        {"step": "add_iptables_rule", "ns": "red", "table": "nat", "chain": "POSTROUTING",
         "rule": ["-s", "10.77.0.0/24", "-j", "MASQUERADE"]}
    ]})
}

#[test]
fn apply_then_undo_restores_the_snapshot() {
    in_world("plan_cli::apply_then_undo_restores_the_snapshot", || {
        let state = private_state();
        sh(&["ip", "netns", "add", "red"]);
        let file = write_plan(state.path(), "p.json", red_plan("p-commit"));

        let dry = netlens(&["apply", &file, "--dry-run"]);
        assert_code(&dry, 0, "dry run");
        let (o, _) = text(&dry);
        assert!(
            o.contains("ip link add to-red type veth peer name eth0 netns red"),
            "{o}"
        );
        assert!(
            o.contains(
                "ip netns exec red iptables -w -t nat -A POSTROUTING -s 10.77.0.0/24 -j MASQUERADE"
            ),
            "{o}"
        );
        assert!(o.contains("dry run: nothing changed"), "{o}");

        let before = snap();
        let out = netlens(&["apply", &file, "--yes"]);
        assert_code(&out, 0, "apply");
        assert!(
            text(&out)
                .0
                .contains("applied plan p-commit: 5 steps changed"),
            "{}",
            text(&out).0
        );
        assert!(!changes(&before, &snap()).is_empty());
        assert_eq!(state_of("p-commit"), "committed");

        // The same id twice is refused: an id names one application.
        assert_code(&netlens(&["apply", &file, "--yes"]), 1, "reapply same id");

        let undo = netlens(&["undo", "--yes"]);
        assert_code(&undo, 0, "undo");
        assert!(
            text(&undo).0.contains("undid plan p-commit"),
            "{}",
            text(&undo).0
        );
        assert_same("after netlens undo", &before, &snap());
        assert_eq!(state_of("p-commit"), "undone");
        // Nothing left: undo again says so and fails.
        assert_code(&netlens(&["undo", "--yes"]), 1, "second undo");
    });
}

#[test]
fn undo_after_a_crash_mid_apply() {
    common::world::require_test_hooks();
    in_world("plan_cli::undo_after_a_crash_mid_apply", || {
        let state = private_state();
        sh(&["ip", "netns", "add", "red"]);
        let file = write_plan(state.path(), "p.json", red_plan("p-crash"));
        let before = snap();
        let mut child = Command::new(netlens_bin())
            .args(["apply", &file, "--yes"])
            .env("NETLENS_TEST_PAUSE_AFTER_STEP", "3")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let journal_file = state.path().join("state/journal/p-crash.jsonl");
        let t0 = Instant::now();
        loop {
            let j = std::fs::read_to_string(&journal_file).unwrap_or_default();
            if j.matches("\"step_done\"").count() == 3 {
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "apply never reached step 3: {j}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        // Our own child, by its handle: SIGKILL mid-plan, as a crash would.
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(
            !changes(&before, &snap()).is_empty(),
            "steps 1-3 are in place"
        );
        assert_eq!(state_of("p-crash"), "interrupted");

        let undo = netlens(&["undo", "p-crash", "--yes"]);
        assert_code(&undo, 0, "undo after crash");
        assert_same("after undoing the interrupted plan", &before, &snap());
        assert_eq!(state_of("p-crash"), "undone");
    });
}

#[test]
fn confirm_within_rolls_back_unless_confirmed() {
    in_world(
        "plan_cli::confirm_within_rolls_back_unless_confirmed",
        || {
            let state = private_state();
            sh(&["ip", "netns", "add", "red"]);
            let before = snap();

            let file = write_plan(state.path(), "a.json", red_plan("p-unconfirmed"));
            let out = netlens(&["apply", &file, "--yes", "--confirm-within", "2"]);
            assert_code(&out, 0, "apply --confirm-within");
            assert!(
                text(&out).0.contains("netlens confirm p-unconfirmed"),
                "{}",
                text(&out).0
            );
            assert_eq!(state_of("p-unconfirmed"), "awaiting_confirm");
            assert!(!changes(&before, &snap()).is_empty());
            // The watchdog, not this test, rolls it back.
            let t0 = Instant::now();
            while state_of("p-unconfirmed") != "rolled_back" {
                assert!(
                    t0.elapsed() < Duration::from_secs(8),
                    "not rolled back after 8 s"
                );
                std::thread::sleep(Duration::from_millis(200));
            }
            assert!(
                t0.elapsed() > Duration::from_millis(1000),
                "rolled back before the deadline"
            );
            assert_same("after an unconfirmed change", &before, &snap());
            assert_code(
                &netlens(&["confirm", "p-unconfirmed"]),
                1,
                "confirm too late",
            );

            let file = write_plan(state.path(), "b.json", red_plan("p-confirmed"));
            assert_code(
                &netlens(&["apply", &file, "--yes", "--confirm-within", "2"]),
                0,
                "apply --confirm-within",
            );
            let during = snap();
            let c = netlens(&["confirm", "p-confirmed"]);
            assert_code(&c, 0, "confirm");
            std::thread::sleep(Duration::from_millis(3000));
            assert_eq!(state_of("p-confirmed"), "committed");
            assert_same("a confirmed change stays", &during, &snap());
        },
    );
}

/// Runs `netlens apply` on `plan` and asserts exit 2, one line on stderr mentioning `needle`,
/// nothing changed and nothing journaled.
fn refused(dir: &Path, plan: Value, needle: &str, env: &[(&str, &str)]) {
    let file = write_plan(dir, "bad.json", plan);
    let before = snap();
    let mut cmd = Command::new(netlens_bin());
    cmd.args(["apply", &file, "--yes"]).stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert_code(&out, 2, needle);
    let (_, err) = text(&out);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.contains(needle), "expected {needle:?} in {err}");
    assert_same(needle, &before, &snap());
    assert!(journal().is_empty(), "a refused plan is not journaled");
}

#[test]
fn bad_input_is_refused_with_exit_2_and_changes_nothing() {
    in_world(
        "plan_cli::bad_input_is_refused_with_exit_2_and_changes_nothing",
        || {
            let state = private_state();
            let dir = state.path();
            sh(&["ip", "netns", "add", "red"]);
            let ok_step = json!({"step": "add_bridge", "ns": "red", "name": "br0"});
            refused(
                dir,
                json!({"steps": [ok_step, {"step": "add_bridge", "ns": "nosuchns", "name": "br1"}]}),
                "unknown namespace nosuchns",
                &[],
            );
            refused(
                dir,
                json!({"steps": [ok_step, {"step": "add_address", "ns": "red", "link": "br0", "addr": "10.0.0.300/24"}]}),
                "invalid IP address syntax",
                &[],
            );
            refused(
                dir,
                json!({"steps": [ok_step, {"step": "add_bridge", "ns": "red", "name": "a-very-long-bridge"}]}),
                "longer than 15 bytes",
                &[],
            );
            refused(
                dir,
                json!({"steps": [ok_step, {"step": "add_iptables_rule", "ns": "red", "table": "nat", "chain": "POSTROUTING", "rule": ["-j", "MASQUERADE"]}]}),
                "iptables is not installed",
                &[("PATH", "/nonexistent")],
            );
            // Not root: refused (the plan sits in the world's /run, readable by nobody).
            std::fs::write("/run/ok.json", json!({"steps": [ok_step]}).to_string()).unwrap();
            let out = Command::new("setpriv")
                .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
                .arg(netlens_bin())
                .args(["apply", "/run/ok.json", "--yes"])
                .stdin(Stdio::null())
                .output()
                .unwrap();
            assert_code(&out, 2, "not root");
            assert!(text(&out).1.contains("needs root"), "{}", text(&out).1);
            // No TTY and no --yes: refused before anything runs.
            let file = write_plan(dir, "ok.json", json!({"steps": [ok_step]}));
            let out = netlens(&["apply", &file]);
            assert_code(&out, 2, "no --yes without a TTY");
            assert!(text(&out).1.contains("without --yes"), "{}", text(&out).1);
            assert!(sh(&["ip", "-n", "red", "-o", "link"]).lines().count() == 1);
            // Unknown plan for undo and confirm.
            assert_code(
                &netlens(&["undo", "nosuchplan", "--yes"]),
                2,
                "undo unknown plan",
            );
            assert_code(
                &netlens(&["confirm", "nosuchplan"]),
                2,
                "confirm unknown plan",
            );
            assert_code(
                &netlens(&["apply", "/nonexistent.json", "--yes"]),
                2,
                "missing plan file",
            );
        },
    );
}

/// a — r — b on two veth pairs; a and b route through r, which does not forward.
fn routed_pair() {
    for n in ["fa", "fr", "fb"] {
        sh(&["ip", "netns", "add", n]);
        sh(&["ip", "-n", n, "link", "set", "lo", "up"]);
    }
    for (n, peer, addr, gw, net) in [
        ("fa", "r-a", "10.61.0.2/24", "10.61.0.1", "10.61.0.1/24"),
        ("fb", "r-b", "10.62.0.2/24", "10.62.0.1", "10.62.0.1/24"),
    ] {
        sh(&[
            "ip", "link", "add", "eth0", "netns", n, "type", "veth", "peer", "name", peer, "netns",
            "fr",
        ]);
        sh(&["ip", "-n", n, "addr", "add", addr, "dev", "eth0"]);
        sh(&["ip", "-n", n, "link", "set", "eth0", "up"]);
        sh(&["ip", "-n", n, "route", "add", "default", "via", gw]);
        sh(&["ip", "-n", "fr", "addr", "add", net, "dev", peer]);
        sh(&["ip", "-n", "fr", "link", "set", peer, "up"]);
    }
    forwarding_off("fr");
}

/// Runs `netlens fix ID --yes` stopped (by the test hook) after its first step, runs `undo_it`
/// while it is stopped, then lets it go on and returns its output.
fn fix_undone_after_step_1(id: &str, undo_it: impl FnOnce()) -> std::process::Output {
    let mut child = Command::new(netlens_bin())
        .args(["fix", id, "--yes"])
        .env("NETLENS_TEST_PAUSE_AFTER_STEP", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap() == 0 {
            panic!("fix never reached its pause point:\n{seen}");
        }
        seen.push_str(&line);
        if line.contains("pausing (test hook)") {
            break;
        }
    }
    // The line is printed just before the process stops itself; wait for the stop.
    let stat = format!("/proc/{}/stat", child.id());
    let t0 = Instant::now();
    while !std::fs::read_to_string(&stat)
        .unwrap_or_default()
        .rsplit(") ")
        .next()
        .is_some_and(|rest| rest.starts_with('T'))
    {
        assert!(t0.elapsed() < Duration::from_secs(20), "fix never stopped");
        std::thread::sleep(Duration::from_millis(5));
    }
    undo_it();
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGCONT).unwrap();
    stderr.read_to_string(&mut seen).unwrap();
    let mut out = child.wait_with_output().unwrap();
    out.stderr = seen.into_bytes();
    out
}

/// `sysctl -w net.ipv4.ip_forward=0` in `ns`.
fn forwarding_off(ns: &str) {
    sh(&[
        "ip",
        "netns",
        "exec",
        ns,
        "sysctl",
        "-qw",
        "net.ipv4.ip_forward=0",
    ]);
}

fn pings(from: &str, dst: &str) -> bool {
    common::world::try_sh(&["ip", "netns", "exec", from, "ping", "-c1", "-W1", dst])
        .status
        .success()
}

#[test]
fn a_fix_undone_behind_its_back_is_not_reported_as_success() {
    common::world::require_test_hooks();
    in_world(
        "plan_cli::a_fix_undone_behind_its_back_is_not_reported_as_success",
        || {
            let _state = private_state();
            routed_pair();
            assert!(
                !pings("fa", "10.62.0.2"),
                "r forwards although ip_forward=0"
            );
            // Something on the node (an agent, a script) turns forwarding off again between
            // the fix's step and its second look. The test hook stops netlens right after the
            // step, so the undoing happens at exactly that point, not in a race with it.
            let out = fix_undone_after_step_1("forwarding-off:fr", || {
                forwarding_off("fr");
            });
            let (o, e) = text(&out);
            assert_code(&out, 4, "fix whose change was undone");
            assert!(
                e.contains("NOT FIXED: forwarding-off:fr is still there"),
                "{o}\n{e}"
            );
            assert!(!pings("fa", "10.62.0.2"), "the kernel forwards after all");

            // With nothing undoing it, the same fix works: exit 0, the kernel forwards.
            let out = netlens(&["fix", "forwarding-off:fr", "--yes"]);
            assert_code(&out, 0, "fix");
            let (o, e) = text(&out);
            assert!(!e.contains("NOT FIXED"), "{o}\n{e}");
            assert!(o.contains("the doctor finds nothing else"), "{o}");
            assert!(pings("fa", "10.62.0.2"), "fixed, yet a cannot reach b: {o}");
        },
    );
}

/// A plan that deletes a namespace and creates another of the same name reaches the new one
/// with its later steps, not the deleted one its first connection still held open.
#[test]
fn steps_after_a_namespace_is_recreated_reach_the_new_one() {
    in_world(
        "plan_cli::steps_after_a_namespace_is_recreated_reach_the_new_one",
        || {
            let state = private_state();
            let file = write_plan(
                state.path(),
                "p.json",
                json!({"id": "p-recreate", "title": "recreate", "steps": [
                    {"step": "create_ns", "name": "again"},
                    {"step": "set_link_up", "ns": "again", "link": "lo", "up": true},
                    {"step": "delete_ns", "name": "again"},
                    {"step": "create_ns", "name": "again"},
                    {"step": "add_bridge", "ns": "again", "name": "br-again"}
                ]}),
            );
            let out = netlens(&["apply", &file, "--yes"]);
            assert_code(&out, 0, "apply");
            // The kernel's own view of the namespace now under that name.
            let links = sh(&["ip", "-n", "again", "-o", "link", "show"]);
            assert!(links.contains("br-again"), "{links}");
        },
    );
}
