//! Finding every network namespace of the host, deduplicated by nsfs inode.
//!
//! Three sources: bind mounts under the well-known directories (`ip netns`, CNI runtimes,
//! Docker), `/proc/PID/ns/net` of every process, and PID 1's namespace, which is the host's.
//! Discovery only records where a namespace can be opened; it is opened when collected, so a
//! namespace that disappears in between is reported as gone rather than failing the scan.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

mod by_name;
mod named;
mod procs;

use crate::model::{NamespaceKind, NsStatus, ProcessRef, Workload};

pub use by_name::NameUpdate;
pub use named::{distinct_named_dirs, named_dirs};
pub use procs::container_id_from_cgroup;

/// Part of the warning that namespaces held only by unreadable processes are missing; the
/// doctor finds it in a saved snapshot's warnings to call the result incomplete.
pub const HIDDEN_NAMESPACES: &str = "namespaces are not visible without root";
/// Start of the warning that PID 1's namespace could not be identified.
pub const HOST_UNKNOWN: &str = "cannot read /proc/1/ns/net";

/// A namespace found on the host, not yet opened.
#[derive(Debug, Clone, PartialEq)]
pub struct FoundNs {
    pub name: String,
    pub kind: NamespaceKind,
    pub inode: u64,
    /// Paths that can be opened to enter it, best first.
    pub paths: Vec<PathBuf>,
    /// Bind-mount paths (reported to the user); process paths are implied by `processes`.
    pub named_paths: Vec<String>,
    pub processes: Vec<ProcessRef>,
    /// The pod or container its processes belong to (`super::workload`).
    pub workload: Option<Workload>,
    /// The `/etc/netns/NAME` directory `ip netns exec` would overlay, for named namespaces.
    pub etc_override: Option<PathBuf>,
    /// A root directory whose `/etc` processes in it see (`/proc/PID/root`).
    pub root: PathBuf,
}

impl FoundNs {
    /// Whether a user's selector names this namespace: its name, its inode, a bind-mount path,
    /// the pid of a process in it, a container id prefix (4 characters at least), or its
    /// workload's name (`c3`, `default/web`, a bare pod name) or id prefix. The same rules as
    /// `Namespace::answers_to`, which a saved snapshot is searched with.
    pub fn matches(&self, sel: &str) -> bool {
        self.name == sel
            || self.inode.to_string() == sel
            || self.named_paths.iter().any(|p| p == sel)
            || self.processes.iter().any(|p| p.answers_to(sel))
            || self.workload.as_ref().is_some_and(|w| w.answers_to(sel))
    }

    /// What a user calls it: the workload's name, else the namespace's.
    pub fn label(&self) -> String {
        match &self.workload {
            Some(w) => w.display_name(),
            None => self.name.clone(),
        }
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
#[derive(Debug, Default, Clone)]
pub struct Discovery {
    pub namespaces: Vec<FoundNs>,
    /// The namespace this process runs in (entering it is not needed).
    pub own_inode: Option<u64>,
    pub warnings: Vec<String>,
    /// When the whole scan behind its processes, workloads and roots was made (`None`: not
    /// by `discover`). A copy kept up to date name by name (the live watcher's) keeps its
    /// scan's time: its other entries' processes are as old as that.
    pub scanned: Option<std::time::Instant>,
}

impl Discovery {
    pub fn names(&self) -> Vec<String> {
        self.namespaces.iter().map(|n| n.name.clone()).collect()
    }
}

/// Scans the host for namespaces: the host's first, then the named ones by name, then those
/// held only by a process, by pid.
pub fn discover() -> Discovery {
    let mut out = Discovery {
        own_inode: link_inode(Path::new("/proc/thread-self/ns/net")),
        scanned: Some(std::time::Instant::now()),
        ..Discovery::default()
    };
    out.namespaces.push(host(&mut out.warnings, out.own_inode));
    named::add_named(&mut out.namespaces);
    procs::add_processes(&mut out);
    super::workload::name_all(&mut out.namespaces, &super::workload::Sources::system());
    out
}

/// PID 1's namespace, or this process's when PID 1's cannot be read (said in `warnings`).
fn host(warnings: &mut Vec<String>, own_inode: Option<u64>) -> FoundNs {
    let host_path = PathBuf::from("/proc/1/ns/net");
    let (host_inode, host_path) = match link_inode(&host_path) {
        Some(i) => (i, host_path),
        None => {
            let why = fs::read_link(&host_path)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            warnings.push(host_unknown(&why));
            let own = PathBuf::from("/proc/self/ns/net");
            (own_inode.unwrap_or(0), own)
        }
    };
    FoundNs {
        name: "host".into(),
        kind: NamespaceKind::Host,
        inode: host_inode,
        paths: vec![host_path],
        named_paths: Vec::new(),
        processes: Vec::new(),
        workload: None,
        etc_override: None,
        root: PathBuf::from("/"),
    }
}

/// The first-run note when PID 1's namespace cannot be read: typically netlens runs in a
/// container (PID 1 is then the container's init, owned by another user, or hidden), so what
/// it calls `host` is the container's own namespace, and the user needs to know how to see
/// the node's.
fn host_unknown(why: &str) -> String {
    format!(
        "{HOST_UNKNOWN} ({why}): the host's network namespace cannot be identified, so the one \
         netlens runs in is shown as `host`. Inside a container that is the container's own \
         namespace, not the node's; to see the node's, run netlens on the host as root, or in \
         a container started with the host's PID namespace and root (`docker run --pid host \
         --privileged`, a pod with `hostPID: true`)"
    )
}

/// Inode from a `/proc/PID/ns/net` link target such as `net:[4026531840]`; reading the link
/// is cheaper than stat and works for every process we may ptrace.
fn link_inode(path: &Path) -> Option<u64> {
    let target = fs::read_link(path).ok()?;
    let text = target.to_str()?;
    text.strip_prefix("net:[")?.strip_suffix(']')?.parse().ok()
}
