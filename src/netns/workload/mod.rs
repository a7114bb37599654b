//! Which pod or container runs in a namespace, from the container runtimes' own state on disk,
//! so a namespace is called `default/web` or `c3` instead of `netns-317be69c-…`.
//!
//! A namespace is tied to a container by the processes in it: their cgroup names the
//! container's 64-hex-digit id (`ProcessRef::container_id`), and each runtime keeps a file per
//! id, looked up in this order:
//! - containerd's CRI plugin: the OCI bundle `…/io.containerd.runtime.v2.task/k8s.io/ID/config.json`,
//!   whose annotations `io.kubernetes.cri.sandbox-name` / `-namespace` name the pod (`cri.rs`);
//! - CRI-O: the bundle in containers/storage, `…/overlay-containers/ID/userdata/config.json`,
//!   with `io.kubernetes.pod.name` / `.namespace` (or CRI-O's own `k8s_POD_…` name) (`cri.rs`);
//! - docker: `/var/lib/docker/containers/ID/config.v2.json`, `"Name": "/c3"`, or the pod of
//!   its `io.kubernetes.pod.*` labels under dockershim / cri-dockerd (`engines.rs`);
//! - podman: containers/storage's `…/DRIVER-containers/containers.json`, `"names"` (`engines.rs`).
//!
//! Every file is untrusted input: read with a size cap, non-blocking, regular files only, and
//! with every symlink resolved inside the runtime's state directory (`read.rs`). A file that is
//! too big, not JSON, or names a workload with characters no runtime allows gives no name.

mod cri;
mod engines;
mod read;

use std::path::PathBuf;

use super::discover::FoundNs;
use crate::model::{NamespaceKind, Workload};

/// Where the runtimes keep their state; [`Sources::system`] has the default locations.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// containerd's task directories of its Kubernetes namespace (`k8s.io`).
    pub containerd: Vec<PathBuf>,
    /// containers/storage roots (CRI-O and podman): the graph root and the run root.
    pub storage: Vec<PathBuf>,
    /// docker's per-container directories (`DATA-ROOT/containers`).
    pub docker: Vec<PathBuf>,
}

impl Sources {
    pub fn system() -> Sources {
        let paths = |list: &[&str]| list.iter().map(PathBuf::from).collect();
        Sources {
            containerd: paths(&[
                "/run/containerd/io.containerd.runtime.v2.task/k8s.io",
                "/run/containerd/io.containerd.runtime.v1.linux/k8s.io",
            ]),
            storage: paths(&["/run/containers/storage", "/var/lib/containers/storage"]),
            docker: paths(&["/var/lib/docker/containers"]),
        }
    }
}

/// Looks container ids up in one set of sources; podman's container list is read once, the
/// first time an id is not found elsewhere.
pub struct Naming<'a> {
    sources: &'a Sources,
    podman: Option<Vec<engines::PodmanEntry>>,
}

impl<'a> Naming<'a> {
    pub fn new(sources: &'a Sources) -> Naming<'a> {
        Naming {
            sources,
            podman: None,
        }
    }

    /// The workload of the first of `ids` some runtime knows.
    pub fn identify<'i>(&mut self, ids: impl IntoIterator<Item = &'i str>) -> Option<Workload> {
        ids.into_iter().find_map(|id| self.one(id))
    }

    fn one(&mut self, id: &str) -> Option<Workload> {
        // Ids come from cgroup names (64 hex digits); anything else must not become a path.
        if id.len() < 12 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let s = self.sources;
        s.containerd
            .iter()
            .find_map(|dir| cri::containerd(dir, id))
            .or_else(|| s.storage.iter().find_map(|dir| cri::crio(dir, id)))
            .or_else(|| s.docker.iter().find_map(|dir| engines::docker(dir, id)))
            .or_else(|| {
                let list = self
                    .podman
                    .get_or_insert_with(|| engines::podman_list(&s.storage));
                engines::podman(list, id)
            })
    }
}

/// Names every namespace but the host's (whose containerised processes are hostNetwork
/// pods, many of them, none of which *is* the host) by the workload its processes belong to.
pub(super) fn name_all(found: &mut [FoundNs], sources: &Sources) {
    let mut naming = Naming::new(sources);
    for ns in found.iter_mut().filter(|n| n.kind != NamespaceKind::Host) {
        // Every process of a container names the same id: look each id up once.
        let mut ids: Vec<&str> = Vec::new();
        for id in ns
            .processes
            .iter()
            .filter_map(|p| p.container_id.as_deref())
        {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        ns.workload = naming.identify(ids);
    }
}

#[cfg(test)]
mod tests;
