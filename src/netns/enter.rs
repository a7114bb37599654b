//! Running code inside another network namespace.
//!
//! `setns(CLONE_NEWNET)` changes the namespace of the calling *thread* only. We therefore
//! never call it on a thread that does anything else (the main thread, a tokio worker, a
//! `spawn_blocking` thread): a throwaway `std::thread` enters, does its work and exits, so no
//! later, unrelated work can ever run inside the foreign namespace by accident.
//!
//! Sockets (netlink, AF_PACKET, UDP) stay bound to the namespace they were created in, so a
//! closure may create a socket and return it for use from any thread afterwards.

use std::fs::File;
use std::os::fd::AsFd;
use std::path::Path;

use nix::sched::{setns, CloneFlags};

/// Errors from entering a namespace.
#[derive(Debug, thiserror::Error)]
pub enum EnterError {
    #[error("cannot open namespace {path}: {source}")]
    Open {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot enter namespace {path}: {source} (entering a network namespace needs CAP_SYS_ADMIN)")]
    Setns {
        path: String,
        #[source]
        source: nix::Error,
    },
    #[error("the thread working inside namespace {path} panicked")]
    Panicked { path: String },
}

/// Runs `f` on a fresh thread that has entered the network namespace referred to by `ns`.
pub fn run_in_netns_file<T, F>(ns: &File, label: &str, f: F) -> Result<T, EnterError>
where
    T: Send,
    F: FnOnce() -> T + Send,
{
    std::thread::scope(|scope| {
        let handle = scope.spawn(|| -> Result<T, EnterError> {
            setns(ns.as_fd(), CloneFlags::CLONE_NEWNET).map_err(|source| EnterError::Setns {
                path: label.to_string(),
                source,
            })?;
            Ok(f())
        });
        handle.join().map_err(|_| EnterError::Panicked {
            path: label.to_string(),
        })?
    })
}

/// Opens a namespace file (`/run/netns/NAME`, `/proc/PID/ns/net`) and runs `f` inside it.
pub fn run_in_netns<T, F>(path: &Path, f: F) -> Result<T, EnterError>
where
    T: Send,
    F: FnOnce() -> T + Send,
{
    let label = path.display().to_string();
    let file = File::open(path).map_err(|source| EnterError::Open {
        path: label.clone(),
        source,
    })?;
    run_in_netns_file(&file, &label, f)
}
