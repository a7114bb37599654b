//! `--confirm-within`: a change rolls itself back unless confirmed in time, like a router's
//! `commit confirmed` — the guard against cutting off one's own SSH session.
//!
//! Design: the deadline is journaled (`awaiting_confirm`), then a watchdog is started as a
//! separate process in its own session (`setsid`): `netlens undo --if-unconfirmed ID`. It
//! outlives the terminal and the netlens that applied the plan (a dropped SSH session, Ctrl-C,
//! kill -9), sleeps until the deadline and rolls the plan back unless it was confirmed.
//! Confirming appends `confirmed` under the plan's lock; the watchdog checks under the same
//! lock, so exactly one of the two wins. As a second line, `netlens apply/undo/confirm` roll
//! back plans whose deadline passed unconfirmed (`sweep_expired`, under the state lock), which
//! covers a watchdog that was itself killed. `netlens journal` never does: listing changes
//! nothing, it says whether the watchdog (its pid is journaled) still runs. What nothing
//! covers: a reboot inside the window (the runtime changes are gone then anyway, except a
//! persisted sysctl file).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::clock;
use super::error::PlanError;
use super::journal::{self, Event, Journal, PlanState};
use super::lock;
use super::undo::{revert, Undone};

/// Starts the watchdog for plan `id`; returns its pid.
pub fn spawn_watchdog(id: &str, helper: Option<&Path>) -> Result<u32, PlanError> {
    use std::os::unix::process::CommandExt;
    // The running executable through /proc/self/exe, not by its path: an upgrade may have
    // replaced or removed the file since this netlens started (it may have waited for the
    // state lock), and its path then reads `/usr/bin/netlens (deleted)`. The exec in the
    // child resolves the link to the very file this process runs.
    let self_exe = Path::new("/proc/self/exe");
    let exe = match helper {
        Some(p) => p.to_path_buf(),
        None if self_exe.exists() => self_exe.to_path_buf(),
        None => std::env::current_exe().map_err(|e| {
            PlanError::Internal(format!(
                "cannot find the netlens executable for the confirm watchdog: {e}"
            ))
        })?,
    };
    let mut cmd = Command::new(&exe);
    cmd.args(["undo", "--if-unconfirmed", id, "--yes"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: setsid is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            nix::unistd::setsid()
                .map(|_| ())
                .map_err(std::io::Error::from)
        });
    }
    cmd.spawn().map(|c| c.id()).map_err(|e| {
        PlanError::Internal(format!(
            "cannot start the confirm watchdog {}: {e}",
            exe.display()
        ))
    })
}

/// Confirms plan `id`: it stays applied.
pub fn confirm(id: &str) -> Result<(), PlanError> {
    if !nix::unistd::geteuid().is_root() {
        return Err(PlanError::NotRoot);
    }
    let _state = lock::acquire(&format!("confirm of plan {id}"))?;
    let mut j = Journal::open(id)?;
    let _lock = j.lock()?;
    let entry = journal::read(id)?;
    match entry.state {
        PlanState::Committed => Ok(()),
        PlanState::AwaitingConfirm if entry.deadline.is_some_and(|d| clock::now_ms() <= d) => {
            j.append(Event::Confirmed)
        }
        PlanState::AwaitingConfirm if entry.watchdog_running() => Err(PlanError::WrongState {
            id: id.to_string(),
            state: "past its confirm deadline".into(),
            action: "its watchdog is rolling it back".into(),
        }),
        PlanState::AwaitingConfirm => {
            // Nobody else will: roll it back now (the lock is re-entrant).
            drop(_lock);
            let action = match rollback_if_unconfirmed(id, false) {
                Ok(_) => "its watchdog was not running, so it was rolled back now".to_string(),
                Err(e) => format!("its watchdog was not running and rolling it back failed: {e}"),
            };
            Err(PlanError::WrongState {
                id: id.to_string(),
                state: "past its confirm deadline".into(),
                action,
            })
        }
        other => Err(PlanError::WrongState {
            id: id.to_string(),
            state: other.as_str().to_string(),
            action: "there is nothing to confirm".into(),
        }),
    }
}

/// The watchdog's work: with `wait`, sleep until the deadline (returning early once the plan
/// is confirmed or undone), then roll back if still unconfirmed. `Ok(None)`: nothing to do.
pub fn rollback_if_unconfirmed(id: &str, wait: bool) -> Result<Option<Undone>, PlanError> {
    loop {
        let entry = journal::read(id)?;
        if entry.state != PlanState::AwaitingConfirm {
            return Ok(None);
        }
        let deadline = entry.deadline.unwrap_or(0);
        let now = clock::now_ms();
        if !wait || now >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis((deadline - now).min(250)));
    }
    let unconfirmed = |e: &journal::Entry| e.state == PlanState::AwaitingConfirm;
    match revert(id, unconfirmed, |errors| Event::RolledBack {
        reason: "not confirmed before the deadline".into(),
        errors,
    }) {
        Ok(u) => Ok(Some(u)),
        // Confirmed or undone between the check and the lock.
        Err(PlanError::WrongState { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Rolls back every plan whose confirm deadline has passed (a watchdog that died). Returns
/// what it did, one line each.
pub fn sweep_expired() -> Vec<String> {
    // Cheap check first: most runs have nothing to sweep and need no lock.
    let expired = |e: &journal::Entry, now: u64| {
        e.state == PlanState::AwaitingConfirm && e.deadline.is_some_and(|d| now > d + 1000)
    };
    // An unreadable state dir or a busy lock is left to the command that runs next: it meets
    // the same error and reports it once.
    match journal::list() {
        Ok(entries) if entries.iter().any(|e| expired(e, clock::now_ms())) => {}
        _ => return Vec::new(),
    }
    let Ok(_state) = lock::acquire("the rollback of expired confirmations") else {
        return Vec::new();
    };
    let Ok(entries) = journal::list() else {
        return Vec::new();
    };
    let now = clock::now_ms();
    let mut out = Vec::new();
    for e in entries {
        // A second of grace: the watchdog itself is about to act.
        if e.state == PlanState::AwaitingConfirm && e.deadline.is_some_and(|d| now > d + 1000) {
            match rollback_if_unconfirmed(&e.plan.id, false) {
                Ok(Some(_)) => out.push(format!(
                    "rolled back plan {} (not confirmed before its deadline)",
                    e.plan.id
                )),
                Ok(None) => {}
                Err(err) => out.push(format!("plan {}: {err}", e.plan.id)),
            }
        }
    }
    out
}
