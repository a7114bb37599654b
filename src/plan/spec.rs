//! A plan as a file holds it: an id, a title and the steps, in order.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::clock;
use super::error::PlanError;
use super::step::Step;
use crate::saved::read::read_regular;
use crate::saved::MAX_PLAN_BYTES;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Filename-safe: `YYYYMMDDTHHMMSSZ-xxxx` (UTC time, 4 random hex digits). A plan file may
    /// leave it out; [`Plan::load`] then makes one.
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub title: String,
    pub steps: Vec<Step>,
}

impl Plan {
    /// A new plan with a fresh id.
    pub fn new(title: impl Into<String>, steps: Vec<Step>) -> Plan {
        Plan {
            id: new_id(),
            title: title.into(),
            steps,
        }
    }

    /// Reads a plan file; a missing id gets a fresh one. Errors are one line (serde's message
    /// names the line and column).
    pub fn load(path: &Path) -> Result<Plan, PlanError> {
        let bad = |reason: String| PlanError::BadPlanFile {
            path: crate::text::escape_owned(&path.display().to_string()),
            reason,
        };
        // Bounded and regular files only: a FIFO or /dev/zero named as a plan must not hang
        // or exhaust memory.
        let bytes =
            read_regular(path, MAX_PLAN_BYTES, "a plan").map_err(|e| bad(e.why.to_string()))?;
        let text = String::from_utf8(bytes).map_err(|_| bad("not UTF-8 text".to_string()))?;
        Plan::parse(&text).map_err(bad)
    }

    /// Parses a plan's text. The error is one line: serde quotes the unknown step or field it
    /// met, which may hold newlines and terminal escapes.
    pub fn parse(text: &str) -> Result<Plan, String> {
        let mut plan: Plan =
            serde_json::from_str(text).map_err(|e| crate::text::escape_owned(&e.to_string()))?;
        if plan.id.is_empty() {
            plan.id = new_id();
        }
        Ok(plan)
    }
}

/// Whether `id` can name a journal file: 1..=64 bytes of `[A-Za-z0-9._-]`, not starting
/// with a dot.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

/// Time-based so ids sort by creation; the random suffix keeps two plans made in the same
/// second apart.
pub fn new_id() -> String {
    let mut rnd = [0u8; 2];
    // /dev/urandom never blocks; if it cannot be read the pid still separates processes.
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut rnd))
        .is_err()
    {
        rnd = (std::process::id() as u16).to_be_bytes();
    }
    format!(
        "{}-{:02x}{:02x}",
        clock::compact(clock::now()),
        rnd[0],
        rnd[1]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_filename_safe_and_distinct() {
        let a = new_id();
        let b = new_id();
        assert!(valid_id(&a), "{a}");
        assert_eq!(a.len(), "20261125T123456Z-abcd".len(), "{a}");
        assert_ne!(a, b);
        for bad in ["", ".x", "a/b", "a b", &"x".repeat(65)] {
            assert!(!valid_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn plan_without_id_gets_one() {
        let p = Plan::parse(r#"{"title":"t","steps":[]}"#).unwrap();
        assert!(valid_id(&p.id));
    }

    #[test]
    fn bad_cidr_is_one_line() {
        let err = Plan::parse(
            r#"{"steps":[{"step":"add_address","ns":"host","link":"lo","addr":"10.0.0.300/24"}]}"#,
        )
        .unwrap_err();
        assert!(!err.contains('\n'), "{err}");
        assert!(err.contains("line 1"), "{err}");
    }
}
