//! How the TUI runs, read from the environment once, by `main`, and passed in: nothing else
//! in `ui/` reads an environment variable.

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Colours on; `NO_COLOR` (https://no-color.org) set and non-empty turns them off.
    pub color: bool,
    /// With the `test-hooks` feature only: `NETLENS_TEST_PANIC=capture` panics on the capture
    /// thread (`capture-abort` aborts there), so a test can check that any crash gives the
    /// terminal back. Without the feature it is never read and always `None`.
    pub test_panic: Option<String>,
}

impl Options {
    pub fn from_env() -> Self {
        Options {
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
            #[cfg(feature = "test-hooks")]
            test_panic: std::env::var("NETLENS_TEST_PANIC").ok(),
            #[cfg(not(feature = "test-hooks"))]
            test_panic: None,
        }
    }
}
