//! Races a container can win between the moment a plan names its root and the moment netlens
//! writes there: a `write_file` step names a container's file as `/proc/PID/root/etc/NAME`,
//! and a pid is only a number. When the container exits, the number can come back as any
//! process — one of the host's, whose root is the host's own `/` — and the step, replayed by
//! `apply PLAN.json` or by `undo` of a journaled plan, must not turn into a write of the
//! host's `/etc/hosts` with text the container chose.

use crate::common;

use std::path::Path;
use std::process::{Child, Command};

use common::container::{etc, private_etc, Container, Scratch};
use common::out::both;
use common::snap::netlens;
use common::world::in_world;

const HOST_HOSTS: &str = "127.0.0.1 world-host\n";

/// A process of the host (our root), holding a network namespace of its own: what a reused
/// container pid can turn into.
fn host_process() -> Child {
    let child = Command::new("unshare")
        .args(["--net", "sleep", "600"])
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    child
}

fn write_plan(dir: &Path, ns: &str, path: &str, content: &str) -> std::path::PathBuf {
    let plan = serde_json::json!({
        "title": "t",
        "steps": [{"step": "write_file", "ns": ns, "path": path, "content": content}],
    });
    let p = dir.join("plan.json");
    std::fs::write(&p, plan.to_string()).unwrap();
    p
}

#[test]
fn a_pid_whose_root_is_the_hosts_is_never_written_through() {
    in_world(
        "rootfs_races::a_pid_whose_root_is_the_hosts_is_never_written_through",
        || {
            let _state = common::plan::private_state();
            private_etc(&[("hosts", HOST_HOSTS)]);
            let dir = tempfile::tempdir().unwrap();
            let mut holder = host_process();
            let pid = holder.id();
            let plan = write_plan(
                dir.path(),
                &format!("pid:{pid}"),
                &format!("/proc/{pid}/root/etc/hosts"),
                "10.66.66.66 chosen-by-the-container\n",
            );
            let run = netlens(&["apply", plan.to_str().unwrap(), "--yes"]);
            assert!(!run.status.success(), "{}", both(&run));
            assert!(both(&run).contains("host's own root"), "{}", both(&run));
            assert_eq!(std::fs::read_to_string("/etc/hosts").unwrap(), HOST_HOSTS);
            holder.kill().unwrap();
            holder.wait().unwrap();
        },
    );
}

#[test]
fn undo_after_the_containers_pid_is_reused_never_writes_the_host() {
    in_world(
        "rootfs_races::undo_after_the_containers_pid_is_reused_never_writes_the_host",
        || {
            let _state = common::plan::private_state();
            private_etc(&[("hosts", HOST_HOSTS)]);
            let dir = tempfile::tempdir().unwrap();
            let scratch = Scratch::new();
            let root = scratch.dir.join("c");
            // What the container planted: undo puts it back.
            etc(&root, &[("hosts", "10.66.66.66 chosen-by-the-container\n")]);
            let c = Container::start(&root, None);
            let pid = c.pid;
            let plan = write_plan(
                dir.path(),
                &c.name(),
                &format!("/proc/{pid}/root/etc/hosts"),
                "127.0.0.1 fixed\n",
            );
            let run = netlens(&["apply", plan.to_str().unwrap(), "--yes"]);
            assert!(run.status.success(), "{}", both(&run));

            // The container exits and its pid comes back as a host process (set through the
            // world's own pid namespace: ns_last_pid is per pid namespace).
            drop(c);
            std::fs::write("/proc/sys/kernel/ns_last_pid", (pid - 1).to_string()).unwrap();
            let mut holder = host_process();
            assert_eq!(holder.id(), pid, "the pid was not reused");

            // Even forced (the engineer accepts losing later edits of *that* file), undo never
            // writes the container's text into the host's file.
            let run = netlens(&["undo", "--yes", "--force"]);
            assert!(!run.status.success(), "{}", both(&run));
            assert_eq!(std::fs::read_to_string("/etc/hosts").unwrap(), HOST_HOSTS);
            holder.kill().unwrap();
            holder.wait().unwrap();
        },
    );
}

#[test]
fn a_rewritten_file_never_carries_set_id_bits() {
    in_world(
        "rootfs_races::a_rewritten_file_never_carries_set_id_bits",
        || {
            use std::os::unix::fs::{MetadataExt, PermissionsExt};
            let _state = common::plan::private_state();
            let dir = tempfile::tempdir().unwrap();
            let scratch = Scratch::new();
            let root = scratch.dir.join("c");
            etc(&root, &[("hosts", "127.0.0.1 localhost\n")]);
            // Planted set-uid, set-gid and sticky on a root-owned file: a resolver file is
            // never executable-with-privilege, whatever the container made of it.
            let hosts = root.join("etc/hosts");
            std::fs::set_permissions(&hosts, std::fs::Permissions::from_mode(0o7755)).unwrap();
            let c = Container::start(&root, None);
            let plan = write_plan(
                dir.path(),
                &c.name(),
                &format!("/proc/{}/root/etc/hosts", c.pid),
                "127.0.0.1 localhost fixed\n",
            );
            let run = netlens(&["apply", plan.to_str().unwrap(), "--yes"]);
            assert!(run.status.success(), "{}", both(&run));
            let meta = std::fs::metadata(&hosts).unwrap();
            assert_eq!(meta.mode() & 0o7777, 0o755, "{:o}", meta.mode());
            let run = netlens(&["undo", "--yes"]);
            assert!(run.status.success(), "{}", both(&run));
            assert_eq!(
                std::fs::read_to_string(&hosts).unwrap(),
                "127.0.0.1 localhost\n"
            );
            let meta = std::fs::metadata(&hosts).unwrap();
            assert_eq!(meta.mode() & 0o7777, 0o755, "{:o}", meta.mode());
        },
    );
}

#[test]
fn undo_never_writes_one_containers_text_into_the_container_that_got_its_pid() {
    in_world(
        "rootfs_races::undo_never_writes_one_containers_text_into_the_container_that_got_its_pid",
        || {
            let _state = common::plan::private_state();
            let dir = tempfile::tempdir().unwrap();
            let scratch = Scratch::new();
            let (root_a, root_b) = (scratch.dir.join("a"), scratch.dir.join("b"));
            // A's own hosts file hijacks a name: undo puts it back — into A only.
            let hijack = "10.66.66.66 bank.example\n";
            etc(&root_a, &[("hosts", hijack)]);
            etc(&root_b, &[("hosts", "127.0.0.1 b\n")]);
            let a = Container::start(&root_a, None);
            let pid = a.pid;
            let plan = write_plan(
                dir.path(),
                &a.name(),
                &format!("/proc/{pid}/root/etc/hosts"),
                "127.0.0.1 fixed\n",
            );
            let run = netlens(&["apply", plan.to_str().unwrap(), "--yes"]);
            assert!(run.status.success(), "{}", both(&run));

            // A exits; B, another container, starts with A's pid.
            drop(a);
            std::fs::write("/proc/sys/kernel/ns_last_pid", (pid - 1).to_string()).unwrap();
            let b = Container::start(&root_b, None);
            assert_eq!(b.pid, pid, "the pid was not reused");

            let run = netlens(&["undo", "--yes", "--force"]);
            assert!(!run.status.success(), "{}", both(&run));
            assert!(both(&run).contains("reused"), "{}", both(&run));
            assert_eq!(
                std::fs::read_to_string(root_b.join("etc/hosts")).unwrap(),
                "127.0.0.1 b\n",
                "A's hosts file was written into B"
            );
        },
    );
}
