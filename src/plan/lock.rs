//! One change at a time: apply, undo, confirm, the confirm watchdog's rollback and the sweep of
//! expired confirmations all take an exclusive `flock` on `STATE_DIR/lock`, across processes.
//! Without it two applies interleave (a rule added twice, inverses recorded against each
//! other's half-done state) and two undos race for "the latest" plan.
//!
//! A second netlens waits, saying once for whom (the holder writes its pid and what it does
//! into the lock file), or with `--no-wait` ([`set_no_wait`]) refuses at once. The lock is
//! re-entrant within a thread (apply rolling back an expired plan, the sweep calling revert):
//! flock locks of two open files conflict even within one process. Other threads of the same
//! process wait for it like other processes do.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::marker::PhantomData;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::thread::{self, ThreadId};

use nix::fcntl::{Flock, FlockArg};

use super::error::PlanError;
use super::state_dir;

static NO_WAIT: AtomicBool = AtomicBool::new(false);

struct Held {
    owner: Option<ThreadId>,
    depth: usize,
    lock: Option<Flock<File>>,
}

static HELD: Mutex<Held> = Mutex::new(Held {
    owner: None,
    depth: 0,
    lock: None,
});
/// Signalled when the lock is released, for other threads of this process.
static RELEASED: Condvar = Condvar::new();

/// `--no-wait`: refuse instead of waiting when another change holds the lock.
pub fn set_no_wait(no_wait: bool) {
    NO_WAIT.store(no_wait, Ordering::Relaxed);
}

/// Held while the guard lives; released by the thread that took it (hence not `Send`).
#[must_use]
pub struct StateLock(PhantomData<*const ()>);

impl Drop for StateLock {
    fn drop(&mut self) {
        let mut held = HELD.lock().unwrap_or_else(|p| p.into_inner());
        held.depth = held.depth.saturating_sub(1);
        if held.depth == 0 {
            held.lock = None;
            held.owner = None;
            RELEASED.notify_all();
        }
    }
}

/// Who holds the lock, as its holder wrote it: `(pid, what)`.
fn holder(file: &mut File) -> Option<(String, String)> {
    let mut text = String::new();
    file.rewind().ok()?;
    file.take(512).read_to_string(&mut text).ok()?;
    let (pid, what) = text.trim_end().split_once(' ')?;
    Some((pid.to_string(), what.to_string()))
}

/// Takes the state lock for `what` ("plan ID", "undo of plan ID"…), waiting (with one line on
/// stderr) or refusing under `--no-wait`.
pub fn acquire(what: &str) -> Result<StateLock, PlanError> {
    let me = thread::current().id();
    let mut held = HELD.lock().unwrap_or_else(|p| p.into_inner());
    loop {
        match held.owner {
            Some(owner) if owner == me => {
                held.depth += 1;
                return Ok(StateLock(PhantomData));
            }
            Some(_) if NO_WAIT.load(Ordering::Relaxed) => {
                return Err(PlanError::Busy {
                    holder: "another thread of this netlens".into(),
                });
            }
            Some(_) => held = RELEASED.wait(held).unwrap_or_else(|p| p.into_inner()),
            None => break,
        }
    }
    let dir = state_dir::ensure()?;
    let path = dir.parent().unwrap_or(&dir).join("lock");
    let lerr = |reason: String| PlanError::Journal {
        path: path.display().to_string(),
        reason,
    };
    let file = state_dir::open_file(&path, true, true).map_err(|e| lerr(e.to_string()))?;
    let file = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(l) => l,
        Err((mut file, nix::Error::EWOULDBLOCK)) => {
            let who = match holder(&mut file) {
                Some((pid, w)) => format!("{w} (pid {pid})"),
                None => "another netlens".to_string(),
            };
            if NO_WAIT.load(Ordering::Relaxed) {
                return Err(PlanError::Busy { holder: who });
            }
            crate::errln!("netlens: waiting for {who} to finish…");
            Flock::lock(file, FlockArg::LockExclusive).map_err(|(_, e)| lerr(e.to_string()))?
        }
        Err((_, e)) => return Err(lerr(e.to_string())),
    };
    // Best effort (a full disk may refuse it): only the waiting message depends on it.
    let line = format!("{} {what}\n", std::process::id());
    if file.set_len(0).is_ok() {
        let _ = file.write_all_at(line.as_bytes(), 0);
    }
    let _ = (&*file).flush();
    held.lock = Some(file);
    held.owner = Some(me);
    held.depth = 1;
    Ok(StateLock(PhantomData))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Re-entrant in one thread; another thread waits until the first lets go.
    #[test]
    fn reentrant_per_thread_exclusive_across_threads() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        // Only this test in the lib sets it; other lib tests do not touch the state dir.
        crate::env::install(crate::env::Settings {
            state_dir: Some(state.clone()),
            ..crate::env::Settings::default()
        });
        let outer = acquire("outer").unwrap();
        let inner = acquire("inner").unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let t = thread::spawn(move || {
            let _g = acquire("other thread").unwrap();
            tx.send(()).unwrap();
        });
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert!(rx.try_recv().is_err(), "the other thread got the lock");
        drop(inner);
        std::thread::sleep(std::time::Duration::from_millis(100));
        assert!(rx.try_recv().is_err(), "released while still held once");
        drop(outer);
        rx.recv_timeout(std::time::Duration::from_secs(5))
            .expect("the other thread gets it once released");
        t.join().unwrap();
        let text = std::fs::read_to_string(state.join("lock")).unwrap();
        assert!(text.ends_with(" other thread\n"), "{text:?}");
    }
}
