//! `netlens cni`: the JSON document ([`CniReport`], built from a snapshot by [`report`]) and
//! its text form ([`render`]).

use serde::Serialize;

use crate::diagnose::Finding;

mod build;
mod text;

pub use build::report;
pub use text::render;

/// The `--json` document.
#[derive(Debug, Serialize)]
pub struct CniReport {
    /// Container runtimes found, each with the rule it reads networks by.
    pub runtimes: Vec<RuntimeView>,
    pub conf_dir: String,
    pub conf_dir_exists: bool,
    pub bin_dirs: Vec<String>,
    /// The config the runtime uses, and why.
    pub selected: Option<String>,
    pub selected_why: String,
    pub configs: Vec<ConfigView>,
    pub networks: Vec<NetworkView>,
    /// Well-known CNI interfaces in the host namespace.
    pub interfaces: Vec<InterfaceView>,
    pub errors: Vec<String>,
    /// The doctor's CNI findings.
    pub findings: Vec<Finding>,
}

#[derive(Debug, Serialize)]
pub struct RuntimeView {
    pub name: String,
    pub backend: Option<String>,
    /// How it reads its networks.
    pub rule: String,
    pub evidence: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct ConfigView {
    pub path: String,
    pub format: String,
    pub name: Option<String>,
    pub cni_version: Option<String>,
    pub valid: bool,
    /// What each runtime does with it, `; `-separated: `used`, `ignored: …`, `invalid: …`,
    /// `podman network NAME`, `podman skips it: …`, `not read: …`.
    pub status: String,
    pub problems: Vec<crate::model::ConfigProblem>,
    pub plugins: Vec<PluginView>,
}

#[derive(Debug, Serialize)]
pub struct PluginView {
    #[serde(rename = "type")]
    pub kind: String,
    pub role: String,
    pub known: bool,
    pub binary: Option<String>,
    pub found: bool,
}

#[derive(Debug, Serialize)]
pub struct NetworkView {
    pub network: String,
    /// Who keeps its addresses: `host-local` (CNI lease files) or `netavark` (podman's ipam.db).
    pub backend: String,
    pub config: Option<String>,
    /// host-local's lease directory, or netavark's ipam.db.
    pub dir: String,
    /// Its bridge, when it exists in the host namespace.
    pub bridge: Option<String>,
    /// The bridge its config names when that does not exist (yet: the first container's
    /// network setup creates it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bridge_missing: Option<String>,
    /// podman's default network, which has no file (podman makes it up in memory).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub default_network: bool,
    pub ranges: Vec<RangeView>,
    /// Leases in the fullest range set, its size, and the percentage used.
    pub used: u64,
    pub total: u64,
    pub percent: f64,
    pub allocations: Vec<AllocationView>,
    pub pods: Vec<PodView>,
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct RangeView {
    pub set: u32,
    pub subnet: String,
    pub range_start: String,
    pub range_end: String,
    pub gateway: Option<String>,
    pub size: u64,
}

#[derive(Debug, Serialize)]
pub struct AllocationView {
    pub ip: String,
    pub container_id: String,
    pub ifname: Option<String>,
    /// `held`, `container` (its process lives, the address is not set), `leaked`, `unknown`.
    pub state: String,
    pub held_by: Option<String>,
    pub held_on: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct PodView {
    pub namespace: String,
    pub ifname: String,
    pub address: Option<String>,
    pub host_veth: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct InterfaceView {
    pub name: String,
    pub kind: String,
    pub what: String,
}
