//! Bridge ports that pass nothing, by their own flags (the link is up, the port attached):
//! `port-blocking` (STP state `disabled` set by hand, or neither learning nor flooding, so
//! the bridge never learns the host's MAC and never floods to it) and `port-isolated` (two
//! or more isolated ports whose hosts share a subnet: isolated ports never talk to each
//! other). A port that is down is `link-down`'s; states an STP run sets (blocking,
//! listening, learning) are left alone: netlens does not record whether STP runs.
//!
//! The fixes set the port's flags back (`Step::SetBridgePort`): isolated off on the isolated
//! ports; learning and flood on; state forwarding, but only on a bridge that runs no STP
//! (with STP on, the state is the STP's to set, and it would set it back).

use ipnet::Ipv4Net;

use super::facts::Facts;
use super::{Finding, Severity};
use crate::model::{Link, LinkKind, Namespace, StpPortState};
use crate::plan::Step;

pub fn check(f: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    for (_, ns) in &f.namespaces {
        for br in ns
            .links
            .iter()
            .filter(|l| l.kind == LinkKind::Bridge && l.is_up())
        {
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
        Some(_) if bp.state != StpPortState::Forwarding && bp.state != StpPortState::Disabled => {
            return None
        }
        Some(why) => why,
        None => return None,
    };
    let far = far_subnets(f, ns, p);
    if far.is_empty() {
        return None;
    }
    let (fix, what) = unblock(ns, br, p);
    let finding = Finding::new(
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
                 cut off from the bridge. {what}",
            p.name,
            br.name,
            ns.name,
            far.iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        ),
    )
    .object("link", &ns.name, p.name.clone());
    Some(finding.fix_opt(fix))
}

/// The step that makes port `p` pass frames again and the sentence saying so; no step (and
/// why, with the command) for a state that an STP run owns or that the snapshot cannot tell.
fn unblock(ns: &Namespace, br: &Link, p: &Link) -> (Option<(String, Vec<Step>)>, String) {
    let Some(bp) = p.bridge_port.as_ref() else {
        return (None, String::new());
    };
    let stuck = !bp.learning && !bp.flood;
    let mut step = Step::SetBridgePort {
        ns: ns.name.clone(),
        link: p.name.clone(),
        isolated: None,
        state: None,
        learning: stuck.then_some(true),
        flood: stuck.then_some(true),
    };
    if bp.state != StpPortState::Forwarding {
        let hand = format!(
            "`ip netns exec {} bridge link set dev {} state 3`",
            ns.name, p.name
        );
        let why_not = match br.stp_state {
            Some(0) => None,
            Some(_) => Some(format!(
                "{} runs STP, which owns its ports' states (and would undo a state set by \
                 hand); if STP is not wanted there, turn it off, or set it by hand: {hand}",
                br.name
            )),
            None => Some(format!(
                "the snapshot does not say whether {} runs STP; if it does not: {hand}",
                br.name
            )),
        };
        if let Some(why) = why_not {
            return (None, format!("No fix is offered: {why}."));
        }
        if let Step::SetBridgePort { state, .. } = &mut step {
            *state = Some(3);
        }
    }
    let title = format!("let bridge port {} pass frames", p.name);
    (
        Some((title, vec![step])),
        format!(
            "The fix sets it forwarding, learning and flooding (`bridge link set dev {} …`) on \
             a bridge without STP.",
            p.name
        ),
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
    let steps: Vec<Step> = cut
        .iter()
        .map(|p| Step::SetBridgePort {
            ns: ns.name.clone(),
            link: p.name.clone(),
            isolated: Some(false),
            state: None,
            learning: None,
            flood: None,
        })
        .collect();
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
             If that isolation is not deliberate (a private VLAN), the fix turns it off on \
             each of them (`bridge link set dev PORT isolated off`).",
            names.join(", "),
            br.name,
            ns.name,
        ),
    )
    .object("link", &ns.name, br.name.clone());
    for p in &names {
        finding = finding.object("link", &ns.name, *p);
    }
    Some(finding.fix(format!("turn isolation off on {}", names.join(", ")), steps))
}
