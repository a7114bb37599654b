//! Command-line subcommands.
pub mod lab;
