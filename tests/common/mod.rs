//! Helpers shared by the integration tests. Every test crate (`tests/*.rs`) compiles this module
//! on its own and uses only part of it, hence the `dead_code` allowance.
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
