//! The test hooks: variables the integration tests set on the netlens they start, to pause a
//! plan at an exact step, crash a TUI thread, or lower the firewall-listing limits. They
//! exist only with the `test-hooks` feature (`tests/run.sh` turns it on): without it
//! [`TestHooks`] is empty, nothing here reads a variable, and every accessor answers `None`,
//! which the optimiser folds away.

#[cfg(feature = "test-hooks")]
use std::ffi::OsString;

/// After step N (1-based) of an apply is journaled done, stop with SIGSTOP.
#[cfg(feature = "test-hooks")]
pub const TEST_PAUSE_AFTER_STEP: &str = "NETLENS_TEST_PAUSE_AFTER_STEP";
/// After the Nth inverse step of a rollback or undo (1-based, counting every inverse step
/// met, whether it ran or already held), stop with SIGSTOP.
#[cfg(feature = "test-hooks")]
pub const TEST_PAUSE_AFTER_UNDO_STEP: &str = "NETLENS_TEST_PAUSE_AFTER_UNDO_STEP";
/// `capture` panics on the TUI's capture thread, `capture-abort` aborts there.
#[cfg(feature = "test-hooks")]
pub const TEST_PANIC: &str = "NETLENS_TEST_PANIC";
/// A smaller cap (bytes) on a firewall listing tool's output. Can only lower it.
#[cfg(feature = "test-hooks")]
pub const TEST_LISTING_CAP: &str = "NETLENS_TEST_LISTING_CAP";
/// A shorter time limit (seconds) for a firewall listing tool. Can only lower it.
#[cfg(feature = "test-hooks")]
pub const TEST_LISTING_SECS: &str = "NETLENS_TEST_LISTING_SECS";

/// The hooks as the environment set them (see the constants of this module).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TestHooks {
    #[cfg(feature = "test-hooks")]
    pub pause_after_step: Option<usize>,
    #[cfg(feature = "test-hooks")]
    pub pause_after_undo_step: Option<usize>,
    #[cfg(feature = "test-hooks")]
    pub panic: Option<String>,
    #[cfg(feature = "test-hooks")]
    pub listing_cap: Option<u64>,
    #[cfg(feature = "test-hooks")]
    pub listing_secs: Option<u64>,
}

impl TestHooks {
    #[cfg(feature = "test-hooks")]
    pub(super) fn from_lookup(get: &impl Fn(&str) -> Option<OsString>) -> Self {
        fn number<T: std::str::FromStr>(v: Option<OsString>) -> Option<T> {
            v?.to_str()?.parse().ok()
        }
        TestHooks {
            pause_after_step: number(get(TEST_PAUSE_AFTER_STEP)),
            pause_after_undo_step: number(get(TEST_PAUSE_AFTER_UNDO_STEP)),
            panic: get(TEST_PANIC).and_then(|v| v.into_string().ok()),
            listing_cap: number(get(TEST_LISTING_CAP)),
            listing_secs: number(get(TEST_LISTING_SECS)),
        }
    }

    #[cfg(not(feature = "test-hooks"))]
    pub(super) fn from_lookup<G>(_get: &G) -> Self {
        TestHooks {}
    }

    /// `(variable, N)`: stop after step N of an apply.
    pub fn pause_after_step(&self) -> Option<(&'static str, usize)> {
        #[cfg(feature = "test-hooks")]
        return self.pause_after_step.map(|n| (TEST_PAUSE_AFTER_STEP, n));
        #[cfg(not(feature = "test-hooks"))]
        None
    }

    /// `(variable, N)`: stop after the Nth inverse step of a rollback or undo.
    pub fn pause_after_undo_step(&self) -> Option<(&'static str, usize)> {
        #[cfg(feature = "test-hooks")]
        return self
            .pause_after_undo_step
            .map(|n| (TEST_PAUSE_AFTER_UNDO_STEP, n));
        #[cfg(not(feature = "test-hooks"))]
        None
    }

    /// Where a TUI thread should crash on purpose (`capture`, `capture-abort`).
    pub fn panic(&self) -> Option<&str> {
        #[cfg(feature = "test-hooks")]
        return self.panic.as_deref();
        #[cfg(not(feature = "test-hooks"))]
        None
    }

    /// Lower firewall-listing limits: (bytes, seconds).
    pub fn listing_limits(&self) -> (Option<u64>, Option<u64>) {
        #[cfg(feature = "test-hooks")]
        return (self.listing_cap, self.listing_secs);
        #[cfg(not(feature = "test-hooks"))]
        (None, None)
    }
}
