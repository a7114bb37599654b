//! Test-only pause points inside apply and undo, so a test can act on the network (or kill
//! the process) at an exact step instead of racing it. Integration tests set the variables
//! (`crate::env::TestHooks`) on the netlens they start, so they cannot be `cfg(test)`: they
//! exist only with the `test-hooks` feature (`tests/run.sh` turns it on). Without it both
//! functions are empty: not even the settings are looked at.

/// Called after step `number` of an apply is journaled done.
pub(crate) fn pause_after_step(number: usize) {
    #[cfg(feature = "test-hooks")]
    pause_if(crate::env::current().hooks.pause_after_step(), number);
    #[cfg(not(feature = "test-hooks"))]
    let _ = number;
}

/// Called after the `number`th inverse step of a rollback or undo.
pub(crate) fn pause_after_undo_step(number: usize) {
    #[cfg(feature = "test-hooks")]
    pause_if(crate::env::current().hooks.pause_after_undo_step(), number);
    #[cfg(not(feature = "test-hooks"))]
    let _ = number;
}

/// When the hook names step `number`: print a line a test can wait for, then stop with
/// SIGSTOP. The test then kills the process (a crash mid-plan) or changes the network and
/// sends SIGCONT (something undoing the change behind our back), at exactly this point. A stop
/// rather than a sleep: the test decides when the process goes on, so nothing depends on
/// timing.
#[cfg(feature = "test-hooks")]
fn pause_if(hook: Option<(&str, usize)>, number: usize) {
    if let Some((var, wanted)) = hook {
        if wanted == number {
            eprintln!("netlens: {var}={number}: pausing (test hook)");
            let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGSTOP);
        }
    }
}
