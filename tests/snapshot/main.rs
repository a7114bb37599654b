//! What netlens reads: `netlens snapshot` on hand-built topologies, the lab, CNI-free
//! namespaces at scale; the collectors run inside a namespace; `diff`; terminal escapes; the
//! parsers on real samples; and the test world itself.
//!
//! One test binary of a few grouped by subject (docs/testing.md); each module was a binary of
//! its own. World tests name themselves `module::test` (see `common::world`).

#[path = "../common/mod.rs"]
mod common;

mod bridge_world;
mod cli_conventions;
mod collect_netns;
mod diff;
mod escape;
mod parsers;
mod snapshot_bridge;
mod snapshot_discovery;
mod snapshot_dns;
mod snapshot_inside_ns;
mod snapshot_ip_only;
mod snapshot_lab;
mod snapshot_nonroot;
mod snapshot_rules;
mod snapshot_scale;
mod snapshot_sockets;
mod snapshot_sysctls;
mod snapshot_veths;
mod world;
