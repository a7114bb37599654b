//! What each kind of [`Step`] does, grouped by family: one file per family holds, for its
//! steps, the words that describe them, the offline checks, the shell preview, the inverse
//! read from the live state just before the step runs, and the execution. [`family`] is the
//! one place that says which family a step belongs to; every operation dispatches through it.
//!
//! A new step: add the variant to `step.rs` (serde contract), its arm to [`family`], and its
//! arms to that family's five methods. A new family: a file here with a unit struct
//! implementing [`Family`].
//!
//! A step whose target state already holds is a no-op with no inverse (as CNI treats an
//! address that is already there), so undo never removes what netlens did not add. A step
//! whose inverse cannot be known exactly is refused by `prepare`, before it runs.

use std::fmt;

use super::exec::Engine;
use super::step::Step;
use crate::netns::create::validate_ifname;
use crate::netns::resolve::NsName;

mod addr;
mod bridge_port;
mod error;
mod file;
mod ipam;
mod iptables;
mod link;
mod link_delete;
mod link_set;
mod neigh;
mod nft;
mod route;
mod rule;
mod rule_text;
mod sysctl;

pub(super) use bridge_port::{observe as observe_bridge_port, state_name};
pub use error::StepError;
pub(super) use file::read as read_file;
pub(super) use ipam::known_lease_dir;
pub(super) use iptables::is_iptables;
pub(super) use neigh::observe as observe_neigh;
pub(super) use rule::{observe as observe_rule, same_rule};
pub(super) use rule_text::rule_args;

/// What running a step will need undoing with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// The target state already holds: nothing to run, nothing to undo.
    pub noop: bool,
    /// Steps that undo it, in the order to run them.
    pub inverse: Vec<Step>,
}

/// The target state already holds.
fn noop() -> Result<Prepared, StepError> {
    Ok(Prepared {
        noop: true,
        inverse: Vec::new(),
    })
}

/// The step changes something; `inverse` undoes it.
fn run(inverse: Vec<Step>) -> Result<Prepared, StepError> {
    Ok(Prepared {
        noop: false,
        inverse,
    })
}

/// Whether a step is one a plan asks for, or an inverse putting something back. The inverse
/// of removing a rule is journaled as `add_iptables_rule` until the step is done (then as an
/// insert at the rule's old position): either way it restores a rule netlens removed, which
/// may be one netlens never adds of its own accord (a stale DNAT).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Forward,
    Inverse,
}

/// Everything the engine knows about the steps of one family. Each method is only called
/// with steps [`family`] maps to the implementor.
trait Family {
    /// A one-line description in words.
    fn describe(&self, step: &Step, f: &mut fmt::Formatter<'_>) -> fmt::Result;
    /// What can be checked without root or the system: names, values, shapes.
    fn check(&self, step: &Step, role: Role) -> Result<(), String>;
    /// The shell command(s) doing what the step does, quoted for display.
    fn commands(&self, step: &Step) -> Vec<String>;
    /// Reads the state the step changes and returns its inverse, or why it cannot run.
    fn prepare(&self, eng: &mut Engine, step: &Step) -> Result<Prepared, StepError>;
    /// Runs the step. Returns a refined inverse when only the change itself reveals it.
    fn execute(&self, eng: &mut Engine, step: &Step) -> Result<Option<Vec<Step>>, StepError>;
}

/// The one dispatch point: which family a step belongs to.
fn family(step: &Step) -> &'static dyn Family {
    match step {
        Step::AddVeth { .. }
        | Step::AddBridge { .. }
        | Step::DeleteLink { .. }
        | Step::RecreateLink { .. } => &link::Links,
        Step::MoveLink { .. }
        | Step::SetMaster { .. }
        | Step::SetLinkUp { .. }
        | Step::SetMtu { .. } => &link_set::LinkSettings,
        Step::AddAddress { .. } | Step::DelAddress { .. } => &addr::Addresses,
        Step::AddRoute { .. } | Step::DelRoute { .. } | Step::RestoreRoute { .. } => &route::Routes,
        Step::SetSysctl { .. } | Step::RestoreSysctlFile { .. } => &sysctl::Sysctls,
        Step::AddIptablesRule { .. }
        | Step::DelIptablesRule { .. }
        | Step::InsertIptablesRule { .. }
        | Step::AddIptablesChain { .. }
        | Step::DelIptablesChain { .. } => &iptables::Iptables,
        Step::InsertNftRule { .. } | Step::DelNftRule { .. } => &nft::Nft,
        Step::WriteFile { .. } => &file::Files,
        Step::ReleaseIpamLease { .. } | Step::RestoreIpamLease { .. } => &ipam::Leases,
        Step::SetBridgePort { .. } => &bridge_port::BridgePorts,
        Step::DelNeigh { .. } | Step::AddNeigh { .. } => &neigh::Neighbours,
        Step::DelRule { .. } | Step::AddRule { .. } => &rule::Rules,
    }
}

/// Called by a family with a step [`family`] gives to another one: a bug, not an input.
fn not_mine(step: &Step) -> ! {
    unreachable!("step dispatched to the wrong family: {step:?}")
}

pub fn describe(step: &Step, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    family(step).describe(step, f)
}

/// The offline checks of one step (see [`super::validate`]); the namespaces' names first.
pub fn check(step: &Step, role: Role) -> Result<(), String> {
    for ns in step.namespaces() {
        NsName::parse(ns).map_err(|e| e.to_string())?;
    }
    family(step).check(step, role)
}

pub fn commands(step: &Step) -> Vec<String> {
    family(step).commands(step)
}

pub fn prepare(eng: &mut Engine, step: &Step) -> Result<Prepared, StepError> {
    family(step).prepare(eng, step)
}

pub fn execute(eng: &mut Engine, step: &Step) -> Result<Option<Vec<Step>>, StepError> {
    family(step).execute(eng, step)
}

/// An interface name the kernel would take.
fn ifname(name: &str) -> Result<(), String> {
    validate_ifname(name).map_err(|e| e.to_string())
}

/// Argument vectors rendered as shell lines.
fn lines(argvs: &[Vec<String>]) -> Vec<String> {
    argvs.iter().map(|a| super::shell::join(a)).collect()
}

/// The link called `name` in `ns`; [`StepError::Missing`] when there is none.
async fn need_link(
    h: &rtnetlink::Handle,
    ns: &str,
    name: &str,
) -> Result<netlink_packet_route::link::LinkMessage, StepError> {
    crate::rtnl::query::get_link(h, name)
        .await?
        .ok_or_else(|| StepError::Missing(format!("interface {name} does not exist in {ns}")))
}
