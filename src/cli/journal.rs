//! `netlens journal [--json]`: the plans netlens applied, in the order they were applied, with
//! their state. Listing changes nothing: it never rolls back an expired confirmation (apply,
//! undo, confirm and the watchdog do), it says whether a watchdog is still there to do it.
//! Damaged journals and unreadable files are listed on stderr, one line each with the file and
//! line; then the exit status is 1 (0: every journal read cleanly).

use clap::Args;
use serde::Serialize;

use super::apply::{fail, EXIT_FAILED};
use crate::plan::{self, journal, PlanState};

#[derive(Debug, Args)]
pub struct JournalArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// One plan as `journal --json` shows it (its own type, so the JSON does not move with the
/// journal's internals).
#[derive(Debug, Serialize)]
pub struct JournalRow {
    pub id: String,
    /// Unix seconds.
    pub started_at: u64,
    pub title: String,
    pub state: PlanState,
    pub steps: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirm_deadline_ms: Option<u64>,
    /// The order plans were applied in (0: a journal of an older netlens, or damaged).
    pub seq: u64,
    /// About the confirm window: whether a watchdog is still there to roll it back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Damaged lines, `FILE:LINE: reason`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

pub fn run(args: &JournalArgs) -> anyhow::Result<i32> {
    let scan = match journal::scan() {
        Ok(s) => s,
        Err(e) => return Ok(fail("journal", &e)),
    };
    let rows: Vec<JournalRow> = scan
        .entries
        .iter()
        .map(|e| JournalRow {
            id: e.plan.id.clone(),
            started_at: e.started_at,
            title: e.plan.title.clone(),
            state: e.state,
            steps: e.plan.steps.len(),
            confirm_deadline_ms: (e.state == PlanState::AwaitingConfirm)
                .then_some(e.deadline)
                .flatten(),
            seq: e.seq,
            note: e.confirm_note(),
            problems: e.problems.clone(),
        })
        .collect();
    let mut damaged = false;
    for line in rows.iter().flat_map(|r| &r.problems).chain(&scan.skipped) {
        crate::errln!("netlens journal: {line}");
        damaged = true;
    }
    let code = if damaged { EXIT_FAILED } else { 0 };
    if args.json {
        println!(
            "{}",
            crate::text::json_safe(&serde_json::to_string_pretty(&rows)?)
        );
        return Ok(code);
    }
    if rows.is_empty() {
        crate::outln!("no plans in {}", journal::journal_dir().display());
    }
    for r in &rows {
        let title = if r.state == PlanState::Damaged {
            "(damaged journal: its lines are named on stderr)"
        } else if r.title.is_empty() {
            "(untitled)"
        } else {
            &r.title
        };
        crate::outln!(
            "{:<22} {}  {:<16} {} ({})",
            r.id,
            plan::format_time(r.started_at),
            r.state.as_str(),
            title,
            crate::report::plural(r.steps, "step")
        );
        if let Some(note) = &r.note {
            crate::outln!("{:<22} {note}", "");
        }
    }
    Ok(code)
}
