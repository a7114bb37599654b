//! `netlens doctor` that could not read everything (not root) must say the result is
//! incomplete, name what was not read, and exit 3 rather than 0 (docs/doctor.md).

use crate::common;

use std::process::{Command, Output, Stdio};

use common::out::{assert_code, text};
use common::world::{in_world, netlens_bin, sh};

/// Runs the netlens copy in /run/nl-bin as `nobody` with no capabilities.
fn as_nobody(args: &[&str]) -> Output {
    let mut argv = vec![
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--inh-caps=-all",
        "/run/nl-bin/netlens",
    ];
    argv.extend_from_slice(args);
    Command::new("setpriv")
        .args(&argv)
        .stdin(Stdio::null())
        .output()
        .expect("setpriv")
}

/// Text, JSON and `--snapshot` of a saved partial snapshot all say incomplete and exit 3.
#[test]
fn unprivileged_doctor_says_incomplete() {
    in_world(
        "doctor_nonroot::unprivileged_doctor_says_incomplete",
        || {
            sh(&["ip", "netns", "add", "nr-red"]);
            sh(&["ip", "netns", "add", "nr-blue"]);
            // Root's rules, which nobody cannot read.
            sh(&["iptables", "-A", "INPUT", "-s", "10.9.9.9", "-j", "DROP"]);
            std::fs::create_dir_all("/run/nl-bin").unwrap();
            std::fs::copy(netlens_bin(), "/run/nl-bin/netlens").unwrap();

            let out = as_nobody(&["doctor"]);
            assert_code(&out, 3, "doctor as nobody");
            let (stdout, stderr) = text(&out);
            println!("doctor as nobody:\n{stdout}");
            assert!(stdout.contains("incomplete"), "{stdout}");
            // Never "no problems found" alone.
            assert!(
                stdout
                    .lines()
                    .filter(|l| l.contains("no problems found"))
                    .all(|l| l.contains("incomplete")),
                "{stdout}"
            );
            for n in ["nr-red", "nr-blue"] {
                assert!(
                    stdout
                        .lines()
                        .any(|l| l.contains("not read") && l.contains(n)),
                    "{n} not named as unread:\n{stdout}"
                );
            }
            // The host's firewall could not be read either: said, per namespace.
            assert!(
                stdout.lines().any(|l| l.contains("not read")
                    && l.contains("host")
                    && l.contains("firewall")),
                "{stdout}"
            );
            // No raw tool messages on the terminal.
            assert!(!stderr.contains("must be root"), "{stderr}");
            assert!(
                !stderr.to_lowercase().contains("permission denied"),
                "{stderr}"
            );

            let out = as_nobody(&["doctor", "--json"]);
            assert_code(&out, 3, "doctor --json as nobody");
            let (stdout, stderr) = text(&out);
            assert!(!stderr.contains("must be root"), "{stderr}");
            let v: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
            assert_eq!(v["complete"], false, "{v:#}");
            let unread = v["unread"].as_array().expect("unread list");
            for n in ["nr-red", "nr-blue", "host"] {
                assert!(
                    unread.iter().any(|u| u["namespace"] == n),
                    "{n} missing from {unread:?}"
                );
            }
            assert!(v["findings"].is_array(), "{v:#}");

            // A saved partial snapshot: the same verdict, whoever reads it.
            let out = as_nobody(&["snapshot", "--json"]);
            assert_code(&out, 0, "snapshot as nobody");
            std::fs::write("/run/nl-partial.json", &out.stdout).unwrap();
            let out = Command::new(netlens_bin())
                .args(["doctor", "--snapshot", "/run/nl-partial.json"])
                .output()
                .unwrap();
            assert_code(&out, 3, "doctor --snapshot partial");
            let (stdout, _) = text(&out);
            assert!(stdout.contains("incomplete"), "{stdout}");
            assert!(
                stdout
                    .lines()
                    .any(|l| l.contains("not read") && l.contains("nr-red")),
                "{stdout}"
            );

            // Root reads everything: complete, and the JSON says so.
            let out = Command::new(netlens_bin())
                .args(["doctor", "--json"])
                .output()
                .unwrap();
            let (stdout, stderr) = text(&out);
            let v: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
            assert_eq!(v["complete"], true, "{v:#}\n{stderr}");
            assert_eq!(v["unread"].as_array().map(Vec::len), Some(0), "{v:#}");
        },
    );
}
