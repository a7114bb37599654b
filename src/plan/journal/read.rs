//! Reading the journal back: one plan's file, or the whole directory, without changing
//! anything (listing must never act). Files are opened through `state_dir` (no symlinks, no
//! blocking, regular files of ours); damaged lines are reported with file and line by
//! `lines` and never hide later records or other plans.

use std::fs::{self, File};
use std::io::Read;
use std::path::Path;

use nix::fcntl::{Flock, FlockArg};

use super::lines;
use super::{journal_path, Entry, PlanState};
use crate::plan::error::PlanError;
use crate::plan::spec::valid_id;
use crate::plan::state_dir;

/// Reads one plan's journal file at `path` (named `id.jsonl`). Damaged lines are in
/// `problems`; a file without a readable `started` record is a `Damaged` entry.
fn read_file(id: &str, path: &Path) -> Result<Entry, PlanError> {
    let jerr = |reason: String| PlanError::Journal {
        path: path.display().to_string(),
        reason,
    };
    let file = state_dir::open_file(path, false, false).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            PlanError::UnknownPlan { id: id.to_string() }
        } else {
            jerr(e.to_string())
        }
    })?;
    let bytes = read_capped(&file).map_err(|e| jerr(e.to_string()))?;
    let parsed = lines::parse(&bytes);
    let mut problems: Vec<String> = parsed
        .problems
        .iter()
        .map(|(n, r)| format!("{}:{n}: {r}", path.display()))
        .collect();
    let Some(mut entry) = Entry::from_records(parsed.records) else {
        if problems.is_empty() {
            problems.push(format!("{}: no `started` record", path.display()));
        }
        return Ok(Entry::damaged(id, problems));
    };
    if entry.plan.id != id {
        problems.push(format!(
            "{}: holds plan {:?}, not {id}",
            path.display(),
            entry.plan.id
        ));
    }
    entry.problems = problems;
    entry.legacy = parsed.legacy;
    // `apply` holds the plan's lock from start to end. A live pid alone could be a reused one:
    // if the lock is free, nobody is applying it any more.
    if entry.state == PlanState::Applying
        && Flock::lock(file, FlockArg::LockExclusiveNonblock).is_ok()
    {
        entry.state = PlanState::Interrupted;
    }
    Ok(entry)
}

/// Reads one plan's journal.
pub fn read(id: &str) -> Result<Entry, PlanError> {
    if !valid_id(id) {
        return Err(PlanError::UnknownPlan { id: id.to_string() });
    }
    if state_dir::existing()?.is_none() {
        return Err(PlanError::UnknownPlan { id: id.to_string() });
    }
    read_file(id, &journal_path(id))
}

/// Every journal, in the order plans were applied, and the files that could not be read.
#[derive(Debug, Default)]
pub struct Scan {
    pub entries: Vec<Entry>,
    /// `PATH: reason` for files skipped (not a regular file, not ours, a symlink…).
    pub skipped: Vec<String>,
}

/// Reads the journal directory. Changes nothing (not even the directory's existence).
pub fn scan() -> Result<Scan, PlanError> {
    let Some(dir) = state_dir::existing()? else {
        return Ok(Scan::default());
    };
    let entries = fs::read_dir(&dir).map_err(|e| PlanError::Journal {
        path: dir.display().to_string(),
        reason: e.to_string(),
    })?;
    let mut out = Scan::default();
    let mut names: Vec<std::ffi::OsString> = entries.flatten().map(|e| e.file_name()).collect();
    names.sort();
    for name in names {
        let path = dir.join(&name);
        let Some(id) = name.to_str().and_then(|n| n.strip_suffix(".jsonl")) else {
            continue;
        };
        if !valid_id(id) {
            out.skipped.push(format!(
                "{}: not a journal name netlens makes",
                path.display()
            ));
            continue;
        }
        match read_file(id, &path) {
            Ok(e) => out.entries.push(e),
            Err(PlanError::UnknownPlan { .. }) => {}
            Err(PlanError::Journal { path, reason }) => {
                out.skipped.push(format!("{path}: {reason}"));
            }
            Err(e) => out.skipped.push(format!("{}: {e}", path.display())),
        }
    }
    out.entries
        .sort_by(|a, b| (a.seq, a.started_at, &a.plan.id).cmp(&(b.seq, b.started_at, &b.plan.id)));
    Ok(out)
}

/// Every readable plan in the journal, in the order they were applied.
pub fn list() -> Result<Vec<Entry>, PlanError> {
    Ok(scan()?.entries)
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
