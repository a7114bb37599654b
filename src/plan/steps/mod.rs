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
mod iptables_policy;
mod link;
mod link_delete;
mod link_set;
mod neigh;
mod netns;
mod netns_routing;
mod netns_state;
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
        Step::SetIptablesPolicy { .. } => &iptables_policy::Policies,
        Step::InsertNftRule { .. } | Step::DelNftRule { .. } => &nft::Nft,
        Step::WriteFile { .. } => &file::Files,
        Step::ReleaseIpamLease { .. } | Step::RestoreIpamLease { .. } => &ipam::Leases,
        Step::SetBridgePort { .. } => &bridge_port::BridgePorts,
        Step::DelNeigh { .. } | Step::AddNeigh { .. } => &neigh::Neighbours,
        Step::DelRule { .. } | Step::AddRule { .. } => &rule::Rules,
        Step::CreateNs { .. } | Step::DeleteNs { .. } => &netns::Namespaces,
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
    crate::netlink::query::get_link(h, name)
        .await?
        .ok_or_else(|| StepError::Missing(format!("interface {name} does not exist in {ns}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One step of every kind, as a plan file or journal holds it.
    const EVERY_KIND: &[&str] = &[
        r#"{"step":"add_veth","ns":"host","name":"a","peer_ns":"red","peer":"b"}"#,
        r#"{"step":"add_bridge","ns":"red","name":"br0"}"#,
        r#"{"step":"delete_link","ns":"red","name":"br0"}"#,
        r#"{"step":"move_link","ns":"host","name":"a","to_ns":"red"}"#,
        r#"{"step":"set_master","ns":"red","link":"a","master":"br0"}"#,
        r#"{"step":"set_link_up","ns":"red","link":"a","up":true}"#,
        r#"{"step":"set_mtu","ns":"red","link":"a","mtu":1400}"#,
        r#"{"step":"add_address","ns":"red","link":"a","addr":"10.0.0.1/24"}"#,
        r#"{"step":"del_address","ns":"red","link":"a","addr":"10.0.0.1/24"}"#,
        r#"{"step":"add_route","ns":"red","route":{"dst":"0.0.0.0/0","via":"10.0.0.2"}}"#,
        r#"{"step":"del_route","ns":"red","route":{"dst":"10.1.0.0/16"}}"#,
        r#"{"step":"restore_route","ns":"red","route":{"dst":"10.1.0.0/16","dev":"a"},"protocol":4,"scope":0,"kind":6}"#,
        r#"{"step":"set_sysctl","ns":"host","key":"net/ipv4/ip_forward","value":"1","persist":true}"#,
        r#"{"step":"restore_sysctl_file","key":"net/ipv4/ip_forward"}"#,
        r#"{"step":"add_iptables_rule","ns":"host","table":"nat","chain":"POSTROUTING","rule":["-s","10.0.0.0/24","-j","MASQUERADE"]}"#,
        r#"{"step":"del_iptables_rule","ns":"host","table":"filter","chain":"FORWARD","rule":["-j","DROP"]}"#,
        r#"{"step":"insert_iptables_rule","ns":"host","table":"filter","chain":"FORWARD","position":2,"rule":["-j","DROP"]}"#,
        r#"{"step":"add_iptables_chain","ns":"host","table":"nat","chain":"CNI-1"}"#,
        r#"{"step":"del_iptables_chain","ns":"host","table":"nat","chain":"CNI-1"}"#,
        r#"{"step":"set_iptables_policy","ns":"host","table":"filter","chain":"FORWARD","policy":"DROP"}"#,
        r#"{"step":"recreate_link","kind":"veth","link":{"ns":"host","name":"a","index":7,"mac":"02:00:00:00:00:01","mtu":1500},"peer":{"ns":"red","name":"b","index":2,"mac":"02:00:00:00:00:02","mtu":1500}}"#,
        r#"{"step":"write_file","ns":"red","path":"/etc/netns/red/resolv.conf","content":"nameserver 10.0.0.2\n"}"#,
        r#"{"step":"release_ipam_lease","dir":"/var/lib/cni/networks/cbr0","ip":"10.1.0.5","container_id":"abc"}"#,
        r#"{"step":"restore_ipam_lease","dir":"/var/lib/cni/networks/cbr0","ip":"10.1.0.5","content":"abc\r\neth0"}"#,
        r#"{"step":"insert_nft_rule","ns":"host","family":"inet","table":"filter","chain":"input","rule":{"iif":"a"}}"#,
        r#"{"step":"del_nft_rule","ns":"host","family":"inet","table":"filter","chain":"input","handle":5,"rule":{"iif":"a"}}"#,
        r#"{"step":"set_bridge_port","ns":"red","link":"a","isolated":false,"learning":false}"#,
        r#"{"step":"del_neigh","ns":"red","link":"a","addr":"10.0.0.2"}"#,
        r#"{"step":"add_neigh","ns":"red","link":"a","addr":"10.0.0.2","lladdr":"02:00:00:00:00:02"}"#,
        r#"{"step":"del_rule","ns":"red","rule":{"family":"inet","priority":100,"table":254,"action":"lookup"}}"#,
        r#"{"step":"add_rule","ns":"red","rule":{"family":"inet","priority":100,"table":254,"action":"lookup"}}"#,
        r#"{"step":"create_ns","name":"lab-a"}"#,
        r#"{"step":"delete_ns","name":"lab-a"}"#,
    ];

    /// Every kind reaches its family for each offline operation (a step mapped to the wrong
    /// family would panic here), is described in words and previewed as commands.
    #[test]
    fn every_kind_dispatches() {
        for json in EVERY_KIND {
            let step: Step = serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"));
            assert!(!step.to_string().is_empty(), "{json}");
            assert!(!commands(&step).is_empty(), "{json}");
            for role in [Role::Forward, Role::Inverse] {
                // Checks may refuse (an inverse-only rule as a plan's); they must not panic.
                let _ = check(&step, role);
            }
        }
    }
}
