//! `netlens undo [PLAN-ID] [--yes] [--force]`: revert an applied plan (default: the latest one still in
//! effect, including one interrupted by a crash). `--if-unconfirmed` is the confirm
//! watchdog's mode: wait for the deadline and roll back only if nobody confirmed.

use clap::Args;

use super::apply::{fail, sweep, EXIT_BAD_INPUT, EXIT_FAILED};
use super::prompt;
use crate::plan::{self, shell, UndoTarget};

#[derive(Debug, Args)]
pub struct UndoArgs {
    /// Plan id (see `netlens journal`); default: the latest plan still in effect.
    pub plan_id: Option<String>,
    /// Do not ask (required when stdin is not a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Undo even if something the plan changed was changed again since (a line added to a
    /// file it wrote, an MTU set afterwards, its rule added twice…): those changes are lost.
    #[arg(long)]
    pub force: bool,
    /// Watchdog mode (started by `apply --confirm-within`): wait until the plan's deadline and
    /// roll it back unless it was confirmed.
    #[arg(long, hide = true, requires = "plan_id")]
    pub if_unconfirmed: bool,
    /// Refuse (exit 2) instead of waiting while another netlens change is in progress.
    #[arg(long)]
    pub no_wait: bool,
}

pub fn run(args: &UndoArgs) -> anyhow::Result<i32> {
    plan::set_no_wait(args.no_wait);
    if args.if_unconfirmed {
        // The watchdog must outlive a hung-up terminal.
        // SAFETY: installs SIG_IGN, no handler code runs.
        unsafe {
            let _ = nix::sys::signal::signal(
                nix::sys::signal::Signal::SIGHUP,
                nix::sys::signal::SigHandler::SigIgn,
            );
        }
        let id = args.plan_id.clone().unwrap_or_default();
        return Ok(match plan::rollback_if_unconfirmed(&id, true) {
            Ok(_) => 0,
            Err(e) => fail("undo", &e),
        });
    }
    // Held from choosing the plan to the end, so "the latest" is still the latest when it is
    // undone (another netlens waits, or refuses under --no-wait). Re-entrant: undo takes it too.
    let _state = if nix::unistd::geteuid().is_root() {
        match plan::lock_state("undo") {
            Ok(l) => Some(l),
            Err(e) => return Ok(fail("undo", &e)),
        }
    } else {
        None // undo itself says root is needed
    };
    sweep();
    let target = match &args.plan_id {
        Some(id) => UndoTarget::Id(id.clone()),
        None => UndoTarget::Latest,
    };
    let (entry, steps) = match plan::undo_preview(&target) {
        Ok(p) => p,
        Err(e) => return Ok(fail("undo", &e)),
    };
    crate::outln!(
        "undo plan {} ({}, {}): {}",
        entry.plan.id,
        if entry.plan.title.is_empty() {
            "untitled"
        } else {
            &entry.plan.title
        },
        entry.state.as_str(),
        steps.len()
    );
    for step in &steps {
        crate::outln!("  {step}");
        for cmd in shell::commands(step) {
            println!("       {}", crate::text::sanitize_line(&cmd));
        }
    }
    // Before asking: an undo that would destroy later work is refused anyway.
    if !args.force {
        if let Err(e) = plan::check_unchanged(&entry) {
            return Ok(fail("undo", &e));
        }
    }
    if !args.yes {
        if !prompt::stdin_is_tty() {
            eprintln!("netlens undo: refusing to change the network without --yes when stdin is not a terminal; nothing changed");
            return Ok(EXIT_BAD_INPUT);
        }
        if !prompt::yes_no("Undo it?") {
            println!("not undone; nothing changed");
            return Ok(EXIT_FAILED);
        }
    }
    Ok(
        match plan::undo_with(&UndoTarget::Id(entry.plan.id.clone()), args.force) {
            Ok(u) => {
                crate::outln!(
                    "undid plan {}: {} reverted",
                    u.id,
                    crate::report::plural(u.steps, "step")
                );
                0
            }
            Err(e) => fail("undo", &e),
        },
    )
}
