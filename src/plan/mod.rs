//! Plans: the only way netlens changes a network. A plan is a list of typed [`Step`]s that is
//! shown (as shell commands) before it runs, applied all or nothing, and journaled for undo.
//!
//! Layout: [`spec`] the plan file · `step` the steps (the serde contract) · `steps` what each
//! family of steps does (words, checks, shell preview, inverse from live state, execution),
//! behind one dispatch point · [`shell`] quoting and the preview · [`validate`] checks before
//! anything runs · `exec` the engine (a netlink connection per namespace) · `apply`
//! all-or-nothing · `rewind` running inverses · [`journal`] the JSON-lines journal · `undo`
//! and [`confirm`] reverting later or on a missed confirmation · [`simulate`] the same steps
//! on a copy of a snapshot, pure, for the doctor and `path` to check a fix before offering it.

mod apply;
mod clock;
pub mod confirm;
mod env;
mod error;
mod exec;
mod iptables_args;
pub mod journal;
mod leases;
mod live;
mod lock;
mod marks;
mod marks_observe;
pub mod nft_rule;
pub mod persist;
mod proc_ops;
mod reserve;
mod rewind;
pub mod shell;
pub mod simulate;
pub mod spec;
mod state_dir;
mod step;
mod steps;
mod sysctl;
mod test_hook;
mod undo;
pub mod validate;

pub use apply::{apply, apply_validated, Applied, ApplyOptions};
pub use confirm::{confirm, rollback_if_unconfirmed, sweep_expired};
/// The state directory (journal, lock, undo reserve): `NETLENS_STATE_DIR` or `/var/lib/netlens`.
pub use env::state_dir as state_directory;
pub use error::PlanError;
pub use journal::{PlanState, STATE_DIR_ENV};
pub use lock::{acquire as lock_state, set_no_wait, StateLock};
pub use nft_rule::{NftAccept, NFT_TAG};
pub use simulate::{simulate, Simulated};
pub use spec::Plan;
pub use step::{LinkEnd, RouteSpec, Step, RULE_TAG};
pub use steps::StepError;
pub use undo::{check_unchanged, undo, undo_preview, undo_with, UndoTarget, Undone};

/// The shell commands equivalent to the plan, in order (one step may need two).
pub fn preview(plan: &Plan) -> Vec<String> {
    plan.steps.iter().flat_map(shell::commands).collect()
}

/// Whether each step's target state already holds on the live node, so running it would
/// change nothing (a removal that finds nothing to remove). Each step is judged against the
/// node as it is now, alone; nothing is changed.
pub fn already_hold(steps: &[Step]) -> Result<Vec<bool>, PlanError> {
    let namespaces = steps
        .iter()
        .flat_map(|s| s.namespaces().into_iter().map(str::to_string))
        .collect();
    let mut eng = exec::Engine::new("check".into(), namespaces).map_err(PlanError::Internal)?;
    steps
        .iter()
        .map(|s| eng.prepare(s).map(|p| p.noop))
        .collect::<Result<_, _>>()
        .map_err(|e| PlanError::Internal(e.to_string()))
}

/// When a journal time is shown to people.
pub fn format_time(unix_secs: u64) -> String {
    clock::human(unix_secs)
}
