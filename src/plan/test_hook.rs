//! Test-only pause points inside apply and undo, so a test can act on the network (or kill
//! the process) at an exact step instead of racing it. Never set these variables in
//! production.

use nix::sys::signal::{raise, Signal};

/// After step N (1-based) of an apply is journaled done, stop (see [`pause_if`]).
pub const TEST_PAUSE_ENV: &str = "NETLENS_TEST_PAUSE_AFTER_STEP";

/// After the Nth inverse step of a rollback or undo (1-based, counting every inverse step
/// met, whether it ran or already held), stop (see [`pause_if`]).
pub const TEST_PAUSE_UNDO_ENV: &str = "NETLENS_TEST_PAUSE_AFTER_UNDO_STEP";

/// When `env` holds `number`: print a line a test can wait for, then stop with SIGSTOP. The
/// test then kills the process (a crash mid-plan) or changes the network and sends SIGCONT
/// (something undoing the change behind our back), at exactly this point. A stop rather than
/// a sleep: the test decides when the process goes on, so nothing depends on timing.
pub(crate) fn pause_if(env: &str, number: usize) {
    let wanted = std::env::var(env)
        .ok()
        .and_then(|v| v.parse::<usize>().ok());
    if wanted == Some(number) {
        eprintln!("netlens: {env}={number}: pausing (test hook)");
        let _ = raise(Signal::SIGSTOP);
    }
}
