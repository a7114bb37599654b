//! Running a plan's journaled inverses: the rollback of a failed apply, `undo`, and the
//! confirm watchdog all go through [`run_inverses`].

use std::time::Duration;

use super::exec::Engine;
use super::step::Step;

/// Test-only: after the Nth inverse step of a rollback or undo (1-based, counting every
/// inverse step met, whether it ran or already held), sleep so a test can SIGKILL the process
/// there and check that running `undo` again converges. Never set it in production.
pub const TEST_PAUSE_UNDO_ENV: &str = "NETLENS_TEST_PAUSE_AFTER_UNDO_STEP";

fn test_pause(number: usize) {
    let wanted = std::env::var(TEST_PAUSE_UNDO_ENV)
        .ok()
        .and_then(|v| v.parse::<usize>().ok());
    if wanted == Some(number) {
        eprintln!("netlens: {TEST_PAUSE_UNDO_ENV}={number}: pausing (test hook)");
        std::thread::sleep(Duration::from_secs(60));
    }
}

/// Runs inverse steps (per original step, latest first). A step whose target state already
/// holds is skipped. Returns how many original steps were undone and every error met.
pub(crate) fn run_inverses(
    eng: &mut Engine,
    inverses: &[(usize, Vec<Step>)],
) -> (usize, Vec<String>) {
    // A journal is data read back from disk: its inverses pass the same checks as a plan's
    // steps before any of them runs.
    if let Err(e) = super::validate::validate_inverses(inverses) {
        return (0, vec![e]);
    }
    let mut undone = 0;
    let mut errors = Vec::new();
    let mut count = 0;
    for (index, steps) in inverses.iter().rev() {
        let mut ok = true;
        for step in steps {
            let result = super::inverse::holds(eng, step).and_then(|holds| {
                if holds {
                    Ok(())
                } else {
                    eng.execute(step).map(|_| ())
                }
            });
            if let Err(e) = result {
                ok = false;
                errors.push(format!("undoing step {} ({step}): {e}", index + 1));
            }
            count += 1;
            test_pause(count);
        }
        if ok {
            undone += 1;
        }
    }
    (undone, errors)
}
