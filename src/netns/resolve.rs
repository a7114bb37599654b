//! From the name a snapshot gives a namespace to a file that enters it.
//!
//! Names, as discovery makes them: `host` (PID 1's namespace), `pid:N` (the namespace process
//! N is in), `docker:NAME` (`/var/run/docker/netns/NAME`), anything else a named namespace in
//! [`netns_dir`](super::create::netns_dir) (`/run/netns` unless overridden). Resolution is
//! direct (no scan of `/proc`), so it is cheap enough to run for every step of a plan.

use std::fs::File;
use std::io;
use std::path::PathBuf;

use nix::sys::statfs::{fstatfs, NSFS_MAGIC};

use super::create::{netns_path, validate_netns_name, NetnsError};

/// Where Docker bind-mounts its containers' namespaces.
pub const DOCKER_NETNS_DIR: &str = "/var/run/docker/netns";

/// A namespace named the way a snapshot names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NsName {
    Host,
    Pid(u32),
    Docker(String),
    Named(String),
}

impl NsName {
    /// Parses and checks a name; does not look at the system.
    pub fn parse(name: &str) -> Result<NsName, NetnsError> {
        if name == "host" {
            return Ok(NsName::Host);
        }
        if let Some(pid) = name.strip_prefix("pid:") {
            return match pid.parse::<u32>() {
                Ok(pid) if pid > 0 => Ok(NsName::Pid(pid)),
                _ => Err(NetnsError::InvalidName {
                    name: name.to_string(),
                    reason: "pid:N needs a process id",
                }),
            };
        }
        if let Some(docker) = name.strip_prefix("docker:") {
            validate_netns_name(docker)?;
            return Ok(NsName::Docker(docker.to_string()));
        }
        validate_netns_name(name)?;
        Ok(NsName::Named(name.to_string()))
    }

    /// The file to open to enter the namespace.
    pub fn path(&self) -> Result<PathBuf, NetnsError> {
        Ok(match self {
            NsName::Host => PathBuf::from("/proc/1/ns/net"),
            NsName::Pid(pid) => PathBuf::from(format!("/proc/{pid}/ns/net")),
            NsName::Docker(name) => PathBuf::from(DOCKER_NETNS_DIR).join(name),
            NsName::Named(name) => netns_path(name)?,
        })
    }
}

/// Opens namespace `name`. A name that resolves to nothing (or to a plain file left by an
/// interrupted `ip netns add`) is [`NetnsError::Unknown`].
pub fn open_ns(name: &str) -> Result<File, NetnsError> {
    let path = NsName::parse(name)?.path()?;
    let unknown = || NetnsError::Unknown {
        name: name.to_string(),
        path: path.display().to_string(),
    };
    let file = match File::open(&path) {
        Ok(file) => file,
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ESRCH)) => {
            return Err(unknown())
        }
        Err(source) => {
            return Err(NetnsError::Io {
                action: "open",
                path: path.display().to_string(),
                source,
            })
        }
    };
    match fstatfs(&file) {
        Ok(st) if st.filesystem_type() == NSFS_MAGIC => Ok(file),
        Ok(_) => Err(unknown()),
        Err(e) => Err(NetnsError::Io {
            action: "statfs",
            path: path.display().to_string(),
            source: io::Error::from(e),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(NsName::parse("host").unwrap(), NsName::Host);
        assert_eq!(NsName::parse("pid:42").unwrap(), NsName::Pid(42));
        assert_eq!(
            NsName::parse("docker:abc").unwrap(),
            NsName::Docker("abc".into())
        );
        assert_eq!(NsName::parse("red").unwrap(), NsName::Named("red".into()));
        for bad in [
            "pid:",
            "pid:x",
            "pid:0",
            "docker:",
            "docker:a/b",
            "",
            "a/b",
            "..",
        ] {
            assert!(NsName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn missing_named_namespace_is_unknown() {
        let err = open_ns("netlens-surely-not-a-namespace").unwrap_err();
        assert!(matches!(err, NetnsError::Unknown { .. }), "{err}");
        assert!(err.to_string().starts_with("unknown namespace"), "{err}");
    }
}
