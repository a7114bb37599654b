//! Helpers for plan tests: a private state directory, snapshots compared the way `netlens diff`
//! compares them (counters and neighbour aging ignored), plans from JSON.
//!
//! Everything here is meant to be called inside a world (see `world.rs`).

use std::path::PathBuf;

use netlens::collect::snapshot::{snapshot, Options};
use netlens::model::diff::diff;
use netlens::model::Snapshot;
use netlens::plan::{Plan, Step};

/// Points the journal and sysctl.d at a fresh temporary directory (the world mounts tmpfs on
/// /run only; /var/lib and /etc are the machine's), for the library in this process and for
/// the netlens binaries the test starts. Keep the returned guard alive.
pub fn private_state() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary state dir");
    let (state, sysctl) = (dir.path().join("state"), dir.path().join("sysctl.d"));
    netlens::env::install(netlens::env::Settings {
        state_dir: Some(state.clone()),
        sysctl_dir: Some(sysctl.clone()),
        ..(*netlens::env::current()).clone()
    });
    // The binaries read it from their environment. Set before any thread that reads it
    // exists; tests in a world run one at a time.
    std::env::set_var("NETLENS_STATE_DIR", state);
    std::env::set_var("NETLENS_SYSCTL_DIR", sysctl);
    dir
}

pub fn sysctl_dir() -> PathBuf {
    (netlens::env::current().sysctl_dir.clone()).expect("private_state() first")
}

/// A settled snapshot: a freshly changed link can take a moment to report its final
/// operational state.
pub fn snap() -> Snapshot {
    std::thread::sleep(std::time::Duration::from_millis(150));
    snapshot(&Options::default()).expect("snapshot")
}

/// Differences between two snapshots, one line each.
pub fn changes(before: &Snapshot, after: &Snapshot) -> Vec<String> {
    diff(before, after)
        .changes
        .iter()
        .map(|c| {
            format!(
                "{} {:?} {} {} ({:?} -> {:?})",
                c.namespace,
                c.kind,
                c.object.as_str(),
                c.key,
                c.before,
                c.after
            )
        })
        .collect()
}

pub fn assert_same(what: &str, before: &Snapshot, after: &Snapshot) {
    let d = changes(before, after);
    assert!(
        d.is_empty(),
        "{what}: the network differs:\n  {}",
        d.join("\n  ")
    );
}

pub fn plan(title: &str, steps: serde_json::Value) -> Plan {
    let steps: Vec<Step> = serde_json::from_value(steps).expect("steps parse");
    Plan::new(title, steps)
}

/// Writes `plan` as `DIR/NAME` and returns the path, for `netlens apply PATH`.
pub fn write_plan(dir: &std::path::Path, name: &str, plan: serde_json::Value) -> String {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string_pretty(&plan).unwrap()).unwrap();
    path.display().to_string()
}

/// A one-step plan setting `d0`'s MTU in the host namespace.
pub fn mtu_plan(id: &str, mtu: u32) -> serde_json::Value {
    serde_json::json!({"id": id, "title": format!("mtu {mtu}"), "steps": [
        {"step": "set_mtu", "ns": "host", "link": "d0", "mtu": mtu}
    ]})
}
