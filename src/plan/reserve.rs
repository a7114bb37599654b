//! Undo must work on a full disk — a full disk is often why someone is undoing. Apply sets
//! aside space for the records undo will write: `journal/ID.reserve`, allocated (not sparse)
//! before the first step runs. Undo (or a rollback) gives half of it back before it appends
//! anything, and the rest on a second try (an undo killed half-way and run again); a finished
//! undo or rollback removes it.

use std::path::PathBuf;

use super::journal::journal_dir;
use super::state_dir;

/// Enough for `undo_started` and an `undone` listing a few errors, twice, on 4 KiB pages.
pub const RESERVE_BYTES: u64 = 16 * 1024;

fn path(id: &str) -> PathBuf {
    journal_dir().join(format!("{id}.reserve"))
}

/// Allocates the reserve for plan `id`. An error (no space) means the plan must not start.
pub fn create(id: &str) -> std::io::Result<()> {
    let p = path(id);
    let file = state_dir::create_new(&p)?;
    let len = i64::try_from(RESERVE_BYTES).unwrap_or(i64::MAX);
    let allocated = nix::fcntl::fallocate(&file, nix::fcntl::FallocateFlags::empty(), 0, len);
    let result = match allocated {
        Ok(()) => Ok(()),
        // Filesystems without fallocate: write the zeros.
        Err(nix::Error::EOPNOTSUPP) => {
            use std::io::Write;
            let zeros = vec![0u8; usize::try_from(RESERVE_BYTES).unwrap_or(0)];
            (&file).write_all(&zeros).and_then(|()| file.sync_data())
        }
        Err(e) => Err(std::io::Error::from(e)),
    };
    if result.is_err() {
        let _ = std::fs::remove_file(&p);
    }
    result
}

/// Gives back half the reserve (all of it when less than half is left), so the records that
/// follow find room.
pub fn release_some(id: &str) {
    let p = path(id);
    let Ok(file) = state_dir::open_file(&p, true, false) else {
        return;
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    if len > RESERVE_BYTES / 2 {
        let _ = file.set_len(RESERVE_BYTES / 2);
    } else {
        let _ = std::fs::remove_file(&p);
    }
}

/// The plan is finished with: no undo will need the space.
pub fn remove(id: &str) {
    let _ = std::fs::remove_file(path(id));
}
