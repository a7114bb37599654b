//! Kubernetes pods from the OCI bundles the CRI runtimes write for every sandbox and
//! container: the annotations of `config.json` name the pod.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::read::{self, MAX_CONFIG};
use crate::model::{Runtime, Workload, WorkloadKind};

/// containerd's CRI plugin: `DIR/ID/config.json`. A sandbox's annotations name its pod; a
/// container's name its sandbox (`io.kubernetes.cri.sandbox-id`) and, since containerd 1.5,
/// the pod as well; otherwise the sandbox's own bundle is read.
pub fn containerd(dir: &Path, id: &str) -> Option<Workload> {
    let spec = read::json(dir, &format!("{id}/config.json"), MAX_CONFIG)?;
    let a = spec.get("annotations")?;
    let sandbox = a
        .get("io.kubernetes.cri.sandbox-id")
        .and_then(read::id)
        .unwrap_or_else(|| id.to_string());
    let name = a.get("io.kubernetes.cri.sandbox-name").and_then(read::name);
    let ns = a
        .get("io.kubernetes.cri.sandbox-namespace")
        .and_then(read::name);
    match (name, ns) {
        (Some(name), Some(ns)) => Some(pod(Runtime::Containerd, name, ns, sandbox)),
        // One step only: a sandbox's bundle that points elsewhere again names nothing.
        _ if sandbox != id => {
            let spec = read::json(dir, &format!("{sandbox}/config.json"), MAX_CONFIG)?;
            let a = spec.get("annotations")?;
            let name = a
                .get("io.kubernetes.cri.sandbox-name")
                .and_then(read::name)?;
            let ns = a
                .get("io.kubernetes.cri.sandbox-namespace")
                .and_then(read::name)?;
            Some(pod(Runtime::Containerd, name, ns, sandbox))
        }
        _ => None,
    }
}

/// CRI-O: `ROOT/DRIVER-containers/ID/userdata/config.json` in containers/storage. Podman
/// keeps its bundles in the same place; only CRI-O's carry `io.kubernetes.cri-o.*` keys.
pub fn crio(root: &Path, id: &str) -> Option<Workload> {
    driver_dirs(root).iter().find_map(|dir| {
        let spec = read::json(dir, &format!("{id}/userdata/config.json"), MAX_CONFIG)?;
        crio_pod(spec.get("annotations")?, id)
    })
}

fn crio_pod(a: &Value, id: &str) -> Option<Workload> {
    a.get("io.kubernetes.cri-o.ContainerType")?;
    // The kubelet's labels, copied into the annotations; else CRI-O's own name of the
    // sandbox, `k8s_POD_<pod>_<namespace>_<uid>_<attempt>`.
    let from_kubelet = || {
        let name = a.get("io.kubernetes.pod.name").and_then(read::name)?;
        let ns = a
            .get("io.kubernetes.pod.namespace")
            .or_else(|| a.get("io.kubernetes.cri-o.Namespace"))
            .and_then(read::name)?;
        Some((name, ns))
    };
    let (name, ns) = from_kubelet().or_else(|| {
        [
            "io.kubernetes.cri-o.SandboxName",
            "io.kubernetes.cri-o.Name",
        ]
        .iter()
        .find_map(|k| a.get(*k).and_then(Value::as_str).and_then(kubelet_name))
    })?;
    let sandbox = a
        .get("io.kubernetes.cri-o.SandboxID")
        .and_then(read::id)
        .unwrap_or_else(|| id.to_string());
    Some(pod(Runtime::CriO, name, ns, sandbox))
}

/// The pod and namespace of a name the kubelet and CRI-O give containers and sandboxes:
/// `k8s_<container or POD>_<pod>_<namespace>_<uid>_<attempt>` (CRI-O's infra container,
/// dockershim) or `k8s_<pod>_<namespace>_<uid>_<attempt>` (CRI-O's sandbox name). Kubernetes
/// names have no `_`, so the split is exact.
pub fn kubelet_name(s: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = s.split('_').collect();
    let (pod, ns) = match parts.as_slice() {
        ["k8s", _, pod, ns, _, _] | ["k8s", pod, ns, _, _] => (*pod, *ns),
        _ => return None,
    };
    let pod = read::name(&Value::from(pod))?;
    let ns = read::name(&Value::from(ns))?;
    Some((pod, ns))
}

pub fn pod(runtime: Runtime, name: String, ns: String, id: String) -> Workload {
    Workload {
        kind: WorkloadKind::Pod,
        runtime,
        name,
        pod_namespace: Some(ns),
        id,
    }
}

/// The per-driver container directories of a containers/storage root (`overlay-containers`,
/// `vfs-containers`, …); symlinks are not followed out of the root.
pub fn driver_dirs(root: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(root) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| e.file_name().to_string_lossy().ends_with("-containers"))
        .map(|e| e.path())
        .collect();
    dirs.sort();
    dirs
}
