//! CNI on this node, read the way each container runtime and its plugins read it: the
//! configuration directory (`/etc/cni/net.d`: kubelet's runtimes use the first valid file,
//! podman's CNI backend every `.conflist`), podman's netavark networks and IPAM database, the
//! plugin binaries the configurations name, and host-local IPAM's lease files.
//!
//! Parsing ([`config`], [`ranges`], [`ipam::parse_lease`], [`netavark::parse`], [`bolt`]) and
//! matching against a snapshot ([`usage`], [`ifaces`]) are pure and work on saved snapshots;
//! [`read`] is the only part that touches the file system, and it only reads small files.
//!
//! Layout: [`dirs`] where to look (overridable for tests) · [`runtimes`] which runtimes are
//! here and their rules · [`config`] one file's JSON · [`discover`] the directory in the
//! runtime's order · [`binaries`] plugin lookup · [`ranges`] host-local ranges · [`ipam`]
//! lease directories · [`netavark`] podman's netavark networks and ipam.db, read with
//! [`bolt`] · [`usage`] who holds each lease, which pods belong to which network · [`ifaces`]
//! interfaces CNI plugins create.

pub mod binaries;
pub mod bolt;
pub mod config;
pub mod dirs;
pub mod discover;
pub mod ifaces;
pub mod ipam;
pub mod netavark;
pub mod ranges;
pub mod rules;
pub mod runtimes;
pub mod usage;

pub use dirs::{Dirs, BIN_DIRS_ENV, CONF_DIR_ENV, DATA_DIR_ENV, RUNTIME_ROOT_ENV};

use crate::model::CniState;
use crate::model::{BACKEND_CNI, BACKEND_NETAVARK};

/// Reads the CNI state of this host from `dirs`.
pub fn read(dirs: &Dirs) -> CniState {
    let found = discover::discover(dirs);
    let conflists = found
        .configs
        .iter()
        .filter(|p| p.config.format == "conflist" && p.config.valid())
        .count();
    let runtimes = runtimes::detect(dirs, conflists);
    let mut state = CniState {
        conf_dir: dirs.conf_dir.display().to_string(),
        conf_dir_exists: found.dir_exists,
        bin_dirs: dirs
            .bin_dirs
            .iter()
            .map(|d| d.display().to_string())
            .collect(),
        selected: None,
        configs: Vec::new(),
        ipam: Vec::new(),
        errors: found.errors,
        runtimes,
        podman_networks: Vec::new(),
    };
    // Only kubelet's runtimes pick one file; podman (CNI) uses every conflist, netavark none.
    if state.first_file_rule() {
        state.selected = found.selected.clone();
    }
    let mut specs = Vec::new();
    for parsed in found.configs {
        let mut cfg = parsed.config;
        for p in &mut cfg.plugins {
            p.binary = binaries::find(&p.kind, &dirs.bin_dirs).map(|b| b.display().to_string());
        }
        // podman alone reads only .conflist files.
        let read = state.first_file_rule()
            || (state.podman_backend() == Some(BACKEND_CNI) && cfg.format == "conflist");
        if cfg.valid() && read {
            specs.extend(parsed.ipam);
        }
        state.configs.push(cfg);
    }
    if state.conf_dir_read() {
        state.ipam = ipam::read_all(&specs, dirs);
    }
    match state.podman_backend() {
        Some(BACKEND_NETAVARK) => read_netavark(dirs, &mut state),
        Some(BACKEND_CNI) => cni_default_network(dirs, &mut state),
        _ => {}
    }
    state
}

/// podman's CNI backend makes the default network up in memory when no conflist names it
/// (bridge `cni-podman0`, host-local leases in the default data directory).
fn cni_default_network(dirs: &Dirs, state: &mut CniState) {
    let conf = runtimes::podman_conf(&dirs.root);
    let name = conf
        .default_network
        .as_deref()
        .unwrap_or(runtimes::DEFAULT_NETWORK);
    let on_file = state
        .configs
        .iter()
        .any(|c| c.format == "conflist" && c.valid() && c.name.as_deref() == Some(name));
    if on_file || !config::valid_network_name(name) {
        return;
    }
    let subnet = conf
        .default_subnet
        .as_deref()
        .unwrap_or(runtimes::DEFAULT_SUBNET);
    let mut parsed = netavark::default_network(name, subnet);
    parsed.network.interface = Some("cni-podman0".into());
    let dir = dirs.data_dir.join(name);
    // An orphan lease directory of that name is the default network's.
    state
        .ipam
        .retain(|n| n.network != name || n.config.is_some());
    let mut net = ipam::read_dir(name, None, &dir);
    net.ranges = parsed.ranges;
    state.ipam.push(net);
    state.podman_networks.push(parsed.network);
}

fn read_netavark(dirs: &Dirs, state: &mut CniState) {
    let conf = runtimes::podman_conf(&dirs.root);
    let config_dir = conf
        .network_config_dir
        .as_deref()
        .unwrap_or(runtimes::NETAVARK_CONFIG_DIR);
    let (networks, ipam, errors) = netavark::read(
        &runtimes::under(&dirs.root, config_dir),
        &runtimes::under(&dirs.root, runtimes::NETAVARK_IPAM_DB),
        conf.default_network
            .as_deref()
            .unwrap_or(runtimes::DEFAULT_NETWORK),
        conf.default_subnet
            .as_deref()
            .unwrap_or(runtimes::DEFAULT_SUBNET),
    );
    state.podman_networks = networks;
    state.ipam.extend(ipam);
    state.errors.extend(errors);
}
