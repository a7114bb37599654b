//! Loading a saved snapshot: bounded, schema-checked, one error line naming the file.

use std::path::Path;

use serde::Deserialize;

use super::one_line::one_line;
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

/// Reads and parses the snapshot at `path`.
pub fn load(path: &Path) -> Result<Snapshot, String> {
    let bytes = read_regular(path, MAX_SNAPSHOT_BYTES, "a snapshot")
        .map_err(|e| one_line(&e.to_string()))?;
    parse(&bytes).map_err(|e| one_line(&format!("{}: {e}", path.display())))
}

/// Parses a snapshot's bytes; the error does not name the file, and is one line (serde quotes
/// what it met, which may hold anything).
pub fn parse(bytes: &[u8]) -> Result<Snapshot, String> {
    parse_raw(bytes).map_err(|e| one_line(&e))
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
