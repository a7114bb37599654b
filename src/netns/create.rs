//! Creating and deleting named network namespaces, the way `ip netns add/del` does.
//!
//! A named namespace is a bind mount of a namespace file (`/proc/thread-self/ns/net`) onto an
//! empty file in the namespace directory (`/run/netns`, or `$NETLENS_NETNS_DIR`). The bind
//! mount keeps the namespace alive after the thread that created it has exited, and
//! `ip netns`, `ip -n`, CNI plugins and netlens all find it there.
//!
//! Like iproute2 we make the directory a shared mount point: a process that later enters its
//! own mount namespace (`ip netns exec` does) then still sees namespaces added or deleted after
//! it started, instead of a stale copy that would keep deleted namespaces alive.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{unshare, CloneFlags};
use nix::sys::statfs::{fstatfs, NSFS_MAGIC};

/// Where `ip netns` keeps named namespaces.
pub const DEFAULT_NETNS_DIR: &str = "/run/netns";

/// Longest interface name the kernel accepts (`IFNAMSIZ` - 1).
pub const MAX_IFNAME_LEN: usize = 15;
/// Longest file name (`NAME_MAX`); a namespace name is a file name.
pub const MAX_NETNS_NAME_LEN: usize = 255;

/// Errors from creating, deleting or naming namespaces. Each renders as one line naming the
/// namespace or interface concerned.
#[derive(Debug, thiserror::Error)]
pub enum NetnsError {
    #[error("invalid namespace name {name:?}: {reason}")]
    InvalidName { name: String, reason: &'static str },
    #[error("invalid interface name {name:?}: {reason}")]
    InvalidIfName { name: String, reason: &'static str },
    #[error("unknown namespace {name} ({path} is not a network namespace)")]
    Unknown { name: String, path: String },
    #[error("namespace {name} already exists ({path})")]
    AlreadyExists { name: String, path: String },
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("cannot {action} {path}: {source}")]
    Sys {
        action: &'static str,
        path: String,
        #[source]
        source: nix::Error,
    },
    #[error("the thread creating namespace {name} panicked")]
    Panicked { name: String },
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> NetnsError + 'a {
    move |source| NetnsError::Io {
        action,
        path: path.display().to_string(),
        source,
    }
}

fn sys_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(nix::Error) -> NetnsError + 'a {
    move |source| NetnsError::Sys {
        action,
        path: path.display().to_string(),
        source,
    }
}

/// The directory holding named namespaces: the settings' `netns_dir`
/// ([`crate::env::NETNS_DIR`]), else `/run/netns`.
pub fn netns_dir() -> PathBuf {
    crate::env::current()
        .netns_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_NETNS_DIR))
}

/// Checks a namespace name the way it will be used: as a single file name.
pub fn validate_netns_name(name: &str) -> Result<(), NetnsError> {
    let reason = if name.is_empty() {
        "empty"
    } else if name == "." || name == ".." {
        "'.' and '..' are not namespace names"
    } else if name.contains('/') {
        "contains '/'"
    } else if name.contains('\0') {
        "contains a NUL byte"
    } else if name.len() > MAX_NETNS_NAME_LEN {
        "longer than 255 bytes"
    } else {
        return Ok(());
    };
    Err(NetnsError::InvalidName {
        name: name.to_string(),
        reason,
    })
}

/// Checks an interface name against the kernel's rules (`dev_valid_name`): 1..=15 bytes, no
/// `/`, `:` (alias syntax) or whitespace, and not `.`/`..`.
pub fn validate_ifname(name: &str) -> Result<(), NetnsError> {
    let reason = if name.is_empty() {
        "empty"
    } else if name.len() > MAX_IFNAME_LEN {
        "longer than 15 bytes"
    } else if name == "." || name == ".." {
        "'.' and '..' are not interface names"
    } else if name.contains('/') {
        "contains '/'"
    } else if name.contains(':') {
        "contains ':'"
    } else if name.chars().any(|c| c.is_whitespace() || c == '\0') {
        "contains whitespace"
    } else {
        return Ok(());
    };
    Err(NetnsError::InvalidIfName {
        name: name.to_string(),
        reason,
    })
}

/// Path of the named namespace `name` (validated) in [`netns_dir`].
pub fn netns_path(name: &str) -> Result<PathBuf, NetnsError> {
    validate_netns_name(name)?;
    Ok(netns_dir().join(name))
}

/// Whether `name` is a live named namespace: its file exists and is a namespace (nsfs) mount,
/// not an empty file left behind by an interrupted create.
pub fn netns_exists(name: &str) -> Result<bool, NetnsError> {
    let path = netns_path(name)?;
    is_live_netns(&path)
}

fn is_live_netns(path: &Path) -> Result<bool, NetnsError> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(io_err("open", path)(e)),
    };
    let stat = fstatfs(&file).map_err(sys_err("statfs", path))?;
    Ok(stat.filesystem_type() == NSFS_MAGIC)
}

/// Makes the namespace directory a shared mount point (bind-mounting it onto itself first if
/// it isn't a mount point), exactly as `ip netns add` does.
fn prepare_netns_dir(dir: &Path) -> Result<(), NetnsError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(dir)
        .map_err(io_err("create directory", dir))?;
    let shared = MsFlags::MS_SHARED | MsFlags::MS_REC;
    match mount(None::<&str>, dir, Some("none"), shared, None::<&str>) {
        Ok(()) => return Ok(()),
        // EINVAL: not a mount point yet.
        Err(nix::Error::EINVAL) => {}
        Err(e) => return Err(sys_err("make shared mount", dir)(e)),
    }
    mount(
        Some(dir),
        dir,
        Some("none"),
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(sys_err("bind-mount onto itself", dir))?;
    mount(None::<&str>, dir, Some("none"), shared, None::<&str>)
        .map_err(sys_err("make shared mount", dir))
}

/// Creates the named namespace `name`, like `ip netns add NAME`. Fails with
/// [`NetnsError::AlreadyExists`] if the name is taken. Returns the namespace's path.
pub fn create_netns(name: &str) -> Result<PathBuf, NetnsError> {
    let path = netns_path(name)?;
    let dir = netns_dir();
    prepare_netns_dir(&dir)?;

    match OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o000)
        .open(&path)
    {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            return Err(NetnsError::AlreadyExists {
                name: name.to_string(),
                path: path.display().to_string(),
            })
        }
        Err(e) => return Err(io_err("create", &path)(e)),
    }

    // unshare() moves only the calling thread into the new namespace, so a throwaway thread
    // does it; the bind mount then keeps the namespace alive after the thread exits.
    let result = std::thread::scope(|scope| {
        scope
            .spawn(|| -> Result<(), NetnsError> {
                let self_ns = Path::new("/proc/thread-self/ns/net");
                unshare(CloneFlags::CLONE_NEWNET)
                    .map_err(sys_err("unshare a network namespace for", &path))?;
                mount(
                    Some(self_ns),
                    &path,
                    Some("none"),
                    MsFlags::MS_BIND,
                    None::<&str>,
                )
                .map_err(sys_err("bind-mount the new namespace onto", &path))
            })
            .join()
            .unwrap_or_else(|_| {
                Err(NetnsError::Panicked {
                    name: name.to_string(),
                })
            })
    });
    if let Err(e) = result {
        let _ = fs::remove_file(&path);
        return Err(e);
    }
    Ok(path)
}

/// Creates `name` unless it is already a live namespace. Returns `true` if it was created now.
/// An empty file left by an interrupted create is replaced.
pub fn ensure_netns(name: &str) -> Result<bool, NetnsError> {
    let path = netns_path(name)?;
    if is_live_netns(&path)? {
        return Ok(false);
    }
    match fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err("remove stale", &path)(e)),
    }
    create_netns(name)?;
    Ok(true)
}

/// Deletes the named namespace `name`, like `ip netns del NAME`. A missing namespace is not an
/// error. The namespace itself (and its interfaces) disappears once nothing else holds it
/// (a process inside it, an open fd).
pub fn delete_netns(name: &str) -> Result<(), NetnsError> {
    let path = netns_path(name)?;
    match umount2(&path, MntFlags::MNT_DETACH) {
        // EINVAL: not a mount point (stale file); ENOENT: already gone.
        Ok(()) | Err(nix::Error::EINVAL) | Err(nix::Error::ENOENT) => {}
        Err(e) => return Err(sys_err("unmount", &path)(e)),
    }
    match fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err("remove", &path)(e)),
    }
}

/// Names of the namespaces in [`netns_dir`] (live or not), sorted.
pub fn list_netns() -> Result<Vec<String>, NetnsError> {
    let dir = netns_dir();
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err("read directory", &dir)(e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_err("read directory", &dir))?;
        if let Some(name) = entry.file_name().to_str() {
            names.push(name.to_string());
        }
    }
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netns_names() {
        for ok in ["red", "router-a", "a.b", "x".repeat(255).as_str()] {
            assert!(validate_netns_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", "a/b", "/", "a\0b", &"x".repeat(256)] {
            assert!(validate_netns_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ifnames() {
        for ok in ["eth0", "v-net-0", "veth-red-br", "x".repeat(15).as_str()] {
            assert!(validate_ifname(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", "a/b", "a:1", "a b", "a\tb", &"x".repeat(16)] {
            assert!(validate_ifname(bad).is_err(), "{bad:?}");
        }
        let msg = validate_ifname("a-very-long-name0")
            .unwrap_err()
            .to_string();
        assert_eq!(
            msg,
            "invalid interface name \"a-very-long-name0\": longer than 15 bytes"
        );
        assert!(!msg.contains('\n'));
    }
}
