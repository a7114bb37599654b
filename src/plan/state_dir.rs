//! The state directory (`/var/lib/netlens`, or `$NETLENS_STATE_DIR`) and its `journal/` are
//! root's: what is in them later drives root's changes to the network. A directory that is a
//! symlink, owned by someone else or writable by others could be swapped or filled by a local
//! user, so it is refused, with one line saying why. Files in it are opened without following
//! links and without blocking (a FIFO planted there must not hang netlens) and must be regular
//! files of ours.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::error::PlanError;
use super::journal::{journal_dir, state_dir};

fn unsafe_dir(path: &Path, reason: String) -> PlanError {
    PlanError::UnsafeStateDir {
        path: path.display().to_string(),
        reason,
    }
}

/// Why `md` (of `path`) is not ours alone, if it is not. `sticky_ok`: a world-writable
/// sticky directory (`/tmp`) is fine as an ancestor, where others cannot rename our entries.
fn not_ours(md: &std::fs::Metadata, sticky_ok: bool) -> Option<String> {
    let euid = nix::unistd::geteuid().as_raw();
    if md.uid() != euid && md.uid() != 0 {
        return Some(format!("is owned by uid {}, not by uid {euid}", md.uid()));
    }
    let mode = md.mode() & 0o7777;
    if mode & 0o022 != 0 && !(sticky_ok && mode & 0o1000 != 0) {
        return Some(format!(
            "is writable by others than its owner (mode {mode:04o})"
        ));
    }
    None
}

/// Checks one of our directories: a real directory (not a symlink), ours, not writable by
/// others.
fn check_own_dir(path: &Path) -> Result<(), PlanError> {
    let md = std::fs::symlink_metadata(path).map_err(|e| unsafe_dir(path, e.to_string()))?;
    if md.file_type().is_symlink() {
        return Err(unsafe_dir(path, "is a symlink".into()));
    }
    if !md.is_dir() {
        return Err(unsafe_dir(path, "is not a directory".into()));
    }
    // Root's, or the caller's own (a user pointing NETLENS_STATE_DIR at their own directory
    // for a dry look; changing a network needs root anyway).
    if md.uid() != nix::unistd::geteuid().as_raw() && md.uid() != 0 {
        return Err(unsafe_dir(
            path,
            format!(
                "is owned by uid {}, not by uid {}",
                md.uid(),
                nix::unistd::geteuid()
            ),
        ));
    }
    match not_ours(&md, false) {
        Some(reason) => Err(unsafe_dir(path, reason)),
        None => Ok(()),
    }
}

/// Every ancestor of the state dir must be root's too (or sticky), or its owner could move
/// the state dir away and put another in its place.
fn check_ancestors(path: &Path) -> Result<(), PlanError> {
    let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) else {
        return Ok(());
    };
    let real = parent
        .canonicalize()
        .map_err(|e| unsafe_dir(parent, e.to_string()))?;
    for dir in real.ancestors() {
        let md = std::fs::metadata(dir).map_err(|e| unsafe_dir(dir, e.to_string()))?;
        if let Some(reason) = not_ours(&md, true) {
            return Err(unsafe_dir(
                dir,
                format!("{reason}; it holds the state dir {}", path.display()),
            ));
        }
    }
    Ok(())
}

/// The state dir and journal dir, checked, for reading: `None` when they do not exist yet
/// (nothing was ever journaled). Creates nothing.
pub fn existing() -> Result<Option<PathBuf>, PlanError> {
    let state = state_dir();
    match std::fs::symlink_metadata(&state) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        _ => {}
    }
    check_ancestors(&state)?;
    check_own_dir(&state)?;
    let journal = journal_dir();
    match std::fs::symlink_metadata(&journal) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        _ => {}
    }
    check_own_dir(&journal)?;
    Ok(Some(journal))
}

/// The state dir and journal dir, created 0700 when missing, checked, for writing.
pub fn ensure() -> Result<PathBuf, PlanError> {
    let state = state_dir();
    check_ancestors(&state)?;
    for dir in [state, journal_dir()] {
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(unsafe_dir(&dir, format!("cannot create it: {e}"))),
        }
        check_own_dir(&dir)?;
        // Tighten a directory an older netlens made 0755: journals hold plans and files'
        // old contents.
        let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
    }
    Ok(journal_dir())
}

const OPEN_FLAGS: i32 = libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC;

/// Opens a file in the state dir without following a symlink or blocking, and checks it is a
/// regular file of ours that nobody else may write. `create`: make it (0600) if missing.
pub fn open_file(path: &Path, write: bool, create: bool) -> std::io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .write(write)
        .create(create)
        .mode(0o600)
        .custom_flags(OPEN_FLAGS)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                std::io::Error::other("is a symlink")
            } else {
                e
            }
        })?;
    let md = file.metadata()?;
    if !md.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    if let Some(reason) = not_ours(&md, false) {
        return Err(std::io::Error::other(reason));
    }
    if md.uid() != nix::unistd::geteuid().as_raw() && md.uid() != 0 {
        return Err(std::io::Error::other(format!(
            "is owned by uid {}, not by uid {}",
            md.uid(),
            nix::unistd::geteuid()
        )));
    }
    Ok(file)
}

/// Creates a new file (0600) exclusively, never through a symlink.
pub fn create_new(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .append(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(OPEN_FLAGS)
        .open(path)
}
