//! The plan engine's directories, from the settings `main` read once (`crate::env`): what the
//! environment can change about a plan is listed here.
//!
//! - the state directory instead of `/var/lib/netlens` (journal, lock, undo reserve);
//! - the sysctl directory instead of `/etc/sysctl.d` (persisted sysctls);
//! - `PATH`, to tell whether `iptables` and `nft` are installed before a step needs them
//!   (`crate::env::find_in_path`).
//!
//! Asked at each call rather than once: integration tests run several plans in one process,
//! each pointing the state at a directory of its own (`crate::env::install`).

use std::path::PathBuf;

pub use crate::env::find_in_path;
/// Overrides `/var/lib/netlens` (tests point it at a temporary directory).
pub use crate::env::STATE_DIR as STATE_DIR_ENV;
/// Overrides `/etc/sysctl.d` (tests point it at a temporary directory).
pub use crate::env::SYSCTL_DIR as SYSCTL_DIR_ENV;

pub fn state_dir() -> PathBuf {
    crate::env::current()
        .state_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("/var/lib/netlens"))
}

pub fn sysctl_dir() -> PathBuf {
    crate::env::current()
        .sysctl_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("/etc/sysctl.d"))
}
