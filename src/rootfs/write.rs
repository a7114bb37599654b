//! Writing one of the three resolver files netlens' fixes change, and nothing else.
//!
//! A `WriteFile` step names its file by path, and a plan can come from anywhere (a saved plan,
//! a journal), so the path is held to three shapes, each a directory netlens may write in and
//! one of `resolv.conf`, `hosts`, `nsswitch.conf`:
//!
//! - `/etc/NAME`: the host's own file;
//! - `/etc/netns/NS/NAME`: what `ip netns exec NS` bind-mounts over `/etc/NAME`. This one
//!   host-side directory (and `/etc/netns`) is created when missing: that is how a named
//!   namespace gets files of its own;
//! - `/proc/PID/root/etc/NAME`: a container's file. Nothing is created in it but the file,
//!   and nothing is written when that root is the host's own `/` (a container's pid reused by
//!   a host process).
//!
//! No link is followed on the way (a container's `etc` that is a link is refused), so the file
//! written is the one the plan's preview names.
//!
//! The file itself is never written through: a symlink there is refused with its target named
//! (the preview must say what really changes, and the link's target may be another tool's,
//! such as systemd-resolved's stub). A new file is made under a random name with
//! `O_CREAT|O_EXCL|O_NOFOLLOW` (a planted name is neither followed nor reused), written,
//! fsynced, and renamed over the target with `renameat`; then the directory is fsynced.

use std::io::{self, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{openat, readlinkat, renameat, AtFlags, OFlag};
use nix::sys::stat::{fstatat, mkdirat, Mode, SFlag};
use nix::unistd::{fchown, unlinkat, Gid, Uid, UnlinkatFlags};

use super::read::{read_capped, regular, MAX_FILE};

/// The files a `WriteFile` step may write.
pub const FILE_NAMES: [&str; 3] = ["resolv.conf", "hosts", "nsswitch.conf"];

/// Whose file a `WriteFile` path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// `/etc/NAME`.
    Host,
    /// `/etc/netns/NS/NAME`.
    Netns(String),
    /// `/proc/PID/root/etc/NAME`.
    Proc(u32),
}

/// A path a `WriteFile` step may write, taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub place: Place,
    pub name: &'static str,
}

/// Parses `path` into one of the three shapes (see the module's doc), or says why not.
pub fn parse_target(path: &str) -> Result<Target, String> {
    let refuse = || {
        format!(
            "{path:?}: netlens writes only resolv.conf, hosts and nsswitch.conf in /etc, \
             /etc/netns/NS/ or a container's /proc/PID/root/etc/ (an absolute path without `..`)"
        )
    };
    let Some(rest) = path.strip_prefix('/') else {
        return Err(refuse());
    };
    let parts: Vec<&str> = rest.split('/').collect();
    let (place, file) = match parts.as_slice() {
        ["etc", file] => (Place::Host, *file),
        ["etc", "netns", ns, file] if netns_name_ok(ns) => (Place::Netns(ns.to_string()), *file),
        ["proc", pid, "root", "etc", file] => (Place::Proc(pid_of(pid).ok_or_else(refuse)?), *file),
        _ => return Err(refuse()),
    };
    let name = FILE_NAMES.iter().find(|n| **n == file).ok_or_else(refuse)?;
    Ok(Target { place, name })
}

/// Whether `content` may be written by a `WriteFile` step to `path`: the path's shape (above),
/// no NUL, at most [`MAX_FILE`] bytes.
pub fn check_write(path: &str, content: Option<&str>) -> Result<(), String> {
    parse_target(path)?;
    if let Some(c) = content {
        if c.contains('\0') {
            return Err(format!("{path}: content contains NUL"));
        }
        if c.len() as u64 > MAX_FILE {
            return Err(format!("{path}: content is larger than {MAX_FILE} bytes"));
        }
    }
    Ok(())
}

/// A name `ip netns` accepts: not empty, not `.`/`..`, no `/`, no control character.
fn netns_name_ok(ns: &str) -> bool {
    !ns.is_empty()
        && ns != "."
        && ns != ".."
        && ns.len() <= 255
        && !ns.chars().any(|c| c == '/' || c.is_control())
}

/// A pid as the kernel writes it: decimal, no sign, no leading zero.
fn pid_of(text: &str) -> Option<u32> {
    if text.starts_with('0') || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok().filter(|p| *p > 0)
}

impl Target {
    /// The root the directory is looked up in, and the directory's components inside it.
    fn root_and_dir(&self) -> (String, Vec<&str>) {
        match &self.place {
            Place::Host => ("/".into(), vec!["etc"]),
            Place::Netns(ns) => ("/".into(), vec!["etc", "netns", ns.as_str()]),
            Place::Proc(pid) => (format!("/proc/{pid}/root"), vec!["etc"]),
        }
    }

    /// The directory holding the file, `None` when it does not exist. It is opened one
    /// component at a time from the root with `O_NOFOLLOW`: no link is followed anywhere on
    /// the way, so the file written is exactly the one the plan's preview names (a shell's
    /// `>` on the host would follow a container's `etc -> /somewhere` against the host's root).
    /// With `create`, `/etc/netns` and `/etc/netns/NS` are made (0755) when missing; nothing
    /// else is ever created.
    ///
    /// For `/proc/PID/root`, `/proc/PID` is opened first and the root through it: that handle
    /// stays with the process it was opened for, so with `pid_start` the process checked is
    /// the one whose root is used, even if it exits and its pid is reused meanwhile.
    fn open_dir(&self, create: bool, pid_start: Option<u64>) -> Result<Option<OwnedFd>, String> {
        let (root, parts) = self.root_and_dir();
        let dir_flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
        let mut dir = match self.place {
            Place::Proc(pid) => {
                let proc_dir =
                    nix::fcntl::open(Path::new(&format!("/proc/{pid}")), dir_flags, Mode::empty())
                        .map_err(|e| {
                            format!("cannot open /proc/{pid} (has the process exited?): {e}")
                        })?;
                if let Some(want) = pid_start {
                    let now = start_of(&proc_dir, pid)?;
                    if now != want {
                        return Err(format!(
                            "process {pid} is not the one this step was made for (it started at \
                             tick {now}, that one at {want}): its container exited and the pid was \
                             reused; nothing written"
                        ));
                    }
                }
                let dir = openat(&proc_dir, "root", dir_flags, Mode::empty())
                    .map_err(|e| format!("cannot open {root}: {e}"))?;
                not_our_root(&dir, pid)?;
                dir
            }
            _ => nix::fcntl::open(Path::new(&root), dir_flags, Mode::empty())
                .map_err(|e| format!("cannot open {root}: {e}"))?,
        };
        let mut shown = root.trim_end_matches('/').to_string();
        for (i, part) in parts.iter().enumerate() {
            shown = format!("{shown}/{part}");
            let may_create = create && matches!(self.place, Place::Netns(_)) && i > 0;
            if may_create {
                match mkdirat(&dir, *part, Mode::from_bits_truncate(0o755)) {
                    Ok(()) | Err(Errno::EEXIST) => {}
                    Err(e) => return Err(format!("cannot create {shown}: {e}")),
                }
            }
            dir = match openat(
                &dir,
                *part,
                OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                Mode::empty(),
            ) {
                Ok(fd) => fd,
                Err(Errno::ENOENT) => return Ok(None),
                Err(Errno::ELOOP | Errno::ENOTDIR) => {
                    return Err(format!(
                        "{shown} is a symbolic link or not a directory: netlens does not write through links"
                    ))
                }
                Err(e) => return Err(format!("cannot open {shown}: {e}")),
            };
        }
        Ok(Some(dir))
    }
}

/// When process `pid` started (`starttime`, clock ticks after boot): with the pid, what tells
/// one process from a later one given the same number.
pub fn process_start(pid: u32) -> Result<u64, String> {
    let dir = nix::fcntl::open(
        Path::new(&format!("/proc/{pid}")),
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| format!("cannot open /proc/{pid} (has the process exited?): {e}"))?;
    start_of(&dir, pid)
}

/// `starttime` from `stat` in an opened `/proc/PID`. The command name (field 2) is the
/// process's own choice and may hold spaces and parentheses: fields are counted after its
/// last `)`.
fn start_of(proc_dir: &OwnedFd, pid: u32) -> Result<u64, String> {
    let bad = || format!("cannot read when process {pid} started");
    let fd = openat(
        proc_dir,
        "stat",
        OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| format!("{}: {e}", bad()))?;
    let out = read_capped(fd, 4096, 0).map_err(|e| format!("{}: {e}", bad()))?;
    let text = String::from_utf8_lossy(&out.bytes);
    let after = text.rsplit_once(')').ok_or_else(bad)?.1;
    // After the name: state is field 3, starttime field 22.
    after
        .split_whitespace()
        .nth(22 - 3)
        .and_then(|t| t.parse().ok())
        .ok_or_else(bad)
}

/// Refuses a `/proc/PID/root` that is netlens' own `/`. A pid is only a number: when a
/// container exits, its pid can come back as a host process, and a journaled step (`undo`, the
/// confirm watchdog) or a saved plan would then write the host's `/etc/NAME` with text the
/// container chose, while the preview names `/proc/PID/root/etc/NAME`. A process that shares
/// our root is no container anyway: its files are the host's, which a plan names by their own
/// path. Compared on the opened directory, so the check and the write see the same root.
fn not_our_root(root: &OwnedFd, pid: u32) -> Result<(), String> {
    let ours = nix::sys::stat::stat("/").map_err(|e| format!("cannot inspect /: {e}"))?;
    let theirs =
        nix::sys::stat::fstat(root).map_err(|e| format!("cannot inspect /proc/{pid}/root: {e}"))?;
    if (ours.st_dev, ours.st_ino) == (theirs.st_dev, theirs.st_ino) {
        return Err(format!(
            "/proc/{pid}/root is the host's own root: process {pid} is not in a container (did the \
             container exit and its pid get reused?); netlens writes no host file through \
             /proc/PID/root"
        ));
    }
    Ok(())
}

/// What is at `dir/name`, looked at without following a link.
enum Existing {
    Missing,
    Regular { mode: u32, uid: u32, gid: u32 },
}

fn existing(dir: &OwnedFd, name: &str, path: &str) -> Result<Existing, String> {
    let st = match fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(st) => st,
        Err(Errno::ENOENT) => return Ok(Existing::Missing),
        Err(e) => return Err(format!("cannot inspect {path}: {e}")),
    };
    let kind = SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits());
    if kind == SFlag::S_IFLNK {
        let to = readlinkat(dir, name)
            .map(|t| t.to_string_lossy().into_owned())
            .unwrap_or_else(|_| "?".into());
        return Err(format!(
            "{path} is a symbolic link (to {:?} inside its root): netlens does not write through links; change the file it points to by hand",
            to
        ));
    }
    if kind != SFlag::S_IFREG {
        return Err(format!(
            "{path} is not a regular file: netlens does not replace it"
        ));
    }
    Ok(Existing::Regular {
        mode: st.st_mode & 0o7777,
        uid: st.st_uid,
        gid: st.st_gid,
    })
}

/// The file's content now (`None` if there is none), read as [`replace`] would write it:
/// inside its root, never through a link, only a regular UTF-8 file of at most 1 MiB — so the
/// inverse step can put it back byte for byte.
///
/// In the root of a user-owned namespace, read with that user's rights (see
/// [`super::as_owner`]): they could bind-mount a file only root may read over it, and what is
/// read here is journaled and written back there on undo.
pub fn read_current(path: &str, pid_start: Option<u64>) -> Result<Option<String>, String> {
    let target = parse_target(path)?;
    match owner(&target)? {
        None => read_current_here(path, &target, pid_start),
        Some(ids) => super::as_owner::run_as(ids, || read_current_here(path, &target, pid_start))
            .map_err(|e| as_owner_error(e, ids)),
    }
}

/// Whose rights reach `target`: `None` for root's (see [`super::as_owner::owner_of`]).
fn owner(target: &Target) -> Result<Option<(u32, u32)>, String> {
    match target.place {
        Place::Proc(pid) => super::as_owner::owner_of(pid),
        _ => Ok(None),
    }
}

fn as_owner_error(e: String, ids: (u32, u32)) -> String {
    format!(
        "{e} (with the rights of uid {}, who owns that process's user namespace)",
        ids.0
    )
}

fn read_current_here(
    path: &str,
    target: &Target,
    pid_start: Option<u64>,
) -> Result<Option<String>, String> {
    let Some(dir) = target.open_dir(false, pid_start)? else {
        return Ok(None);
    };
    if let Existing::Missing = existing(&dir, target.name, path)? {
        return Ok(None);
    }
    let fd = openat(
        &dir,
        target.name,
        OFlag::O_RDONLY
            | OFlag::O_NOFOLLOW
            | OFlag::O_NONBLOCK
            | OFlag::O_NOCTTY
            | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| format!("cannot read {path}: {e}"))?;
    let st = regular(&fd).map_err(|e| format!("{path}: {e}"))?;
    let out =
        read_capped(fd, MAX_FILE, st.st_size).map_err(|e| format!("cannot read {path}: {e}"))?;
    if out.truncated {
        return Err(format!(
            "{path} is larger than {MAX_FILE} bytes: netlens does not rewrite it"
        ));
    }
    String::from_utf8(out.bytes)
        .map(Some)
        .map_err(|_| format!("{path} is not UTF-8 text: netlens could not put it back as it was"))
}

/// Writes (`Some`) or removes (`None`) the file `path` names (see the module's doc); with
/// `pid_start`, only while `/proc/PID` is the process that started then. Inside the root of a
/// process in a user namespace an unprivileged user owns, only with that user's rights (see
/// [`super::as_owner`]).
pub fn replace(path: &str, content: Option<&str>, pid_start: Option<u64>) -> Result<(), String> {
    check_write(path, content)?;
    let target = parse_target(path)?;
    match owner(&target)? {
        None => replace_here(path, &target, content, pid_start),
        Some(ids) => {
            super::as_owner::run_as(ids, || replace_here(path, &target, content, pid_start))
                .map_err(|e| as_owner_error(e, ids))
        }
    }
}

fn replace_here(
    path: &str,
    target: &Target,
    content: Option<&str>,
    pid_start: Option<u64>,
) -> Result<(), String> {
    let Some(dir) = target.open_dir(content.is_some(), pid_start)? else {
        return match content {
            None => Ok(()),
            Some(_) => Err(format!(
                "cannot write {path}: its directory does not exist (netlens creates none inside a container)"
            )),
        };
    };
    let before = existing(&dir, target.name, path)?;
    let Some(text) = content else {
        return match unlinkat(&dir, target.name, UnlinkatFlags::NoRemoveDir) {
            Ok(()) | Err(Errno::ENOENT) => sync_dir(&dir, path),
            Err(e) => Err(format!("cannot remove {path}: {e}")),
        };
    };
    let (mode, owner) = match before {
        Existing::Missing => (0o644, None),
        Existing::Regular { mode, uid, gid } => (mode, Some((uid, gid))),
    };
    // Created for its owner only: the final mode is set by `fill`, after the owner.
    let (tmp_name, tmp) = create_temp(&dir, target.name, mode & 0o600)
        .map_err(|e| format!("cannot write {path}: {e}"))?;
    let written = fill(tmp, text, owner, mode).and_then(|()| {
        renameat(&dir, tmp_name.as_str(), &dir, target.name).map_err(io::Error::from)
    });
    if let Err(e) = written {
        let _ = unlinkat(&dir, tmp_name.as_str(), UnlinkatFlags::NoRemoveDir);
        return Err(format!("cannot write {path}: {e}"));
    }
    sync_dir(&dir, path)
}

/// A new file `.NAME.netlens-RANDOM` in `dir`, created exclusively and never through a link:
/// whatever a container planted under a name netlens might use is left alone.
fn create_temp(dir: &OwnedFd, name: &str, mode: u32) -> io::Result<(String, OwnedFd)> {
    for _ in 0..32 {
        let tmp = format!(".{name}.netlens-{:016x}", random_u64());
        match openat(
            dir,
            tmp.as_str(),
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::from_bits_truncate(mode),
        ) {
            Ok(fd) => return Ok((tmp, fd)),
            Err(Errno::EEXIST) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(io::Error::other("no free temporary name after 32 tries"))
}

/// Writes `text`, gives the file the old one's owner and permission bits (not left to the
/// umask), and syncs it. Set-uid, set-gid and sticky bits are never copied: a container may
/// plant them on its resolver file, and root netlens must not be the one to put them on a file
/// it wrote (fchown clears them, but the fchmod after it would set them again).
fn fill(fd: OwnedFd, text: &str, owner: Option<(u32, u32)>, mode: u32) -> io::Result<()> {
    let mode = mode & 0o777;
    if let Some((uid, gid)) = owner {
        fchown(
            fd.as_fd(),
            Some(Uid::from_raw(uid)),
            Some(Gid::from_raw(gid)),
        )?;
    }
    nix::sys::stat::fchmod(fd.as_fd(), Mode::from_bits_truncate(mode))?;
    let mut file = std::fs::File::from(fd);
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

fn sync_dir(dir: &OwnedFd, path: &str) -> Result<(), String> {
    nix::unistd::fsync(dir)
        .map_err(|e| format!("{path} written, but its directory could not be synced: {e}"))
}

/// Unpredictable enough that a container cannot plant the name in advance.
fn random_u64() -> u64 {
    let mut buf = [0u8; 8];
    let read = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut buf));
    if read.is_ok() {
        return u64::from_ne_bytes(buf);
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    nanos ^ (u64::from(std::process::id()) << 32)
}
