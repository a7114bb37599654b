//! A container owns its namespace's rule set: millions of rules make `iptables-save` print
//! hundreds of megabytes, and a wedged `nft` never finishes. netlens kept all of a listing in
//! memory and waited for the tool forever, so one namespace could exhaust root netlens or
//! stall every snapshot of the node. Listing tools now get an output cap and a time limit;
//! the namespace says its listing was cut. Stand-ins for the tools (found through `PATH`, as
//! the real ones are) play the huge and the wedged rule set.

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::world::{in_world, netlens_bin, sh};
use netlens::model::Snapshot;

/// Address space for netlens: a snapshot of a few namespaces needs far less, an endless
/// listing kept whole far more.
const MEMORY_LIMIT: u64 = 1 << 30;

fn tool(dir: &std::path::Path, name: &str, body: &str) {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn endless_or_wedged_rule_listings_are_cut() {
    common::world::require_test_hooks();
    in_world(
        "hostile_firewall_size::endless_or_wedged_rule_listings_are_cut",
        || {
            sh(&["ip", "netns", "add", "big-rules"]);
            sh(&[
                "ip",
                "netns",
                "exec",
                "big-rules",
                "iptables",
                "-A",
                "INPUT",
                "-j",
                "ACCEPT",
            ]);
            sh(&[
                "ip",
                "netns",
                "exec",
                "big-rules",
                "nft",
                "add",
                "table",
                "inet",
                "t",
            ]);
            let fake = tempfile::tempdir().unwrap();
            for name in [
                "iptables-save",
                "iptables-nft-save",
                "iptables-legacy-save",
                "ip6tables-save",
                "ip6tables-nft-save",
                "ip6tables-legacy-save",
            ] {
                tool(
                    fake.path(),
                    name,
                    "echo '*filter'; exec yes -- '-A INPUT -s 10.0.0.1/32 -j ACCEPT'",
                );
            }
            tool(fake.path(), "nft", "exec sleep 1000");
            let path = format!(
                "{}:{}",
                fake.path().display(),
                std::env::var("PATH").unwrap_or_default()
            );
            let mut cmd = Command::new(netlens_bin());
            cmd.args(["snapshot", "--json", "--ns", "big-rules"])
                .env("PATH", path)
                // The same code path with smaller limits (the real ones: 32 MiB, 15 s), so the
                // test does not parse 32 MiB of rules in a debug build.
                .env("NETLENS_TEST_LISTING_CAP", "1048576")
                .env("NETLENS_TEST_LISTING_SECS", "3")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            // SAFETY: only setrlimit between fork and exec.
            unsafe {
                cmd.pre_exec(|| {
                    let lim = libc::rlimit {
                        rlim_cur: MEMORY_LIMIT,
                        rlim_max: MEMORY_LIMIT,
                    };
                    if libc::setrlimit(libc::RLIMIT_AS, &lim) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
            let started = Instant::now();
            let out = cmd.output().expect("run netlens");
            let took = started.elapsed();
            assert!(
                out.status.success(),
                "netlens failed ({:?}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(took < Duration::from_secs(30), "the snapshot took {took:?}");
            let snap: Snapshot = serde_json::from_slice(&out.stdout).expect("snapshot JSON");
            let ns = snap
                .namespaces
                .iter()
                .find(|n| n.name == "big-rules")
                .expect("big-rules");
            let errors = &ns.firewall.as_ref().expect("firewall").errors;
            assert!(
                errors.iter().any(|e| e.contains("listing cut at")),
                "{errors:?}"
            );
            assert!(
                errors.iter().any(|e| e.contains("still running after")),
                "{errors:?}"
            );
        },
    );
}
