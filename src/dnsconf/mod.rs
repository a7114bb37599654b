//! DNS configuration files of a namespace: resolv.conf, nsswitch.conf, hosts.
//!
//! The parsers are pure functions of the text; [`read_dns_files`] is the only I/O, done
//! through [`crate::rootfs`] because the files may be a hostile container's.

pub mod hosts;
pub mod nsswitch;
pub mod resolv;

use std::path::{Path, PathBuf};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

use crate::rootfs::{read_regular, shown_path, ReadOut, Resolver, Root, MAX_FILE};

// The parsed files are snapshot types and live in `crate::model::dns_files`; named here too so
// callers of the parsers can import them from either place.
pub use crate::model::dns_files::{
    Action, Database, DnsFiles, FileRead, Hosts, HostsEntry, Nameserver, NsSwitch, ResolvConf,
    ResolvOptions, Source,
};

/// Reads `<root>/etc/{resolv.conf,nsswitch.conf,hosts}`.
///
/// `overrides` is a directory such as `/etc/netns/NAME`: `ip netns exec NAME` bind-mounts each
/// file found there over the one in `/etc`, so a file present in it wins. `root` lets the
/// caller read another mount namespace's view (e.g. `/proc/PID/root`) or a test fixture.
///
/// Everything under `root` may be a container's: each path is resolved inside `root` (see
/// [`crate::rootfs`]), only regular files are read, never blocking, at most 1 MiB each. A file
/// that cannot be read that way is reported in its `error`, the other two are still read.
pub fn read_dns_files(root: &Path, overrides: Option<&Path>) -> DnsFiles {
    read_dns_files_with(root, overrides, Resolver::Kernel)
}

/// How long [`read_all`] waits for the files of all roots together.
pub const READ_LIMIT: Duration = Duration::from_secs(3);

/// [`read_dns_files`] for each `(root, overrides)`, each on a thread of its own, all within
/// `limit`. A container's root may sit on a file system that never answers (a FUSE mount it
/// serves itself, a dead NFS server): its reads are left behind, reported as timed out, and
/// every other namespace's files are still shown.
pub fn read_all(keys: &[(PathBuf, Option<PathBuf>)], limit: Duration) -> Vec<DnsFiles> {
    let (tx, rx) = mpsc::channel();
    let mut out: Vec<Option<DnsFiles>> = vec![None; keys.len()];
    for (i, key) in keys.iter().enumerate() {
        let (root, over) = key;
        // A read of this root left behind by an earlier call (the TUI refreshes every few
        // seconds) is still stuck: say so rather than leave one more thread behind each time.
        let Some(guard) = InFlight::claim(key) else {
            out[i] = Some(timed_out(root, limit));
            continue;
        };
        let (tx, root2, over2) = (tx.clone(), root.clone(), over.clone());
        let spawned = std::thread::Builder::new()
            .name("dns-files".into())
            .stack_size(256 * 1024)
            .spawn(move || {
                let files = read_with_owners_rights(&root2, over2.as_deref());
                drop(guard);
                let _ = tx.send((i, files));
            });
        if spawned.is_err() && root == Path::new("/") {
            // No thread to be had (a thread limit): the host's own files are read here rather
            // than not at all; a container's, which might never answer, are not.
            out[i] = Some(read_dns_files(root, over.as_deref()));
        }
    }
    drop(tx);
    let deadline = Instant::now() + limit;
    while out.iter().any(Option::is_none) {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((i, files)) => out[i] = Some(files),
            Err(_) => break,
        }
    }
    out.into_iter()
        .zip(keys)
        .map(|(files, (root, _))| files.unwrap_or_else(|| timed_out(root, limit)))
        .collect()
}

/// [`read_dns_files`] with the rights of whoever owns the user namespace of the process whose
/// root `root` is (`/proc/PID/root`). A local user's `unshare -rm` namespace has a root that
/// user made: they can bind-mount a file only root may read (`/etc/shadow`) over its
/// `etc/hosts`, and root reading it would copy its text into the snapshot, whose JSON keeps
/// a file's raw text and ends up in incident notes. Read as that user, it is refused as it
/// would be to them. Root's own and rootful containers' roots are read as root.
fn read_with_owners_rights(root: &Path, over: Option<&Path>) -> DnsFiles {
    let pid = root
        .strip_prefix("/proc")
        .ok()
        .and_then(|rest| rest.to_str())
        .and_then(|rest| rest.strip_suffix("/root"))
        .and_then(|pid| pid.parse::<u32>().ok());
    let Some(pid) = pid else {
        return read_dns_files(root, over);
    };
    match crate::rootfs::as_owner::owner_of(pid) {
        Ok(None) => read_dns_files(root, over),
        Ok(Some(ids)) => crate::rootfs::as_owner::run_as(ids, || Ok(read_dns_files(root, over)))
            .unwrap_or_else(|e| unreadable(root, &e)),
        // Whose namespace it is cannot be told (the process exited): read nothing as root.
        Err(e) => unreadable(root, &e),
    }
}

/// The files of a root that was not read, each with `why`.
fn unreadable(root: &Path, why: &str) -> DnsFiles {
    DnsFiles {
        resolv_conf: not_read(root, "resolv.conf", why),
        nsswitch: not_read(root, "nsswitch.conf", why),
        hosts: not_read(root, "hosts", why),
    }
}

fn not_read<T>(root: &Path, name: &str, why: &str) -> FileRead<T> {
    FileRead {
        path: root.join("etc").join(name).display().to_string(),
        raw: None,
        parsed: None,
        error: Some(format!("not read: {why}")),
        truncated: false,
    }
}

/// The (root, overrides) whose files a [`read_all`] thread is reading now, process-wide.
static IN_FLIGHT: Mutex<Vec<(PathBuf, Option<PathBuf>)>> = Mutex::new(Vec::new());

/// One key of [`IN_FLIGHT`], released when its read ends (or its thread could not start).
struct InFlight((PathBuf, Option<PathBuf>));

impl InFlight {
    fn claim(key: &(PathBuf, Option<PathBuf>)) -> Option<InFlight> {
        let mut set = IN_FLIGHT.lock().unwrap_or_else(|e| e.into_inner());
        if set.contains(key) {
            return None;
        }
        set.push(key.clone());
        Some(InFlight(key.clone()))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut set = IN_FLIGHT.lock().unwrap_or_else(|e| e.into_inner());
        set.retain(|k| k != &self.0);
    }
}

/// The files of a root whose reads did not finish in time.
fn timed_out(root: &Path, limit: Duration) -> DnsFiles {
    let why = format!(
        "its file system did not answer within {} s",
        limit.as_secs()
    );
    unreadable(root, &why)
}

/// [`read_dns_files`] with a chosen resolver (tests run the fallback too).
pub fn read_dns_files_with(root: &Path, overrides: Option<&Path>, how: Resolver) -> DnsFiles {
    let root = Root::open(root).map_err(|e| format!("cannot open {}: {e}", root.display()));
    // The override directory is the host's own (`/etc/netns/NAME`), resolved as `ip netns
    // exec` resolves it, from `/`.
    let slash = overrides.and_then(|_| Root::open(Path::new("/")).ok());
    let ovr = overrides.zip(slash.as_ref());
    DnsFiles {
        resolv_conf: read(&root, ovr, "resolv.conf", resolv::parse, how),
        nsswitch: read(&root, ovr, "nsswitch.conf", nsswitch::parse, how),
        hosts: read(&root, ovr, "hosts", hosts::parse, how),
    }
}

fn read<T>(
    root: &Result<Root, String>,
    overrides: Option<(&Path, &Root)>,
    name: &str,
    parse: fn(&str) -> T,
    how: Resolver,
) -> FileRead<T> {
    if let Some((dir, slash)) = overrides {
        let path = dir.join(name);
        match read_regular(slash, &path, MAX_FILE, how) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            result => return file_read(path.display().to_string(), result, parse),
        }
    }
    let root = match root {
        Ok(root) => root,
        Err(e) => {
            return FileRead {
                path: Path::new("/etc").join(name).display().to_string(),
                raw: None,
                parsed: None,
                error: Some(e.clone()),
                truncated: false,
            }
        }
    };
    let path = Path::new("/etc").join(name);
    let shown = shown_path(root, &path);
    file_read(shown, read_regular(root, &path, MAX_FILE, how), parse)
}

fn file_read<T>(
    path: String,
    result: std::io::Result<ReadOut>,
    parse: fn(&str) -> T,
) -> FileRead<T> {
    match result {
        Ok(out) => {
            let raw = String::from_utf8_lossy(&out.bytes).into_owned();
            let parsed = parse(&raw);
            FileRead {
                path,
                raw: Some(raw),
                parsed: Some(parsed),
                error: None,
                truncated: out.truncated,
            }
        }
        Err(e) => FileRead {
            path,
            raw: None,
            parsed: None,
            error: Some(if e.kind() == std::io::ErrorKind::NotFound {
                "not found".to_string()
            } else {
                e.to_string()
            }),
            truncated: false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn override_dir_wins_and_missing_is_not_found() {
        let root = tempfile::tempdir().unwrap();
        let etc = root.path().join("etc");
        std::fs::create_dir(&etc).unwrap();
        std::fs::write(etc.join("resolv.conf"), "nameserver 10.0.0.1\n").unwrap();
        std::fs::write(etc.join("hosts"), "127.0.0.1 localhost\n").unwrap();
        let ovr = tempfile::tempdir().unwrap();
        std::fs::write(ovr.path().join("resolv.conf"), "nameserver 10.9.9.9\n").unwrap();

        let files = read_dns_files(root.path(), Some(ovr.path()));
        assert_eq!(
            files.resolv_conf.path,
            ovr.path().join("resolv.conf").display().to_string()
        );
        let rc = files.resolv_conf.parsed.unwrap();
        assert_eq!(rc.nameservers[0].text, "10.9.9.9");
        // No override for hosts: the root's file is read.
        assert_eq!(files.hosts.path, etc.join("hosts").display().to_string());
        assert_eq!(files.hosts.parsed.unwrap().entries.len(), 1);
        assert_eq!(files.nsswitch.error.as_deref(), Some("not found"));
        assert!(files.nsswitch.parsed.is_none());

        let plain = read_dns_files(root.path(), None);
        assert_eq!(
            plain.resolv_conf.parsed.unwrap().nameservers[0].text,
            "10.0.0.1"
        );
    }
}

#[cfg(test)]
mod root_tests {
    use super::*;

    #[test]
    fn absolute_symlink_resolves_inside_the_root() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("etc")).expect("etc");
        std::fs::create_dir_all(root.join("run/resolve")).expect("run");
        std::fs::write(
            root.join("run/resolve/stub.conf"),
            "nameserver 10.96.0.10\n",
        )
        .expect("stub");
        std::os::unix::fs::symlink("/run/resolve/stub.conf", root.join("etc/resolv.conf"))
            .expect("symlink");
        let files = read_dns_files(root, None);
        assert_eq!(
            files.resolv_conf.path,
            root.join("run/resolve/stub.conf").display().to_string()
        );
        let parsed = files.resolv_conf.parsed.expect("parsed");
        assert_eq!(parsed.nameservers[0].text, "10.96.0.10");
    }
}
