//! The `--confirm-within` watchdog when the netlens binary changes under it: a package upgrade
//! replacing `/usr/bin/netlens` while an apply waits for the state lock must not make the
//! apply fail to start its watchdog (it rolled the change back and exited 1, because the
//! running executable's path then reads `… (deleted)`).

use crate::common;

use std::fs::{File, OpenOptions};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::out::{assert_code, text};
use common::plan::{mtu_plan, private_state, write_plan};
use common::snap::netlens;
use common::world::{in_world, netlens_bin, sh};
use nix::fcntl::{Flock, FlockArg};
use serde_json::Value;

fn mtu() -> u64 {
    let v: Value = serde_json::from_str(&sh(&["ip", "-j", "link", "show", "d0"])).unwrap();
    v[0]["mtu"].as_u64().unwrap()
}

fn state_of(id: &str) -> String {
    let out = netlens(&["journal", "--json"]);
    assert_code(&out, 0, "journal --json");
    let all: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    all.iter().find(|p| p["id"] == id).expect("plan journaled")["state"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn watchdog_starts_after_the_binary_was_replaced() {
    in_world(
        "plan_watchdog::watchdog_starts_after_the_binary_was_replaced",
        || {
            let state = private_state();
            sh(&[
                "ip", "link", "add", "d0", "type", "veth", "peer", "name", "d1",
            ]);
            // A first plan creates the state dir (and its lock file) as netlens makes it.
            let first = write_plan(state.path(), "1.json", mtu_plan("p-first", 1400));
            assert_code(&netlens(&["apply", &first, "--yes"]), 0, "first apply");

            // The test holds the state lock, so the apply below waits before it does anything.
            let lock_file: File = OpenOptions::new()
                .read(true)
                .open(state.path().join("state/lock"))
                .expect("state lock file");
            let held = Flock::lock(lock_file, FlockArg::LockExclusive).unwrap();

            // The "installed" binary: a hard link (no copy of 100 MB), removed as an upgrade
            // would replace it.
            let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
            let installed = dir.path().join("netlens");
            std::fs::hard_link(netlens_bin(), &installed).unwrap();
            let second = write_plan(state.path(), "2.json", mtu_plan("p-confirm", 1300));
            let child = Command::new(&installed)
                .args(["apply", &second, "--yes", "--confirm-within", "3"])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            std::thread::sleep(Duration::from_millis(1500));
            assert_eq!(mtu(), 1400, "the apply waits for the lock");
            std::fs::remove_file(&installed).unwrap();
            drop(held);

            let out = child.wait_with_output().unwrap();
            assert_code(&out, 0, "apply --confirm-within from a replaced binary");
            assert_eq!(mtu(), 1300);
            assert_eq!(state_of("p-confirm"), "awaiting_confirm");
            let listing = netlens(&["journal"]);
            assert!(
                text(&listing).0.contains("watchdog running"),
                "{}",
                text(&listing).0
            );
            // And it does its work: rolled back at the deadline.
            let t0 = Instant::now();
            while state_of("p-confirm") != "rolled_back" {
                assert!(t0.elapsed() < Duration::from_secs(10), "never rolled back");
                std::thread::sleep(Duration::from_millis(200));
            }
            assert_eq!(mtu(), 1400);
        },
    );
}
