//! `netlens doctor`: its JSON document (findings, and what was not read) and its text form.

use crate::diagnose::{Finding, Severity};
use crate::model::Snapshot;

/// The `{ "findings": [...], "complete": …, "unread": [...] }` document of `--json`.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct DoctorReport {
    pub findings: Vec<Finding>,
    /// False when part of the host was not read: the findings cover only what was.
    #[serde(default = "yes")]
    pub complete: bool,
    /// What was not read, one entry per namespace (or per snapshot-wide gap).
    #[serde(default)]
    pub unread: Vec<Unread>,
}

fn yes() -> bool {
    true
}

/// One part of the snapshot that was not read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Unread {
    /// The namespace; absent for a gap in discovery (namespaces not even found).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// `inaccessible` (not entered), `gone` (vanished while read), `partial` (some sources
    /// failed) or `undiscovered`.
    pub state: String,
    /// What is missing and why, one entry per failed source.
    pub missing: Vec<String>,
}

/// What the snapshot records as not read: every namespace whose status is not `ok`, and the
/// discovery warnings that say namespaces may be missing altogether.
pub fn unread(snap: &Snapshot) -> Vec<Unread> {
    use crate::model::NsStatus;
    use crate::netns::discover::{HIDDEN_NAMESPACES, HOST_UNKNOWN};
    let mut out: Vec<Unread> = snap
        .namespaces
        .iter()
        .filter_map(|ns| {
            let (state, missing) = match &ns.status {
                NsStatus::Ok => return None,
                NsStatus::Partial(list) => ("partial", list.clone()),
                NsStatus::Gone => ("gone", vec!["disappeared while being read".to_string()]),
                NsStatus::Inaccessible(why) => ("inaccessible", vec![why.clone()]),
            };
            Some(Unread {
                namespace: Some(ns.name.clone()),
                state: state.into(),
                missing,
            })
        })
        .collect();
    for w in &snap.warnings {
        if w.contains(HIDDEN_NAMESPACES) || w.starts_with(HOST_UNKNOWN) {
            out.push(Unread {
                namespace: None,
                state: "undiscovered".into(),
                missing: vec![w.clone()],
            });
        }
    }
    out
}

/// Text report: findings grouped by severity, each with its id, title, explanation and fix.
pub fn render(snap: &Snapshot, findings: &[Finding], only: Option<&[String]>) -> String {
    let mut out = String::new();
    let scope = match only {
        Some(names) => names
            .iter()
            .map(|n| {
                snap.namespace(n)
                    .map_or_else(|| n.clone(), |ns| ns.label_and_name())
            })
            .collect::<Vec<_>>()
            .join(", "),
        None => super::plural(snap.namespaces.len(), "namespace"),
    };
    for w in &snap.warnings {
        crate::put!(out, "note: {w}");
    }
    for (severity, heading) in [
        (Severity::Error, "errors"),
        (Severity::Warning, "warnings"),
        (Severity::Info, "information"),
    ] {
        let group: Vec<&Finding> = findings.iter().filter(|f| f.severity == severity).collect();
        if group.is_empty() {
            continue;
        }
        crate::put!(out, "== {heading} ({})", group.len());
        for f in group {
            crate::put!(out, "{} [{}]", f.title, f.id);
            crate::put!(out, "  {}", f.explanation);
            if let Some(fix) = &f.fix {
                crate::put!(out, "  fix: {}", fix.title);
                for (i, step) in fix.steps.iter().enumerate() {
                    crate::put!(out, "    {}. {step}", i + 1);
                    // The commands `fix --dry-run` shows, so the finding can be repaired by
                    // hand; shell-quoted already, made terminal-safe without re-escaping.
                    for cmd in crate::plan::shell::commands(step) {
                        out.push_str("      $ ");
                        out.push_str(&crate::text::sanitize_line(&cmd));
                        out.push('\n');
                    }
                }
                for left in &f.fix_leaves {
                    crate::put!(out, "  after this fix, still an error: {left}");
                }
            }
            if let Some(why) = &f.fix_rejected {
                crate::put!(out, "  no automatic fix: {why}");
            }
            out.push('\n');
        }
    }
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    let unread = unread(snap);
    if !unread.is_empty() {
        // Not "run as root": a root netlens inside a container (or a sandbox whose PID 1 it
        // cannot inspect) misses the host's namespace too.
        let parts = if unread.len() == 1 { "part" } else { "parts" };
        crate::put!(
            out,
            "== incomplete: {} {parts} not read (netlens reads them as root from the host's own \
             PID namespace)",
            unread.len()
        );
        for u in &unread {
            match &u.namespace {
                Some(n) => {
                    crate::put!(out, "not read: {n} ({}): {}", u.state, u.missing.join("; "))
                }
                None => crate::put!(out, "not read: {}", u.missing.join("; ")),
            }
        }
        out.push('\n');
    }
    let incomplete = if unread.is_empty() {
        ""
    } else {
        " (incomplete: only what could be read)"
    };
    if findings.is_empty() && !unread.is_empty() {
        crate::put!(
            out,
            "doctor: incomplete: no problems found among what could be read in {scope}"
        );
    } else if findings.is_empty() {
        crate::put!(out, "doctor: no problems found in {scope}");
    } else {
        crate::put!(
            out,
            "doctor: {}, {}, {} information in {scope}{incomplete}",
            super::plural(count(Severity::Error), "error"),
            super::plural(count(Severity::Warning), "warning"),
            count(Severity::Info)
        );
    }
    out
}
