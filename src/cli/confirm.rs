//! `netlens confirm PLAN-ID`: keep a change applied with `--confirm-within`.

use clap::Args;

use super::apply::{fail, sweep};
use crate::plan;

#[derive(Debug, Args)]
pub struct ConfirmArgs {
    /// The id `netlens apply` printed.
    pub plan_id: String,
    /// Refuse (exit 2) instead of waiting while another netlens change is in progress.
    #[arg(long)]
    pub no_wait: bool,
}

pub fn run(args: &ConfirmArgs) -> anyhow::Result<i32> {
    plan::set_no_wait(args.no_wait);
    // Other plans past their deadline with no watchdog: roll them back (under the lock).
    sweep();
    Ok(match plan::confirm(&args.plan_id) {
        Ok(()) => {
            crate::outln!("plan {} confirmed: it stays", args.plan_id);
            0
        }
        Err(e) => fail("confirm", &e),
    })
}
