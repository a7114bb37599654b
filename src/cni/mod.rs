//! CNI on this node, read the way a container runtime and its plugins read it: the
//! configuration directory (`/etc/cni/net.d`, the first valid file wins), the plugin binaries
//! those configurations name, and host-local IPAM's lease files.
//!
//! Parsing ([`config`], [`ranges`], [`ipam::parse_lease`]) and matching against a snapshot
//! ([`usage`], [`ifaces`]) are pure and work on saved snapshots; [`read`] is the only part
//! that touches the file system, and it only reads a few small files.
//!
//! Layout: [`dirs`] where to look (overridable for tests) · [`config`] one file's JSON ·
//! [`discover`] the directory in the runtime's order · [`binaries`] plugin lookup ·
//! [`ranges`] host-local ranges · [`ipam`] lease directories · [`usage`] who holds each lease,
//! which pods belong to which network · [`ifaces`] interfaces CNI plugins create.

pub mod binaries;
pub mod config;
pub mod dirs;
pub mod discover;
pub mod ifaces;
pub mod ipam;
pub mod ranges;
pub mod usage;

pub use dirs::{Dirs, BIN_DIRS_ENV, CONF_DIR_ENV, DATA_DIR_ENV};

use crate::model::CniState;

/// Reads the CNI state of this host from `dirs`.
pub fn read(dirs: &Dirs) -> CniState {
    let found = discover::discover(dirs);
    let mut state = CniState {
        conf_dir: dirs.conf_dir.display().to_string(),
        conf_dir_exists: found.dir_exists,
        bin_dirs: dirs
            .bin_dirs
            .iter()
            .map(|d| d.display().to_string())
            .collect(),
        selected: found.selected.clone(),
        configs: Vec::new(),
        ipam: Vec::new(),
        errors: found.errors,
    };
    let mut specs = Vec::new();
    for parsed in found.configs {
        let mut cfg = parsed.config;
        for p in &mut cfg.plugins {
            p.binary = binaries::find(&p.kind, &dirs.bin_dirs).map(|b| b.display().to_string());
        }
        if cfg.valid() {
            specs.extend(parsed.ipam);
        }
        state.configs.push(cfg);
    }
    state.ipam = ipam::read_all(&specs, dirs);
    state
}
