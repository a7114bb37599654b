//! The journal: one JSON-lines file per plan under `$NETLENS_STATE_DIR/journal/` (default
//! `/var/lib/netlens/journal/`), appended to and synced before and after every step, so the
//! state of a plan — and what undoes it — survives a crash at any point.
//!
//! Records, in order: `started` (the whole plan), then per step `step_started` (the inverse,
//! written before the change) and `step_done` (after it, with the final inverse) or
//! `step_skipped` (already so), then one of `committed`, `awaiting_confirm` (then `confirmed`
//! or `rolled_back`), `rolled_back`; later `undo_started` and `undone`.
//!
//! The directory is checked before use (`state_dir`), files are opened without following
//! links or blocking, each line carries a checksum and a sequence number (`journal_lines`),
//! and a damaged line is reported with its file and line, never hiding later records. Every
//! plan gets a sequence number (`plan_seq`) under the state lock: "the latest plan" is the
//! highest one, not the latest second.

use std::fs::{self, File};
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

use super::clock;
use super::error::PlanError;
use super::journal_lines;
use super::reserve;
use super::spec::{valid_id, Plan};
use super::state_dir;
use super::step::Step;

pub use super::journal_read::{list, read, scan, Scan};

pub use super::env::{state_dir, STATE_DIR_ENV};

pub fn journal_dir() -> PathBuf {
    state_dir().join("journal")
}

pub fn journal_path(id: &str) -> PathBuf {
    journal_dir().join(format!("{id}.jsonl"))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Started {
        plan: Plan,
        pid: u32,
        /// The plan's place in the order plans were applied (0 in older journals).
        #[serde(default)]
        plan_seq: u64,
    },
    StepStarted {
        index: usize,
        inverse: Vec<Step>,
    },
    StepDone {
        index: usize,
        inverse: Vec<Step>,
    },
    StepSkipped {
        index: usize,
    },
    /// After step `index` changed something: the state of every object the plan has changed
    /// so far, as it left them (undo compares before reverting; see `marks`).
    Left {
        index: usize,
        marks: Vec<super::marks::Mark>,
    },
    Committed,
    AwaitingConfirm {
        /// Unix milliseconds.
        deadline_ms: u64,
    },
    Confirmed,
    RolledBack {
        reason: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        errors: Vec<String>,
    },
    UndoStarted {
        pid: u32,
    },
    Undone {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        errors: Vec<String>,
    },
    /// The confirm watchdog runs as this pid (`journal` says whether it still does).
    WatchdogStarted {
        pid: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The record's number in its file, from 1 (0: an older journal without numbers).
    #[serde(default)]
    pub seq: u64,
    /// Unix seconds.
    pub at: u64,
    #[serde(flatten)]
    pub event: Event,
}

/// Where a plan stands, from its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanState {
    /// Being applied by a live process.
    Applying,
    /// The applying process died mid-way: undo reverts the steps it did.
    Interrupted,
    AwaitingConfirm,
    Committed,
    RolledBack,
    Undoing,
    Undone,
    /// An undo left errors; undo can be run again.
    UndoFailed,
    /// The journal cannot be read as a plan (no readable `started` record).
    Damaged,
}

impl PlanState {
    pub fn as_str(self) -> &'static str {
        match self {
            PlanState::Applying => "applying",
            PlanState::Interrupted => "interrupted",
            PlanState::AwaitingConfirm => "awaiting confirm",
            PlanState::Committed => "committed",
            PlanState::RolledBack => "rolled back",
            PlanState::Undoing => "undoing",
            PlanState::Undone => "undone",
            PlanState::UndoFailed => "undo failed",
            PlanState::Damaged => "damaged",
        }
    }

    /// States in which the network still holds (part of) the plan's changes.
    pub fn undoable(self) -> bool {
        matches!(
            self,
            PlanState::Interrupted
                | PlanState::AwaitingConfirm
                | PlanState::Committed
                | PlanState::Undoing
                | PlanState::UndoFailed
        )
    }
}

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

/// An open journal file, appended to.
pub struct Journal {
    file: File,
    path: PathBuf,
    /// Where the next record goes: the end of the last complete line.
    len: u64,
    next_seq: u64,
}

/// Journals larger than this are not read (netlens writes a few KiB per plan).
const MAX_JOURNAL_BYTES: u64 = 64 << 20;

pub(super) fn read_capped(file: &File) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    file.take(MAX_JOURNAL_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_JOURNAL_BYTES {
        return Err(std::io::Error::other(format!(
            "larger than {} MiB: not a journal netlens wrote",
            MAX_JOURNAL_BYTES >> 20
        )));
    }
    Ok(bytes)
}

impl Journal {
    fn err(&self, reason: impl ToString) -> PlanError {
        PlanError::Journal {
            path: self.path.display().to_string(),
            reason: reason.to_string(),
        }
    }

    /// Creates the journal of a new plan; an existing journal with that id is refused (an id
    /// names one application of a plan). Call it under the state lock: the plan's sequence
    /// number is one more than the highest journaled. Also sets aside the space undo will
    /// need (`reserve`); if any of this fails, nothing is left behind and nothing ran.
    pub fn create(plan: &Plan) -> Result<Journal, PlanError> {
        state_dir::ensure()?;
        let path = journal_path(&plan.id);
        let jerr = |reason: String| PlanError::Journal {
            path: path.display().to_string(),
            reason,
        };
        let plan_seq = next_plan_seq(scan()?.entries.iter().map(|e| e.seq).max().unwrap_or(0));
        let file = state_dir::create_new(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                jerr(format!(
                    "plan {} was applied before; give it a new id (or leave the id out)",
                    plan.id
                ))
            } else {
                jerr(e.to_string())
            }
        })?;
        let mut j = Journal {
            file,
            path: path.clone(),
            len: 0,
            next_seq: 1,
        };
        let started = j
            .append(Event::Started {
                plan: plan.clone(),
                pid: std::process::id(),
                plan_seq,
            })
            .and_then(|()| {
                reserve::create(&plan.id)
                    .map_err(|e| jerr(format!("cannot set aside space for undo: {e}")))
            });
        if let Err(e) = started {
            let _ = fs::remove_file(&path);
            return Err(PlanError::Journal {
                path: path.display().to_string(),
                reason: format!(
                    "{}; nothing changed",
                    match e {
                        PlanError::Journal { reason, .. } => reason,
                        other => other.to_string(),
                    }
                ),
            });
        }
        Ok(j)
    }

    /// Opens an existing plan's journal to append to. A torn last line (a crash mid-write)
    /// is cut off first, so the next record starts on a line of its own.
    pub fn open(id: &str) -> Result<Journal, PlanError> {
        if !valid_id(id) {
            return Err(PlanError::UnknownPlan { id: id.to_string() });
        }
        state_dir::ensure()?;
        let path = journal_path(id);
        let file = state_dir::open_file(&path, true, false).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                PlanError::UnknownPlan { id: id.to_string() }
            } else {
                PlanError::Journal {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                }
            }
        })?;
        let mut j = Journal {
            file,
            path,
            len: 0,
            next_seq: 1,
        };
        let bytes = read_capped(&j.file).map_err(|e| j.err(e))?;
        let parsed = journal_lines::parse(&bytes);
        j.len = parsed.complete_len as u64;
        j.next_seq = parsed.next_seq;
        if j.len < bytes.len() as u64 {
            j.file.set_len(j.len).map_err(|e| j.err(e))?;
        }
        Ok(j)
    }

    /// Appends one record and syncs it to disk before returning: the record must exist
    /// before the change it announces happens. A failed write (a full disk) is cut off again,
    /// so the file never keeps half a line.
    pub fn append(&mut self, event: Event) -> Result<(), PlanError> {
        let rec = Record {
            seq: self.next_seq,
            at: clock::now(),
            event,
        };
        let line = journal_lines::encode(&rec).map_err(|e| self.err(e))?;
        let written = self
            .file
            .write_all_at(line.as_bytes(), self.len)
            .and_then(|()| self.file.sync_data());
        if let Err(e) = written {
            let _ = self.file.set_len(self.len);
            return Err(self.err(e));
        }
        self.len += line.len() as u64;
        self.next_seq += 1;
        Ok(())
    }

    /// Exclusive lock on this plan (held until the guard drops). Undo, confirm and the
    /// confirm-timeout helper take it, so exactly one of them acts on a plan.
    pub fn lock(&self) -> Result<Flock<File>, PlanError> {
        let f = self.file.try_clone().map_err(|e| self.err(e))?;
        Flock::lock(f, FlockArg::LockExclusive).map_err(|(_, e)| self.err(e))
    }
}

/// The next plan's sequence number: one more than the highest journaled and than the counter
/// in `STATE_DIR/seq` (which survives a damaged or removed journal). Called under the state
/// lock. The counter is rewritten in place at a fixed width, so after the first plan it needs
/// no new disk space; failing to write it only loses that extra safety.
fn next_plan_seq(journaled_max: u64) -> u64 {
    let path = state_dir().join("seq");
    let file = state_dir::open_file(&path, true, true).ok();
    let stored = file
        .as_ref()
        .and_then(|f| {
            let mut text = String::new();
            f.take(32).read_to_string(&mut text).ok()?;
            text.trim().parse::<u64>().ok()
        })
        .unwrap_or(0);
    let next = stored.max(journaled_max) + 1;
    if let Some(f) = file {
        let _ = f
            .write_all_at(format!("{next:020}\n").as_bytes(), 0)
            .and_then(|()| f.sync_data());
    }
    next
}

#[cfg(test)]
#[path = "journal_tests.rs"]
mod tests;
