//! The simulator's IPAM lease steps (see [`super::simulate`]) on the leases the snapshot read
//! (`cni.ipam`), as `leases.rs` changes the files: a release removes a lease only while it
//! still names the container the doctor saw; a restore never takes an address someone holds.

use std::net::IpAddr;

use super::unmodelled;
use crate::cni::ipam::parse_lease;
use crate::model::{IpamAllocation, IpamNetwork, Snapshot};
use crate::plan::step::Step;

/// The lease directory `dir` as the snapshot read it. One it did not read (or netavark's
/// database, which these steps never touch) is outside the model.
fn network<'a>(snap: &'a mut Snapshot, dir: &str) -> Result<&'a mut IpamNetwork, String> {
    snap.cni
        .as_mut()
        .and_then(|c| {
            c.ipam
                .iter_mut()
                .find(|n| n.dir == dir && n.backend != crate::model::BACKEND_NETAVARK)
        })
        .ok_or_else(|| unmodelled(&format!("lease directory {dir}, not in the snapshot,")))
}

/// A lease step on the snapshot's `cni.ipam`.
pub(super) fn apply(snap: &mut Snapshot, step: &Step) -> Result<(), String> {
    match step {
        Step::ReleaseIpamLease {
            dir,
            ip,
            container_id,
        } => release(snap, dir, *ip, container_id.as_deref()),
        Step::RestoreIpamLease { dir, ip, content } => restore(snap, dir, *ip, content),
        _ => Ok(()),
    }
}

fn release(
    snap: &mut Snapshot,
    dir: &str,
    ip: IpAddr,
    container_id: Option<&str>,
) -> Result<(), String> {
    let net = network(snap, dir)?;
    // A lease given to another container meanwhile stays ("already so" for the engine).
    net.allocations
        .retain(|a| a.ip != ip || container_id.is_some_and(|id| a.container_id != id));
    Ok(())
}

fn restore(snap: &mut Snapshot, dir: &str, ip: IpAddr, content: &str) -> Result<(), String> {
    let net = network(snap, dir)?;
    if net.allocations.iter().any(|a| a.ip == ip) {
        return Ok(());
    }
    let (container_id, ifname) = parse_lease(content);
    net.allocations.push(IpamAllocation {
        ip,
        container_id,
        ifname,
        modified: None,
    });
    Ok(())
}
