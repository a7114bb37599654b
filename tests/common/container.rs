//! A hostile "container" for tests: a root directory on a private tmpfs, and a process
//! chroot'd into it that holds its own network namespace (or joins a bind-mounted one), so
//! netlens finds it and reads its files through `/proc/PID/root`. No image or busybox: the
//! process is a fork of the test that never execs, only sleeps.
//!
//! Call inside a world (see `world.rs`): the tmpfs mount and the process die with it, and
//! `Drop` kills the process and unmounts the tmpfs earlier.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::world::sh;

/// A directory with a tmpfs of its own (device nodes allowed), removed on drop.
pub struct Scratch {
    pub dir: PathBuf,
    _tmp: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Scratch {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().to_path_buf();
        sh(&[
            "mount",
            "-t",
            "tmpfs",
            "-o",
            "size=4g,mode=755",
            "scratch",
            dir.to_str().unwrap(),
        ]);
        Scratch { dir, _tmp: tmp }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // Unmount first, so the TempDir removes an empty directory on the real /tmp.
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.dir)
            .status();
    }
}

/// A process chroot'd into `root`, in a network namespace of its own or in `netns` (a
/// `/run/netns/NAME` file).
pub struct Container {
    pub pid: u32,
}

impl Container {
    pub fn start(root: &Path, netns: Option<&Path>) -> Container {
        let root_c = CString::new(root.as_os_str().as_bytes()).unwrap();
        let slash = CString::new("/").unwrap();
        let ns_fd = netns.map(|p| {
            let c = CString::new(p.as_os_str().as_bytes()).unwrap();
            // SAFETY: plain open of a NUL-terminated path.
            let fd = unsafe { libc::open(c.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
            assert!(fd >= 0, "cannot open {}", p.display());
            fd
        });
        // SAFETY: the child only makes raw syscalls (async-signal-safe) and never returns.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            unsafe {
                let ok = match ns_fd {
                    Some(fd) => libc::setns(fd, libc::CLONE_NEWNET) == 0,
                    None => libc::unshare(libc::CLONE_NEWNET) == 0,
                };
                if !ok || libc::chroot(root_c.as_ptr()) != 0 || libc::chdir(slash.as_ptr()) != 0 {
                    libc::_exit(1);
                }
                loop {
                    libc::pause();
                }
            }
        }
        if let Some(fd) = ns_fd {
            unsafe { libc::close(fd) };
        }
        let c = Container { pid: pid as u32 };
        // Wait until the child is in its new root (its /proc/PID/root no longer is ours).
        let ours = std::fs::metadata("/").unwrap();
        for _ in 0..200 {
            if let Ok(m) = std::fs::metadata(format!("/proc/{pid}/root")) {
                use std::os::unix::fs::MetadataExt;
                if (m.dev(), m.ino()) != (ours.dev(), ours.ino()) {
                    return c;
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("container process {pid} never entered {}", root.display());
    }

    pub fn name(&self) -> String {
        format!("pid:{}", self.pid)
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        unsafe {
            libc::kill(self.pid as i32, libc::SIGKILL);
            libc::waitpid(self.pid as i32, std::ptr::null_mut(), 0);
        }
    }
}

/// Makes `root/etc` and writes `files` (name, content) into it.
pub fn etc(root: &Path, files: &[(&str, &str)]) {
    std::fs::create_dir_all(root.join("etc")).unwrap();
    for (name, text) in files {
        std::fs::write(root.join("etc").join(name), text).unwrap();
    }
}

/// Gives the world an `/etc` of its own, so a test can plant the host's resolver files, and a
/// write that escapes to the host's `/etc/hosts` lands on a tmpfs that dies with the world, not
/// on the machine: the real `/etc` is bound under `/run` (the world's tmpfs) and every entry of
/// it but `files` (name, content) is linked from a fresh tmpfs mounted on `/etc`.
pub fn private_etc(files: &[(&str, &str)]) {
    std::fs::create_dir_all("/run/etc.real").unwrap();
    sh(&["mount", "--bind", "/etc", "/run/etc.real"]);
    sh(&["mount", "-t", "tmpfs", "-o", "size=1m", "world-etc", "/etc"]);
    for entry in std::fs::read_dir("/run/etc.real").unwrap().flatten() {
        let name = entry.file_name();
        if files.iter().any(|(f, _)| name == *f) {
            continue;
        }
        std::os::unix::fs::symlink(
            Path::new("/run/etc.real").join(&name),
            Path::new("/etc").join(&name),
        )
        .unwrap();
    }
    for (name, text) in files {
        std::fs::write(Path::new("/etc").join(name), text).unwrap();
    }
}
