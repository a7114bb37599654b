//! netlens: inspect and debug Linux networking across every network namespace of a host.
pub mod cli;
pub mod lab;
pub mod netns;
