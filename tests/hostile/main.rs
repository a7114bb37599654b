//! Hostile input a container or a local user controls: huge rule sets and namespaces,
//! saved files, a container's root and races on it.
//!
//! One test binary of a few grouped by subject (docs/testing.md); each module was a binary of
//! its own. World tests name themselves `module::test` (see `common::world`).

#[path = "../common/mod.rs"]
mod common;

mod hostile_firewall_size;
mod hostile_namespace_size;
mod hostile_saved_files;
mod rootfs_hostile;
mod rootfs_races;
