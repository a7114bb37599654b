//! Subcommands, one file each. `main.rs` parses arguments and dispatches here.
pub mod apply;
pub mod capture;
pub mod cni;
pub mod confirm;
pub mod diff;
pub mod dns;
pub mod doctor;
pub mod fix;
pub mod journal;
pub mod lab;
pub mod path;
pub mod ports;
mod prompt;
pub mod snapshot;
pub mod trace;
pub mod undo;
