//! What runs in a namespace, as its container runtime names it: a Kubernetes pod
//! (`namespace/name`) or a container (`c3`). `netns::workload` fills it from the runtimes'
//! state on disk; a namespace no runtime claims has none and is named by its process.

use serde::{Deserialize, Serialize};

use super::text_enum::text_enum;

text_enum! {
    /// The runtime whose state on disk named the workload.
    Runtime {
        Containerd = "containerd",
        CriO = "cri-o",
        Podman = "podman",
        Docker = "docker",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkloadKind {
    /// A Kubernetes pod: every container of it shares the namespace.
    Pod,
    /// A container of its own (podman, docker).
    Container,
}

/// The workload a namespace belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workload {
    pub kind: WorkloadKind,
    pub runtime: Runtime,
    /// The pod's or container's name, as `kubectl` / `podman ps` / `docker ps` show it.
    pub name: String,
    /// The pod's Kubernetes namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_namespace: Option<String>,
    /// The runtime's id: the pod's sandbox, or the container.
    pub id: String,
}

impl Workload {
    /// `namespace/name` for a pod (as kubectl writes it), the name for a container.
    pub fn display_name(&self) -> String {
        match &self.pod_namespace {
            Some(ns) => format!("{ns}/{}", self.name),
            None => self.name.clone(),
        }
    }

    /// A short word for what it is: `pod`, or the container's runtime.
    pub fn what(&self) -> &str {
        match self.kind {
            WorkloadKind::Pod => "pod",
            WorkloadKind::Container => self.runtime.as_str(),
        }
    }

    /// What it is, as a noun for a list: `pod` or `container`.
    pub fn what_noun(&self) -> &'static str {
        match self.kind {
            WorkloadKind::Pod => "pod",
            WorkloadKind::Container => "container",
        }
    }

    /// Whether a user's selector names it: its full name (`default/web`), its bare name
    /// (`web`: the caller reports it ambiguous when two pods share it), or a prefix of its
    /// id (4 characters at least, as `docker` and `crictl` take them).
    pub fn answers_to(&self, sel: &str) -> bool {
        sel == self.display_name()
            || sel == self.name
            || (sel.len() >= 4 && self.id.starts_with(sel))
    }
}
