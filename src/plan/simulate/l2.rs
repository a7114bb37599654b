//! The bridge-port, neighbour and policy-rule steps on a snapshot copy, as the kernel changes
//! itself: a port's flags change in place (the kernel refuses flags on a link that is no
//! bridge port), a neighbour entry goes or is pinned, a rule goes or is inserted ahead of the
//! first rule with a higher priority (the kernel's order for equal priorities: after them).

use super::{ns_mut, LinkMut};
use crate::model::{Namespace, Neighbor, Snapshot, StpPortState};
use crate::plan::step::Step;
use crate::plan::steps::same_rule;
use crate::plan::steps::state_name;

pub fn apply(snap: &mut Snapshot, step: &Step) -> Result<(), String> {
    match step {
        Step::SetBridgePort {
            ns,
            link,
            isolated,
            state,
            learning,
            flood,
        } => {
            let l = ns_mut(snap, ns)?.link_mut(link)?;
            let Some(p) = l.bridge_port.as_mut() else {
                return Err(format!("{link} in {ns} is not a bridge port"));
            };
            if let Some(v) = isolated {
                p.isolated = *v;
            }
            if let Some(s) = state {
                p.state = StpPortState::parse(&state_name(*s));
            }
            if let Some(v) = learning {
                p.learning = *v;
            }
            if let Some(v) = flood {
                p.flood = *v;
            }
            Ok(())
        }
        Step::DelNeigh { ns, link, addr } => {
            ns_mut(snap, ns)?
                .neighbors
                .retain(|n| !(n.dev == *link && n.address == *addr));
            Ok(())
        }
        Step::AddNeigh {
            ns,
            link,
            addr,
            lladdr,
        } => add_neigh(ns_mut(snap, ns)?, link, *addr, lladdr),
        Step::DelRule { ns, rule } => {
            ns_mut(snap, ns)?.rules.retain(|r| !same_rule(r, rule));
            Ok(())
        }
        Step::AddRule { ns, rule } => {
            let n = ns_mut(snap, ns)?;
            if !n.rules.iter().any(|r| same_rule(r, rule)) {
                let at = n
                    .rules
                    .iter()
                    .position(|r| r.priority > rule.priority)
                    .unwrap_or(n.rules.len());
                n.rules.insert(at, rule.clone());
            }
            Ok(())
        }
        other => Err(format!("not a layer-2 or rule step: {other}")),
    }
}

fn add_neigh(
    n: &mut Namespace,
    link: &str,
    addr: std::net::IpAddr,
    mac: &str,
) -> Result<(), String> {
    let ifindex = n.link_mut(link)?.index;
    n.neighbors
        .retain(|e| !(e.dev == link && e.address == addr));
    n.neighbors.push(Neighbor {
        ifindex,
        dev: link.to_string(),
        address: addr,
        lladdr: Some(mac.to_ascii_lowercase()),
        state: crate::model::NeighborState::Permanent,
        router: false,
    });
    Ok(())
}
