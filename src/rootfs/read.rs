//! Reading a small text file inside a root without trusting what is there: only a regular
//! file is read (a FIFO would block for ever, `/dev/zero` never ends), it is opened
//! non-blocking, checked with `fstat` before and after the real open, and read up to a cap.

use std::io::{self, Read};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;
use nix::sys::stat::{fstat, FileStat, SFlag};

use super::open::{open_in_root, resolve_in_root, Resolver, Root};

/// The most netlens reads of one configuration file: resolv.conf, hosts and nsswitch.conf
/// are kilobytes; a bigger one is shown cut, with a note.
pub const MAX_FILE: u64 = 1 << 20;

/// A file read inside a root.
#[derive(Debug)]
pub struct ReadOut {
    pub bytes: Vec<u8>,
    /// The file was longer than the cap: `bytes` holds its beginning only.
    pub truncated: bool,
}

/// Reads the regular file `path` inside `root`, at most `cap` bytes.
pub fn read_regular(root: &Root, path: &Path, cap: u64, how: Resolver) -> io::Result<ReadOut> {
    // O_PATH opens nothing: a device or FIFO is seen by fstat before anything opens it for
    // real (opening some devices has effects of its own).
    let probe = open_in_root(root, path, OFlag::O_PATH, how)?;
    let before = regular(&probe)?;
    let fd = open_in_root(
        root,
        path,
        OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_NOCTTY,
        how,
    )?;
    let after = regular(&fd)?;
    if (before.st_dev, before.st_ino) != (after.st_dev, after.st_ino) {
        return Err(io::Error::other("it was replaced while being opened"));
    }
    read_capped(fd, cap, after.st_size)
}

/// Reads an already opened regular file up to `cap` bytes.
pub fn read_capped(fd: OwnedFd, cap: u64, size_hint: i64) -> io::Result<ReadOut> {
    let hint = u64::try_from(size_hint).unwrap_or(0).min(cap) as usize;
    let mut bytes = Vec::with_capacity(hint);
    std::fs::File::from(fd)
        .take(cap.saturating_add(1))
        .read_to_end(&mut bytes)?;
    let truncated = bytes.len() as u64 > cap;
    bytes.truncate(cap as usize);
    Ok(ReadOut { bytes, truncated })
}

/// `fstat` of `fd`, an error unless it is a regular file.
pub fn regular(fd: &OwnedFd) -> io::Result<FileStat> {
    let st = fstat(fd)?;
    let kind = SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits());
    if kind == SFlag::S_IFREG {
        return Ok(st);
    }
    let what = match kind {
        SFlag::S_IFIFO => "a FIFO",
        SFlag::S_IFCHR => "a character device",
        SFlag::S_IFBLK => "a block device",
        SFlag::S_IFSOCK => "a socket",
        SFlag::S_IFDIR => "a directory",
        SFlag::S_IFLNK => "a symbolic link",
        _ => "not a plain file",
    };
    Err(io::Error::other(format!(
        "{what}, not a regular file: not read"
    )))
}

/// Where `path` inside `root` really is, as the user should see it: the root's prefix and the
/// in-root path after every symlink (the path as given when it does not resolve).
pub fn shown_path(root: &Root, path: &Path) -> String {
    if root.is_slash() {
        return path.display().to_string();
    }
    let real: PathBuf = resolve_in_root(root, path).unwrap_or_else(|_| path.to_path_buf());
    root.display(&real)
}
