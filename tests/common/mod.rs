//! Helpers shared by the integration tests. Every test binary (`tests/GROUP/main.rs`) compiles
//! this module once, as `#[path = "../common/mod.rs"] mod common;`, and uses only part of it,
//! hence the `dead_code` allowance.
#![allow(dead_code)]

pub mod cni;
pub mod container;
pub mod docker;
pub mod flows;
pub mod mutate;
pub mod oracle_check;
pub mod oracle_fault;
pub mod oracle_fault_unseen;
pub mod oracle_probe;
pub mod out;
pub mod plan;
pub mod podman;
pub mod rules;
pub mod snap;
pub mod tmux;
pub mod topo_gen;
pub mod topo_shapes;
pub mod tui;
pub mod world;
