//! The environment netlens reads, in one place: every variable's name, meaning and field.
//!
//! `main` reads them once, [`Settings::from_env`], and hands the result down: the TUI gets
//! its part as `ui::Options`; the rest is [`install`]ed for the process, because the values
//! are needed far below any options struct (the named-namespace directory by every lookup of
//! a namespace by name, the plan engine's state directory by the journal's free functions and
//! a `Display`), and each layer takes its part from [`current`]. Nothing else calls
//! `std::env::var*` (`layering_tests.rs` checks it), so a library caller — a test — sets
//! netlens up by building a [`Settings`], not by changing the process environment.
//!
//! Every variable is an override of a default, mostly so tests can point netlens at
//! temporary directories instead of the machine's; none is needed in normal use.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

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
/// The plan engine's state: journal, lock, undo reserve (default `/var/lib/netlens`).
pub const STATE_DIR: &str = "NETLENS_STATE_DIR";
/// Where persisted sysctls are written (default `/etc/sysctl.d`).
pub const SYSCTL_DIR: &str = "NETLENS_SYSCTL_DIR";
/// Set and non-empty: no colours (https://no-color.org).
pub const NO_COLOR: &str = "NO_COLOR";
/// Progress notes on stderr for slow work (a silent nameserver, a long read): `always` shows
/// them even when stderr is not a terminal, `never` hides them; default: on a terminal only.
pub const PROGRESS: &str = "NETLENS_PROGRESS";
/// A file the live TUI appends its per-read and per-patch phase times to (for benchmarks).
pub const DEBUG_TIMING: &str = "NETLENS_DEBUG_TIMING";

/// Everything the environment can change about netlens, read once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// [`NETNS_DIR`]: where namespaces are created, opened by name and first looked for.
    pub netns_dir: Option<PathBuf>,
    /// [`CNI_CONF_DIR`], [`CNI_BIN_DIRS`], [`CNI_DATA_DIR`], [`RUNTIME_ROOT`].
    pub cni: CniDirs,
    /// [`STATE_DIR`].
    pub state_dir: Option<PathBuf>,
    /// [`SYSCTL_DIR`].
    pub sysctl_dir: Option<PathBuf>,
    /// Colours on: [`NO_COLOR`] unset or empty.
    pub color: bool,
    /// [`PROGRESS`]: `Some(true)` always, `Some(false)` never, `None` on a terminal only.
    pub progress: Option<bool>,
    /// [`DEBUG_TIMING`].
    pub debug_timing: Option<PathBuf>,
    /// The test hooks; empty without the `test-hooks` feature.
    pub hooks: TestHooks,
}

/// No environment at all: every default, colours on.
impl Default for Settings {
    fn default() -> Self {
        Settings {
            netns_dir: None,
            cni: CniDirs::default(),
            state_dir: None,
            sysctl_dir: None,
            color: true,
            progress: None,
            debug_timing: None,
            hooks: TestHooks::default(),
        }
    }
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

impl Settings {
    /// Reads every variable of this module; an empty value counts as unset. Called by `main`
    /// (and by tests that start from the environment they were given).
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var_os(name))
    }

    /// The same, from any source of variables (a test's table).
    pub fn from_lookup(get: impl Fn(&str) -> Option<OsString>) -> Self {
        let non_empty = |name: &str| get(name).filter(|v| !v.is_empty());
        let dir = |name: &str| non_empty(name).map(PathBuf::from);
        Settings {
            netns_dir: dir(NETNS_DIR),
            cni: CniDirs {
                conf_dir: dir(CNI_CONF_DIR),
                bin_dirs: non_empty(CNI_BIN_DIRS).map(|v| {
                    std::env::split_paths(&v)
                        .filter(|p| !p.as_os_str().is_empty())
                        .collect()
                }),
                data_dir: dir(CNI_DATA_DIR),
                runtime_root: dir(RUNTIME_ROOT),
            },
            state_dir: dir(STATE_DIR),
            sysctl_dir: dir(SYSCTL_DIR),
            color: non_empty(NO_COLOR).is_none(),
            progress: non_empty(PROGRESS).and_then(|v| match v.to_str() {
                Some("always" | "1" | "yes" | "on") => Some(true),
                Some("never" | "0" | "no" | "off") => Some(false),
                _ => None,
            }),
            debug_timing: dir(DEBUG_TIMING),
            hooks: TestHooks::from_lookup(&get),
        }
    }
}

/// The settings every layer reads from; `None` until [`install`]ed (then: the defaults).
static CURRENT: RwLock<Option<Arc<Settings>>> = RwLock::new(None);

/// Makes `settings` what [`current`] returns from now on, in every thread. `main` calls it
/// once, before any work; a test may call it again to point netlens elsewhere.
pub fn install(settings: Settings) {
    let mut current = CURRENT.write().unwrap_or_else(|e| e.into_inner());
    *current = Some(Arc::new(settings));
}

/// The installed settings, or the defaults (no environment) when none were installed.
pub fn current() -> Arc<Settings> {
    let installed = CURRENT.read().unwrap_or_else(|e| e.into_inner()).clone();
    installed.unwrap_or_else(|| Arc::new(Settings::default()))
}

/// Where `program` would be found on `PATH`, as an executable file. `PATH` is read at the
/// call, not taken from [`Settings`]: the question is whether the `Command` about to run it
/// (which looks at the process's `PATH` when it spawns) will find it.
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

mod hooks;
pub use hooks::TestHooks;
#[cfg(feature = "test-hooks")]
pub use hooks::{
    TEST_LISTING_CAP, TEST_LISTING_SECS, TEST_PANIC, TEST_PAUSE_AFTER_STEP,
    TEST_PAUSE_AFTER_UNDO_STEP,
};

#[cfg(test)]
#[path = "env_tests.rs"]
mod tests;
