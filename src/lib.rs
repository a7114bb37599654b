//! netlens: inspect and debug Linux networking across every network namespace of a host.
pub mod cli;
pub mod cni;
pub mod collect;
pub mod diagnose;
pub mod dns;
pub mod dnsconf;
pub mod env;
pub mod firewall;
pub mod k8s;
pub mod lab;
#[cfg(test)]
mod layering_tests;
pub mod model;
pub mod netlink;
pub mod netns;
pub mod plan;
pub mod report;
pub mod rootfs;
pub mod saved;
#[cfg(test)]
mod test_rng;
pub mod text;
pub mod trace;
pub mod ui;
