//! `netlens confirm PLAN-ID`: keep a change applied with `--confirm-within`.

use clap::Args;

use super::apply::fail;
use crate::plan;

#[derive(Debug, Args)]
pub struct ConfirmArgs {
    /// The id `netlens apply` printed.
    pub plan_id: String,
}

pub fn run(args: &ConfirmArgs) -> anyhow::Result<i32> {
    Ok(match plan::confirm(&args.plan_id) {
        Ok(()) => {
            crate::outln!("plan {} confirmed: it stays", args.plan_id);
            0
        }
        Err(e) => fail("confirm", &e),
    })
}
