//! netlens: inspect and debug Linux networking across every network namespace of a host.
pub mod cli;
pub mod cni;
pub mod collect;
pub mod diagnose;
pub mod dns;
pub mod dnsconf;
pub mod firewall;
pub mod k8s;
pub mod lab;
pub mod model;
pub mod netns;
pub mod plan;
pub mod report;
pub mod rtnl;
pub mod saved;
pub mod trace;
pub mod ui;
