//! Opening a path as a process whose root directory is `root` would see it: every component,
//! `..`, absolute and relative symlinks resolved inside that root, never above it.
//!
//! A container's files are reached through `/proc/PID/root`. Plain `open` on
//! `/proc/PID/root/etc/resolv.conf` resolves a symlink found there against *netlens'* root, so a
//! container could point netlens at any host file. The kernel's `openat2(RESOLVE_IN_ROOT)` does
//! the confinement; [`walk`] does the same by hand, one `O_PATH|O_NOFOLLOW` component at a time,
//! where the kernel lacks openat2 (before 5.6) or a seccomp filter refuses it.

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{openat, openat2, readlinkat, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{fstat, Mode, SFlag};

/// Symlinks followed in one resolution before giving up, as the kernel does (ELOOP).
pub const MAX_HOPS: usize = 40;

/// A directory opened to serve as the root of later lookups.
#[derive(Debug)]
pub struct Root {
    fd: OwnedFd,
    shown: PathBuf,
}

impl Root {
    /// Opens `dir` (e.g. `/proc/PID/root`, whose magic link is meant to be followed here: it
    /// is how a container's root is reached) as an `O_PATH` directory.
    pub fn open(dir: &Path) -> io::Result<Root> {
        let fd = nix::fcntl::open(
            dir,
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        Ok(Root {
            fd,
            shown: dir.to_path_buf(),
        })
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Whether this is the host's own `/` (paths need no prefix to be shown).
    pub fn is_slash(&self) -> bool {
        self.shown == Path::new("/")
    }

    /// How a path inside the root is shown to the user: `/proc/PID/root/etc/hosts`.
    pub fn display(&self, in_root: &Path) -> String {
        let rel = in_root.strip_prefix("/").unwrap_or(in_root);
        self.shown.join(rel).display().to_string()
    }
}

/// Which resolver [`open_in_root`] uses; tests force the fallback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolver {
    /// `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`, falling back to [`walk`] where the
    /// kernel or a seccomp filter refuses the syscall.
    Kernel,
    /// [`walk`] only.
    Walk,
}

/// Opens `path` inside `root` with `flags` (`O_CLOEXEC` is added). A final symlink is
/// followed (inside the root) unless `flags` has `O_NOFOLLOW`.
pub fn open_in_root(root: &Root, path: &Path, flags: OFlag, how: Resolver) -> io::Result<OwnedFd> {
    if how == Resolver::Kernel {
        let open_how = OpenHow::new()
            .flags(flags | OFlag::O_CLOEXEC)
            .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
        let rel = relative(path);
        match openat2(root.fd(), rel.as_os_str(), open_how) {
            Ok(fd) => return Ok(fd),
            // ENOSYS: kernel before 5.6; EPERM: a seccomp filter; E2BIG/EINVAL: an
            // `open_how` or flag this kernel does not know; EAGAIN: a concurrent rename made
            // the kernel give up on `..` — the walk has no such limit.
            Err(Errno::ENOSYS | Errno::EPERM | Errno::E2BIG | Errno::EINVAL | Errno::EAGAIN) => {}
            Err(e) => return Err(e.into()),
        }
    }
    walk(root, path, flags).map(|w| w.fd)
}

/// The path inside the root that `path` resolves to (every symlink followed), for showing
/// the user where a file really is: `/run/systemd/resolve/stub-resolv.conf`, never a host path.
/// A missing component ends the resolution: the rest is appended as written (`..` taken
/// lexically), so a dangling link still shows where it points inside the root.
pub fn resolve_in_root(root: &Root, path: &Path) -> io::Result<PathBuf> {
    walk_inner(root, path, OFlag::O_PATH, true).map(|(_, p)| p)
}

/// What [`walk`] found.
#[derive(Debug)]
pub struct Walked {
    pub fd: OwnedFd,
    /// The path inside the root, absolute, with every symlink resolved.
    pub path: PathBuf,
}

/// Resolves `path` inside `root` one component at a time. Each component is opened with
/// `O_PATH|O_NOFOLLOW` relative to the directory before it, so the kernel never follows a
/// link for us; a symlink's text is spliced into the remaining components (an absolute one
/// restarts at `root`), and `..` pops our own stack of directories, so it cannot climb above
/// `root` whatever the links say. At most [`MAX_HOPS`] symlinks. The final component is opened
/// with `flags | O_NOFOLLOW`: if it was swapped for a link meanwhile, that fails with ELOOP
/// and the link is resolved like any other.
pub fn walk(root: &Root, path: &Path, flags: OFlag) -> io::Result<Walked> {
    let (fd, path) = walk_inner(root, path, flags, false)?;
    let fd = fd.ok_or_else(|| io::Error::from(Errno::ENOENT))?;
    Ok(Walked { fd, path })
}

/// [`walk`]; with `lenient`, a missing component is not an error but ends the walk with no fd
/// and the path as far as it goes.
fn walk_inner(
    root: &Root,
    path: &Path,
    flags: OFlag,
    lenient: bool,
) -> io::Result<(Option<OwnedFd>, PathBuf)> {
    let mut todo: VecDeque<OsString> = components(path.as_os_str()).collect();
    // Directories entered below the root, with their names: `..` pops one.
    let mut stack: Vec<(OwnedFd, OsString)> = Vec::new();
    let mut hops = 0usize;
    let path_of = |stack: &[(OwnedFd, OsString)], last: Option<&OsStr>| {
        let mut p = PathBuf::from("/");
        for (_, name) in stack {
            p.push(name);
        }
        if let Some(name) = last {
            p.push(name);
        }
        p
    };
    while let Some(name) = todo.pop_front() {
        if name == "." {
            continue;
        }
        if name == ".." {
            stack.pop();
            continue;
        }
        let dir = stack.last().map(|(fd, _)| fd.as_fd()).unwrap_or(root.fd());
        let fd = match openat(
            dir,
            name.as_os_str(),
            OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) if lenient => {
                let mut names: Vec<OsString> = stack.into_iter().map(|(_, n)| n).collect();
                for part in std::iter::once(name).chain(todo) {
                    match part.as_bytes() {
                        b"." => {}
                        b".." => {
                            names.pop();
                        }
                        _ => names.push(part),
                    }
                }
                let mut p = PathBuf::from("/");
                p.extend(names);
                return Ok((None, p));
            }
            Err(e) => return Err(e.into()),
        };
        let kind = SFlag::from_bits_truncate(fstat(&fd)?.st_mode & SFlag::S_IFMT.bits());
        if kind == SFlag::S_IFLNK {
            hops += 1;
            if hops > MAX_HOPS {
                return Err(Errno::ELOOP.into());
            }
            let target = readlinkat(&fd, "")?;
            if target.as_bytes().starts_with(b"/") {
                stack.clear();
            }
            for part in components(&target).collect::<Vec<_>>().into_iter().rev() {
                todo.push_front(part);
            }
            continue;
        }
        if !todo.is_empty() {
            stack.push((fd, name));
            continue;
        }
        // The last component, not a link when we looked.
        let shown = path_of(&stack, Some(&name));
        if flags == OFlag::O_PATH {
            return Ok((Some(fd), shown));
        }
        match openat(
            dir,
            name.as_os_str(),
            flags | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => return Ok((Some(fd), shown)),
            Err(Errno::ELOOP) => {
                // Replaced by a symlink since: resolve it on the next turn.
                hops += 1;
                if hops > MAX_HOPS {
                    return Err(Errno::ELOOP.into());
                }
                todo.push_front(name);
            }
            Err(e) => return Err(e.into()),
        }
    }
    // The path named a directory (`/`, `etc/.`, `etc/..`): open it as it is.
    let dir = stack.last().map(|(fd, _)| fd.as_fd()).unwrap_or(root.fd());
    let fd = openat(dir, ".", flags | OFlag::O_CLOEXEC, Mode::empty())?;
    Ok((Some(fd), path_of(&stack, None)))
}

/// `path`'s components, without the root and empty ones (`a//b`), `.` and `..` kept.
fn components(path: &OsStr) -> impl Iterator<Item = OsString> + '_ {
    path.as_bytes()
        .split(|b| *b == b'/')
        .filter(|c| !c.is_empty())
        .map(|c| OsStr::from_bytes(c).to_os_string())
}

/// `path` without its leading `/` (openat2 resolves an absolute path against the root under
/// RESOLVE_IN_ROOT anyway; relative is what it is documented for). Empty means the root.
fn relative(path: &Path) -> PathBuf {
    let rel: PathBuf = path
        .components()
        .filter(|c| !matches!(c, Component::RootDir))
        .collect();
    if rel.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        rel
    }
}
