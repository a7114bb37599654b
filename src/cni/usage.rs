//! Leases and pods against the rest of the snapshot: which namespace holds each leased
//! address (a lease nobody holds is a leak: host-local will never hand it out again), how
//! full each range set is, and which pods sit on each network. Pure: works on saved snapshots.

use std::collections::HashMap;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::model::{
    IpamAllocation, IpamNetwork, IpamRange, LinkKind, Namespace, NsStatus, Snapshot,
};

/// A lease changed this recently may belong to a pod whose ADD is still running: host-local
/// writes the file before the main plugin puts the address on the pod's interface.
pub const LEASE_GRACE_SECS: u64 = 3;

/// Whether a lease is in use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseState {
    /// A namespace holds the address (on `ifname`).
    Held { namespace: String, ifname: String },
    /// No address, but a process of this container lives in `namespace`.
    Container { namespace: String },
    /// Nobody holds it: it will stay allocated until someone releases it.
    Leaked,
    /// Cannot tell (a namespace could not be read, or the lease is seconds old).
    Unknown(String),
}

impl LeaseState {
    pub fn leaked(&self) -> bool {
        *self == LeaseState::Leaked
    }
}

/// A lease and whether it is in use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease<'a> {
    pub alloc: &'a IpamAllocation,
    pub state: LeaseState,
}

/// Why addresses in `snap` may be incomplete: a namespace that could not be read, or one whose
/// links and addresses failed (other failed sources — firewall, sockets — do not matter here).
fn blind_spot(snap: &Snapshot) -> Option<String> {
    snap.namespaces.iter().find_map(|ns| match &ns.status {
        NsStatus::Inaccessible(why) => {
            Some(format!("namespace {} could not be read: {why}", ns.name))
        }
        NsStatus::Partial(problems) => problems
            .iter()
            .find(|p| !p.starts_with("firewall:") && !p.starts_with("sock_diag:"))
            .map(|p| format!("namespace {} was read only in part: {p}", ns.name)),
        NsStatus::Ok | NsStatus::Gone => None,
    })
}

/// Two container ids name the same container when one is a prefix of the other (runtimes
/// and cgroup paths shorten them differently), with at least 12 characters in common.
fn same_container(a: &str, b: &str) -> bool {
    let n = a.len().min(b.len());
    n >= 12 && a[..n] == b[..n]
}

/// Who holds each address of `snap`: the first namespace, and its first address of that
/// value, as a scan in snapshot order finds them. Built once per call of [`leases`]: a scan
/// of every namespace per lease was O(leases × addresses), a second at 1000 pods.
fn holders(snap: &Snapshot) -> HashMap<IpAddr, (&Namespace, &str)> {
    let mut at = HashMap::new();
    for ns in &snap.namespaces {
        for a in &ns.addresses {
            at.entry(a.address).or_insert((ns, a.ifname.as_str()));
        }
    }
    at
}

/// Every lease of `net` with whether it is in use.
pub fn leases<'a>(snap: &Snapshot, net: &'a IpamNetwork) -> Vec<Lease<'a>> {
    let blind = blind_spot(snap);
    let held = holders(snap);
    net.allocations
        .iter()
        .map(|alloc| {
            let state = if let Some((ns, ifname)) = held.get(&alloc.ip) {
                LeaseState::Held {
                    namespace: ns.name.clone(),
                    ifname: ifname.to_string(),
                }
            } else if let Some(ns) = snap.namespaces.iter().find(|ns| {
                ns.processes.iter().any(|p| {
                    p.container_id
                        .as_deref()
                        .is_some_and(|c| same_container(c, &alloc.container_id))
                })
            }) {
                LeaseState::Container {
                    namespace: ns.name.clone(),
                }
            } else if let Some(why) = &blind {
                LeaseState::Unknown(why.clone())
            } else if alloc
                .modified
                .is_some_and(|m| snap.taken_at < m.saturating_add(LEASE_GRACE_SECS))
            {
                LeaseState::Unknown("leased seconds ago: the pod may still be starting".into())
            } else {
                LeaseState::Leaked
            };
            Lease { alloc, state }
        })
        .collect()
}

/// How full one range set is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetUsage {
    pub set: u32,
    pub used: u64,
    pub size: u64,
}

impl SetUsage {
    pub fn percent(&self) -> f64 {
        if self.size == 0 {
            100.0
        } else {
            self.used as f64 * 100.0 / self.size as f64
        }
    }
}

/// Usage of each range set of `net`: leases inside its ranges against the addresses host-local
/// can hand out there.
pub fn usage(net: &IpamNetwork) -> Vec<SetUsage> {
    let mut sets: Vec<u32> = net.ranges.iter().map(|r| r.set).collect();
    sets.dedup();
    sets.iter()
        .map(|&set| {
            let ranges: Vec<&IpamRange> = net.ranges.iter().filter(|r| r.set == set).collect();
            let size = ranges.iter().fold(0u64, |n, r| n.saturating_add(r.size));
            let used = net
                .allocations
                .iter()
                .filter(|a| ranges.iter().any(|r| r.contains(a.ip)))
                .count() as u64;
            SetUsage { set, used, size }
        })
        .collect()
}

/// The fullest range set: the one that runs out first (the first set on a tie).
pub fn fullest(net: &IpamNetwork) -> Option<SetUsage> {
    usage(net).into_iter().reduce(|best, u| {
        if u.percent() > best.percent() {
            u
        } else {
            best
        }
    })
}

/// A pod attached to a network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pod {
    pub namespace: String,
    pub ifname: String,
    pub address: Option<IpNet>,
    /// Its veth's host-side end.
    pub host_veth: Option<String>,
}

/// Pods of a network: namespaces whose veth's host end is a port of `bridge` in the host
/// namespace, and namespaces holding an address inside one of `ranges`' subnets.
pub fn pods(snap: &Snapshot, bridge: Option<&str>, ranges: &[IpamRange]) -> Vec<Pod> {
    let in_network = |ip: IpAddr| ranges.iter().any(|r| r.subnet.contains(&ip));
    let address_of = |ns: &Namespace, ifname: &str| -> Option<IpNet> {
        let mut on_link = ns.addresses.iter().filter(|a| a.ifname == ifname);
        let pick = on_link
            .clone()
            .find(|a| in_network(a.address))
            .or_else(|| on_link.find(|a| a.address.is_ipv4()))?;
        IpNet::new(pick.address, pick.prefix_len).ok()
    };
    let mut out: Vec<Pod> = Vec::new();
    let Some(host) = snap.namespace("host") else {
        return out;
    };
    if let Some(bridge) = bridge {
        for l in host
            .links
            .iter()
            .filter(|l| l.kind == LinkKind::Veth && l.master.as_deref() == Some(bridge))
        {
            let Some(peer) = &l.peer else { continue };
            let (Some(pns), Some(pname)) = (peer.namespace.as_deref(), peer.name.as_deref()) else {
                continue;
            };
            let address = snap.namespace(pns).and_then(|ns| address_of(ns, pname));
            out.push(Pod {
                namespace: pns.to_string(),
                ifname: pname.to_string(),
                address,
                host_veth: Some(l.name.clone()),
            });
        }
    }
    for ns in snap.namespaces.iter().filter(|ns| ns.name != "host") {
        for a in ns.addresses.iter().filter(|a| in_network(a.address)) {
            if out
                .iter()
                .any(|p| p.namespace == ns.name && p.ifname == a.ifname)
            {
                continue;
            }
            let host_veth = ns
                .link(&a.ifname)
                .and_then(|l| l.peer.as_ref())
                .filter(|p| p.namespace.as_deref() == Some("host"))
                .and_then(|p| p.name.clone());
            out.push(Pod {
                namespace: ns.name.clone(),
                ifname: a.ifname.clone(),
                address: IpNet::new(a.address, a.prefix_len).ok(),
                host_veth,
            });
        }
    }
    out.sort_by(|a, b| (&a.namespace, &a.ifname).cmp(&(&b.namespace, &b.ifname)));
    out
}
