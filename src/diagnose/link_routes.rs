//! The `link-down` fix sets the link up, which brings back its connected routes but not the
//! routes through gateways the kernel flushed with it. Which of those were there can be read
//! off the rest of the network: apply the fix to a copy of the snapshot, run the routing rules
//! on it, and take the routes they then ask for in the same namespace through a gateway on
//! that very link (a plain router behind it whose LAN nobody routes to any more, oracle seed
//! 173; the default route of a router that keeps routes to its LANs, seed 203). Their steps join the `link-down` fix, so one `fix` repairs both directions.

use ipnet::{IpNet, Ipv4Net};

use super::{facts::Facts, no_default, routing, Finding};
use crate::model::Snapshot;
use crate::plan::{simulate, Simulated, Step};

/// At most this many `link-down` fixes are completed: each costs a run of the routing rules
/// over the whole snapshot, and a namespace stuffed with down links must not make the doctor
/// quadratic (the rest keep the plain fix, checked live after `netlens fix` anyway).
const MAX_COMPLETED: usize = 32;

/// Completes every `link-down` fix in `findings` with the routes its link carried (the tests'
/// reference path; `diagnose` keeps the copies, [`complete_keeping`]).
#[cfg(test)]
pub fn complete(snap: &Snapshot, findings: &mut [Finding]) {
    complete_keeping(snap, findings);
}

/// [`complete`], returning the copies it simulated for the fixes it left as they were: the
/// fix check simulates each fix again, and the copy of a node is most of an update's cost
/// while a link is down (the same steps on the same snapshot: the same copy).
pub(super) fn complete_keeping(snap: &Snapshot, findings: &mut [Finding]) -> Simulations {
    let mut kept = Simulations::new();
    let down = findings
        .iter_mut()
        .filter(|f| f.rule == "link-down" && f.fix.is_some());
    for f in down.take(MAX_COMPLETED) {
        let Some(fix) = &mut f.fix else { continue };
        let Some((ns, link)) = link_of(&fix.steps) else {
            continue;
        };
        let Some(nets) = link_subnets(snap, &ns, &link) else {
            continue;
        };
        let Simulated::Done(after) = simulate(snap, &fix.steps) else {
            continue;
        };
        let facts = Facts::new(&after);
        let mut added = Vec::new();
        let mut asked = routing::check(&facts);
        asked.extend(no_default::check(&facts));
        for nr in asked {
            if !matches!(nr.rule.as_str(), "no-route" | "no-default") || nr.namespace != ns {
                continue;
            }
            for step in nr.fix.into_iter().flat_map(|x| x.steps) {
                let through_link = matches!(&step, Step::AddRoute { route, .. }
                if route.via.is_some_and(|v| match v {
                    std::net::IpAddr::V4(v4) => nets.iter().any(|n| n.contains(&v4)),
                    _ => false,
                }));
                if through_link && !fix.steps.contains(&step) {
                    added.push(route_shown(&step));
                    fix.steps.push(step);
                }
            }
        }
        if added.is_empty() {
            drop(facts);
            kept.push((fix.steps.clone(), after));
        } else {
            fix.title = format!("{}, {}", fix.title, added.join(", "));
        }
    }
    kept
}

/// Copies of a snapshot, each with the steps simulated on it.
pub(super) type Simulations = Vec<(Vec<Step>, Box<Snapshot>)>;

/// The (namespace, link) a `link-down` fix sets up: its first step.
fn link_of(steps: &[Step]) -> Option<(String, String)> {
    match steps.first()? {
        Step::SetLinkUp { ns, link, up: true } => Some((ns.clone(), link.clone())),
        _ => None,
    }
}

/// The subnets of `link`'s IPv4 addresses in namespace `ns`.
fn link_subnets(snap: &Snapshot, ns: &str, link: &str) -> Option<Vec<Ipv4Net>> {
    let n = snap.namespaces.iter().find(|n| n.name == ns)?;
    let nets: Vec<Ipv4Net> = n
        .addresses
        .iter()
        .filter(|a| a.ifname == link)
        .filter_map(|a| match a.address {
            std::net::IpAddr::V4(v4) => Ipv4Net::new(v4, a.prefix_len.min(32)).ok(),
            _ => None,
        })
        .map(|n| n.trunc())
        .collect();
    (!nets.is_empty()).then_some(nets)
}

fn route_shown(step: &Step) -> String {
    match step {
        Step::AddRoute { route, .. } => {
            let via = route.via.map(|v| v.to_string()).unwrap_or_default();
            match route.dst {
                IpNet::V4(d) => format!("route {d} via {via}"),
                IpNet::V6(d) => format!("route {d} via {via}"),
            }
        }
        _ => String::new(),
    }
}
