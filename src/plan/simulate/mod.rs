//! What a plan would do to a network, worked out on a copy of its [`Snapshot`]: pure, no I/O.
//!
//! The doctor uses it to propose only fixes that remove their finding (apply the steps to a
//! copy, run the rules again), and `path` to check that a suggested fix gets the packet past
//! the hop that broke. Each step changes the model the way the kernel changes itself: a link
//! set down loses its routes and neighbours (and does not get the routes back when set up
//! again), the last IPv4 address leaving a link takes every route through it, a firewall rule
//! is read back as `iptables-save` would print it, a link moved to another namespace or
//! recreated arrives down and bare, a host-local lease released or restored changes the
//! snapshot's `cni.ipam`. A step whose effect the model cannot hold (a namespace or lease
//! directory the snapshot did not read, a sysctl it does not record) makes the whole
//! simulation [`Unknown`](Simulated::Unknown): never a guess.
//!
//! Where: `mod.rs` the result, [`simulate`] and the one dispatch [`apply`] · `links` a link
//! set up or down (carrier, flushed routes), bridges, veth pairs, masters, deleted links ·
//! `addr` addresses and the routes the kernel adds and removes with them · `route` routes
//! added, restored and matched for deletion · `l2` bridge-port flags, neighbours, policy
//! rules · `fw` iptables rules and chains as `iptables-save` prints them · [`nft`] native
//! nftables accepts · `sysctl` the sysctls the snapshot records · `files` resolver files ·
//! `moves` links moved to another namespace or recreated · `ipam` host-local leases. Tests
//! beside them: `tests` (links, addresses, routes), `fw_tests`, `inverse_tests` (a step then
//! its inverse gives the snapshot back), `l2_tests`, `moves_tests`.

mod addr;
mod files;
mod fw;
mod ipam;
mod l2;
mod links;
mod moves;
pub mod nft;
mod route;
mod sysctl;

use self::addr::{add_address, del_address};
use self::links::{add_veth, delete_link, new_link, set_master, set_up};
use self::route::{add_route, route_matches, Restored};
use super::step::Step;
use crate::model::{Link, LinkKind, Namespace, Snapshot};

/// The result of simulating steps.
#[derive(Debug, Clone, PartialEq)]
pub enum Simulated {
    /// The snapshot as it would be after the steps.
    Done(Box<Snapshot>),
    /// The kernel would refuse a step (a gateway on no subnet, a link that is not there), so
    /// the plan would fail: why.
    Refused(String),
    /// A step the model cannot follow: why. Nothing is known about the result.
    Unknown(String),
}

const UNMODELLED: &str = "not modelled: ";

/// The error of a step whose effect the model cannot hold.
pub(crate) fn unmodelled(what: &str) -> String {
    format!("{UNMODELLED}{what}")
}

/// Applies `steps` in order to a copy of `snap`.
pub fn simulate(snap: &Snapshot, steps: &[Step]) -> Simulated {
    let mut copy = snap.clone();
    for step in steps {
        match apply(&mut copy, step) {
            Ok(()) => {}
            Err(why) if why.starts_with(UNMODELLED) => {
                return Simulated::Unknown(format!("`{step}`: {why}"))
            }
            Err(why) => return Simulated::Refused(format!("`{step}`: {why}")),
        }
    }
    Simulated::Done(Box::new(copy))
}

/// Applies one step to `snap` in place; `Err` says why the kernel would refuse it, or (made
/// by [`unmodelled`]) that the model cannot follow it.
pub fn apply(snap: &mut Snapshot, step: &Step) -> Result<(), String> {
    match step {
        Step::SetLinkUp { ns, link, up } => set_up(snap, ns, link, *up),
        Step::SetMtu { ns, link, mtu } => {
            ns_mut(snap, ns)?.link_mut(link)?.mtu = *mtu;
            Ok(())
        }
        Step::AddAddress { ns, link, addr } => add_address(ns_mut(snap, ns)?, link, addr),
        Step::DelAddress { ns, link, addr } => {
            del_address(ns_mut(snap, ns)?, link, addr);
            Ok(())
        }
        Step::AddRoute { ns, route } => add_route(ns_mut(snap, ns)?, route, None),
        Step::RestoreRoute {
            ns,
            route,
            protocol,
            scope,
            kind,
            prefsrc,
        } => add_route(
            ns_mut(snap, ns)?,
            route,
            Some(Restored {
                protocol: *protocol,
                scope: *scope,
                kind: *kind,
                prefsrc: *prefsrc,
            }),
        ),
        Step::DelRoute { ns, route } => {
            let n = ns_mut(snap, ns)?;
            // iptables-like: a route that is not there is "already so" for the engine.
            n.routes.retain(|r| !route_matches(r, route));
            Ok(())
        }
        Step::SetMaster { ns, link, master } => set_master(ns_mut(snap, ns)?, link, master),
        Step::AddBridge { ns, name } => {
            let n = ns_mut(snap, ns)?;
            new_link(n, name, LinkKind::Bridge)?;
            Ok(())
        }
        Step::AddVeth {
            ns,
            name,
            peer_ns,
            peer,
        } => add_veth(snap, ns, name, peer_ns, peer),
        Step::DeleteLink { ns, name } => delete_link(snap, ns, name),
        Step::SetSysctl { ns, key, value, .. } => {
            sysctl::set_sysctl(&mut ns_mut(snap, ns)?.sysctls, key, value)
        }
        Step::AddIptablesRule {
            ns,
            table,
            chain,
            rule,
        } => fw::add_rule(ns_mut(snap, ns)?, table, chain, None, rule),
        Step::InsertIptablesRule {
            ns,
            table,
            chain,
            position,
            rule,
        } => fw::add_rule(ns_mut(snap, ns)?, table, chain, Some(*position), rule),
        Step::DelIptablesRule {
            ns,
            table,
            chain,
            rule,
        } => fw::del_rule(ns_mut(snap, ns)?, table, chain, rule),
        Step::AddIptablesChain { ns, table, chain } => {
            fw::add_chain(ns_mut(snap, ns)?, table, chain)
        }
        Step::DelIptablesChain { ns, table, chain } => {
            fw::del_chain(ns_mut(snap, ns)?, table, chain)
        }
        Step::WriteFile {
            ns, path, content, ..
        } => files::write_file(ns_mut(snap, ns)?, path, content.as_deref()),
        Step::InsertNftRule { ns, .. } | Step::DelNftRule { ns, .. } => {
            nft::apply_ns(ns_mut(snap, ns)?, step)
        }
        // Boot-time configuration only: nothing running changes.
        Step::RestoreSysctlFile { .. } => Ok(()),
        Step::MoveLink { ns, name, to_ns } => moves::move_link(snap, ns, name, to_ns),
        Step::RecreateLink { kind, link, peer } => {
            moves::recreate_link(snap, kind, link, peer.as_ref())
        }
        Step::ReleaseIpamLease { .. } | Step::RestoreIpamLease { .. } => ipam::apply(snap, step),
        Step::SetBridgePort { .. }
        | Step::DelNeigh { .. }
        | Step::AddNeigh { .. }
        | Step::DelRule { .. }
        | Step::AddRule { .. } => l2::apply(snap, step),
        Step::CreateNs { .. } | Step::DeleteNs { .. } => {
            Err(unmodelled("creating or deleting a namespace"))
        }
        Step::SetIptablesPolicy { .. } => Err(unmodelled("a chain's policy")),
    }
}

pub(super) fn ns_mut<'a>(snap: &'a mut Snapshot, name: &str) -> Result<&'a mut Namespace, String> {
    snap.namespaces
        .iter_mut()
        .find(|n| n.name == name)
        .ok_or_else(|| unmodelled(&format!("namespace {name}, not in the snapshot,")))
}

pub(super) trait LinkMut {
    fn link_mut(&mut self, name: &str) -> Result<&mut Link, String>;
}

impl LinkMut for Namespace {
    fn link_mut(&mut self, name: &str) -> Result<&mut Link, String> {
        let ns = self.name.clone();
        self.links
            .iter_mut()
            .find(|l| l.name == name)
            .ok_or_else(|| format!("no link {name} in {ns}"))
    }
}

#[cfg(test)]
mod fw_tests;
#[cfg(test)]
mod inverse_tests;
#[cfg(test)]
mod l2_tests;
#[cfg(test)]
pub(crate) mod moves_tests;
#[cfg(test)]
mod tests;
