//! A plan's journal as read back: its records, the state they put it in, whether its confirm
//! watchdog still runs (checked against pid reuse), and the inverses that undo it.

use std::fs;

use super::record::{Event, PlanState, Record};
use crate::plan::clock;
use crate::plan::spec::Plan;
use crate::plan::step::Step;

/// A plan's journal as read back.
#[derive(Debug, Clone)]
pub struct Entry {
    pub plan: Plan,
    pub started_at: u64,
    pub records: Vec<Record>,
    pub state: PlanState,
    /// Confirm deadline, Unix milliseconds.
    pub deadline: Option<u64>,
    /// Order of application (`plan_seq`; 0 for older journals and damaged ones).
    pub seq: u64,
    /// Damaged lines, `FILE:LINE: reason`. Undo refuses such a plan: what it would revert
    /// may be in the lost line.
    pub problems: Vec<String>,
    /// Written by an older netlens (no checksums).
    pub legacy: bool,
    /// The confirm watchdog's pid, when journaled.
    pub watchdog_pid: Option<u32>,
}

fn pid_alive(pid: u32) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    // Signal 0 checks existence; EPERM still means it exists.
    !matches!(
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None),
        Err(nix::Error::ESRCH)
    )
}

/// Whether process `pid` runs with real, effective, saved and filesystem uid 0.
fn all_uids_root(pid: u32) -> bool {
    let Ok(status) = crate::saved::read::read_regular(
        std::path::Path::new(&format!("/proc/{pid}/status")),
        64 * 1024,
        "a process status",
    ) else {
        return false;
    };
    String::from_utf8_lossy(&status)
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .is_some_and(|uids| {
            let uids: Vec<&str> = uids.split_whitespace().collect();
            uids.len() == 4 && uids.iter().all(|u| *u == "0")
        })
}

impl Entry {
    pub(super) fn from_records(records: Vec<Record>) -> Option<Entry> {
        let (plan, started_at, pid, seq) = records.iter().find_map(|r| match &r.event {
            Event::Started {
                plan,
                pid,
                plan_seq,
            } => Some((plan.clone(), r.at, *pid, *plan_seq)),
            _ => None,
        })?;
        let mut state = if pid_alive(pid) && pid != std::process::id() {
            PlanState::Applying
        } else {
            PlanState::Interrupted
        };
        let mut deadline = None;
        let mut undo_pid = None;
        let mut watchdog_pid = None;
        for r in &records {
            if let Event::WatchdogStarted { pid } = &r.event {
                watchdog_pid = Some(*pid);
            }
            state = match &r.event {
                Event::Committed | Event::Confirmed => PlanState::Committed,
                Event::AwaitingConfirm { deadline_ms: d } => {
                    deadline = Some(*d);
                    PlanState::AwaitingConfirm
                }
                Event::RolledBack { .. } => PlanState::RolledBack,
                Event::UndoStarted { pid } => {
                    undo_pid = Some(*pid);
                    PlanState::Undoing
                }
                Event::Undone { errors } if errors.is_empty() => PlanState::Undone,
                Event::Undone { .. } => PlanState::UndoFailed,
                _ => state,
            };
        }
        // An undo whose process died is as good as failed: run it again.
        if state == PlanState::Undoing
            && undo_pid.is_some_and(|p| !pid_alive(p) || p == std::process::id())
        {
            state = PlanState::UndoFailed;
        }
        Some(Entry {
            plan,
            started_at,
            records,
            state,
            deadline,
            seq,
            problems: Vec::new(),
            legacy: false,
            watchdog_pid,
        })
    }

    /// Whether the confirm watchdog journaled for this plan is still running: its pid alive,
    /// running exactly `undo --if-unconfirmed ID`, root's through and through, under our own
    /// root (not a reused pid). Anyone can start a process whose arguments read so, and a pid
    /// is reused once its process dies: a user's process fails the uid check (all four uids
    /// must be 0: a set-uid program a user started has root's effective uid but the user's
    /// real one), a container's process the root check.
    pub fn watchdog_running(&self) -> bool {
        use std::os::unix::fs::MetadataExt;
        let Some(pid) = self.watchdog_pid else {
            return false;
        };
        let same_root = match (fs::metadata(format!("/proc/{pid}/root")), fs::metadata("/")) {
            (Ok(theirs), Ok(ours)) => (theirs.dev(), theirs.ino()) == (ours.dev(), ours.ino()),
            _ => false,
        };
        if !same_root {
            return false;
        }
        let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
            return false;
        };
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        let watchdog_args = args.get(1..4)
            == Some(
                &[
                    &b"undo"[..],
                    &b"--if-unconfirmed"[..],
                    self.plan.id.as_bytes(),
                ][..],
            );
        watchdog_args && all_uids_root(pid)
    }

    /// A line about the confirm window that tells the truth about who will act, or `None`
    /// when the plan is not awaiting confirmation.
    pub fn confirm_note(&self) -> Option<String> {
        if self.state != PlanState::AwaitingConfirm {
            return None;
        }
        let id = &self.plan.id;
        let passed = self.deadline.is_none_or(|d| clock::now_ms() > d);
        Some(match (passed, self.watchdog_running()) {
            (true, true) => "deadline passed: its watchdog is rolling it back".to_string(),
            (true, false) => format!(
                "deadline passed, watchdog not running: `netlens undo {id}` reverts it (so does the next apply, undo or confirm)"
            ),
            (false, true) => "watchdog running: rolls back at the deadline unless confirmed".into(),
            (false, false) => format!(
                "watchdog not running: `netlens confirm {id}` keeps it, `netlens undo {id}` reverts it"
            ),
        })
    }

    /// An entry for a journal without a readable `started` record.
    pub(super) fn damaged(id: &str, problems: Vec<String>) -> Entry {
        Entry {
            plan: Plan {
                id: id.to_string(),
                title: String::new(),
                steps: Vec::new(),
            },
            started_at: 0,
            records: Vec::new(),
            state: PlanState::Damaged,
            deadline: None,
            seq: 0,
            problems,
            legacy: false,
            watchdog_pid: None,
        }
    }

    /// The inverses to run to revert this plan, per step in the order the steps ran: the
    /// final inverse of each step that finished, and the inverse recorded before a step that
    /// was started but never finished (it may or may not have happened; inverses of steps
    /// that did not happen find nothing to do).
    pub fn inverses(&self) -> Vec<(usize, Vec<Step>)> {
        let mut out: Vec<(usize, Vec<Step>)> = Vec::new();
        for r in &self.records {
            match &r.event {
                Event::StepStarted { index, inverse } => out.push((*index, inverse.clone())),
                Event::StepDone { index, inverse } => {
                    if let Some(slot) = out.iter_mut().rev().find(|(i, _)| i == index) {
                        slot.1 = inverse.clone();
                    }
                }
                _ => {}
            }
        }
        out
    }
}
