//! The snapshot: plain serde types with no I/O.
//!
//! Everything netlens knows about a host is one [`Snapshot`]. Collectors fill it, the CLI and
//! the TUI render it, diagnosis reads it, and `--json` writes it. The JSON form is a documented
//! contract (`docs/snapshot-schema.md`); bump [`SCHEMA_VERSION`] on any incompatible change.

mod cni;
pub mod diff;
pub mod dns_files;
pub mod fast_hash;
pub mod firewall;
mod link;
mod link_attrs;
mod link_index;
mod namespace;
mod neighbor_state;
mod route;
mod route_attrs;
mod route_dst;
mod socket;
mod sysctl;
mod text_enum;
pub mod topology;
mod workload;

pub use cni::{
    ip_number, within, CniConfig, CniPlugin, CniRuntime, CniState, ConfigProblem, IpamAllocation,
    IpamNetwork, IpamRange, PodmanNetwork, BACKEND_CNI, BACKEND_NETAVARK, HOST_LOCAL, PODMAN,
};
pub use link::{Address, BridgePort, Link, PeerRef};
pub use link_attrs::{LinkFlag, LinkFlags, LinkKind, OperState, StpPortState};
pub use link_index::LinkIndex;
pub use namespace::{Namespace, NamespaceKind, NsStatus, ProcessRef};
pub use neighbor_state::NeighborState;
pub use route::{
    table_name, Neighbor, Route, RouteDst, RouteFamily, RouteKind, RouteProtocol, RouteScope,
    RoutingRule, RoutingRuleAction,
};
pub use socket::ListeningSocket;
pub use sysctl::Sysctls;
pub use workload::{Runtime, Workload, WorkloadKind};

use serde::{Deserialize, Serialize};

/// Version of the JSON schema written by `netlens snapshot --json`.
pub const SCHEMA_VERSION: u32 = 1;

/// Everything collected from one host at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub schema_version: u32,
    /// Seconds since the Unix epoch when collection started.
    pub taken_at: u64,
    pub hostname: String,
    /// Host namespace first, then named ones by name, then process-held ones by pid.
    pub namespaces: Vec<Namespace>,
    /// Problems that did not stop the snapshot (no root, a missing tool, …).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// The host's CNI configuration, plugin binaries and host-local leases; `None` in
    /// snapshots from before netlens read them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cni: Option<CniState>,
}

impl Snapshot {
    /// Finds a namespace by its display name (`host`, a `/run/netns` name, or `pid:N`).
    pub fn namespace(&self, name: &str) -> Option<&Namespace> {
        self.namespaces.iter().find(|ns| ns.name == name)
    }

    /// The one namespace a user's selector names ([`Namespace::answers_to`]): an exact name
    /// first, then an exact workload name (`default/web`), else the only match; `Err` lists
    /// the candidates when several match (empty: none does).
    pub fn select(&self, sel: &str) -> Result<&Namespace, Vec<&Namespace>> {
        if let Some(ns) = self.namespace(sel) {
            return Ok(ns);
        }
        let hits: Vec<&Namespace> = self
            .namespaces
            .iter()
            .filter(|n| n.answers_to(sel))
            .collect();
        let by_label: Vec<&&Namespace> = hits.iter().filter(|n| n.label() == sel).collect();
        match (hits.as_slice(), by_label.as_slice()) {
            ([one], _) => Ok(one),
            (_, [one]) => Ok(one),
            _ => Err(hits),
        }
    }

    /// Every name a user may type: each namespace's name and its workload's.
    pub fn labels(&self) -> Vec<String> {
        let mut out = Vec::new();
        for ns in &self.namespaces {
            out.push(ns.name.clone());
            if ns.workload.is_some() {
                out.push(ns.label());
            }
        }
        out
    }
}

#[cfg(test)]
mod json_contract_tests;
