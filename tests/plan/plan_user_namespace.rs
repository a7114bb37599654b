//! A "container" that is a local unprivileged user's own namespace (`unshare -rn`, rootless
//! tooling): its `/proc/PID/root` is whatever that user made of it, often the host's own `/`.
//! Root netlens must not write there with root's rights: a fix "for pid:N" would rewrite the
//! host's /etc/hosts or /etc/resolv.conf (or any directory the user bind-mounted as its
//! `etc`, such as /run/systemd/resolve).

use crate::common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::plan::private_state;
use common::snap::netlens;
use common::world::{in_world, sh};
use serde_json::json;

/// A copy of /etc over /etc inside the world, so nothing here can touch the machine's.
fn private_etc() {
    sh(&["cp", "-a", "/etc", "/run/world-etc"]);
    sh(&["mount", "--bind", "/run/world-etc", "/etc"]);
}

/// `nobody` in a user and network namespace of its own, sharing the host's root.
fn users_namespace() -> Child {
    let child = Command::new("setpriv")
        .args([
            "--reuid",
            "65534",
            "--regid",
            "65534",
            "--clear-groups",
            "unshare",
            "-rn",
            "sleep",
            "30",
        ])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let ours = std::fs::read_link("/proc/self/ns/net").unwrap();
    let t0 = Instant::now();
    while std::fs::read_link(format!("/proc/{}/ns/net", child.id())).ok() == Some(ours.clone()) {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "unshare -rn never ran"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

#[test]
fn a_users_namespace_root_is_not_written_as_root() {
    in_world(
        "plan_user_namespace::a_users_namespace_root_is_not_written_as_root",
        || {
            let state = private_state();
            private_etc();
            let before = std::fs::read_to_string("/etc/hosts").unwrap();
            let mut user = users_namespace();
            let pid = user.id();
            let plan = json!({"id": "p-user", "title": "hosts", "steps": [
                {"step": "write_file", "ns": format!("pid:{pid}"),
                 "path": format!("/proc/{pid}/root/etc/hosts"), "content": "6.6.6.6 evil\n"}
            ]});
            let file = state.path().join("p.json");
            std::fs::write(&file, plan.to_string()).unwrap();
            let out = netlens(&["apply", file.to_str().unwrap(), "--yes"]);
            let after = std::fs::read_to_string("/etc/hosts").unwrap();
            user.kill().unwrap();
            user.wait().unwrap();
            assert_eq!(
                after,
                before,
                "the host's /etc/hosts was rewritten through a user's namespace: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_ne!(out.status.code(), Some(0));
            assert!(
                !Path::new("/etc")
                    .read_dir()
                    .unwrap()
                    .flatten()
                    .any(|e| e.file_name().to_string_lossy().contains("netlens")),
                "a temporary file was left in /etc"
            );
        },
    );
}

/// `nobody` in user, mount and network namespaces of its own, with a tmpfs over its `/etc`
/// (after `setup`, a shell snippet run there) and `/run/secret` — a file only root may read —
/// bind-mounted as its `etc/hosts`. Returns the process and that file's `/proc/PID/root` path.
fn user_with_bound_secret(setup: &str) -> (Child, String) {
    std::fs::write("/run/secret", "10.0.0.1 secret-only-root-reads\n").unwrap();
    sh(&["chmod", "600", "/run/secret"]);
    let script = format!(
        "mount -t tmpfs t /etc && {setup} touch /etc/hosts && \
         mount --bind /run/secret /etc/hosts && exec sleep 30"
    );
    let user = Command::new("setpriv")
        .args([
            "--reuid",
            "65534",
            "--regid",
            "65534",
            "--clear-groups",
            "unshare",
            "-rmn",
            "sh",
            "-c",
            &script,
        ])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let path = format!("/proc/{}/root/etc/hosts", user.id());
    let t0 = Instant::now();
    while std::fs::read_to_string(&path).map_or(true, |t| !t.contains("secret")) {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "the bind mount never appeared"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    (user, path)
}

/// The same user, with a mount namespace of its own: a tmpfs over `/etc` and a file only root
/// may read bind-mounted as its `etc/hosts`. What a fix reads there to put back on undo (and
/// journals) must be what that user could read, not the secret.
#[test]
fn a_users_namespace_root_is_not_read_as_root() {
    in_world(
        "plan_user_namespace::a_users_namespace_root_is_not_read_as_root",
        || {
            let _state = private_state();
            let (mut user, path) = user_with_bound_secret("");
            let read = netlens::rootfs::read_current(&path, None);
            user.kill().unwrap();
            user.wait().unwrap();
            assert!(
                !format!("{read:?}").contains("secret-only-root-reads"),
                "root read a root-only file through a user's namespace: {read:?}"
            );
        },
    );
}

/// The snapshot reads a user-owned namespace's root with that user's rights too: a root-only
/// file they bind-mounted as their `etc/hosts` never reaches the snapshot (whose JSON keeps a
/// file's raw text, and is saved into incident notes).
#[test]
fn a_users_namespace_root_is_not_read_into_the_snapshot() {
    in_world(
        "plan_user_namespace::a_users_namespace_root_is_not_read_into_the_snapshot",
        || {
            let (mut user, _path) =
                user_with_bound_secret("echo 'nameserver 10.0.0.53' > /etc/resolv.conf &&");
            let out = netlens(&["snapshot", "--json", "--no-firewall"]);
            let text = netlens(&["snapshot", "--no-firewall"]);
            user.kill().unwrap();
            user.wait().unwrap();
            let json = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                !json.contains("secret-only-root-reads"),
                "root read a root-only file into the snapshot through a user's namespace"
            );
            assert!(!String::from_utf8_lossy(&text.stdout).contains("secret-only-root-reads"));
            // What the user may read is still read: their own resolv.conf.
            assert!(
                json.contains("10.0.0.53"),
                "the user's own resolv.conf was not read"
            );
        },
    );
}

/// A process of root's own that shares the host's root (`unshare -n`, or a host process that
/// took the pid of a container that exited within a confirm window): `/proc/PID/root/etc/hosts`
/// is the host's `/etc/hosts`, which the preview does not say. Refused, naming why.
#[test]
fn a_proc_root_that_is_the_hosts_own_is_refused() {
    in_world(
        "plan_user_namespace::a_proc_root_that_is_the_hosts_own_is_refused",
        || {
            let state = private_state();
            private_etc();
            let before = std::fs::read_to_string("/etc/hosts").unwrap();
            let mut sleeper = Command::new("unshare")
                .args(["-n", "sleep", "30"])
                .stdin(Stdio::null())
                .spawn()
                .unwrap();
            let pid = sleeper.id();
            let ours = std::fs::read_link("/proc/self/ns/net").unwrap();
            let t0 = Instant::now();
            while std::fs::read_link(format!("/proc/{pid}/ns/net")).ok() == Some(ours.clone()) {
                assert!(
                    t0.elapsed() < Duration::from_secs(5),
                    "unshare -n never ran"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
            let plan = json!({"id": "p-slash", "title": "hosts", "steps": [
                {"step": "write_file", "ns": format!("pid:{pid}"),
                 "path": format!("/proc/{pid}/root/etc/hosts"), "content": "6.6.6.6 evil\n"}
            ]});
            let file = state.path().join("p.json");
            std::fs::write(&file, plan.to_string()).unwrap();
            let out = netlens(&["apply", file.to_str().unwrap(), "--yes"]);
            sleeper.kill().unwrap();
            sleeper.wait().unwrap();
            assert_eq!(std::fs::read_to_string("/etc/hosts").unwrap(), before);
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains("the host's own root"), "{err}");
        },
    );
}
