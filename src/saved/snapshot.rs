//! Loading a saved snapshot: bounded, schema-checked, one error line naming the file.

use std::path::Path;

use serde::Deserialize;

use super::read::read_regular;
use super::MAX_SNAPSHOT_BYTES;
use crate::model::{Snapshot, SCHEMA_VERSION};

/// Only the version, so an incompatible file says so instead of failing on whichever field
/// moved. Every other field is skipped without being kept, so the check costs no memory.
#[derive(Deserialize)]
struct Version {
    #[serde(default)]
    schema_version: Option<serde_json::Value>,
}

/// Writes `snap` as pretty JSON to a new file at `path`, never through an existing file or
/// symlink: the TUI saves into the current directory under a predictable name, and root's
/// current directory may be one others can write (`/tmp`), where a planted symlink would
/// otherwise make root overwrite its target.
pub fn save(snap: &Snapshot, path: &Path) -> std::io::Result<()> {
    use std::io::Write;
    let bytes = serde_json::to_vec_pretty(snap).map_err(std::io::Error::other)?;
    // O_CREAT|O_EXCL fails on any existing name, a dangling symlink included. Readable by
    // root only: a snapshot maps the node's whole network.
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(&bytes)?;
    file.sync_all()
}

/// Reads and parses the snapshot at `path`.
pub fn load(path: &Path) -> Result<Snapshot, String> {
    let bytes = read_regular(path, MAX_SNAPSHOT_BYTES, "a snapshot")
        .map_err(|e| crate::text::escape_owned(&e.to_string()))?;
    parse(&bytes).map_err(|e| crate::text::escape_owned(&format!("{}: {e}", path.display())))
}

/// Parses a snapshot's bytes; the error does not name the file, and is one line (serde quotes
/// what it met, which may hold anything).
pub fn parse(bytes: &[u8]) -> Result<Snapshot, String> {
    parse_raw(bytes).map_err(|e| crate::text::escape_owned(&e))
}

fn parse_raw(bytes: &[u8]) -> Result<Snapshot, String> {
    let version: Version = serde_json::from_slice(bytes).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => format!("not a netlens snapshot: {e}"),
        _ => format!("not valid JSON: {e}"),
    })?;
    match version.schema_version.as_ref().map(serde_json::Value::as_u64) {
        Some(Some(v)) if v == u64::from(SCHEMA_VERSION) => {}
        Some(Some(v)) => {
            return Err(format!(
                "snapshot schema_version {v}, this netlens reads {SCHEMA_VERSION}"
            ))
        }
        Some(None) => {
            return Err(format!(
                "not a netlens snapshot (schema_version is not a number; this netlens reads {SCHEMA_VERSION})"
            ))
        }
        None => return Err("not a netlens snapshot (no schema_version)".to_string()),
    }
    serde_json::from_slice(bytes).map_err(|e| format!("not a netlens snapshot: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> Snapshot {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo-bridge.json");
        load(&path).unwrap()
    }

    #[test]
    fn save_never_writes_through_a_planted_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("authorized_keys");
        std::fs::write(&victim, "ssh-ed25519 AAAA admin\n").unwrap();
        let name = dir.path().join("netlens-snapshot-1.json");
        std::os::unix::fs::symlink(&victim, &name).unwrap();
        let dangling = dir.path().join("netlens-snapshot-2.json");
        std::os::unix::fs::symlink(dir.path().join("new-file"), &dangling).unwrap();
        let snap = demo();
        assert!(save(&snap, &name).is_err());
        assert!(save(&snap, &dangling).is_err());
        assert_eq!(
            std::fs::read_to_string(&victim).unwrap(),
            "ssh-ed25519 AAAA admin\n"
        );
        assert!(!dir.path().join("new-file").exists());
        let fresh = dir.path().join("netlens-snapshot-3.json");
        save(&snap, &fresh).unwrap();
        assert_eq!(load(&fresh).unwrap(), snap);
    }
}
