//! What a node's CNI setup looks like on disk: the configuration files in the runtime's
//! directory, the plugin binaries they name, and host-local IPAM's leases. Read by
//! `crate::cni`; which namespace holds each lease is worked out from the rest of the snapshot
//! (`crate::cni::usage`), so a saved snapshot answers it too.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// The CNI state of the host.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CniState {
    /// The configuration directory read (`/etc/cni/net.d` unless overridden).
    pub conf_dir: String,
    /// Whether it exists: a node without it is not a CNI node (unless its links say otherwise).
    pub conf_dir_exists: bool,
    /// Where plugin binaries were looked for, in order.
    pub bin_dirs: Vec<String>,
    /// Every `.conf`, `.conflist` and `.json` file, in the order the runtime considers them.
    #[serde(default)]
    pub configs: Vec<CniConfig>,
    /// Path of the configuration the runtime uses: the first valid one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selected: Option<String>,
    /// host-local IPAM state of every network whose config uses it, and of data directories
    /// left by networks no config names any more.
    #[serde(default)]
    pub ipam: Vec<IpamNetwork>,
    /// What could not be read (a directory without permission, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    /// The container runtimes found on the host, each with the rule it reads networks by.
    /// Empty when none was recognised: the kubelet rule (first valid file) is assumed.
    #[serde(default)]
    pub runtimes: Vec<CniRuntime>,
    /// podman's networks that are not CNI files: with netavark, all of them
    /// (`/etc/containers/networks/*.json` and the default network podman makes up without a
    /// file); with the CNI backend, the default network when no conflist names it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub podman_networks: Vec<PodmanNetwork>,
}

impl CniState {
    /// Whether a runtime that takes the first valid file of the directory (kubelet with
    /// dockershim, containerd, CRI-O) is here — or no runtime was recognised at all.
    pub fn first_file_rule(&self) -> bool {
        self.runtimes.is_empty() || self.runtimes.iter().any(|r| r.name != PODMAN)
    }

    /// podman's network backend (`cni` or `netavark`), when podman is here.
    pub fn podman_backend(&self) -> Option<&str> {
        self.runtimes
            .iter()
            .find(|r| r.name == PODMAN)
            .and_then(|r| r.backend.as_deref())
    }

    /// Whether some runtime reads the CNI configuration directory.
    pub fn conf_dir_read(&self) -> bool {
        self.first_file_rule() || self.podman_backend() == Some(BACKEND_CNI)
    }

    pub fn selected_config(&self) -> Option<&CniConfig> {
        let path = self.selected.as_deref()?;
        self.configs.iter().find(|c| c.path == path)
    }
}

pub const PODMAN: &str = "podman";
pub const BACKEND_CNI: &str = "cni";
pub const BACKEND_NETAVARK: &str = "netavark";
/// host-local, the CNI plugin keeping a file per lease (the default of [`IpamNetwork::backend`]).
pub const HOST_LOCAL: &str = "host-local";

/// A container runtime on the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CniRuntime {
    /// `kubelet`, `containerd`, `cri-o` or `podman`.
    pub name: String,
    /// podman's network backend: `cni` or `netavark`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
    /// What showed it is here, and for podman how the backend was decided.
    #[serde(default)]
    pub evidence: Vec<String>,
}

/// A podman network that is no CNI file (netavark's, or the default network).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodmanNetwork {
    pub name: String,
    /// Its file; `None` for the default network podman makes up in memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// `bridge`, `macvlan`, `ipvlan`.
    pub driver: String,
    /// The bridge (or parent interface) it uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    #[serde(default)]
    pub subnets: Vec<IpNet>,
    /// IPAM driver: `host-local` (netavark's ipam.db), `dhcp` or `none`.
    #[serde(default)]
    pub ipam_driver: String,
    #[serde(default)]
    pub internal: bool,
    /// Why the file cannot be used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One configuration file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CniConfig {
    pub path: String,
    /// `conflist` for `.conflist` files; `conf` for `.conf` and `.json` (one plugin).
    pub format: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cni_version: Option<String>,
    /// The plugins in chain order, each followed by its IPAM plugin (and a delegate's).
    #[serde(default)]
    pub plugins: Vec<CniPlugin>,
    /// Why the runtime cannot use this file; empty when it is valid.
    #[serde(default)]
    pub problems: Vec<ConfigProblem>,
    /// The bridge pods' host-side veths are attached to, when a plugin names one (bridge's
    /// `bridge`, default `cni0`; flannel's delegate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bridge: Option<String>,
}

impl CniConfig {
    pub fn valid(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Why a config file is unusable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigProblem {
    pub message: String,
    /// 1-based position of a JSON syntax error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

/// A plugin a configuration runs, and where its binary is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CniPlugin {
    /// Its `type`: the binary's name.
    #[serde(rename = "type")]
    pub kind: String,
    /// `plugin` (in the chain), `ipam` (a plugin's `ipam.type`) or `delegate` (what flannel
    /// runs for it).
    pub role: String,
    /// The binary found, first match in `bin_dirs`; `None` when it is missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary: Option<String>,
    /// Whether netlens knows the plugin (reference plugins, flannel, Calico, Cilium, …). An
    /// unknown type is fine as long as its binary exists.
    pub known: bool,
}

fn host_local() -> String {
    HOST_LOCAL.to_string()
}

/// host-local's view of one network: `DATADIR/NETWORK`, a file per leased address — or
/// netavark's, a bucket of `ipam.db` (then `dir` is that file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IpamNetwork {
    /// Who keeps the leases: `host-local` (CNI) or `netavark` (podman's ipam.db).
    #[serde(default = "host_local")]
    pub backend: String,
    /// The network name (a conflist's `name`): the data directory's last component.
    pub network: String,
    /// The config it comes from; `None` for a data directory no config names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<String>,
    /// `DATADIR/NETWORK`, the directory holding the lease files.
    pub dir: String,
    pub dir_exists: bool,
    /// The ranges addresses are handed out from (all range sets).
    #[serde(default)]
    pub ranges: Vec<IpamRange>,
    #[serde(default)]
    pub allocations: Vec<IpamAllocation>,
    /// `last_reserved_ip.N`: where host-local's search continues in range set N.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub last_reserved: Vec<(u32, IpAddr)>,
    /// Files that are neither leases, `last_reserved_ip.N` nor `lock`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_files: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One range of a range set, as host-local canonicalises it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpamRange {
    /// Index of the range set (`ranges[N]`): host-local takes one address from each set, so a
    /// set is full when all its ranges are.
    #[serde(default)]
    pub set: u32,
    pub subnet: IpNet,
    pub range_start: IpAddr,
    pub range_end: IpAddr,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<IpAddr>,
    /// Addresses host-local can hand out: start..=end minus the gateway. Saturates at u64::MAX
    /// for huge IPv6 ranges.
    pub size: u64,
}

impl IpamRange {
    pub fn contains(&self, ip: IpAddr) -> bool {
        within(ip, self.range_start, self.range_end)
    }
}

/// An address as a number, so ranges of either family compare the same way.
pub fn ip_number(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// `start <= ip <= end`, all of one family.
pub fn within(ip: IpAddr, start: IpAddr, end: IpAddr) -> bool {
    ip.is_ipv4() == start.is_ipv4()
        && ip.is_ipv4() == end.is_ipv4()
        && (ip_number(start)..=ip_number(end)).contains(&ip_number(ip))
}

/// A lease file: `DIR/IP` holding the container id and, since plugins v0.7, the interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpamAllocation {
    pub ip: IpAddr,
    pub container_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ifname: Option<String>,
    /// Modification time (seconds since the epoch): a lease only milliseconds old may belong to
    /// a pod whose address is still being set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<u64>,
}
