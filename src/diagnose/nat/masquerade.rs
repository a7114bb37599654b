//! `no-masquerade`: private addresses leave through an uplink with nothing to masquerade them.
//!
//! Judged per source address that really leaves (each host using this namespace as its
//! gateway), by running its packet through the namespace's own netfilter: a rule that only
//! masquerades marked packets (netavark's `NETAVARK-HOSTPORT-MASQ`, CNI portmap's
//! `CNI-HOSTPORT-MASQ`, kube-proxy's `KUBE-POSTROUTING`) does not cover ordinary outbound
//! traffic, and a per-container chain deleted for one container leaves that container's
//! address uncovered. A rule netlens cannot judge keeps the doctor quiet.

use std::collections::BTreeMap;

use super::super::facts::{default_route, is_private, lookup, route_gw, Facts};
use super::super::{Finding, Severity};
use super::*;
use crate::model::Namespace;
use crate::plan::Step;

/// Whether the sender's outbound packet is masqueraded: `None` when it cannot be told.
fn masqueraded(fw: Nf, s: &Sender, uplink: &str) -> Option<bool> {
    let dst = if s.dst.prefix_len() == 0 {
        OUTSIDE
    } else {
        // An address inside the destination (not its network address).
        Ipv4Addr::from(u32::from(s.dst.network()).saturating_add(1))
    };
    let post = postrouted(fw, (s.host, &s.link), (dst, uplink), ("tcp", 443), "NEW")?;
    match &post.verdict {
        Verdict::Nat { target, .. } => Some(matches!(target.as_str(), "MASQUERADE" | "SNAT")),
        Verdict::Accept => Some(false),
        _ => None,
    }
}

/// `no-masquerade`
pub(super) fn no_masquerade(
    f: &Facts,
    ns: &Namespace,
    senders: &super::Senders,
    out: &mut Vec<Finding>,
) {
    let Some(def) = default_route(ns) else { return };
    let (Some(gw), Some(uplink)) = (route_gw(def), def.dev.as_deref()) else {
        return;
    };
    let empty = Firewall::default();
    let mut slot = None;
    let fw = super::compiled(f, ns, &mut slot, &empty);
    // A plain router's upstream missing the route back is `no-route` there (routing.rs):
    // masquerading here would repair outbound traffic and leave inbound broken.
    if super::super::routing::meant_to_route_upstream(f, ns) {
        return;
    }
    // (subnet, link) → (hosts not masqueraded, whether some host there is).
    let mut by_net: BTreeMap<(Ipv4Net, String), (Vec<Ipv4Addr>, bool)> = BTreeMap::new();
    let behind = super::behind_routers(f, ns);
    for s in senders_through(senders.get(), &behind) {
        let leaves_here = s.dst.prefix_len() == 0
            || lookup(ns, s.dst.network()).and_then(|r| r.dev.as_deref()) == Some(uplink);
        if s.link == uplink || !leaves_here || !is_private(s.net) {
            continue;
        }
        let Some(done) = masqueraded(fw, s, uplink) else {
            continue;
        };
        let e = by_net.entry((s.net, s.link.clone())).or_default();
        if done {
            e.1 = true;
        } else if !e.0.contains(&s.host) {
            e.0.push(s.host);
        }
    }
    for ((net, link), (bare, some_covered)) in by_net {
        if bare.is_empty() {
            continue;
        }
        // Every host uncovered: the subnet's rule is missing. Some: those hosts' rules.
        let objects: Vec<Ipv4Net> = if some_covered {
            bare.iter()
                .filter_map(|h| Ipv4Net::new(*h, 32).ok())
                .collect()
        } else {
            vec![net]
        };
        for obj in objects {
            if let Some(finding) = finding(f, ns, (gw, uplink), (net, &link), obj, some_covered) {
                out.push(finding);
            }
        }
    }
}

fn finding(
    f: &Facts,
    ns: &Namespace,
    (gw, uplink): (Ipv4Addr, &str),
    (net, link): (Ipv4Net, &str),
    obj: Ipv4Net,
    per_host: bool,
) -> Option<Finding> {
    let upstream = f.live_holder(gw).map(|h| h.ns);
    let (severity, why) = match upstream {
        // The gateway is there but on a link that is down: that is `link-down`, and what the
        // upstream routes back cannot be read from a namespace cut off from it (oracle seed
        // 173: masquerading here repaired outbound traffic and left inbound broken).
        None if f.holders(gw).next().is_some() => return None,
        Some(up) if f.covers(up, obj) => return None,
        Some(up) => (
            Severity::Error,
            format!("{} (which holds {gw}) has no route back to {obj}", up.name),
        ),
        None => (
            Severity::Warning,
            format!("{obj} is private, so the network beyond {gw} is unlikely to route it back"),
        ),
    };
    let shown = if per_host {
        obj.addr().to_string()
    } else {
        obj.to_string()
    };
    let what = if per_host {
        format!(
            "Other hosts on {net} are masqueraded, but {shown} is not: its packets pass \
             {}'s nat POSTROUTING without meeting a MASQUERADE or SNAT rule (a per-host chain \
             removed, or a rule that only applies to marked packets)",
            ns.name
        )
    } else {
        format!(
            "Namespaces on {net} ({link}) go out via {}; {} forwards them out of {uplink} via \
             {gw} with their own source addresses, because no MASQUERADE or SNAT rule in its \
             nat POSTROUTING applies to their packets",
            ns.name, ns.name
        )
    };
    Some(
        Finding::new(
            "no-masquerade",
            severity,
            &ns.name,
            Some(&shown),
            format!("{shown} leaves {} through {uplink} without NAT", ns.name),
            format!("{what}; {why}."),
        )
        .object("route", &ns.name, "default")
        .object("link", &ns.name, uplink.to_string())
        .fix(
            format!("masquerade {shown} out of {uplink}"),
            vec![masquerade_step(&ns.name, &shown, Some((false, uplink)))],
        ),
    )
}

/// The step that masquerades `source` leaving namespace `ns` out of `out` (`(true, name)`:
/// out of anything but `name`; `None`: out of any interface), tagged as netlens'. The doctor's
/// fix and the TUI's "masquerade a subnet" both build it here, so both add the same rule.
pub fn masquerade_step(ns: &str, source: &str, out: Option<(bool, &str)>) -> Step {
    let mut rule = vec!["-s".to_string(), source.to_string()];
    if let Some((negated, name)) = out {
        if negated {
            rule.push("!".into());
        }
        rule.extend(["-o".to_string(), name.to_string()]);
    }
    rule.extend(TAG.iter().map(|s| s.to_string()));
    rule.extend(["-j".to_string(), "MASQUERADE".to_string()]);
    Step::AddIptablesRule {
        ns: ns.to_string(),
        table: "nat".into(),
        chain: "POSTROUTING".into(),
        rule,
    }
}
