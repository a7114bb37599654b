//! Many namespaces under a low open-file limit: netlens raises its soft limit itself.

use crate::common;

use common::world::{in_world, sh};
use netlens::model::{NsStatus, Snapshot};

/// `netlens snapshot --json` under `prlimit --nofile=SOFT:HARD`.
fn snapshot_with_nofile(limits: &str) -> Snapshot {
    let out = std::process::Command::new("prlimit")
        .arg(format!("--nofile={limits}"))
        .arg("--")
        .arg(common::world::netlens_bin())
        .args(["snapshot", "--json"])
        .output()
        .expect("prlimit");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

#[test]
fn three_hundred_namespaces_under_a_256_fd_soft_limit() {
    in_world(
        "snapshot_scale::three_hundred_namespaces_under_a_256_fd_soft_limit",
        || {
            let batch: String = (0..300).map(|i| format!("netns add scale{i}\n")).collect();
            let file = std::env::temp_dir().join("netlens-scale.batch");
            std::fs::write(&file, batch).expect("write batch");
            sh(&["ip", "-batch", file.to_str().expect("path")]);
            // Two descriptors per namespace are held until pairing: 600 > 256.
            let snap = snapshot_with_nofile("256:4096");
            let scale: Vec<_> = snap
                .namespaces
                .iter()
                .filter(|n| n.name.starts_with("scale"))
                .collect();
            assert_eq!(scale.len(), 300);
            for ns in scale {
                assert_eq!(ns.status, NsStatus::Ok, "{}", ns.name);
                assert_eq!(ns.links.len(), 1, "{}: only lo", ns.name);
            }
            assert!(
                snap.warnings.iter().all(|w| !w.contains("open-file limit")),
                "{:?}",
                snap.warnings
            );
            // And with a hard limit too low, it says so instead of failing silently.
            let snap = snapshot_with_nofile("256:256");
            assert!(
                snap.warnings
                    .iter()
                    .any(|w| w.contains("open-file limit 256")),
                "{:?}",
                snap.warnings
            );
        },
    );
}
