//! Writing a journal: creating a new plan's (with its sequence number and the space undo
//! will need), opening an existing one to append to, and appending a record synced to disk
//! before the change it announces.

use std::fs::{self, File};
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use nix::fcntl::{Flock, FlockArg};

use super::lines;
use super::read::{read_capped, scan};
use super::record::{Event, Record};
use super::{journal_path, state_dir};
use crate::plan::clock;
use crate::plan::error::PlanError;
use crate::plan::reserve;
use crate::plan::spec::{valid_id, Plan};
use crate::plan::state_dir;

/// An open journal file, appended to.
pub struct Journal {
    file: File,
    path: PathBuf,
    /// Where the next record goes: the end of the last complete line.
    len: u64,
    next_seq: u64,
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
        let parsed = lines::parse(&bytes);
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
        let line = lines::encode(&rec).map_err(|e| self.err(e))?;
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
