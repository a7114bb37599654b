//! netlens: inspect and debug Linux networking across every network namespace of a host.
pub mod dnsconf;
pub mod firewall;
pub mod netns;
