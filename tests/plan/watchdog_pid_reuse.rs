//! The confirm watchdog is known by its pid, and a pid is only a number: a container process
//! that gets a dead watchdog's pid, with `--if-unconfirmed ID` in its arguments (a container
//! chooses its own argv), must not pass for the watchdog — or `journal` says an expired,
//! unconfirmed change is being rolled back when nobody is rolling it back.

use crate::common;

use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::time::Duration;

use common::container::Scratch;
use common::out::both;
use common::snap::netlens;
use common::world::{in_world, sh};

/// The pid of the process whose arguments hold `--if-unconfirmed`.
fn watchdog_pid() -> u32 {
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if cmd.split(|b| *b == 0).any(|a| a == b"--if-unconfirmed") {
            return pid;
        }
    }
    panic!("no watchdog running");
}

/// A "container" process: chroot'd into `root` (which sees the host's /usr, read-only use
/// only), arguments chosen to look like the watchdog of plan `id`.
/// It is given pid `pid` (free, through the world's own `ns_last_pid`).
fn impostor(root: &std::path::Path, id: &str, pid: u32) -> Child {
    std::fs::create_dir_all(root.join("usr")).unwrap();
    sh(&[
        "mount",
        "--bind",
        "/usr",
        root.join("usr").to_str().unwrap(),
    ]);
    for l in ["bin", "lib", "lib64"] {
        std::os::unix::fs::symlink(format!("usr/{l}"), root.join(l)).unwrap();
    }
    let root = root.to_path_buf();
    std::fs::write("/proc/sys/kernel/ns_last_pid", (pid - 1).to_string()).unwrap();
    let mut cmd = Command::new("/bin/sh");
    cmd.args([
        "-c",
        "sleep 600; :",
        "netlens",
        "undo",
        "--if-unconfirmed",
        id,
    ]);
    // SAFETY: chroot and chdir are async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            std::os::unix::fs::chroot(&root)?;
            std::env::set_current_dir("/")
        });
    }
    cmd.spawn().unwrap()
}

#[test]
fn a_process_that_took_the_watchdogs_pid_is_not_the_watchdog() {
    in_world(
        "watchdog_pid_reuse::a_process_that_took_the_watchdogs_pid_is_not_the_watchdog",
        || {
            let _state = common::plan::private_state();
            let dir = tempfile::tempdir().unwrap();
            let plan = dir.path().join("plan.json");
            let p = serde_json::json!({
                "title": "t",
                "steps": [{"step": "add_bridge", "ns": "host", "name": "br-wd"}],
            });
            std::fs::write(&plan, p.to_string()).unwrap();
            let run = netlens(&[
                "apply",
                plan.to_str().unwrap(),
                "--yes",
                "--confirm-within",
                "2",
            ]);
            assert!(run.status.success(), "{}", both(&run));
            let id = String::from_utf8_lossy(&run.stdout)
                .split_whitespace()
                .find(|w| w.len() > 15 && w.contains('T') && w.contains('-'))
                .map(|w| w.trim_end_matches([':', '.', ',']).to_string())
                .expect("plan id in the output");

            // The watchdog dies (OOM, a kill); a container process takes its pid.
            let w = watchdog_pid();
            unsafe {
                libc::kill(w as i32, libc::SIGKILL);
                libc::waitpid(w as i32, std::ptr::null_mut(), 0);
            }
            let scratch = Scratch::new();
            let mut fake = impostor(&scratch.dir.join("c"), &id, w);
            assert_eq!(fake.id(), w, "the pid was not reused");
            std::thread::sleep(Duration::from_millis(3500));

            let run = netlens(&["journal"]);
            assert!(
                both(&run).contains("watchdog not running"),
                "journal: {}",
                both(&run)
            );
            let run = netlens(&["confirm", &id]);
            assert!(
                both(&run).contains("rolled back"),
                "confirm: {}",
                both(&run)
            );
            let links = sh(&["ip", "-o", "link", "show"]);
            assert!(
                !links.contains("br-wd"),
                "the expired change is still applied"
            );
            fake.kill().unwrap();
            fake.wait().unwrap();
        },
    );
}
