//! The plan engine's environment: the one module under `plan/` that reads environment
//! variables (the test pause hooks aside, which `test_hook` reads once). Everything else asks
//! here, so what the environment can change about a plan is listed in one place:
//!
//! - `NETLENS_STATE_DIR` instead of `/var/lib/netlens` (journal, lock, undo reserve);
//! - `NETLENS_SYSCTL_DIR` instead of `/etc/sysctl.d` (persisted sysctls);
//! - `PATH`, to tell whether `iptables` and `nft` are installed before a step needs them.
//!
//! Read at each call rather than once: integration tests run several plans in one process,
//! each pointing the state at a directory of its own.

use std::path::{Path, PathBuf};

/// Overrides `/var/lib/netlens` (tests point it at a temporary directory).
pub const STATE_DIR_ENV: &str = "NETLENS_STATE_DIR";

/// Overrides `/etc/sysctl.d` (tests point it at a temporary directory).
pub const SYSCTL_DIR_ENV: &str = "NETLENS_SYSCTL_DIR";

/// The variable's value as a directory, or `default` when unset or empty.
fn dir(var: &str, default: &str) -> PathBuf {
    match std::env::var_os(var) {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from(default),
    }
}

pub fn state_dir() -> PathBuf {
    dir(STATE_DIR_ENV, "/var/lib/netlens")
}

pub fn sysctl_dir() -> PathBuf {
    dir(SYSCTL_DIR_ENV, "/etc/sysctl.d")
}

/// Where `program` would be found on `PATH`, as an executable file.
pub fn find_in_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}
