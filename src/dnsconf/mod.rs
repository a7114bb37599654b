//! DNS configuration files of a namespace: resolv.conf, nsswitch.conf, hosts.
//!
//! The parsers are pure functions of the text; [`read_dns_files`] is the only I/O.

pub mod hosts;
pub mod nsswitch;
pub mod resolv;

use std::path::Path;

use serde::{Deserialize, Serialize};

pub use hosts::{Hosts, HostsEntry};
pub use nsswitch::{Action, Database, NsSwitch, Source};
pub use resolv::{Nameserver, ResolvConf, ResolvOptions};

/// The outcome of reading and parsing one file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileRead<T> {
    /// The path actually read (after applying overrides).
    pub path: String,
    /// The file's text (invalid UTF-8 replaced), if it could be read.
    pub raw: Option<String>,
    pub parsed: Option<T>,
    /// `"not found"` for a missing file, otherwise the I/O error text.
    pub error: Option<String>,
}

/// The DNS-related files as seen by processes in one namespace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DnsFiles {
    pub resolv_conf: FileRead<ResolvConf>,
    pub nsswitch: FileRead<NsSwitch>,
    pub hosts: FileRead<Hosts>,
}

/// Reads `<root>/etc/{resolv.conf,nsswitch.conf,hosts}`.
///
/// `overrides` is a directory such as `/etc/netns/NAME`: `ip netns exec NAME` bind-mounts each
/// file found there over the one in `/etc`, so a file present in it wins. `root` lets the
/// caller read another mount namespace's view (e.g. `/proc/PID/root`) or a test fixture.
pub fn read_dns_files(root: &Path, overrides: Option<&Path>) -> DnsFiles {
    DnsFiles {
        resolv_conf: read(root, overrides, "resolv.conf", resolv::parse),
        nsswitch: read(root, overrides, "nsswitch.conf", nsswitch::parse),
        hosts: read(root, overrides, "hosts", hosts::parse),
    }
}

/// Follows symlinks as a process whose root is `root` would. A container's
/// `/etc/resolv.conf -> /run/systemd/resolve/stub-resolv.conf` read through `/proc/PID/root`
/// would otherwise resolve against *our* root and show the host's file.
fn resolve_in_root(root: &Path, path: &Path) -> std::path::PathBuf {
    if root == Path::new("/") {
        return path.to_path_buf();
    }
    let mut current = path.to_path_buf();
    // A bounded number of hops, like the kernel's 40, so a loop cannot hang us.
    for _ in 0..40 {
        let Ok(target) = std::fs::read_link(&current) else {
            return current;
        };
        current = if target.is_absolute() {
            root.join(target.strip_prefix("/").unwrap_or(&target))
        } else {
            current.parent().unwrap_or(root).join(target)
        };
    }
    current
}

fn read<T>(root: &Path, overrides: Option<&Path>, name: &str, parse: fn(&str) -> T) -> FileRead<T> {
    let path = overrides
        .map(|dir| dir.join(name))
        .filter(|p| p.exists())
        .unwrap_or_else(|| resolve_in_root(root, &root.join("etc").join(name)));
    let shown = path.display().to_string();
    match std::fs::read(&path) {
        Ok(bytes) => {
            let raw = String::from_utf8_lossy(&bytes).into_owned();
            let parsed = parse(&raw);
            FileRead {
                path: shown,
                raw: Some(raw),
                parsed: Some(parsed),
                error: None,
            }
        }
        Err(e) => FileRead {
            path: shown,
            raw: None,
            parsed: None,
            error: Some(if e.kind() == std::io::ErrorKind::NotFound {
                "not found".to_string()
            } else {
                e.to_string()
            }),
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
