//! `netlens doctor` against the kernel: routing on hand-built topologies, one test per rule,
//! the lab's faults, a real CNI bridge, a non-root run, and the random-topology oracle
//! (`cargo test --test doctor oracle_random -- --nocapture`, see docs/testing.md).
//!
//! One test binary of a few grouped by subject (docs/testing.md); each module was a binary of
//! its own. World tests name themselves `module::test` (see `common::world`).

#[path = "../common/mod.rs"]
mod common;

mod doctor_cni;
mod doctor_lab;
mod doctor_nonroot;
mod doctor_routing;
mod doctor_rules;
mod oracle_random;
