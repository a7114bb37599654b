//! CNI: `netlens cni` and the snapshot against real CNI plugins, podman and docker, the CNI
//! parsers on real configs, and hostile CNI files.
//!
//! One test binary of a few grouped by subject (docs/testing.md); each module was a binary of
//! its own. World tests name themselves `module::test` (see `common::world`).

#[path = "../common/mod.rs"]
mod common;

mod cni;
mod hostile_cni_files;
mod parsers_cni;
mod runtime_names;
mod runtime_podman;
mod snapshot_cni;
