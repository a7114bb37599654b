//! The path a packet takes across the node's namespaces, worked out from the configuration:
//! in each namespace the kernel's own route lookup ([`Kernel`]), then netfilter (DNAT before
//! routing, the filter verdict, SNAT/MASQUERADE after), then layer 2 to the next namespace —
//! through a veth to its peer, or across a bridge to the port whose far end holds the next hop
//! — until the namespace that owns the destination, or the link that leaves the node. The
//! reply is walked back the same way, with the NAT undone where conntrack would undo it, since
//! a request that arrives but cannot be answered (no masquerade) is a broken path too.
//!
//! The first broken hop names its cause and, when the doctor has one, the finding that fixes
//! it. Everything but [`Kernel`] is pure, so the walk is the same over any snapshot.

use std::net::IpAddr;

use super::fib::{Answer, Query, Refusal};
use crate::diagnose::Finding;
use crate::model::{Namespace, Snapshot};
use leg::At;
use nf::hairpin;

/// Hops walked before giving up (a routing loop).
const MAX_HOPS: usize = 32;

/// Asks a namespace's kernel for a route.
pub trait Kernel {
    fn route(&self, ns: &str, q: &Query) -> Result<Answer, Refusal>;
}

/// Address rewrites done along the request, to undo on the reply.
#[derive(Debug, Clone)]
struct Binding {
    ns: String,
    snat: bool,
    orig: IpAddr,
    new: IpAddr,
    /// Set when the reply passed the namespace that made it and conntrack undid it.
    undone: bool,
}

struct Walk<'a> {
    snap: &'a Snapshot,
    findings: &'a [Finding],
    kernel: &'a dyn Kernel,
    proto: String,
}

/// Walks `probe` through `snap`; the first broken hop names its cause and the doctor's finding
/// for it, kept only if its fix, simulated, gets the packet past that hop.
pub fn walk(
    snap: &Snapshot,
    findings: &[Finding],
    kernel: &dyn Kernel,
    probe: &Probe,
) -> PathReport {
    let mut report = walk_raw(snap, findings, kernel, probe);
    verify::check_fix(snap, findings, probe, &mut report);
    report
}

/// The walk alone, findings matched but not checked.
fn walk_raw(
    snap: &Snapshot,
    findings: &[Finding],
    kernel: &dyn Kernel,
    probe: &Probe,
) -> PathReport {
    let w = Walk {
        snap,
        findings,
        kernel,
        proto: probe.proto.clone(),
    };
    let mut bindings = Vec::new();
    let start = At {
        ns: probe.from.clone(),
        iif: None,
        src: probe.src,
        dst: probe.dst,
        port: probe.port,
    };
    let (req, end) = w.leg("request", start, false, &mut bindings);
    let mut legs = vec![req];
    let mut delivers = false;
    if let Some((ns, src, dst)) = end {
        // The responder answers to where the request came from, as it arrived there.
        let start = At {
            ns,
            iif: None,
            src: Some(dst),
            dst: src,
            port: None,
        };
        let (mut reply, back) = w.leg("reply", start, true, &mut bindings);
        // A reply that leaves the node instead of coming back is lost to the sender.
        delivers = back.is_some();
        if let Some((client, _, _)) = &back {
            if let Some(why) = hairpin(&bindings, &reply) {
                delivers = false;
                if let Some(last) = reply.hops.last_mut() {
                    last.verdict = "reset".into();
                }
                reply.outcome = Outcome::Broken {
                    namespace: client.clone(),
                    cause: why,
                    finding: None,
                    no_fix: None,
                };
            }
        }
        legs.push(reply);
    } else if matches!(legs[0].outcome, Outcome::LeavesNode { .. }) {
        delivers = true;
    }
    PathReport {
        probe: probe.clone(),
        legs,
        delivers,
    }
}

fn holds(ns: &Namespace, ip: IpAddr) -> bool {
    ns.addresses.iter().any(|a| a.address == ip)
}

fn holds_on(ns: &Namespace, link: &str, ip: IpAddr) -> bool {
    ns.addresses
        .iter()
        .any(|a| a.ifname == link && a.address == ip)
}

impl Walk<'_> {
    fn ns(&self, name: &str) -> Option<&Namespace> {
        self.snap.namespace(name)
    }
}

mod bridged;
mod cause;
mod deliver;
mod hooks;
mod kernel;
mod l2;
mod leg;
mod model_kernel;
mod nf;
mod report;
mod route;
mod verify;

use cause::own_source;
pub use kernel::LiveKernel;
pub use model_kernel::ModelKernel;
pub use report::{probe_for, Hop, Leg, Outcome, PathReport, Probe};
