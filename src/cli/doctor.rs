//! `netlens doctor`: run the rule engine (`crate::diagnose`) over a live or saved snapshot.
//!
//! Exit status: 0 nothing at warning or error level (information allowed), 1 findings, 2 bad
//! input (an unreadable snapshot, an unknown namespace), with one line on stderr, 3 no
//! findings among what was read but the snapshot is incomplete (namespaces not entered or
//! gone, sources such as the firewall not read, namespaces not discovered).

use std::path::PathBuf;

use crate::collect::{self, Options};
use crate::diagnose::{diagnose_with, has_problems, Finding};
use crate::model::{Namespace, Snapshot};
use crate::report::color::Kind;
use crate::report::doctor::{render, unread, DoctorReport, Unread};

#[derive(Debug, Clone, Default, clap::Args)]
pub struct DoctorArgs {
    /// Print `{"findings": [...], "complete": BOOL, "unread": [...]}` as JSON (docs/doctor.md).
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
    /// A snapshot saved earlier (`netlens snapshot --json > FILE`, or the TUI's save): routes
    /// it has that are gone now are named (`route-lost`) and put back by the `link-down` and
    /// `route-lost` fixes, when their link is there and their gateway on-link. It is only a
    /// source of proposals: nothing else in it is used.
    #[arg(long, value_name = "FILE")]
    pub before: Option<PathBuf>,
}

/// The routes of the `--before` snapshot, if one was given; the error is one line naming the
/// file (it is size-bounded and parsed as any saved snapshot: see docs/SECURITY.md).
pub fn load_before(
    path: Option<&std::path::Path>,
) -> Result<Option<crate::diagnose::earlier::Earlier>, String> {
    let Some(path) = path else { return Ok(None) };
    let snap = super::diff::load(path).map_err(|e| format!("--before: {e}"))?;
    Ok(Some(crate::diagnose::earlier::Earlier::from_snapshot(
        &snap,
    )))
}

const EXIT_USAGE: i32 = 2;
const EXIT_INCOMPLETE: i32 = 3;

pub fn run(args: &DoctorArgs) -> anyhow::Result<i32> {
    let earlier = match load_before(args.before.as_deref()) {
        Ok(e) => e,
        Err(e) => {
            crate::errln!("netlens doctor: {e}");
            return Ok(EXIT_USAGE);
        }
    };
    let snap = match &args.snapshot {
        Some(path) => match super::diff::load(path) {
            Ok(s) => s,
            Err(e) => {
                crate::errln!("netlens doctor: {e}");
                return Ok(EXIT_USAGE);
            }
        },
        None => match super::output::Progress::current().slow("reading every namespace…", || {
            collect::snapshot(&Options::default())
        }) {
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
    let mut findings = diagnose_with(&snap, earlier.as_ref());
    if let Some(names) = &selected {
        findings.retain(|f| names.iter().any(|n| f.concerns(n)));
    }
    let unread = unread(&snap);
    let text = if args.json {
        let mut t = serde_json::to_string_pretty(&DoctorReport {
            findings: findings.clone(),
            complete: unread.is_empty(),
            unread: unread.clone(),
        })?;
        t.push('\n');
        t
    } else {
        render(&snap, &findings, selected.as_deref())
    };
    if let Err(e) = super::output::print_report(&text, args.json, Kind::Doctor) {
        crate::errln!("netlens doctor: writing the report: {e}");
        return Ok(EXIT_USAGE);
    }
    Ok(exit_code(&findings, &unread))
}

/// 1 for findings (whether or not all was read), else 3 when something was not read, else 0.
pub fn exit_code(findings: &[Finding], unread: &[Unread]) -> i32 {
    if has_problems(findings) {
        1
    } else if !unread.is_empty() {
        EXIT_INCOMPLETE
    } else {
        0
    }
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
            return Err(unknown(sel, &known));
        }
        names.extend(found);
    }
    Ok(Some(names))
}

/// "unknown namespace" with the few closest names, not all of them (a node has hundreds).
fn unknown(sel: &str, known: &[&str]) -> String {
    const SHOWN: usize = 5;
    let mut ranked: Vec<(usize, &str)> = known.iter().map(|k| (distance(sel, k), *k)).collect();
    ranked.sort();
    let close: Vec<&str> = ranked.iter().take(SHOWN).map(|(_, k)| *k).collect();
    let all = if known.len() > SHOWN {
        format!(" ({} in all: netlens snapshot lists them)", known.len())
    } else {
        String::new()
    };
    format!(
        "unknown namespace {sel:?}; closest: {}{all}",
        close.join(", ")
    )
}

/// How far apart two names are: 0 when one contains the other, else the edit distance
/// (plus one, so containing always ranks first).
fn distance(a: &str, b: &str) -> usize {
    if a.is_empty() || b.contains(a) || a.contains(b) {
        return 0;
    }
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()] + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::Severity;
    use crate::model::{NamespaceKind, NsStatus};

    fn snap(statuses: Vec<NsStatus>, warnings: Vec<String>) -> Snapshot {
        let namespaces = statuses
            .into_iter()
            .enumerate()
            .map(|(i, st)| {
                let mut ns = Namespace::new(format!("ns{i}"), NamespaceKind::Named, i as u64 + 1);
                ns.status = st;
                ns
            })
            .collect();
        Snapshot {
            schema_version: crate::model::SCHEMA_VERSION,
            taken_at: 0,
            hostname: String::new(),
            namespaces,
            warnings,
            cni: None,
        }
    }

    #[test]
    fn complete_snapshot_has_nothing_unread() {
        let s = snap(vec![NsStatus::Ok, NsStatus::Ok], vec!["some note".into()]);
        assert!(unread(&s).is_empty());
        assert_eq!(exit_code(&[], &unread(&s)), 0);
        let text = render(&s, &[], None);
        assert!(!text.contains("incomplete"), "{text}");
        assert!(
            text.contains("doctor: no problems found in 2 namespaces"),
            "{text}"
        );
    }

    #[test]
    fn every_unread_part_is_listed_and_exits_3() {
        let s = snap(
            vec![
                NsStatus::Ok,
                NsStatus::Partial(vec!["firewall: denied".into(), "sock_diag: x".into()]),
                NsStatus::Gone,
                NsStatus::Inaccessible("cannot enter".into()),
            ],
            vec![format!(
                "2 processes' {}: …",
                crate::netns::discover::HIDDEN_NAMESPACES
            )],
        );
        let u = unread(&s);
        let states: Vec<(Option<&str>, &str)> = u
            .iter()
            .map(|u| (u.namespace.as_deref(), u.state.as_str()))
            .collect();
        assert_eq!(
            states,
            [
                (Some("ns1"), "partial"),
                (Some("ns2"), "gone"),
                (Some("ns3"), "inaccessible"),
                (None, "undiscovered")
            ]
        );
        assert_eq!(u[0].missing, ["firewall: denied", "sock_diag: x"]);
        assert_eq!(exit_code(&[], &u), 3);
        let text = render(&s, &[], None);
        for n in ["ns1", "ns2", "ns3"] {
            assert!(
                text.lines()
                    .any(|l| l.starts_with("not read: ") && l.contains(n)),
                "{n}: {text}"
            );
        }
        assert!(
            text.ends_with(
                "doctor: incomplete: no problems found among what could be read in 4 namespaces\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn findings_still_exit_1_when_incomplete() {
        let s = snap(vec![NsStatus::Gone], vec![]);
        let f: Finding = serde_json::from_value(serde_json::json!({
            "id": "x:ns0", "rule": "x", "severity": "warning", "namespace": "ns0",
            "objects": [], "title": "t", "explanation": "e"
        }))
        .unwrap();
        assert_eq!(f.severity, Severity::Warning);
        assert_eq!(exit_code(std::slice::from_ref(&f), &unread(&s)), 1);
        let text = render(&s, std::slice::from_ref(&f), None);
        assert!(
            text.trim_end()
                .ends_with("(incomplete: only what could be read)"),
            "{text}"
        );
    }

    #[test]
    fn unknown_namespace_names_the_closest_few() {
        let names: Vec<String> = (0..500).map(|i| format!("svc-{i}")).collect();
        let mut known: Vec<&str> = names.iter().map(String::as_str).collect();
        known.push("bridge-red");
        let msg = unknown("bridge-rde", &known);
        assert!(
            msg.starts_with("unknown namespace \"bridge-rde\"; closest: bridge-red"),
            "{msg}"
        );
        assert!(msg.contains("501 in all"), "{msg}");
        assert_eq!(msg.matches(", ").count(), 4, "{msg}");
        let msg = unknown("x", &["a", "b"]);
        assert!(!msg.contains("in all"), "{msg}");
    }

    #[test]
    fn old_reports_read_as_complete() {
        let r: DoctorReport = serde_json::from_str(r#"{"findings": []}"#).unwrap();
        assert!(r.complete && r.unread.is_empty());
    }
}
