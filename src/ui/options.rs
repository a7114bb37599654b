//! How the TUI runs, from the settings `main` read once (`crate::env::Settings`) and passed
//! in: nothing in `ui/` reads an environment variable.

use crate::env::Settings;

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Colours on; `NO_COLOR` (https://no-color.org) set and non-empty turns them off.
    pub color: bool,
    /// With the `test-hooks` feature only: `NETLENS_TEST_PANIC=capture` panics on the capture
    /// thread (`capture-abort` aborts there), so a test can check that any crash gives the
    /// terminal back. Without the feature it is always `None`.
    pub test_panic: Option<String>,
}

impl Options {
    pub fn from_settings(settings: &Settings) -> Self {
        Options {
            color: settings.color,
            test_panic: settings.hooks.panic().map(str::to_string),
        }
    }
}
