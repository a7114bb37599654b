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

/// The lease's content, `None` when there is no lease. A symlink is refused: host-local
/// writes plain files, and following one could delete or write anywhere.
pub fn read(dir: &str, ip: IpAddr) -> Result<Option<String>, String> {
    let p = path(dir, ip);
    match p.symlink_metadata() {
        Ok(m) if !m.file_type().is_file() => {
            return Err(format!("{} is not a regular file", p.display()))
        }
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", p.display())),
    }
    match std::fs::read_to_string(&p) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read {}: {e}", p.display())),
    }
}

/// host-local's lock, held until the returned guard drops; `None` when the directory has no
/// lock file (host-local creates it on its first allocation, so nobody is allocating).
fn lock(dir: &str) -> Result<Option<Flock<File>>, String> {
    let p = Path::new(dir).join(LOCK_FILE);
    match File::open(&p) {
        Ok(f) => Flock::lock(f, FlockArg::LockExclusive)
            .map(Some)
            .map_err(|(_, e)| format!("cannot lock {}: {e}", p.display())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot open {}: {e}", p.display())),
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
