//! Finding every network namespace of the host, deduplicated by nsfs inode.
//!
//! Three sources: bind mounts under the well-known directories (`ip netns`, CNI runtimes,
//! Docker), `/proc/PID/ns/net` of every process, and PID 1's namespace, which is the host's.
//! Discovery only records where a namespace can be opened; it is opened when collected, so a
//! namespace that disappears in between is reported as gone rather than failing the scan.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::model::{NamespaceKind, NsStatus, ProcessRef};

/// Part of the warning that namespaces held only by unreadable processes are missing; the
/// doctor finds it in a saved snapshot's warnings to call the result incomplete.
pub const HIDDEN_NAMESPACES: &str = "namespaces are not visible without root";
/// Start of the warning that PID 1's namespace could not be identified.
pub const HOST_UNKNOWN: &str = "cannot read /proc/1/ns/net";

/// Directories where namespaces are bind-mounted by name.
pub fn named_dirs() -> Vec<(PathBuf, &'static str)> {
    let mut dirs = Vec::new();
    if let Some(dir) = crate::env::netns_dir_to_scan() {
        dirs.push((PathBuf::from(dir), ""));
    }
    dirs.push((PathBuf::from("/run/netns"), ""));
    dirs.push((PathBuf::from("/var/run/netns"), ""));
    dirs.push((PathBuf::from("/var/run/docker/netns"), "docker:"));
    dirs
}

/// A namespace found on the host, not yet opened.
#[derive(Debug, Clone)]
pub struct FoundNs {
    pub name: String,
    pub kind: NamespaceKind,
    pub inode: u64,
    /// Paths that can be opened to enter it, best first.
    pub paths: Vec<PathBuf>,
    /// Bind-mount paths (reported to the user); process paths are implied by `processes`.
    pub named_paths: Vec<String>,
    pub processes: Vec<ProcessRef>,
    /// The `/etc/netns/NAME` directory `ip netns exec` would overlay, for named namespaces.
    pub etc_override: Option<PathBuf>,
    /// A root directory whose `/etc` processes in it see (`/proc/PID/root`).
    pub root: PathBuf,
}

impl FoundNs {
    /// Whether a user's selector names this namespace: its name, its inode, a bind-mount path,
    /// the pid of a process in it, or a container id prefix (4 characters at least).
    pub fn matches(&self, sel: &str) -> bool {
        self.name == sel
            || self.inode.to_string() == sel
            || self.named_paths.iter().any(|p| p == sel)
            || self.processes.iter().any(|p| {
                p.pid.to_string() == sel
                    || p.container_id
                        .as_deref()
                        .is_some_and(|c| sel.len() >= 4 && c.starts_with(sel))
            })
    }

    /// Opens the namespace through the first of its paths that still names it. `Err` carries
    /// the status to report: `Gone` only when every path is missing or names another namespace
    /// now (pid reused, name re-created); any other failure (EMFILE, EACCES) is `Inaccessible`.
    pub fn open(&self) -> Result<fs::File, NsStatus> {
        let mut other_error: Option<String> = None;
        for path in &self.paths {
            match fs::File::open(path) {
                Ok(file) => {
                    if file.metadata().map(|m| m.ino()).ok() == Some(self.inode) {
                        return Ok(file);
                    }
                }
                Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ESRCH)) => {}
                Err(e) => {
                    other_error
                        .get_or_insert_with(|| format!("cannot open {}: {e}", path.display()));
                }
            }
        }
        Err(match other_error {
            Some(e) => NsStatus::Inaccessible(e),
            None => NsStatus::Gone,
        })
    }
}

/// The result of a scan.
#[derive(Debug, Default)]
pub struct Discovery {
    pub namespaces: Vec<FoundNs>,
    /// The namespace this process runs in (entering it is not needed).
    pub own_inode: Option<u64>,
    pub warnings: Vec<String>,
}

impl Discovery {
    pub fn names(&self) -> Vec<String> {
        self.namespaces.iter().map(|n| n.name.clone()).collect()
    }
}

fn ns_inode(path: &Path) -> Option<u64> {
    fs::metadata(path).ok().map(|m| m.ino())
}

/// Inode from a `/proc/PID/ns/net` link target such as `net:[4026531840]`; reading the link
/// is cheaper than stat and works for every process we may ptrace.
fn link_inode(path: &Path) -> Option<u64> {
    let target = fs::read_link(path).ok()?;
    let text = target.to_str()?;
    text.strip_prefix("net:[")?.strip_suffix(']')?.parse().ok()
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

/// Scans the host for namespaces.
pub fn discover() -> Discovery {
    let mut out = Discovery {
        own_inode: link_inode(Path::new("/proc/thread-self/ns/net")),
        ..Discovery::default()
    };
    // inode -> index into out.namespaces
    let mut by_inode: BTreeMap<u64, usize> = BTreeMap::new();

    let host_path = PathBuf::from("/proc/1/ns/net");
    let (host_inode, host_path) = match link_inode(&host_path) {
        Some(i) => (i, host_path),
        None => {
            let why = fs::read_link(&host_path)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            out.warnings.push(format!(
                "{HOST_UNKNOWN} ({why}): taking this process's namespace as the host's"
            ));
            let own = PathBuf::from("/proc/self/ns/net");
            (out.own_inode.unwrap_or(0), own)
        }
    };
    out.namespaces.push(FoundNs {
        name: "host".into(),
        kind: NamespaceKind::Host,
        inode: host_inode,
        paths: vec![host_path],
        named_paths: Vec::new(),
        processes: Vec::new(),
        etc_override: None,
        root: PathBuf::from("/"),
    });
    by_inode.insert(host_inode, 0);

    // Named namespaces.
    let mut named: Vec<FoundNs> = Vec::new();
    // `/var/run` is usually a symlink to `/run`: read each real directory once, or every
    // namespace would be listed under two paths.
    let mut seen_dirs: Vec<PathBuf> = Vec::new();
    for (dir, prefix) in named_dirs() {
        let Ok(real) = fs::canonicalize(&dir) else {
            continue;
        };
        if seen_dirs.contains(&real) {
            continue;
        }
        seen_dirs.push(real);
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        files.sort();
        for path in files {
            let Some(inode) = ns_inode(&path) else {
                continue;
            };
            // A file that is not a mount (a leftover of a failed `ip netns add`) is a plain
            // file on the parent file system: skip it.
            if !is_mounted_over(&path) {
                continue;
            }
            let file_name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let path_text = path.display().to_string();
            if let Some(&idx) = by_inode.get(&inode) {
                let ns = if idx < out.namespaces.len() {
                    &mut out.namespaces[idx]
                } else {
                    &mut named[idx - out.namespaces.len()]
                };
                if !ns.named_paths.contains(&path_text) {
                    ns.named_paths.push(path_text);
                    ns.paths.push(path);
                }
                continue;
            }
            by_inode.insert(inode, out.namespaces.len() + named.len());
            named.push(FoundNs {
                name: format!("{prefix}{file_name}"),
                kind: NamespaceKind::Named,
                inode,
                etc_override: (prefix.is_empty()).then(|| Path::new("/etc/netns").join(&file_name)),
                paths: vec![path],
                named_paths: vec![path_text],
                processes: Vec::new(),
                root: PathBuf::from("/"),
            });
        }
    }
    named.sort_by(|a, b| a.name.cmp(&b.name));
    // Names are identities in the snapshot (peers, `--ns`): a mount called `host` or `pid:7`,
    // or the same name in two directories, gets its inode appended.
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    for ns in &mut named {
        if ns.name == "host" || ns.name.starts_with("pid:") || !seen.insert(ns.name.clone()) {
            ns.name = format!("{}@{}", ns.name, ns.inode);
        }
    }
    by_inode.clear();
    out.namespaces.extend(named);
    for (i, ns) in out.namespaces.iter().enumerate() {
        by_inode.insert(ns.inode, i);
    }

    // Process-held namespaces, and processes inside the known ones.
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
    out
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

/// A bind-mounted namespace file lives on nsfs, whose device differs from the directory's.
fn is_mounted_over(path: &Path) -> bool {
    let (Ok(meta), Some(parent)) = (fs::metadata(path), path.parent()) else {
        return false;
    };
    fs::metadata(parent)
        .map(|p| p.dev() != meta.dev())
        .unwrap_or(false)
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
