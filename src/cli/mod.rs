//! Subcommands, one file each. `main.rs` parses arguments and dispatches here.
pub mod capture;
pub mod diff;
pub mod doctor;
pub mod lab;
pub mod snapshot;
