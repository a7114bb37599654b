//! Kubernetes node checks: the "Ports and Protocols" table against what a namespace really
//! listens on and lets in, NodePorts from kube-proxy's rules, and node identity.
//!
//! [`check`] is pure (a snapshot in, a [`PortsReport`] out): the doctor and the TUI use it as
//! is. [`probe_peers`] is the I/O part: TCP connects to other nodes, from this namespace or
//! from inside another one.

mod check;
pub mod identity;
pub mod input;
mod probe;
pub mod proxy;
pub mod route_index;
pub mod table;

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

pub use check::{check, check_namespace, check_namespace_with, looks_like_node};
pub use identity::Identity;
pub use input::InputVerdict;
pub use probe::{probe_peers, PeerResult};
pub use proxy::{NodePortRule, ProxyMode};
pub use table::{PortSpec, Role, User};

use crate::model::ProcessRef;

/// What to check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortsOptions {
    /// The role to check; `None` detects it (kube-apiserver or etcd listening: control plane).
    pub role: Option<Role>,
    /// The namespace (its display name in the snapshot); `None` is the host's.
    pub namespace: Option<String>,
    /// Peer addresses INPUT is judged from (the namespace's own addresses are skipped); none
    /// left: the default gateways, or a neighbour on each connected subnet.
    pub peers: Vec<IpAddr>,
}

/// The answer for one node (namespace).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortsReport {
    pub namespace: String,
    pub role: Role,
    pub role_detected: bool,
    /// Why this role: given, or what was seen.
    pub role_reason: String,
    /// Why the namespace looks like a Kubernetes node; `None` when nothing does.
    pub kubernetes: Option<String>,
    pub kube_proxy: ProxyMode,
    pub identity: Identity,
    pub ports: Vec<PortCheck>,
    /// Where `--peer` connects were made from (a namespace name), when they were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probed_from: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// No port has a problem.
    pub ok: bool,
}

impl PortsReport {
    /// Recomputes [`PortsReport::ok`] from the ports' problems.
    pub fn update_ok(&mut self) {
        self.ok = self.ports.iter().all(|p| p.problems.is_empty());
    }
}

/// One row of the table checked on this node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortCheck {
    pub port: u16,
    pub end_port: Option<u16>,
    pub protocol: String,
    pub component: String,
    pub used_by: Vec<User>,
    /// Whether a node of the role is expected to listen on it.
    pub required: bool,
    pub listening: bool,
    pub process: Option<Process>,
    /// The widest address bound (`0.0.0.0`/`::` over a specific one over loopback).
    pub address: Option<IpAddr>,
    /// Every bound `address:port`.
    #[serde(default)]
    pub addresses: Vec<String>,
    pub loopback_only: bool,
    pub input: InputVerdict,
    /// For the NodePort rows: the NodePorts kube-proxy's rules serve.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodeports: Vec<NodePortCheck>,
    /// `--peer` connect results.
    #[serde(default)]
    pub peers: Vec<PeerResult>,
    /// What is wrong, one line each; empty when fine.
    #[serde(default)]
    pub problems: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl PortCheck {
    /// Anything beyond the node itself must reach it.
    pub fn peers_need(&self) -> bool {
        self.used_by.iter().any(|u| *u != User::SelfNode)
    }

    /// `6443`, `2379-2380`.
    pub fn port_text(&self) -> String {
        match self.end_port {
            Some(end) => format!("{}-{end}", self.port),
            None => self.port.to_string(),
        }
    }
}

/// A process holding a listening socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Process {
    pub name: String,
    pub pid: u32,
}

impl From<&ProcessRef> for Process {
    fn from(p: &ProcessRef) -> Self {
        Process {
            name: p.comm.clone(),
            pid: p.pid,
        }
    }
}

/// One NodePort: the rule that serves it, whether a process also listens there, and whether
/// a peer's packet gets in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodePortCheck {
    pub port: u16,
    pub protocol: String,
    pub service: Option<String>,
    pub rule: String,
    pub listening: bool,
    pub process: Option<Process>,
    /// Outside 30000-32767: the cluster uses a custom `--service-node-port-range`.
    pub in_default_range: bool,
    pub input: InputVerdict,
}
