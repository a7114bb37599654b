//! `netlens doctor`: run the rule engine (`crate::diagnose`) over a live or saved snapshot.
//!
//! Exit status: 0 nothing at warning or error level (information allowed), 1 findings, 2 bad
//! input (an unreadable snapshot, an unknown namespace), with one line on stderr.

use std::io::Write;
use std::path::PathBuf;

use crate::collect::{self, Options};
use crate::diagnose::{diagnose, has_problems, Finding, Severity};
use crate::model::{Namespace, Snapshot};

#[derive(Debug, Clone, Default, clap::Args)]
pub struct DoctorArgs {
    /// Print `{"findings": [...]}` as JSON (docs/doctor.md).
    #[arg(long)]
    pub json: bool,
    /// Only findings about these namespaces (name, /run/netns path, pid, container id prefix
    /// or inode). Every namespace is still read: most rules look across namespaces.
    #[arg(long = "ns", value_name = "NAME")]
    pub ns: Vec<String>,
    /// Diagnose a saved snapshot (`netlens snapshot --json > FILE`) instead of this host; needs
    /// no root.
    #[arg(long, value_name = "FILE")]
    pub snapshot: Option<PathBuf>,
}

const EXIT_USAGE: i32 = 2;

/// The `{ "findings": [...] }` document of `--json`.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct DoctorReport {
    pub findings: Vec<Finding>,
}

pub fn run(args: &DoctorArgs) -> anyhow::Result<i32> {
    let snap = match &args.snapshot {
        Some(path) => match super::diff::load(path) {
            Ok(s) => s,
            Err(e) => {
                crate::errln!("netlens doctor: {e}");
                return Ok(EXIT_USAGE);
            }
        },
        None => match collect::snapshot(&Options::default()) {
            Ok(s) => s,
            Err(e) => {
                crate::errln!("netlens doctor: {e}");
                return Ok(EXIT_USAGE);
            }
        },
    };
    let selected = match select(&snap, &args.ns) {
        Ok(s) => s,
        Err(e) => {
            crate::errln!("netlens doctor: {e}");
            return Ok(EXIT_USAGE);
        }
    };
    let mut findings = diagnose(&snap);
    if let Some(names) = &selected {
        findings.retain(|f| names.iter().any(|n| f.concerns(n)));
    }
    let text = if args.json {
        let mut t = serde_json::to_string_pretty(&DoctorReport {
            findings: findings.clone(),
        })?;
        t.push('\n');
        t
    } else {
        render(&snap, &findings, selected.as_deref())
    };
    // Anything a renderer missed is neutralised here (JSON keeps its value).
    let text = crate::text::terminal_safe(&text, args.json);
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush())
    {
        // A closed pipe (`| head`) is not an error worth a message.
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            crate::errln!("netlens doctor: writing the report: {e}");
            return Ok(EXIT_USAGE);
        }
    }
    Ok(i32::from(has_problems(&findings)))
}

fn matches(ns: &Namespace, sel: &str) -> bool {
    ns.name == sel
        || ns.inode.to_string() == sel
        || ns.paths.iter().any(|p| p == sel)
        || ns.processes.iter().any(|p| {
            p.pid.to_string() == sel
                || p.container_id
                    .as_deref()
                    .is_some_and(|c| sel.len() >= 4 && c.starts_with(sel))
        })
}

/// The names of the namespaces `--ns` selects (`None`: all), or an error naming the selector
/// that matched nothing.
fn select(snap: &Snapshot, sels: &[String]) -> Result<Option<Vec<String>>, String> {
    if sels.is_empty() {
        return Ok(None);
    }
    let mut names = Vec::new();
    for sel in sels {
        let found: Vec<String> = snap
            .namespaces
            .iter()
            .filter(|ns| matches(ns, sel))
            .map(|ns| ns.name.clone())
            .collect();
        if found.is_empty() {
            let known: Vec<&str> = snap.namespaces.iter().map(|n| n.name.as_str()).collect();
            return Err(format!(
                "unknown namespace {sel:?}; known: {}",
                known.join(", ")
            ));
        }
        names.extend(found);
    }
    Ok(Some(names))
}

/// Text report: findings grouped by severity, each with its id, title, explanation and fix.
pub fn render(snap: &Snapshot, findings: &[Finding], only: Option<&[String]>) -> String {
    let mut out = String::new();
    let scope = match only {
        Some(names) => names.join(", "),
        None => format!("{} namespaces", snap.namespaces.len()),
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
                }
            }
            out.push('\n');
        }
    }
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    if findings.is_empty() {
        crate::put!(out, "doctor: no problems found in {scope}");
    } else {
        crate::put!(
            out,
            "doctor: {} errors, {} warnings, {} information in {scope}",
            count(Severity::Error),
            count(Severity::Warning),
            count(Severity::Info)
        );
    }
    out
}
