//! The environment variables netlens reads, in one place: each one's name, meaning and
//! reader. Outside `plan/` and `ui/` nothing else calls `std::env::var*`; the modules that
//! need a value ask here, so a newcomer finds every knob in this file.
//!
//! Every variable is an override of a default, mostly so tests can point netlens at
//! temporary directories instead of the machine's; none is needed in normal use. Values are
//! read on each call, not cached: a test may set one before it runs the code.
//!
//! Read elsewhere, by the layer that owns them: `NETLENS_STATE_DIR` (plan journal),
//! `NETLENS_SYSCTL_DIR` (persisted sysctls), `NETLENS_TEST_PAUSE_AFTER_STEP` /
//! `NETLENS_TEST_PAUSE_AFTER_UNDO_STEP` (plan test hooks), `NO_COLOR` and
//! `NETLENS_TEST_PANIC` (TUI).

use std::ffi::OsString;
use std::path::PathBuf;

/// Directory of named namespaces (default `/run/netns`): where `lab` and plans create them,
/// and the first place discovery looks.
pub const NETNS_DIR: &str = "NETLENS_NETNS_DIR";
/// CNI configuration directory (default `/etc/cni/net.d`).
pub const CNI_CONF_DIR: &str = "NETLENS_CNI_CONF_DIR";
/// CNI plugin directories, `:`-separated like `CNI_PATH` (default `/opt/cni/bin:/usr/lib/cni`).
pub const CNI_BIN_DIRS: &str = "NETLENS_CNI_BIN_DIRS";
/// host-local's default `dataDir` (default `/var/lib/cni/networks`).
pub const CNI_DATA_DIR: &str = "NETLENS_CNI_DATA_DIR";
/// The root below which container runtimes' files are looked for (default `/`).
pub const RUNTIME_ROOT: &str = "NETLENS_RUNTIME_ROOT";
/// Test hook (`test-hooks` feature): a smaller cap (bytes) on a firewall listing tool's
/// output. Can only lower it.
#[cfg(feature = "test-hooks")]
pub const TEST_LISTING_CAP: &str = "NETLENS_TEST_LISTING_CAP";
/// Test hook (`test-hooks` feature): a shorter time limit (seconds) for a firewall listing
/// tool. Can only lower it.
#[cfg(feature = "test-hooks")]
pub const TEST_LISTING_SECS: &str = "NETLENS_TEST_LISTING_SECS";

/// The variable's value, unless unset or empty.
fn non_empty(name: &str) -> Option<OsString> {
    std::env::var_os(name).filter(|v| !v.is_empty())
}

/// [`NETNS_DIR`] where namespaces are created and opened by name; unset or empty: none.
pub fn netns_dir() -> Option<PathBuf> {
    non_empty(NETNS_DIR).map(PathBuf::from)
}

/// [`NETNS_DIR`] as discovery reads it: any value that is valid UTF-8, empty included.
pub fn netns_dir_to_scan() -> Option<String> {
    std::env::var(NETNS_DIR).ok()
}

/// The CNI directories the environment overrides; `None` where it leaves the default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CniDirs {
    pub conf_dir: Option<PathBuf>,
    /// Already split at `:`, empty entries dropped.
    pub bin_dirs: Option<Vec<PathBuf>>,
    pub data_dir: Option<PathBuf>,
    pub runtime_root: Option<PathBuf>,
}

/// [`CNI_CONF_DIR`], [`CNI_BIN_DIRS`], [`CNI_DATA_DIR`] and [`RUNTIME_ROOT`]; an empty value
/// counts as unset.
pub fn cni_dirs() -> CniDirs {
    CniDirs {
        conf_dir: non_empty(CNI_CONF_DIR).map(PathBuf::from),
        bin_dirs: non_empty(CNI_BIN_DIRS).map(|v| {
            std::env::split_paths(&v)
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        }),
        data_dir: non_empty(CNI_DATA_DIR).map(PathBuf::from),
        runtime_root: non_empty(RUNTIME_ROOT).map(PathBuf::from),
    }
}

/// [`TEST_LISTING_CAP`] (bytes) and [`TEST_LISTING_SECS`], each if set to a number; with the
/// `test-hooks` feature only (without it, never read).
pub fn listing_limits() -> (Option<u64>, Option<u64>) {
    #[cfg(feature = "test-hooks")]
    {
        let num = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
        (num(TEST_LISTING_CAP), num(TEST_LISTING_SECS))
    }
    #[cfg(not(feature = "test-hooks"))]
    (None, None)
}
