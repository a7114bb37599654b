//! One hub's box: its bridges as buses with the namespaces hanging off them, its direct veths,
//! same-namespace pairs and other links, the uplink line and the routes to other nodes.

use std::collections::{HashMap, HashSet};

use super::addrs::{addrs_by_link, shown_addrs};
use super::build::Index;
use super::nat::nat_summary;
use super::{Bus, Child, Hub};
use crate::model::{LinkKind, Namespace, RouteFamily, RouteKind};

pub(super) fn hub<'a>(ix: &Index<'a>, ns: &'a Namespace) -> Hub<'a> {
    let addrs = addrs_by_link(ns);
    let mut buses: Vec<Bus> = ns
        .links
        .iter()
        .filter(|l| l.kind == LinkKind::Bridge)
        .map(|b| Bus {
            bridge: Some(b),
            addrs: addrs.get(b.name.as_str()).cloned().unwrap_or_default(),
            children: Vec::new(),
            other_ports: Vec::new(),
        })
        .collect();
    let mut direct = Bus {
        bridge: None,
        addrs: Vec::new(),
        children: Vec::new(),
        other_ports: Vec::new(),
    };
    // Bridges by name and same-namespace pairs seen, so each link is placed in constant
    // time however many bridges and veths the namespace holds.
    let mut bus_at: HashMap<&str, usize> = HashMap::new();
    for (i, b) in buses.iter().enumerate() {
        if let Some(b) = b.bridge {
            bus_at.entry(b.name.as_str()).or_insert(i);
        }
    }
    let mut paired: HashSet<String> = HashSet::new();
    let mut local_pairs = Vec::new();
    let mut others = Vec::new();
    for l in &ns.links {
        if l.kind == LinkKind::Loopback || l.kind == LinkKind::Bridge {
            continue;
        }
        let bus_i = l.master.as_deref().and_then(|m| bus_at.get(m).copied());
        let outer = l.kind == LinkKind::Veth
            && l.peer
                .as_ref()
                .is_none_or(|p| p.namespace.as_deref() != Some(ns.name.as_str()));
        if outer {
            let (far_ns, peer) = ix.peer_of(l);
            let child = Child {
                port: l,
                ns: far_ns,
                peer,
                is_hub: far_ns.is_some_and(|n| ix.is_hub(&n.name)),
            };
            match bus_i {
                Some(i) => buses[i].children.push(child),
                None => direct.children.push(child),
            }
            continue;
        }
        if let Some(i) = bus_i {
            buses[i].other_ports.push(l.name.clone());
        } else if l.kind == LinkKind::Veth {
            let peer = l
                .peer
                .as_ref()
                .and_then(|p| p.name.clone())
                .unwrap_or_default();
            // Each same-namespace pair once.
            if !paired.contains(&peer) {
                paired.insert(l.name.clone());
                local_pairs.push((l.name.clone(), peer));
            }
        } else {
            others.push(l);
        }
    }
    if !direct.children.is_empty() {
        buses.push(direct);
    }
    // The uplink has a line of its own.
    let up_dev = default_route(ns).and_then(|r| r.dev.as_deref());
    others.retain(|l| Some(l.name.as_str()) != up_dev);
    Hub {
        ns,
        uplink: uplink(ix, ns),
        uplink_dev: up_dev.map(str::to_string),
        nat: nat_summary(ns),
        forwarding: ns.sysctls.ip_forward.map(|v| v == 1),
        forward: super::forward::forward_policy(ns),
        gateway_routes: ns
            .routes
            .iter()
            .filter(|r| r.table == 254 && !r.dst.is_default() && r.kind == RouteKind::Unicast)
            .filter_map(|r| r.gateway.map(|gw| format!("{} via {gw}", r.dst)))
            .collect(),
        others,
        local_pairs,
        buses,
        addrs,
    }
}

/// The main table's default route, IPv4 first.
fn default_route(ns: &Namespace) -> Option<&crate::model::Route> {
    let main_default = |r: &&crate::model::Route| r.table == 254 && r.dst.is_default();
    ns.routes
        .iter()
        .filter(main_default)
        .find(|r| r.family == RouteFamily::Inet)
        .or_else(|| ns.routes.iter().find(main_default))
}

/// `eth0 192.168.1.11/24 → default via 192.168.1.1 ⇄ to-node1 (lan)`.
fn uplink(ix: &Index, ns: &Namespace) -> Option<String> {
    let r = default_route(ns)?;
    let dev = r.dev.clone().unwrap_or_else(|| "?".into());
    let mut s = dev.clone();
    if let Some(a) = shown_addrs(ns, &dev).first() {
        s.push_str(&format!(" {a}"));
    }
    match r.gateway {
        Some(gw) => s.push_str(&format!(" → default via {gw}")),
        None => s.push_str(" → default"),
    }
    let link = ns.links.iter().find(|l| l.name == dev);
    if let Some(l) = link.filter(|l| l.kind == LinkKind::Veth) {
        if let (Some(far), Some(peer)) = ix.peer_of(l) {
            if far.name != ns.name {
                s.push_str(&format!(" ⇄ {} ({})", peer.name, far.name));
            }
        }
    }
    Some(s)
}
