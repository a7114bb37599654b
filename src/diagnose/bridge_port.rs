//! Bridge ports that pass nothing, by their own flags (the link is up, the port attached):
//! `port-blocking` (STP state `disabled` set by hand, or neither learning nor flooding, so
//! the bridge never learns the host's MAC and never floods to it) and `port-isolated` (two
//! or more isolated ports whose hosts share a subnet: isolated ports never talk to each
//! other). A port that is down is `link-down`'s; states an STP run sets (blocking,
//! listening, learning) are left alone: netlens does not record whether STP runs.
//!
//! No fix: netlens has no plan step for bridge port flags; the explanation gives the command.

use ipnet::Ipv4Net;

use super::facts::Facts;
use super::{Finding, Severity};
use crate::model::{Link, Namespace};

pub fn check(f: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    for (_, ns) in &f.namespaces {
        for br in ns.links.iter().filter(|l| l.kind == "bridge" && l.is_up()) {
            let ports: Vec<&Link> = f
                .ports_of(ns, br)
                .iter()
                .copied()
                .filter(|p| p.is_up() && p.bridge_port.is_some())
                .collect();
            for p in &ports {
                if let Some(finding) = blocking(f, ns, br, p) {
                    out.push(finding);
                }
            }
            if let Some(finding) = isolated(f, ns, br, &ports) {
                out.push(finding);
            }
        }
    }
    out
}

/// The subnets of live addresses at the far end of port `p` (a veth's peer).
fn far_subnets(f: &Facts, ns: &Namespace, p: &Link) -> Vec<Ipv4Net> {
    let Some((pns, peer)) = f.peer(ns, p) else {
        return Vec::new();
    };
    if !peer.is_up() {
        return Vec::new();
    }
    f.held_on(pns, peer.index)
        .filter(|h| h.live())
        .map(|h| h.net.trunc())
        .collect()
}

fn blocking(f: &Facts, ns: &Namespace, br: &Link, p: &Link) -> Option<Finding> {
    let bp = p.bridge_port.as_ref()?;
    let why = match bp.blocks_to() {
        Some(_) if bp.state != "forwarding" && bp.state != "disabled" => return None,
        Some(why) => why,
        None => return None,
    };
    let far = far_subnets(f, ns, p);
    if far.is_empty() {
        return None;
    }
    let cmd = if bp.state == "disabled" {
        "state 3".to_string()
    } else {
        "learning on flood on".to_string()
    };
    Some(
        Finding::new(
            "port-blocking",
            Severity::Error,
            &ns.name,
            Some(&p.name),
            format!(
                "bridge port {} of {} in {} passes no frame",
                p.name, br.name, ns.name
            ),
            format!(
                "{} is up and a port of bridge {} in {}, but {why}: the host behind it ({}) is \
                 cut off from the bridge. No fix is offered (netlens has no step for bridge \
                 port flags): `ip netns exec {} bridge link set dev {} {cmd}`.",
                p.name,
                br.name,
                ns.name,
                far.iter()
                    .map(|n| n.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                ns.name,
                p.name
            ),
        )
        .object("link", &ns.name, p.name.clone()),
    )
}

fn isolated(f: &Facts, ns: &Namespace, br: &Link, ports: &[&Link]) -> Option<Finding> {
    let iso: Vec<(&Link, Vec<Ipv4Net>)> = ports
        .iter()
        .filter(|p| p.bridge_port.as_ref().is_some_and(|b| b.isolated))
        .map(|p| (*p, far_subnets(f, ns, p)))
        .filter(|(_, n)| !n.is_empty())
        .collect();
    // Pairs of isolated ports whose hosts expect to talk directly (one subnet).
    let cut: Vec<&Link> = iso
        .iter()
        .filter(|(p, nets)| {
            iso.iter()
                .any(|(q, other)| q.name != p.name && nets.iter().any(|n| other.contains(n)))
        })
        .map(|(p, _)| *p)
        .collect();
    if cut.len() < 2 {
        return None;
    }
    let names: Vec<&str> = cut.iter().map(|p| p.name.as_str()).collect();
    let mut finding = Finding::new(
        "port-isolated",
        Severity::Warning,
        &ns.name,
        Some(&br.name),
        format!(
            "isolated ports of {} in {} cannot reach each other",
            br.name, ns.name
        ),
        format!(
            "Ports {} of bridge {} in {} are isolated: the bridge forwards nothing between \
             two isolated ports, yet the hosts behind them share a subnet and talk directly. \
             If that isolation is not deliberate (a private VLAN), turn it off: `ip netns exec \
             {} bridge link set dev PORT isolated off`. No fix is offered (netlens has no \
             step for bridge port flags).",
            names.join(", "),
            br.name,
            ns.name,
            ns.name
        ),
    )
    .object("link", &ns.name, br.name.clone());
    for p in names {
        finding = finding.object("link", &ns.name, p);
    }
    Some(finding)
}
