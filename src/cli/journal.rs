//! `netlens journal [--json]`: the plans netlens applied, oldest first, with their state.

use clap::Args;
use serde::Serialize;

use super::apply::{fail, sweep};
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
}

pub fn run(args: &JournalArgs) -> anyhow::Result<i32> {
    sweep();
    let entries = match journal::list() {
        Ok(e) => e,
        Err(e) => return Ok(fail("journal", &e)),
    };
    let rows: Vec<JournalRow> = entries
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
        })
        .collect();
    if args.json {
        println!(
            "{}",
            crate::text::json_safe(&serde_json::to_string_pretty(&rows)?)
        );
        return Ok(0);
    }
    if rows.is_empty() {
        crate::outln!("no plans in {}", journal::journal_dir().display());
    }
    for r in &rows {
        crate::outln!(
            "{:<22} {}  {:<16} {} ({} steps)",
            r.id,
            plan::format_time(r.started_at),
            r.state.as_str(),
            if r.title.is_empty() {
                "(untitled)"
            } else {
                &r.title
            },
            r.steps
        );
    }
    Ok(0)
}
