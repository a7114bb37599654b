use serde::{Deserialize, Serialize};

use super::{Address, Link, ListeningSocket, Neighbor, Route, RoutingRule, Sysctls};
use crate::model::dns_files::DnsFiles;
use crate::model::firewall::Firewall;
use crate::model::workload::Workload;

/// How a namespace was found, which also says how long it lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NamespaceKind {
    /// The namespace of PID 1.
    Host,
    /// Bind-mounted under `/run/netns` (ip netns, CNI runtimes) or Docker's netns directory.
    Named,
    /// Held only by processes (a container, `unshare -n`).
    Process,
}

/// Whether everything could be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "detail")]
pub enum NsStatus {
    Ok,
    /// Some sources failed (listed); what could be read is present.
    Partial(Vec<String>),
    /// The namespace disappeared between discovery and reading it.
    Gone,
    /// The namespace could not be entered (no privilege); only its identity is known.
    Inaccessible(String),
}

/// A process living in a namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessRef {
    pub pid: u32,
    pub comm: String,
    /// Container id from the cgroup path (Docker, containerd, CRI-O, podman), when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_id: Option<String>,
}

impl ProcessRef {
    /// Its pid, or a prefix of its container id (4 characters at least).
    pub fn answers_to(&self, sel: &str) -> bool {
        self.pid.to_string() == sel
            || self
                .container_id
                .as_deref()
                .is_some_and(|c| sel.len() >= 4 && c.starts_with(sel))
    }
}

/// One network namespace and everything read from inside it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Namespace {
    /// Display name, unique in a snapshot: `host`, the `/run/netns` name, or `pid:N`.
    pub name: String,
    pub kind: NamespaceKind,
    /// The nsfs inode: the namespace's identity.
    pub inode: u64,
    /// Every path that names it (`/run/netns/red`, `/var/run/docker/netns/…`).
    #[serde(default)]
    pub paths: Vec<String>,
    /// Processes inside it. For the host only processes that look containerised (hostNetwork
    /// pods) are listed, not every process of the machine.
    #[serde(default)]
    pub processes: Vec<ProcessRef>,
    /// The pod or container running in it, as its runtime names it (none for the host, for
    /// `ip netns` namespaces, and where no runtime's state claims it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<Workload>,
    pub status: NsStatus,
    #[serde(default)]
    pub links: Vec<Link>,
    #[serde(default)]
    pub addresses: Vec<Address>,
    #[serde(default)]
    pub routes: Vec<Route>,
    #[serde(default)]
    pub rules: Vec<RoutingRule>,
    #[serde(default)]
    pub neighbors: Vec<Neighbor>,
    #[serde(default)]
    pub sysctls: Sysctls,
    #[serde(default)]
    pub sockets: Vec<ListeningSocket>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firewall: Option<Firewall>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<DnsFiles>,
}

impl Namespace {
    pub fn new(name: String, kind: NamespaceKind, inode: u64) -> Self {
        Namespace {
            name,
            kind,
            inode,
            paths: Vec::new(),
            processes: Vec::new(),
            workload: None,
            status: NsStatus::Ok,
            links: Vec::new(),
            addresses: Vec::new(),
            routes: Vec::new(),
            rules: Vec::new(),
            neighbors: Vec::new(),
            sysctls: Sysctls::default(),
            sockets: Vec::new(),
            firewall: None,
            dns: None,
        }
    }

    /// What a user calls it: the pod (`namespace/name`) or container name running in it,
    /// else the kernel-side name (`host`, the `/run/netns` name, `pid:N`). Not unique (two
    /// runtimes may both have a `web`): [`Namespace::name`] stays the identity.
    pub fn label(&self) -> String {
        match &self.workload {
            Some(w) => w.display_name(),
            None => self.name.clone(),
        }
    }

    /// The label with the kernel-side name beside it when they differ, for reports that must
    /// also say which namespace it is: `c3 (netns-317be69c-…)`.
    pub fn label_and_name(&self) -> String {
        match &self.workload {
            Some(w) => format!("{} ({})", w.display_name(), self.name),
            None => self.name.clone(),
        }
    }

    /// Whether a user's selector (`--ns`, `--from`) names it: its name, inode or a path, the
    /// pid of a process in it, a container id prefix (4 characters at least), or its
    /// workload's name or id prefix.
    pub fn answers_to(&self, sel: &str) -> bool {
        self.name == sel
            || self.inode.to_string() == sel
            || self.paths.iter().any(|p| p == sel)
            || self.processes.iter().any(|p| p.answers_to(sel))
            || self.workload.as_ref().is_some_and(|w| w.answers_to(sel))
    }

    pub fn link(&self, name: &str) -> Option<&Link> {
        self.links.iter().find(|l| l.name == name)
    }

    /// Routes as `ip route show table all` lists them, minus the `local` table: the kernel's
    /// bookkeeping of the namespace's own and broadcast addresses, noise when reading routes.
    pub fn shown_routes(&self) -> impl Iterator<Item = &Route> {
        self.routes.iter().filter(|r| r.table != 255)
    }

    pub fn link_by_index(&self, index: u32) -> Option<&Link> {
        self.links.iter().find(|l| l.index == index)
    }

    /// Records a failed source without losing what was read.
    pub fn add_problem(&mut self, problem: String) {
        match &mut self.status {
            NsStatus::Ok => self.status = NsStatus::Partial(vec![problem]),
            NsStatus::Partial(list) => list.push(problem),
            NsStatus::Gone | NsStatus::Inaccessible(_) => {}
        }
    }
}
