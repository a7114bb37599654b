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
//! links or blocking, each line carries a checksum and a sequence number (`lines`),
//! and a damaged line is reported with its file and line, never hiding later records. Every
//! plan gets a sequence number (`plan_seq`) under the state lock: "the latest plan" is the
//! highest one, not the latest second.
//!
//! Where: `record` the records and a plan's states (the file format's contract) · `entry` a
//! plan's journal as read back, what state it is in and what undoes it · `write` creating,
//! opening and appending to (fsync) a journal · `lines` one line's checksum and sequence ·
//! `read` reading one journal or all of them, without changing anything.

mod entry;
mod lines;
mod read;
mod record;
mod write;

use std::path::PathBuf;

pub use self::entry::Entry;
pub use self::read::{list, read, scan, Scan};
pub use self::record::{Event, PlanState, Record};
pub use self::write::Journal;
pub use super::env::{state_dir, STATE_DIR_ENV};

pub fn journal_dir() -> PathBuf {
    state_dir().join("journal")
}

pub fn journal_path(id: &str) -> PathBuf {
    journal_dir().join(format!("{id}.jsonl"))
}

#[cfg(test)]
mod tests;
