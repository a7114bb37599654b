//! `netlens apply PLAN.json [--dry-run] [--yes] [--confirm-within SECS]`: show a plan's shell
//! commands, ask, apply it all or nothing, journal it. Exit 0 applied, 1 failed and rolled
//! back (or declined), 2 bad input (nothing ran).

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::prompt;
use crate::plan::{self, shell, ApplyOptions, Plan, PlanError};

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The plan: JSON as described in docs/plans.md.
    pub plan: PathBuf,
    /// Show the commands and check the plan; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask before applying (required when stdin is not a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Roll the change back by itself unless confirmed within SECS (`netlens confirm ID`, or
    /// `yes` at the prompt).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub confirm_within: Option<u64>,
    /// Refuse (exit 2) instead of waiting while another netlens change is in progress.
    #[arg(long)]
    pub no_wait: bool,
}

pub const EXIT_FAILED: i32 = 1;
pub const EXIT_BAD_INPUT: i32 = 2;

/// Prints a plan: numbered steps in words, each with its shell commands.
pub fn print_plan(plan: &Plan) {
    let title = if plan.title.is_empty() {
        "(untitled)"
    } else {
        &plan.title
    };
    crate::outln!("plan {}: {title}", plan.id);
    for (i, step) in plan.steps.iter().enumerate() {
        crate::outln!("  {}. {step}", i + 1);
        for cmd in shell::commands(step) {
            println!("       {}", crate::text::sanitize_line(&cmd));
        }
    }
}

pub(super) fn fail(cmd: &str, e: &PlanError) -> i32 {
    crate::errln!("netlens {cmd}: {e}");
    if e.is_bad_input() {
        EXIT_BAD_INPUT
    } else {
        EXIT_FAILED
    }
}

/// Rolls back plans whose confirm deadline passed while their watchdog was gone (under the
/// state lock; `journal` never calls it: listing changes nothing).
pub(super) fn sweep() {
    if nix::unistd::geteuid().is_root() {
        for line in plan::sweep_expired() {
            crate::errln!("netlens: {line}");
        }
    }
}

pub fn run(args: &ApplyArgs) -> anyhow::Result<i32> {
    plan::set_no_wait(args.no_wait);
    let plan = match Plan::load(&args.plan) {
        Ok(p) => p,
        Err(e) => return Ok(fail("apply", &e)),
    };
    Ok(show_and_apply(
        "apply",
        &plan,
        &How {
            dry_run: args.dry_run,
            yes: args.yes,
            confirm_within: args.confirm_within,
        },
    ))
}

/// How a plan is to be applied: the flags `apply` and `fix` share.
pub(super) struct How {
    pub dry_run: bool,
    pub yes: bool,
    pub confirm_within: Option<u64>,
}

/// Checks the plan, prints its commands, asks (unless `yes`), applies it all or nothing, and
/// handles the confirm window. Returns the exit status; `cmd` names the command in messages.
pub(super) fn show_and_apply(cmd: &str, plan: &Plan, args: &How) -> i32 {
    let fail = |e: &PlanError| fail(cmd, e);
    let offline = match plan::validate::offline(plan) {
        Ok(o) => o,
        Err(e) => return fail(&e),
    };
    print_plan(plan);
    if args.dry_run {
        // Namespaces must exist even for a dry run; root is not needed to look.
        for (i, step) in plan.steps.iter().enumerate() {
            for ns in step.namespaces() {
                if let Err(e) = crate::netns::resolve::open_ns(ns) {
                    return fail(&PlanError::Invalid {
                        number: i + 1,
                        step: step.to_string(),
                        reason: e.to_string(),
                    });
                }
            }
        }
        println!("dry run: nothing changed");
        return 0;
    }
    // The live checks, once: `apply_validated` does not repeat them.
    let checked = match offline.live() {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    sweep();
    if !args.yes {
        if !prompt::stdin_is_tty() {
            crate::errln!("netlens {cmd}: refusing to change the network without --yes when stdin is not a terminal; nothing changed");
            return EXIT_BAD_INPUT;
        }
        if !prompt::yes_no(&if plan.steps.len() == 1 {
            "Apply this step?".to_string()
        } else {
            format!("Apply these {} steps?", plan.steps.len())
        }) {
            println!("not applied; nothing changed");
            return EXIT_FAILED;
        }
    }
    let opts = ApplyOptions {
        confirm_within: args.confirm_within.map(Duration::from_secs),
        confirm_helper: None,
    };
    let applied = match plan::apply_validated(checked, &opts) {
        Ok(a) => a,
        Err(e) => return fail(&e),
    };
    crate::outln!(
        "applied plan {}: {} changed something, {} already so",
        applied.id,
        crate::report::plural(applied.changed, "step"),
        applied.unchanged
    );
    let Some(secs) = args.confirm_within else {
        crate::outln!("undo it with: netlens undo {}", applied.id);
        return 0;
    };
    if !prompt::stdin_is_tty() {
        crate::outln!(
            "confirm within {secs} s with `netlens confirm {}`, or it rolls back by itself",
            applied.id
        );
        return 0;
    }
    let question = format!("Keep this change? Type yes within {secs} s, or it rolls back:");
    if prompt::yes_within(&question, Duration::from_secs(secs)) {
        return match plan::confirm(&applied.id) {
            Ok(()) => {
                crate::outln!(
                    "confirmed: plan {} stays (undo it with: netlens undo {})",
                    applied.id,
                    applied.id
                );
                0
            }
            Err(e) => fail(&e),
        };
    }
    match plan::rollback_if_unconfirmed(&applied.id, false) {
        Ok(_) => {
            crate::outln!("not confirmed: plan {} rolled back", applied.id);
            EXIT_FAILED
        }
        Err(e) => fail(&e),
    }
}
