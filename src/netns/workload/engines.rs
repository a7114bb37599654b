//! Containers of the engines people run by hand: docker (one file per container) and podman
//! (one list per storage driver, in containers/storage).

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::cri::{driver_dirs, kubelet_name, pod};
use super::read::{self, MAX_CONFIG, MAX_LIST};
use crate::model::{Runtime, Workload, WorkloadKind};

/// docker: `DIR/ID/config.v2.json`. `"Name": "/c3"`; a container the kubelet made through
/// dockershim or cri-dockerd carries its pod in the `io.kubernetes.pod.*` labels.
pub fn docker(dir: &Path, id: &str) -> Option<Workload> {
    let c = read::json(dir, &format!("{id}/config.v2.json"), MAX_CONFIG)?;
    let id = c
        .get("ID")
        .and_then(read::id)
        .unwrap_or_else(|| id.to_string());
    if let Some(labels) = c.get("Config").and_then(|x| x.get("Labels")) {
        let name = labels.get("io.kubernetes.pod.name").and_then(read::name);
        let ns = labels
            .get("io.kubernetes.pod.namespace")
            .and_then(read::name);
        if let (Some(name), Some(ns)) = (name, ns) {
            // An app container names its sandbox; the sandbox is the one holding the netns.
            let sandbox = labels
                .get("io.kubernetes.sandbox.id")
                .and_then(read::id)
                .unwrap_or(id);
            return Some(pod(Runtime::Docker, name, ns, sandbox));
        }
    }
    // The leading `/` is docker's (names were once paths in a tree of links).
    let name = c.get("Name")?.as_str()?.strip_prefix('/')?;
    Some(Workload {
        kind: WorkloadKind::Container,
        runtime: Runtime::Docker,
        name: read::name(&Value::from(name))?,
        pod_namespace: None,
        id,
    })
}

/// One container of podman's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodmanEntry {
    pub id: String,
    pub name: String,
}

/// Every container in the `DRIVER-containers/containers.json` lists of the storage roots:
/// `[{"id": "…", "names": ["c3"], …}]`. Entries without a usable id and name are skipped.
pub fn podman_list(roots: &[PathBuf]) -> Vec<PodmanEntry> {
    let mut out = Vec::new();
    for dir in roots.iter().flat_map(|r| driver_dirs(r)) {
        let Some(Value::Array(list)) = read::json(&dir, "containers.json", MAX_LIST) else {
            continue;
        };
        out.extend(list.iter().filter_map(|c| {
            Some(PodmanEntry {
                id: c.get("id").and_then(read::id)?,
                name: c.get("names")?.get(0).and_then(read::name)?,
            })
        }));
    }
    out
}

/// The container `id` of podman's list. CRI-O's containers are in the same list, under the
/// kubelet's `k8s_…` names: those are pods.
pub fn podman(list: &[PodmanEntry], id: &str) -> Option<Workload> {
    let c = list.iter().find(|c| c.id == id)?;
    if let Some((name, ns)) = kubelet_name(&c.name) {
        return Some(pod(Runtime::CriO, name, ns, c.id.clone()));
    }
    Some(Workload {
        kind: WorkloadKind::Container,
        runtime: Runtime::Podman,
        name: c.name.clone(),
        pod_namespace: None,
        id: c.id.clone(),
    })
}
