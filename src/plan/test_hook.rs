//! Test-only pause points inside apply and undo, so a test can act on the network (or kill
//! the process) at an exact step instead of racing it. Integration tests set these variables
//! on the netlens they start, so they cannot be `cfg(test)`: they exist only with the
//! `test-hooks` feature (`tests/run.sh` turns it on). Without it both functions are empty and
//! the variables are never read.

#[cfg(feature = "test-hooks")]
pub use hooks::{TEST_PAUSE_ENV, TEST_PAUSE_UNDO_ENV};

/// Called after step `number` of an apply is journaled done.
pub(crate) fn pause_after_step(number: usize) {
    #[cfg(feature = "test-hooks")]
    hooks::pause_if(TEST_PAUSE_ENV, hooks::pauses().after_step, number);
    #[cfg(not(feature = "test-hooks"))]
    let _ = number;
}

/// Called after the `number`th inverse step of a rollback or undo.
pub(crate) fn pause_after_undo_step(number: usize) {
    #[cfg(feature = "test-hooks")]
    hooks::pause_if(TEST_PAUSE_UNDO_ENV, hooks::pauses().after_undo_step, number);
    #[cfg(not(feature = "test-hooks"))]
    let _ = number;
}

#[cfg(feature = "test-hooks")]
mod hooks {
    use std::sync::OnceLock;

    use nix::sys::signal::{raise, Signal};

    /// After step N (1-based) of an apply is journaled done, stop (see [`pause_if`]).
    pub const TEST_PAUSE_ENV: &str = "NETLENS_TEST_PAUSE_AFTER_STEP";

    /// After the Nth inverse step of a rollback or undo (1-based, counting every inverse step
    /// met, whether it ran or already held), stop (see [`pause_if`]).
    pub const TEST_PAUSE_UNDO_ENV: &str = "NETLENS_TEST_PAUSE_AFTER_UNDO_STEP";

    /// The two pause points, as the process found them when first asked.
    pub struct Pauses {
        pub after_step: Option<usize>,
        pub after_undo_step: Option<usize>,
    }

    pub fn pauses() -> &'static Pauses {
        static PAUSES: OnceLock<Pauses> = OnceLock::new();
        PAUSES.get_or_init(|| {
            let number = |var| {
                std::env::var(var)
                    .ok()
                    .and_then(|v| v.parse::<usize>().ok())
            };
            Pauses {
                after_step: number(TEST_PAUSE_ENV),
                after_undo_step: number(TEST_PAUSE_UNDO_ENV),
            }
        })
    }

    /// When `wanted` is `number`: print a line a test can wait for, then stop with SIGSTOP.
    /// The test then kills the process (a crash mid-plan) or changes the network and sends
    /// SIGCONT (something undoing the change behind our back), at exactly this point. A stop
    /// rather than a sleep: the test decides when the process goes on, so nothing depends on
    /// timing.
    pub fn pause_if(env: &str, wanted: Option<usize>, number: usize) {
        if wanted == Some(number) {
            eprintln!("netlens: {env}={number}: pausing (test hook)");
            let _ = raise(Signal::SIGSTOP);
        }
    }
}
