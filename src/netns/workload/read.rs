//! Reading a runtime's state file as untrusted input, and checking the names found in it.

use std::path::Path;

use serde_json::Value;

use crate::rootfs::{read_regular, Resolver, Root};

/// The most read of one container's file (an OCI bundle's config.json, docker's
/// config.v2.json): tens of kilobytes in practice.
pub const MAX_CONFIG: u64 = 1 << 20;
/// The most read of podman's container list: about a kilobyte per container.
pub const MAX_LIST: u64 = 16 << 20;
/// The longest name a runtime gives (a DNS subdomain, as Kubernetes allows).
const MAX_NAME: usize = 253;

/// The JSON document at `rel` inside `dir`, or `None` when it is missing, not a regular
/// file, longer than `cap`, or not JSON. `dir` is the runtime's state directory: a symlink
/// in it resolves inside it (`RESOLVE_IN_ROOT`), never to another file of the host, and a
/// FIFO or device is never opened for reading (see `rootfs::read`).
pub fn json(dir: &Path, rel: &str, cap: u64) -> Option<Value> {
    let root = Root::open(dir).ok()?;
    let out = read_regular(&root, Path::new(rel), cap, Resolver::Kernel).ok()?;
    if out.truncated {
        return None;
    }
    serde_json::from_slice(&out.bytes).ok()
}

/// A name as runtimes allow them (docker and podman: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`;
/// Kubernetes: DNS labels and subdomains), or `None`: a name with anything else (a control
/// character, a space, a slash) came from a file someone wrote by hand, and a wrong label is
/// worse than none.
pub fn name(v: &Value) -> Option<String> {
    let s = v.as_str()?;
    let ok = !s.is_empty()
        && s.len() <= MAX_NAME
        && s.as_bytes()[0].is_ascii_alphanumeric()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    ok.then(|| s.to_string())
}

/// A container or sandbox id: hex digits only, so it can name a directory.
pub fn id(v: &Value) -> Option<String> {
    let s = v.as_str()?;
    (s.len() >= 12 && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| s.to_string())
}
