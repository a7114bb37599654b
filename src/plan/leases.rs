//! host-local lease files, released and restored the way host-local itself changes them:
//! under an exclusive flock of the network's `lock` file, so an allocation running at the same
//! moment (a pod starting) never sees half a change. A release only removes a lease that
//! still names the container the doctor saw; a restore never overwrites a lease someone was
//! given meanwhile — an address leased twice is two pods with one IP.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::net::IpAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

use crate::cni::ipam::{parse_lease, LOCK_FILE};

/// `DIR/IP`: host-local names each lease file by the address's text form.
pub fn path(dir: &str, ip: IpAddr) -> PathBuf {
    Path::new(dir).join(ip.to_string())
}

/// Largest lease file read (host-local writes a container id and an interface name).
const MAX_LEASE: u64 = 64 * 1024;

/// Opens `p` for reading the way nothing planted in a lease directory can abuse: never
/// through a symlink (host-local writes plain files, and following one could read, delete or
/// write anywhere), never blocking (a FIFO would stall root's netlens while it holds the state
/// lock), and only a regular file. `None` when there is no such file.
fn open_plain(p: &Path) -> Result<Option<File>, String> {
    let opened = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(p);
    let file = match opened {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        // O_NOFOLLOW on a symlink.
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(format!("{} is not a regular file (a symlink)", p.display()))
        }
        Err(e) => return Err(format!("cannot open {}: {e}", p.display())),
    };
    let fd = std::os::fd::OwnedFd::from(file);
    crate::rootfs::read::regular(&fd).map_err(|e| format!("{}: {e}", p.display()))?;
    Ok(Some(File::from(fd)))
}

/// The lease's content, `None` when there is no lease (see [`open_plain`] for what is refused).
pub fn read(dir: &str, ip: IpAddr) -> Result<Option<String>, String> {
    use std::io::Read;
    let p = path(dir, ip);
    let Some(f) = open_plain(&p)? else {
        return Ok(None);
    };
    let mut bytes = Vec::new();
    f.take(MAX_LEASE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {}: {e}", p.display()))?;
    if bytes.len() as u64 > MAX_LEASE {
        return Err(format!(
            "{} is larger than {MAX_LEASE} bytes: not a host-local lease",
            p.display()
        ));
    }
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| format!("{} is not UTF-8: not a host-local lease", p.display()))
}

/// How long a step waits for host-local's lock (host-local holds it for milliseconds).
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// host-local's lock, held until the returned guard drops; `None` when the directory has no
/// lock file (host-local creates it on its first allocation, so nobody is allocating). The
/// lock file is opened like a lease ([`open_plain`]), and waited for at most [`LOCK_WAIT`]:
/// host-local holds it for milliseconds, so a lock held longer is someone stalling us.
fn lock(dir: &str) -> Result<Option<Flock<File>>, String> {
    let p = Path::new(dir).join(LOCK_FILE);
    let Some(mut file) = open_plain(&p)? else {
        return Ok(None);
    };
    let t0 = std::time::Instant::now();
    loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(guard) => return Ok(Some(guard)),
            Err((f, nix::errno::Errno::EWOULDBLOCK)) if t0.elapsed() < LOCK_WAIT => {
                file = f;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err((_, nix::errno::Errno::EWOULDBLOCK)) => {
                return Err(format!(
                    "cannot lock {}: someone has held it for over {} s",
                    p.display(),
                    LOCK_WAIT.as_secs()
                ))
            }
            Err((_, e)) => return Err(format!("cannot lock {}: {e}", p.display())),
        }
    }
}

/// Checks that the lease `content` belongs to `container`.
pub fn owned_by(dir: &str, ip: IpAddr, content: &str, container: &str) -> Result<(), String> {
    let (id, _) = parse_lease(content);
    if id == container {
        Ok(())
    } else {
        Err(format!(
            "{} is leased to container {id:?} now, not {container:?}: not releasing it",
            path(dir, ip).display()
        ))
    }
}

/// Removes the lease (no lease: nothing to do).
pub fn release(dir: &str, ip: IpAddr, container: Option<&str>) -> Result<(), String> {
    let _guard = lock(dir)?;
    let Some(content) = read(dir, ip)? else {
        return Ok(());
    };
    if let Some(c) = container {
        owned_by(dir, ip, &content, c)?;
    }
    let p = path(dir, ip);
    match std::fs::remove_file(&p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("cannot remove {}: {e}", p.display())),
    }
}

/// Creates the lease with `content`; an identical lease is fine, another one is an error.
pub fn restore(dir: &str, ip: IpAddr, content: &str) -> Result<(), String> {
    let _guard = lock(dir)?;
    if let Some(now) = read(dir, ip)? {
        return if now == content {
            Ok(())
        } else {
            Err(taken(dir, ip, &now))
        };
    }
    let p = path(dir, ip);
    // O_EXCL, as host-local creates leases: never replace a file that appeared meanwhile.
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(&p)
        .map_err(|e| format!("cannot create {}: {e}", p.display()))?;
    f.write_all(content.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", p.display()))
}

/// The error for an address leased to someone else.
pub fn taken(dir: &str, ip: IpAddr, now: &str) -> String {
    format!(
        "{} is leased to container {:?} now: not putting the old lease back",
        path(dir, ip).display(),
        parse_lease(now).0
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_and_restore() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("net");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("lock"), "").unwrap();
        let dir = dir.to_str().unwrap();
        let ip: IpAddr = "10.9.0.3".parse().unwrap();
        std::fs::write(path(dir, ip), "c-old\r\neth0").unwrap();

        let e = release(dir, ip, Some("c-other")).unwrap_err();
        assert!(e.contains("leased to container \"c-old\" now"), "{e}");
        release(dir, ip, Some("c-old")).unwrap();
        assert_eq!(read(dir, ip).unwrap(), None);
        release(dir, ip, Some("c-old")).unwrap();

        restore(dir, ip, "c-old\r\neth0").unwrap();
        assert_eq!(read(dir, ip).unwrap().as_deref(), Some("c-old\r\neth0"));
        restore(dir, ip, "c-old\r\neth0").unwrap();
        std::fs::write(path(dir, ip), "c-new\r\neth0").unwrap();
        let e = restore(dir, ip, "c-old\r\neth0").unwrap_err();
        assert!(e.contains("\"c-new\""), "{e}");
    }

    /// A lease directory a container can write through a hostPath must not stall root's
    /// netlens (which holds the state lock meanwhile): a FIFO, or a symlink to one, as the
    /// lock file or as the lease is refused at once, never opened blocking.
    #[test]
    fn fifos_never_block() {
        use std::sync::mpsc;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_str().unwrap().to_string();
        let ip: IpAddr = "10.9.0.6".parse().unwrap();
        nix::unistd::mkfifo(&tmp.path().join("fifo"), nix::sys::stat::Mode::S_IRWXU).unwrap();
        std::os::unix::fs::symlink(tmp.path().join("fifo"), tmp.path().join(LOCK_FILE)).unwrap();
        let (tx, rx) = mpsc::channel();
        let d = dir.clone();
        // A thread, so that a regression fails the test instead of hanging it.
        std::thread::spawn(move || {
            let _ = tx.send((release(&d, ip, None), restore(&d, ip, "c\r\neth0")));
        });
        let (rel, res) = rx
            .recv_timeout(std::time::Duration::from_secs(5))
            .expect("release/restore blocked on a FIFO lock file");
        assert!(rel.unwrap_err().contains("not a regular file"));
        assert!(res.unwrap_err().contains("not a regular file"));

        std::fs::remove_file(tmp.path().join(LOCK_FILE)).unwrap();
        nix::unistd::mkfifo(&path(&dir, ip), nix::sys::stat::Mode::S_IRWXU).unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(read(&dir, ip));
        });
        let r = rx
            .recv_timeout(std::time::Duration::from_secs(5))
            .expect("read blocked on a FIFO lease");
        assert!(r.unwrap_err().contains("not a regular file"));
    }

    /// A lock someone holds forever (a container through a hostPath) stalls a step for a
    /// bounded time, then fails naming the lock.
    #[test]
    fn a_lock_held_forever_times_out() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_str().unwrap().to_string();
        std::fs::write(tmp.path().join(LOCK_FILE), "").unwrap();
        let holder = Flock::lock(
            File::open(tmp.path().join(LOCK_FILE)).unwrap(),
            FlockArg::LockExclusive,
        )
        .unwrap();
        let ip: IpAddr = "10.9.0.7".parse().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(release(&dir, ip, None));
        });
        let r = rx
            .recv_timeout(LOCK_WAIT + std::time::Duration::from_secs(5))
            .expect("release waited for the lease lock without end");
        assert!(r.unwrap_err().contains("lock"));
        drop(holder);
    }

    #[test]
    fn symlinks_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_str().unwrap();
        let ip: IpAddr = "10.9.0.4".parse().unwrap();
        std::os::unix::fs::symlink("/etc/hostname", path(dir, ip)).unwrap();
        assert!(read(dir, ip).unwrap_err().contains("not a regular file"));
        assert!(release(dir, ip, None).is_err());
    }
}
