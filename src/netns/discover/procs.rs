//! Namespaces held by processes, and the processes inside the namespaces already known.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::{link_inode, Discovery, FoundNs, HIDDEN_NAMESPACES};
use crate::model::{NamespaceKind, ProcessRef};

/// Walks /proc: a process in a known namespace is added to it (host processes only when
/// containerised); one in an unknown namespace makes a `pid:N` namespace.
pub(super) fn add_processes(out: &mut Discovery) {
    // inode -> index into out.namespaces
    let mut by_inode: BTreeMap<u64, usize> = out
        .namespaces
        .iter()
        .enumerate()
        .map(|(i, ns)| (ns.inode, i))
        .collect();
    let mut pids: Vec<u32> = fs::read_dir("/proc")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse().ok()))
                .collect()
        })
        .unwrap_or_default();
    pids.sort_unstable();
    let mut unreadable = 0usize;
    let own_root = statx_id(c"/");
    for pid in pids {
        let ns_link = PathBuf::from(format!("/proc/{pid}/ns/net"));
        let Some(inode) = link_inode(&ns_link) else {
            unreadable += 1;
            continue;
        };
        match by_inode.get(&inode) {
            Some(&idx) => {
                let ns = &mut out.namespaces[idx];
                if ns.kind == NamespaceKind::Host {
                    // Listing every host process would drown the output; containerised ones
                    // sharing the host namespace (hostNetwork pods) are the interesting ones.
                    let p = process_ref(pid);
                    if p.container_id.is_some() {
                        ns.processes.push(p);
                    }
                } else {
                    if ns.processes.is_empty() && ns.kind == NamespaceKind::Process {
                        ns.root = PathBuf::from(format!("/proc/{pid}/root"));
                    }
                    // A bind-mounted namespace (podman's `/run/netns/netns-…`, docker's
                    // `/var/run/docker/netns/…`) holding a process with a root of its own is a
                    // container's: its files are the ones in that root, not the host's (nor
                    // `/etc/netns/NAME`, which only `ip netns exec` reads). Processes that share
                    // our root (`ip netns exec`) keep `/` and the overrides.
                    if ns.kind == NamespaceKind::Named
                        && ns.root == Path::new("/")
                        && own_root.is_some()
                        && root_id(pid).is_some_and(|r| Some(r) != own_root)
                    {
                        ns.root = PathBuf::from(format!("/proc/{pid}/root"));
                        ns.etc_override = None;
                    }
                    ns.processes.push(process_ref(pid));
                    ns.paths.push(ns_link);
                }
            }
            None => {
                by_inode.insert(inode, out.namespaces.len());
                out.namespaces.push(FoundNs {
                    name: format!("pid:{pid}"),
                    kind: NamespaceKind::Process,
                    inode,
                    paths: vec![ns_link],
                    named_paths: Vec::new(),
                    processes: vec![process_ref(pid)],
                    workload: None,
                    etc_override: None,
                    root: PathBuf::from(format!("/proc/{pid}/root")),
                });
            }
        }
    }
    if unreadable > 0 && !nix::unistd::geteuid().is_root() {
        out.warnings.push(format!(
            "{unreadable} processes' {HIDDEN_NAMESPACES}: namespaces held only by them are missing"
        ));
    }
}

/// Container id from a cgroup path: the 64-hex-digit id Docker, containerd, CRI-O and podman
/// put in their scope/directory names (`docker-<id>.scope`, `cri-containerd-<id>.scope`,
/// `/docker/<id>`, `crio-<id>.scope`, `libpod-<id>.scope`).
///
/// The id nearest the root wins: a container with a cgroup namespace of its own (systemd in a
/// container, a delegated subtree) can create cgroups *below* its runtime's scope and name one
/// `docker-<another container's id>.scope`; the runtime's scope above it is the one it cannot
/// choose. (The id decides which leases count as in use and what `--ns ID` selects.)
pub fn container_id_from_cgroup(cgroup: &str) -> Option<String> {
    for line in cgroup.lines() {
        let path = line.splitn(3, ':').nth(2).unwrap_or("");
        for part in path.split('/') {
            let bytes = part.as_bytes();
            let mut run = 0;
            for (i, b) in bytes.iter().enumerate() {
                if b.is_ascii_hexdigit() && !b.is_ascii_uppercase() {
                    run += 1;
                    if run == 64 && bytes.get(i + 1).is_none_or(|n| !n.is_ascii_hexdigit()) {
                        return Some(part[i + 1 - 64..=i].to_string());
                    }
                } else {
                    run = 0;
                }
            }
        }
    }
    None
}

fn process_ref(pid: u32) -> ProcessRef {
    let comm = fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|s| s.trim_end().to_string())
        .unwrap_or_default();
    let container_id = fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .ok()
        .and_then(|c| container_id_from_cgroup(&c));
    ProcessRef {
        pid,
        comm,
        container_id,
    }
}

/// The (device, inode) of a process's root directory, to tell a container's root from ours.
/// `AT_STATX_DONT_SYNC`: the attributes the kernel has cached are enough for these two, and a
/// container's root on a file system that never answers (its own FUSE mount) is not asked.
fn root_id(pid: u32) -> Option<(u64, u64)> {
    let path = std::ffi::CString::new(format!("/proc/{pid}/root")).ok()?;
    statx_id(&path)
}

fn statx_id(path: &std::ffi::CStr) -> Option<(u64, u64)> {
    // SAFETY: statx fills `buf` (plain data) for a NUL-terminated path.
    let mut buf: libc::statx = unsafe { std::mem::zeroed() };
    let r = unsafe {
        libc::statx(
            libc::AT_FDCWD,
            path.as_ptr(),
            libc::AT_STATX_DONT_SYNC,
            libc::STATX_INO,
            &mut buf,
        )
    };
    (r == 0).then(|| {
        let dev = libc::makedev(buf.stx_dev_major, buf.stx_dev_minor);
        (dev, buf.stx_ino)
    })
}

#[cfg(test)]
mod tests {
    use super::container_id_from_cgroup;

    const ID: &str = "3f4c1e2a9b8d7c6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e";

    #[test]
    fn container_ids_from_runtime_cgroup_paths() {
        for path in [
            format!("0::/system.slice/docker-{ID}.scope"),
            format!("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234.slice/cri-containerd-{ID}.scope"),
            format!("12:memory:/docker/{ID}"),
            format!("0::/machine.slice/libpod-{ID}.scope/container"),
            format!("0::/kubepods/besteffort/pod5678/crio-{ID}.scope"),
        ] {
            assert_eq!(container_id_from_cgroup(&path).as_deref(), Some(ID), "{path}");
        }
    }

    #[test]
    fn a_cgroup_a_container_made_below_its_scope_does_not_name_it() {
        let fake = "f".repeat(64);
        for path in [
            format!("0::/system.slice/docker-{ID}.scope/docker-{fake}.scope"),
            format!(
                "0::/kubepods/besteffort/pod5678/crio-{ID}.scope/init.scope/x:docker-{fake}.scope"
            ),
            format!("12:memory:/docker/{ID}/{fake}"),
        ] {
            assert_eq!(
                container_id_from_cgroup(&path).as_deref(),
                Some(ID),
                "{path}"
            );
        }
    }

    #[test]
    fn no_container_id_on_plain_cgroups() {
        for path in [
            "0::/init.scope",
            "0::/user.slice/user-0.slice/session-1.scope",
            "0::/system.slice/ssh.service",
            "",
            // 65 hex digits is not an id.
            "0::/x-3f4c1e2a9b8d7c6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1.scope",
        ] {
            assert_eq!(container_id_from_cgroup(path), None, "{path}");
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,300}") {
            let _ = container_id_from_cgroup(&s);
        }
    }
}
