//! The journal: one JSON-lines file per plan under `$NETLENS_STATE_DIR/journal/` (default
//! `/var/lib/netlens/journal/`), appended to and synced before and after every step, so the
//! state of a plan — and what undoes it — survives a crash at any point.
//!
//! Records, in order: `started` (the whole plan), then per step `step_started` (the inverse,
//! written before the change) and `step_done` (after it, with the final inverse) or
//! `step_skipped` (already so), then one of `committed`, `awaiting_confirm` (then `confirmed`
//! or `rolled_back`), `rolled_back`; later `undo_started` and `undone`.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;

use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

use super::clock;
use super::error::PlanError;
use super::spec::{valid_id, Plan};
use super::step::Step;

/// Overrides `/var/lib/netlens` (tests point it at a temporary directory).
pub const STATE_DIR_ENV: &str = "NETLENS_STATE_DIR";

pub fn state_dir() -> PathBuf {
    match std::env::var_os(STATE_DIR_ENV) {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from("/var/lib/netlens"),
    }
}

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
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
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

impl Entry {
    fn from_records(records: Vec<Record>) -> Option<Entry> {
        let (plan, started_at, pid) = records.iter().find_map(|r| match &r.event {
            Event::Started { plan, pid } => Some((plan.clone(), r.at, *pid)),
            _ => None,
        })?;
        let mut state = if pid_alive(pid) && pid != std::process::id() {
            PlanState::Applying
        } else {
            PlanState::Interrupted
        };
        let mut deadline = None;
        let mut undo_pid = None;
        for r in &records {
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
        })
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
}

impl Journal {
    fn err(&self, reason: impl ToString) -> PlanError {
        PlanError::Journal {
            path: self.path.display().to_string(),
            reason: reason.to_string(),
        }
    }

    /// Creates the journal of a new plan; an existing journal with that id is refused (an id
    /// names one application of a plan).
    pub fn create(plan: &Plan) -> Result<Journal, PlanError> {
        let dir = journal_dir();
        let path = journal_path(&plan.id);
        let jerr = |reason: String| PlanError::Journal {
            path: path.display().to_string(),
            reason,
        };
        fs::create_dir_all(&dir).map_err(|e| jerr(format!("cannot create directory: {e}")))?;
        let file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    jerr(format!(
                        "plan {} was applied before; give it a new id (or leave the id out)",
                        plan.id
                    ))
                } else {
                    jerr(e.to_string())
                }
            })?;
        let mut j = Journal { file, path };
        j.append(Event::Started {
            plan: plan.clone(),
            pid: std::process::id(),
        })?;
        Ok(j)
    }

    /// Opens an existing plan's journal to append to.
    pub fn open(id: &str) -> Result<Journal, PlanError> {
        if !valid_id(id) {
            return Err(PlanError::UnknownPlan { id: id.to_string() });
        }
        let path = journal_path(id);
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|_| PlanError::UnknownPlan { id: id.to_string() })?;
        Ok(Journal { file, path })
    }

    /// Appends one record and syncs it to disk before returning: the record must exist
    /// before the change it announces happens.
    pub fn append(&mut self, event: Event) -> Result<(), PlanError> {
        let rec = Record {
            at: clock::now(),
            event,
        };
        let mut line = serde_json::to_string(&rec).map_err(|e| self.err(e))?;
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .map_err(|e| self.err(e))?;
        self.file.sync_data().map_err(|e| self.err(e))
    }

    /// Exclusive lock on this plan (held until the guard drops). Undo, confirm and the
    /// confirm-timeout helper take it, so exactly one of them acts on a plan.
    pub fn lock(&self) -> Result<Flock<File>, PlanError> {
        let f = self.file.try_clone().map_err(|e| self.err(e))?;
        Flock::lock(f, FlockArg::LockExclusive).map_err(|(_, e)| self.err(e))
    }
}

/// Reads one plan's journal. A torn last line (crash mid-write) is ignored.
pub fn read(id: &str) -> Result<Entry, PlanError> {
    if !valid_id(id) {
        return Err(PlanError::UnknownPlan { id: id.to_string() });
    }
    let path = journal_path(id);
    let file = File::open(&path).map_err(|_| PlanError::UnknownPlan { id: id.to_string() })?;
    let records: Vec<Record> = BufReader::new(file)
        .lines()
        .map_while(Result::ok)
        .filter_map(|l| serde_json::from_str(&l).ok())
        .collect();
    let mut entry = Entry::from_records(records).ok_or_else(|| PlanError::Journal {
        path: path.display().to_string(),
        reason: "no `started` record".into(),
    })?;
    // `apply` holds the plan's lock from start to end. A live pid alone could be a reused one:
    // if the lock is free, nobody is applying it any more.
    if entry.state == PlanState::Applying {
        if let Ok(f) = File::open(&path) {
            if Flock::lock(f, FlockArg::LockExclusiveNonblock).is_ok() {
                entry.state = PlanState::Interrupted;
            }
        }
    }
    Ok(entry)
}

/// Every plan in the journal, oldest first (ids sort by time).
pub fn list() -> Result<Vec<Entry>, PlanError> {
    let dir = journal_dir();
    let entries = match fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(PlanError::Journal {
                path: dir.display().to_string(),
                reason: e.to_string(),
            })
        }
    };
    let mut ids: Vec<String> = entries
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".jsonl"))
                .map(str::to_string)
        })
        .collect();
    ids.sort();
    let mut out: Vec<Entry> = ids.iter().filter_map(|id| read(id).ok()).collect();
    out.sort_by(|a, b| (a.started_at, &a.plan.id).cmp(&(b.started_at, &b.plan.id)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(event: Event) -> Record {
        Record { at: 1, event }
    }

    fn plan() -> Plan {
        Plan::new(
            "t",
            vec![Step::SetLinkUp {
                ns: "red".into(),
                link: "a".into(),
                up: true,
            }],
        )
    }

    #[test]
    fn record_format_is_flat_json() {
        let line = serde_json::to_string(&rec(Event::StepSkipped { index: 2 })).unwrap();
        assert_eq!(line, r#"{"at":1,"event":"step_skipped","index":2}"#);
    }

    #[test]
    fn state_from_records() {
        let dead_pid = u32::MAX - 1;
        let started = rec(Event::Started {
            plan: plan(),
            pid: dead_pid,
        });
        let down = Step::SetLinkUp {
            ns: "red".into(),
            link: "a".into(),
            up: false,
        };
        let step_started = rec(Event::StepStarted {
            index: 0,
            inverse: vec![down.clone()],
        });
        let e = Entry::from_records(vec![started.clone(), step_started.clone()]).unwrap();
        assert_eq!(e.state, PlanState::Interrupted);
        assert_eq!(e.inverses(), vec![(0, vec![down.clone()])]);

        let e = Entry::from_records(vec![
            started.clone(),
            step_started.clone(),
            rec(Event::StepDone {
                index: 0,
                inverse: vec![],
            }),
            rec(Event::AwaitingConfirm { deadline_ms: 9 }),
        ])
        .unwrap();
        assert_eq!(e.state, PlanState::AwaitingConfirm);
        assert_eq!(e.deadline, Some(9));
        assert_eq!(e.inverses(), vec![(0, vec![])]);

        let e = Entry::from_records(vec![
            started,
            step_started,
            rec(Event::Committed),
            rec(Event::UndoStarted { pid: dead_pid }),
        ])
        .unwrap();
        assert_eq!(e.state, PlanState::UndoFailed);
        assert!(e.state.undoable());
    }
}
