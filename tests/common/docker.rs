//! A real dockerd (Debian's docker.io 20.10) inside a test world, offline: its state on tmpfs
//! mounts that die with the world, the vfs storage driver, and the busybox image of
//! [`super::podman`]. dockerd runs as a child of the world and dies with it.
//!
//! Call inside a world (see `world.rs`).

use std::process::{Child, Command, Stdio};

use serde_json::Value;

use super::container::Scratch;
use super::world::{private_etc_netns, sh, try_sh};

const STATE_DIRS: &[&str] = &["/etc/docker", "/var/lib/docker", "/var/lib/containerd"];

/// A running dockerd; killed on drop.
pub struct Docker {
    daemon: Child,
    _scratch: Scratch,
}

impl Docker {
    pub fn setup() -> Docker {
        for tool in ["dockerd", "containerd", "docker", "runc", "busybox", "curl"] {
            assert!(
                try_sh(&["sh", "-c", &format!("command -v {tool}")])
                    .status
                    .success(),
                "{tool} is missing: run tests/setup.sh"
            );
        }
        private_etc_netns(&[]);
        super::podman::private_var_lib();
        for d in STATE_DIRS {
            sh(&["mkdir", "-p", d]);
            sh(&["mount", "-t", "tmpfs", "-o", "size=1g", "docker-state", d]);
        }
        let scratch = Scratch::new();
        let log = std::fs::File::create(scratch.dir.join("dockerd.log")).unwrap();
        let daemon = Command::new("dockerd")
            .args(["--storage-driver=vfs", "--iptables=true"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start dockerd");
        let up = (0..100).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(200));
            try_sh(&["docker", "info"]).status.success()
        });
        assert!(
            up,
            "dockerd did not start: {}",
            std::fs::read_to_string(scratch.dir.join("dockerd.log")).unwrap_or_default()
        );
        super::podman::import_busybox_with(&scratch.dir, "docker");
        Docker {
            daemon,
            _scratch: scratch,
        }
    }
}

impl Drop for Docker {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

/// `docker ARGS...`, which must succeed; its stdout.
pub fn docker(args: &[&str]) -> String {
    let mut argv = vec!["docker"];
    argv.extend_from_slice(args);
    sh(&argv)
}

/// `docker inspect NAME` (the first element).
pub fn inspect(name: &str) -> Value {
    let v: Value = serde_json::from_str(&docker(&["inspect", name])).expect("inspect JSON");
    v[0].clone()
}
