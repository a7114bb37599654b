//! `netlens fix ID|all [--dry-run] [--yes] [--confirm-within SECS]`: the doctor's fix for a
//! finding, as a plan: its shell commands shown, asked for, applied all or nothing, journaled
//! (so `netlens undo` takes it back).
//!
//! The snapshot is read again here, not taken from an earlier `doctor` run: a fix is built
//! from the network as it is now, and a finding that has gone away is said to be gone. After
//! the fix it is read once more and the rules run again: a chosen finding still there means
//! the fix did not fix, whatever its steps reported, and the exit status says so
//! ([`EXIT_NOT_FIXED`]).

use crate::collect::{self, Options};
use crate::diagnose::earlier::Earlier;
use crate::diagnose::fix_all::{self, Composed};
use crate::diagnose::{diagnose_with, Finding, Severity};
use crate::plan::Plan;

use super::apply::{show_and_apply, How, EXIT_BAD_INPUT};

/// Exit status when the plan was applied but a chosen finding is still there afterwards (the
/// change was undone behind our back, or a step matched nothing). The plan stays applied and
/// journaled: `netlens undo` takes it back.
pub const EXIT_NOT_FIXED: i32 = 4;

#[derive(Debug, Clone, clap::Args)]
pub struct FixArgs {
    /// A finding id from `netlens doctor` (e.g. `forwarding-off:router-b`), or `all` for every
    /// error and warning that has a fix.
    #[arg(value_name = "ID|all")]
    pub id: String,
    /// Show the plan's commands; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask before applying (required when stdin is not a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Roll the change back by itself unless confirmed within SECS (`netlens confirm ID`).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub confirm_within: Option<u64>,
    /// Refuse (exit 2) instead of waiting while another netlens change is in progress.
    #[arg(long)]
    pub no_wait: bool,
    /// A snapshot saved earlier: routes it has that are gone now are put back (as `doctor
    /// --before`), here and when the network is checked again after the fix.
    #[arg(long, value_name = "FILE")]
    pub before: Option<std::path::PathBuf>,
}

pub fn run(args: &FixArgs) -> anyhow::Result<i32> {
    crate::plan::set_no_wait(args.no_wait);
    let earlier = match super::doctor::load_before(args.before.as_deref()) {
        Ok(e) => e,
        Err(e) => {
            crate::errln!("netlens fix: {e}");
            return Ok(EXIT_BAD_INPUT);
        }
    };
    let snap = match collect::snapshot(&Options::default()) {
        Ok(s) => s,
        Err(e) => {
            crate::errln!("netlens fix: {e}");
            return Ok(EXIT_BAD_INPUT);
        }
    };
    let findings = diagnose_with(&snap, earlier.as_ref());
    let all = args.id == "all";
    let chosen: Vec<&Finding> = if all {
        findings
            .iter()
            .filter(|f| f.severity != Severity::Info && f.fix.is_some())
            .collect()
    } else {
        match findings.iter().find(|f| f.id == args.id) {
            Some(f) if f.fix.is_some() => vec![f],
            Some(f) => {
                // Why none is offered (e.g. the drop is in an nftables chain netlens does
                // not edit), when the doctor knows.
                let why = f
                    .fix_rejected
                    .as_deref()
                    .map(|w| format!(" ({w})"))
                    .unwrap_or_default();
                crate::errln!(
                    "netlens fix: {} has no automatic fix{why}; what the doctor says: {}",
                    f.id,
                    f.explanation
                );
                return Ok(EXIT_BAD_INPUT);
            }
            None => {
                let known: Vec<&str> = findings.iter().map(|f| f.id.as_str()).collect();
                crate::errln!(
                    "netlens fix: no finding {:?} now{}",
                    args.id,
                    if known.is_empty() {
                        " (the doctor finds nothing)".to_string()
                    } else {
                        format!(" (current: {})", known.join(", "))
                    }
                );
                return Ok(EXIT_BAD_INPUT);
            }
        }
    };
    if chosen.is_empty() {
        println!("nothing to fix: no error or warning with an automatic fix");
        return Ok(0);
    }
    // `fix all`: the fixes composed on a copy first (one may repair another's finding, or
    // make another's step fail); a single finding's fix was already tried on a copy.
    let composed = if all {
        fix_all::compose(&snap, &chosen, earlier.as_ref())
    } else {
        Composed {
            steps: chosen[0].fix.iter().flat_map(|x| x.steps.clone()).collect(),
            chosen,
            left_out: Vec::new(),
        }
    };
    for f in &composed.chosen {
        crate::outln!("{} [{}] {}", f.id, f.severity, f.title);
        crate::outln!("  {}", f.explanation);
    }
    for (f, why) in &composed.left_out {
        crate::outln!("{} [{}] {}", f.id, f.severity, f.title);
        crate::outln!("  left out: {why}");
    }
    let ids: Vec<&str> = composed.chosen.iter().map(|f| f.id.as_str()).collect();
    let plan = Plan::new(format!("fix {}", ids.join(", ")), composed.steps.clone());
    let code = show_and_apply(
        "fix",
        &plan,
        &How {
            dry_run: args.dry_run,
            yes: args.yes,
            confirm_within: args.confirm_within,
        },
    );
    if code == 0 && !args.dry_run {
        // The findings left out are checked as well: gone if they were consequences.
        let mut ids = ids;
        ids.extend(composed.left_out.iter().map(|(f, _)| f.id.as_str()));
        return Ok(check_what_is_left(&ids, earlier.as_ref()));
    }
    Ok(code)
}

/// Looks again: a chosen finding still there is a fix that did not fix (exit
/// [`EXIT_NOT_FIXED`]); anything else still wrong is listed, since one repair can uncover the
/// next problem (a link set up again does not bring back the routes the kernel dropped).
fn check_what_is_left(chosen: &[&str], earlier: Option<&Earlier>) -> i32 {
    let snap = match collect::snapshot(&Options::default()) {
        Ok(s) => s,
        Err(e) => {
            crate::errln!("netlens fix: applied, but the network could not be read again: {e}");
            return EXIT_NOT_FIXED;
        }
    };
    let left: Vec<Finding> = diagnose_with(&snap, earlier)
        .into_iter()
        .filter(|f| f.severity != Severity::Info)
        .collect();
    let not_fixed: Vec<&Finding> = left
        .iter()
        .filter(|f| chosen.contains(&f.id.as_str()))
        .collect();
    for f in &not_fixed {
        crate::errln!(
            "netlens fix: NOT FIXED: {} is still there after its fix was applied: {} \
             (the plan stays applied; `netlens undo` takes it back)",
            f.id,
            f.title
        );
    }
    report_left(&left);
    if not_fixed.is_empty() {
        0
    } else {
        EXIT_NOT_FIXED
    }
}

fn report_left(left: &[Finding]) {
    if left.is_empty() {
        println!("the doctor finds nothing else");
        return;
    }
    println!("still found:");
    for f in left {
        let how = if f.fix.is_some() {
            format!(" (netlens fix {})", f.id)
        } else {
            String::new()
        };
        crate::outln!("  {} [{}] {}{how}", f.id, f.severity, f.title);
    }
}
