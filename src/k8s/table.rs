//! The Kubernetes "Ports and Protocols" table (kubernetes.io, reference/networking), as data.
//!
//! Every default can be overridden, and etcd may run elsewhere: the table says what a kubeadm-
//! style node normally exposes, so a missing port is something to look at, not proof of a fault.

use serde::{Deserialize, Serialize};

/// What a node does in the cluster; decides which rows of the table apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    ControlPlane,
    Worker,
}

impl Role {
    /// `control-plane` (also `controlplane`, `cp`, `master`) or `worker` (also `node`).
    pub fn parse(s: &str) -> Option<Role> {
        match s.to_ascii_lowercase().as_str() {
            "control-plane" | "controlplane" | "cp" | "master" => Some(Role::ControlPlane),
            "worker" | "node" => Some(Role::Worker),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::ControlPlane => "control-plane",
            Role::Worker => "worker",
        }
    }
}

/// Who must reach a port ("Used By" in the table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum User {
    /// Anyone: other nodes, pods, clients outside the cluster.
    #[serde(rename = "all")]
    All,
    /// The node itself (loopback is enough).
    #[serde(rename = "self")]
    SelfNode,
    /// The control plane nodes (kube-apiserver, etcd peers).
    #[serde(rename = "control plane")]
    ControlPlane,
    /// External load balancers probing health.
    #[serde(rename = "load balancers")]
    LoadBalancers,
}

impl User {
    pub fn as_str(self) -> &'static str {
        match self {
            User::All => "all",
            User::SelfNode => "self",
            User::ControlPlane => "control plane",
            User::LoadBalancers => "load balancers",
        }
    }
}

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortSpec {
    pub port: u16,
    /// Last port of a range (`2379-2380`, `30000-32767`); `None` for a single port.
    pub end_port: Option<u16>,
    /// `tcp` or `udp`.
    pub protocol: &'static str,
    pub component: &'static str,
    pub used_by: &'static [User],
    /// The table the row is in.
    pub role: Role,
    /// Whether a node of that role is expected to listen on it. etcd may run outside the
    /// cluster and NodePorts exist only when Services ask for them, so those are not.
    pub required: bool,
}

impl PortSpec {
    /// Whether anything beyond the node itself must reach the port: then loopback-only and
    /// INPUT drops matter.
    pub fn peers_need(&self) -> bool {
        self.used_by.iter().any(|u| *u != User::SelfNode)
    }

    pub fn contains(&self, port: u16) -> bool {
        (self.port..=self.end_port.unwrap_or(self.port)).contains(&port)
    }

    pub fn is_range(&self) -> bool {
        self.end_port.is_some()
    }

    /// The NodePort rows, where kube-proxy's rules and not a listener decide.
    pub fn is_nodeport(&self) -> bool {
        self.component == NODEPORT
    }
}

pub const NODEPORT: &str = "NodePort Services";

const CP: Role = Role::ControlPlane;
const WK: Role = Role::Worker;

/// The table as published; the UDP NodePort row is in the current page (older copies lack it).
pub const PORTS: &[PortSpec] = &[
    row(6443, None, "tcp", "kube-apiserver", &[User::All], CP, true),
    row(
        2379,
        Some(2380),
        "tcp",
        "etcd",
        &[User::ControlPlane],
        CP,
        false,
    ),
    row(
        10250,
        None,
        "tcp",
        "kubelet",
        &[User::SelfNode, User::ControlPlane],
        CP,
        true,
    ),
    row(
        10259,
        None,
        "tcp",
        "kube-scheduler",
        &[User::SelfNode],
        CP,
        true,
    ),
    row(
        10257,
        None,
        "tcp",
        "kube-controller-manager",
        &[User::SelfNode],
        CP,
        true,
    ),
    row(
        10250,
        None,
        "tcp",
        "kubelet",
        &[User::SelfNode, User::ControlPlane],
        WK,
        true,
    ),
    row(
        10256,
        None,
        "tcp",
        "kube-proxy",
        &[User::SelfNode, User::LoadBalancers],
        WK,
        true,
    ),
    row(30000, Some(32767), "tcp", NODEPORT, &[User::All], WK, false),
    row(30000, Some(32767), "udp", NODEPORT, &[User::All], WK, false),
];

const fn row(
    port: u16,
    end_port: Option<u16>,
    protocol: &'static str,
    component: &'static str,
    used_by: &'static [User],
    role: Role,
    required: bool,
) -> PortSpec {
    PortSpec {
        port,
        end_port,
        protocol,
        component,
        used_by,
        role,
        required,
    }
}

/// The rows a node of `role` is checked against, and whether each is required there. A
/// control plane node normally runs kubelet and kube-proxy too (kubeadm), so it also gets the
/// worker rows it does not already have, as not required.
pub fn rows_for(role: Role) -> Vec<PortSpec> {
    let mut out: Vec<PortSpec> = PORTS.iter().filter(|p| p.role == role).copied().collect();
    if role == Role::ControlPlane {
        for p in PORTS.iter().filter(|p| p.role == Role::Worker) {
            let dup = out
                .iter()
                .any(|o| o.port == p.port && o.protocol == p.protocol);
            if !dup {
                out.push(PortSpec {
                    required: false,
                    ..*p
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_follow_the_published_table() {
        let worker: Vec<(u16, &str)> = rows_for(Role::Worker)
            .iter()
            .map(|p| (p.port, p.protocol))
            .collect();
        assert_eq!(
            worker,
            [
                (10250, "tcp"),
                (10256, "tcp"),
                (30000, "tcp"),
                (30000, "udp")
            ]
        );
        let cp = rows_for(Role::ControlPlane);
        let ports: Vec<u16> = cp.iter().map(|p| p.port).collect();
        assert_eq!(
            ports,
            [6443, 2379, 10250, 10259, 10257, 10256, 30000, 30000]
        );
        let required: Vec<u16> = cp.iter().filter(|p| p.required).map(|p| p.port).collect();
        assert_eq!(required, [6443, 10250, 10259, 10257]);
        // The scheduler and controller manager serve the node itself: loopback is fine there.
        assert!(!cp[3].peers_need() && !cp[4].peers_need());
        assert!(cp[0].peers_need() && cp[2].peers_need());
        assert!(cp[1].contains(2380) && !cp[1].contains(2381));
    }

    #[test]
    fn roles_parse() {
        assert_eq!(Role::parse("control-plane"), Some(Role::ControlPlane));
        assert_eq!(Role::parse("Worker"), Some(Role::Worker));
        assert_eq!(Role::parse("etcd"), None);
    }
}
