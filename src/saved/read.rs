//! Reading a file someone handed netlens (a saved snapshot, a plan) without letting its
//! *kind* hurt: a FIFO would block forever, `/dev/zero` never ends, a sparse 2 GB file would
//! be allocated whole, and merely opening some devices has side effects. So the path is first
//! opened with `O_PATH` (which opens nothing), checked with `fstat` to be a regular file of at
//! most `cap` bytes, and only then reopened for reading through `/proc/self/fd` — the same
//! inode, so swapping the path for a FIFO in between changes nothing. Reads stop at `cap`
//! even if the file grows meanwhile.

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use nix::fcntl::{open, OFlag};
use nix::sys::stat::{FileStat, Mode};

use crate::rootfs;

/// A file that was not read, and why; displayed as one line that names the file.
#[derive(Debug, thiserror::Error)]
#[error("cannot read {path}: {why}")]
pub struct ReadError {
    pub path: String,
    pub why: Why,
}

#[derive(Debug, thiserror::Error)]
pub enum Why {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("it is larger than {cap} bytes, the most netlens reads for {what}")]
    TooLarge { cap: u64, what: &'static str },
}

/// The whole content of the regular file at `path` (symlinks followed: the caller named it),
/// if it is at most `cap` bytes. `what` names the kind of file in the size error. The checks
/// are `rootfs::read`'s (the same rules as for a container's files), on a host path.
pub fn read_regular(path: &Path, cap: u64, what: &'static str) -> Result<Vec<u8>, ReadError> {
    let fail = |why: Why| ReadError {
        path: path.display().to_string(),
        why,
    };
    let io = |e: std::io::Error| fail(Why::Io(e));
    let handle: OwnedFd =
        open(path, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty()).map_err(|e| io(e.into()))?;
    let st = rootfs::read::regular(&handle).map_err(io)?;
    let size = u64::try_from(st.st_size).unwrap_or(0);
    if size > cap {
        return Err(fail(Why::TooLarge { cap, what }));
    }
    let file = reopen(&handle, path, &st).map_err(io)?;
    let out = rootfs::read::read_capped(file, cap, st.st_size).map_err(io)?;
    if out.truncated {
        return Err(fail(Why::TooLarge { cap, what }));
    }
    Ok(out.bytes)
}

/// Opens the inode behind the `O_PATH` handle for reading, non-blocking. Without `/proc`, the
/// path is opened again and must still be the same inode.
fn reopen(handle: &OwnedFd, path: &Path, st: &FileStat) -> std::io::Result<OwnedFd> {
    let flags = libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC;
    let via_proc = format!("/proc/self/fd/{}", handle.as_raw_fd());
    let file = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(&via_proc)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(flags)
            .open(path)?,
        Err(e) => return Err(e),
    };
    let fd = OwnedFd::from(file);
    let now = rootfs::read::regular(&fd)?;
    if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino) {
        return Err(std::io::Error::other(
            "the file was replaced while being read",
        ));
    }
    Ok(fd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_small_regular_file_and_refuses_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let ok = dir.path().join("ok");
        std::fs::write(&ok, b"hello").unwrap();
        assert_eq!(read_regular(&ok, 5, "tests").unwrap(), b"hello");
        let err = read_regular(&ok, 4, "tests").unwrap_err().to_string();
        assert!(err.contains("larger than 4 bytes"), "{err}");
        let err = read_regular(dir.path(), 4, "tests")
            .unwrap_err()
            .to_string();
        assert!(err.contains("directory"), "{err}");
        let err = read_regular(Path::new("/dev/zero"), 4, "tests")
            .unwrap_err()
            .to_string();
        assert!(err.contains("character device"), "{err}");
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, Mode::from_bits_truncate(0o600)).unwrap();
        let err = read_regular(&fifo, 4, "tests").unwrap_err().to_string();
        assert!(err.contains("FIFO"), "{err}");
    }
}
