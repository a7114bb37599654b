//! A change form's answers checked as they are typed, against the snapshot: the names the
//! kernel would refuse, addresses that do not parse, a peer namespace that does not exist, a
//! device that is not there, a gateway outside every connected subnet. The parsing is
//! `steps.rs`'s (one copy: what is checked here is what becomes the steps), and the plan's own
//! offline validation runs on submit (`mod.rs`); this adds what only the snapshot knows.

use std::net::IpAddr;

use super::change::ActionKind;
use super::form::Field;
use super::steps::{cidr, destination, gateway, ifname, yes_no};
use crate::model::{LinkKind, Namespace, Snapshot};

/// What the answers are checked against: the node as last read, and the form's namespace.
pub struct Context<'a> {
    pub snap: Option<&'a Snapshot>,
    pub ns: Option<&'a Namespace>,
}

impl<'a> Context<'a> {
    pub fn new(snap: Option<&'a Snapshot>, ns: &str) -> Self {
        let ns = snap.and_then(|s| s.namespaces.iter().find(|n| n.name == ns));
        Context { snap, ns }
    }

    fn namespace(&self, name: &str) -> Option<&'a Namespace> {
        self.snap?.namespaces.iter().find(|n| n.name == name)
    }
}

/// Why answer `i` is refused, if it is. While typing (`done` false) an empty answer is not an
/// error yet; on submit it is, where the change needs one.
pub fn field_error(
    kind: ActionKind,
    i: usize,
    fields: &[Field],
    cx: &Context,
    done: bool,
) -> Option<String> {
    let values: Vec<String> = fields.iter().map(|f| f.value.clone()).collect();
    let values = &values[..];
    let v = |j: usize| values.get(j).map_or("", |s| s.trim());
    if v(i).is_empty() && !done {
        return None;
    }
    let label = fields.get(i).map_or("", |f| f.label);
    let result = match (kind, i) {
        (ActionKind::LinkUp | ActionKind::LinkDown | ActionKind::DeleteLink, 0)
        | (ActionKind::Attach | ActionKind::AddAddress, 0) => existing(cx.ns, label, v(0)),
        (ActionKind::Detach, 0) => existing(cx.ns, label, v(0)).and_then(|()| in_bridge(cx, v(0))),
        (ActionKind::NewVeth, 0) | (ActionKind::NewBridge, 0) => new_name(cx.ns, label, v(0)),
        (ActionKind::NewVeth, 1) => peer_namespace(cx, v(1)),
        (ActionKind::NewVeth, 2) => peer_name(cx, values, label),
        (ActionKind::Attach, 1) => bridge(cx.ns, v(1)),
        (ActionKind::AddAddress, 1) => cidr(label, v(1)).map(|_| ()),
        (ActionKind::AddRoute, 0) => destination(v(0)).map(|_| ()),
        (ActionKind::AddRoute, 1) => route_via(cx, v(0), v(1), v(2)),
        (ActionKind::AddRoute, 2) => route_device(cx, v(1), v(2)),
        (ActionKind::EnableForwarding, 0) => yes_no(label, v(0)).map(|_| ()),
        (ActionKind::AddMasquerade, 0) => cidr(label, v(0)).map(|_| ()),
        (ActionKind::AddMasquerade, 1) => match v(1) {
            "" => Ok(()),
            out => ifname(label, out.strip_prefix('!').unwrap_or(out).trim()).map(|_| ()),
        },
        _ => Ok(()),
    };
    result.err()
}

/// The first refused answer of the form (its index and why), as on submit.
pub fn first_error(kind: ActionKind, fields: &[Field], cx: &Context) -> Option<(usize, String)> {
    (0..fields.len()).find_map(|i| field_error(kind, i, fields, cx, true).map(|e| (i, e)))
}

/// An interface of the namespace, by a name the kernel would take.
fn existing(ns: Option<&Namespace>, label: &str, name: &str) -> Result<(), String> {
    ifname(label, name)?;
    match ns {
        Some(ns) if ns.link(name).is_none() => Err(format!(
            "{label}: no interface {name} in {} (its interfaces: {})",
            ns.name,
            names(ns)
        )),
        _ => Ok(()),
    }
}

fn in_bridge(cx: &Context, name: &str) -> Result<(), String> {
    match cx.ns.and_then(|ns| ns.link(name)) {
        Some(l) if l.master.is_none() => Err(format!("link: {name} is in no bridge")),
        _ => Ok(()),
    }
}

/// A name for a new interface: valid, and not taken in the namespace.
fn new_name(ns: Option<&Namespace>, label: &str, name: &str) -> Result<(), String> {
    ifname(label, name)?;
    match ns {
        Some(ns) if ns.link(name).is_some() => {
            Err(format!("{label}: {name} already exists in {}", ns.name))
        }
        _ => Ok(()),
    }
}

fn peer_namespace(cx: &Context, name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("peer namespace: which namespace gets the other end?".into());
    }
    match cx.snap {
        Some(snap) if cx.namespace(name).is_none() => {
            let like: Vec<&str> = snap
                .namespaces
                .iter()
                .map(|n| n.name.as_str())
                .filter(|n| n.contains(name) || name.contains(*n))
                .take(5)
                .collect();
            let hint = if like.is_empty() {
                "the namespaces are listed on the left".to_string()
            } else {
                format!("did you mean {}?", like.join(", "))
            };
            Err(format!(
                "peer namespace: no namespace {name} on this node ({hint})"
            ))
        }
        _ => Ok(()),
    }
}

fn peer_name(cx: &Context, values: &[String], label: &str) -> Result<(), String> {
    let v = |j: usize| values.get(j).map_or("", |s| s.trim());
    let (here, peer_ns, peer) = (v(0), v(1), v(2));
    ifname(label, peer)?;
    let same_ns = cx.ns.is_some_and(|n| n.name == peer_ns);
    if same_ns && peer == here {
        return Err("peer name: both ends cannot have one name in one namespace".into());
    }
    new_name(cx.namespace(peer_ns), label, peer)
}

fn bridge(ns: Option<&Namespace>, name: &str) -> Result<(), String> {
    existing(ns, "bridge", name)?;
    match ns.and_then(|n| n.link(name)) {
        Some(l) if l.kind != LinkKind::Bridge => {
            Err(format!("bridge: {name} is a {}, not a bridge", l.kind))
        }
        _ => Ok(()),
    }
}

/// The gateway parses, is of the destination's family, and sits in a subnet the namespace
/// (or the device given) is connected to: the kernel refuses a gateway it cannot reach.
fn route_via(cx: &Context, dst: &str, via: &str, dev: &str) -> Result<(), String> {
    let Some(g) = gateway(via)? else {
        return Ok(());
    };
    if let Ok(d) = destination(dst) {
        if g.is_ipv4() != d.addr().is_ipv4() {
            return Err("via: the gateway's family differs from the destination's".into());
        }
    }
    let Some(ns) = cx.ns else { return Ok(()) };
    if g.is_ipv6() && matches!(g, IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80) {
        // A link-local gateway is reached through the device, not a subnet.
        return Ok(());
    }
    let on = |ifname: &str| dev.is_empty() || ifname == dev;
    if subnet_holding(ns, g).is_some_and(on) {
        return Ok(());
    }
    let connected: Vec<String> = ns
        .addresses
        .iter()
        .filter(|a| a.ifname != "lo" && on(&a.ifname))
        .map(|a| format!("{} on {}", a.cidr(), a.ifname))
        .collect();
    let connected = if connected.is_empty() {
        "none".to_string()
    } else {
        connected.join(", ")
    };
    let scope = if dev.is_empty() {
        String::new()
    } else {
        format!(" of {dev}")
    };
    Err(format!(
        "via: {g} is in no connected subnet{scope}, so the kernel would refuse it as a gateway (connected: {connected})"
    ))
}

fn route_device(cx: &Context, via: &str, dev: &str) -> Result<(), String> {
    if dev.is_empty() {
        return match gateway(via) {
            Ok(None) => Err("device: a route needs a gateway (via) or a device".into()),
            _ => Ok(()),
        };
    }
    existing(cx.ns, "device", dev)
}

/// The interface with an address whose subnet holds `ip` (not loopback).
pub fn subnet_holding(ns: &Namespace, ip: IpAddr) -> Option<&str> {
    ns.addresses
        .iter()
        .filter(|a| a.ifname != "lo")
        .find(|a| ipnet::IpNet::new(a.address, a.prefix_len).is_ok_and(|n| n.contains(&ip)))
        .map(|a| a.ifname.as_str())
}

/// What the form can fill in from another answer: the route's device from its gateway (the
/// interface whose subnet holds it), as (field, value).
pub fn derived(kind: ActionKind, values: &[String], cx: &Context) -> Option<(usize, String)> {
    match kind {
        ActionKind::AddRoute => {
            let g = gateway(values.get(1)?.trim()).ok()??;
            let dev = cx.ns.and_then(|ns| subnet_holding(ns, g)).unwrap_or("");
            Some((2, dev.to_string()))
        }
        _ => None,
    }
}

fn names(ns: &Namespace) -> String {
    let names: Vec<&str> = ns.links.iter().map(|l| l.name.as_str()).take(12).collect();
    let more = ns.links.len().saturating_sub(names.len());
    if more > 0 {
        format!("{} and {more} more", names.join(", "))
    } else {
        names.join(", ")
    }
}

#[cfg(test)]
#[path = "check_tests.rs"]
mod tests;
