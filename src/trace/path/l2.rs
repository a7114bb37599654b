//! Layer 2 between namespaces: where a frame sent out of an interface arrives — the veth's
//! peer, or across a bridge the bridge itself or the port whose far end holds the next hop —
//! and why it does not (a link down, nobody answering ARP).

use std::net::IpAddr;

use super::leg::{At, End, Here};
use super::{holds, holds_on, Binding, Hop, Outcome, Walk};
use crate::model::{Link, LinkKind, Namespace, NeighborState};

pub(super) enum Next {
    Namespace(String, String),
    Leaves,
    /// Why, the doctor rules that may name it, and the namespace where it broke (the bridge's
    /// or the far end's, which may not be the sender's).
    Broken(String, Vec<&'static str>, Option<String>),
}

/// The MAC a neighbour entry sends frames for `nh` on `oif` to, and whether it is pinned
/// (PERMANENT or NOARP: the kernel never asks ARP again). A learned entry (REACHABLE, STALE,
/// DELAY, PROBE) is used as it is until the kernel re-probes it: seconds to a minute of
/// frames to its MAC, whoever holds `nh` now (oracle seed 365: a bridge's MAC changed when
/// the port it had taken it from was detached). INCOMPLETE and FAILED entries ask ARP anew.
fn sent_mac<'a>(ns: &'a Namespace, oif: &str, nh: IpAddr) -> Option<(String, &'a NeighborState)> {
    let n = ns
        .neighbors
        .iter()
        .find(|n| n.address == nh && n.dev == oif && (n.state.pinned() || n.state.learned()))?;
    let mac = n.lladdr.as_ref()?.to_ascii_lowercase();
    Some((mac, &n.state))
}

/// The MACs `far` in `ns` takes frames for: its own, and for a bridge every port's too (the
/// bridge's FDB holds each port's MAC as a local entry, delivered to the bridge itself).
fn accepted_macs(ns: &Namespace, far: &Link) -> Vec<String> {
    let mut macs: Vec<String> = far.mac.iter().map(|m| m.to_ascii_lowercase()).collect();
    if far.kind == LinkKind::Bridge {
        let ports = ns
            .links
            .iter()
            .filter(|l| l.master.as_deref() == Some(far.name.as_str()));
        macs.extend(
            ports
                .filter_map(|l| l.mac.as_ref())
                .map(|m| m.to_ascii_lowercase()),
        );
    }
    macs
}

/// Not a doctor rule: marks a break by a learned neighbour entry's old MAC, which no finding
/// names (the kernel re-probes it by itself).
pub(super) const NEIGH_LEARNED: &str = "neigh-learned";

/// Bridge port `port` in `ns` passes no frame, for reason `why`.
fn port_blocks(ns: &Namespace, port: &str, why: String) -> Next {
    Next::Broken(
        format!("bridge port {port} in {} passes nothing: {why}", ns.name),
        vec!["port-blocking", "port-isolated"],
        Some(ns.name.clone()),
    )
}

impl Walk<'_> {
    /// Where a frame for next hop `nh` sent out of `oif` in `ns` arrives; nowhere when a
    /// neighbour entry (permanent, or learned and not yet re-probed) sends it to a MAC the
    /// holder of `nh` does not take frames for.
    pub(super) fn next_namespace(
        &self,
        ns: &Namespace,
        oif: &str,
        nh: IpAddr,
        via: &mut Vec<String>,
    ) -> Next {
        let next = self.next_namespace_l2(ns, oif, nh, via);
        let (Next::Namespace(far_ns, far), Some((sent, state))) = (&next, sent_mac(ns, oif, nh))
        else {
            return next;
        };
        let Some((far_ns_ref, far_link)) = self.ns(far_ns).and_then(|n| Some((n, n.link(far)?)))
        else {
            return next;
        };
        let accepted = accepted_macs(far_ns_ref, far_link);
        let Some(mac) = far_link.mac.as_ref().map(|m| m.to_ascii_lowercase()) else {
            return next;
        };
        if accepted.contains(&sent) {
            return next;
        }
        let pinned = state.pinned();
        let (entry, until, rules) = if pinned {
            (
                "permanent neighbour entry".to_string(),
                "",
                vec!["gateway-neigh", "neigh-mac"],
            )
        } else {
            // No doctor finding names a learned entry (it heals by itself); the marker still
            // lets the walk follow a frame br_netfilter DNATs whatever its MAC (`flooded_dnat`).
            (
                format!("neighbour entry ({state})"),
                " until the kernel probes the entry again and learns the new MAC (seconds to \
                 a minute; `ip neigh flush` does it now)",
                vec![NEIGH_LEARNED],
            )
        };
        let cause = format!(
            "{}'s {entry} sends {nh} to {sent} on {oif}, but {nh} is on {far} ({far_ns}), MAC \
             {mac}: the frames reach nobody{until}",
            ns.name
        );
        Next::Broken(cause, rules, Some(ns.name.clone()))
    }

    fn next_namespace_l2(
        &self,
        ns: &Namespace,
        oif: &str,
        nh: IpAddr,
        via: &mut Vec<String>,
    ) -> Next {
        let Some(link) = ns.link(oif) else {
            return Next::Broken(format!("{oif} is not in {}", ns.name), vec![], None);
        };
        if !link.is_up() {
            return Next::Broken(
                format!("{oif} is down in {}", ns.name),
                vec!["link-down", "peer-down"],
                None,
            );
        }
        match link.kind {
            LinkKind::Veth => {
                let Some((peer_ns, peer)) = self.peer(link) else {
                    via.push(format!("{oif} ⇄ a namespace netlens cannot see"));
                    return Next::Leaves;
                };
                via.push(format!("{oif} ⇄ {} ({})", peer.name, peer_ns.name));
                if !peer.is_up() {
                    return Next::Broken(
                        format!(
                            "{} is down in {} (the far end of {oif})",
                            peer.name, peer_ns.name
                        ),
                        vec!["peer-down", "link-down"],
                        Some(peer_ns.name.clone()),
                    );
                }
                match &peer.master {
                    Some(b) => self.across_bridge(peer_ns, b, Some(&peer.name), nh, via),
                    None if holds(peer_ns, nh) => {
                        Next::Namespace(peer_ns.name.clone(), peer.name.clone())
                    }
                    None => Next::Broken(
                        format!(
                            "nobody answers ARP for {nh} behind {oif}: {} {} does not hold it",
                            peer_ns.name, peer.name
                        ),
                        vec!["no-route", "wrong-subnet", "port-detached"],
                        None,
                    ),
                }
            }
            LinkKind::Bridge => self.across_bridge(ns, oif, None, nh, via),
            LinkKind::Loopback => Next::Namespace(ns.name.clone(), oif.to_string()),
            _ => Next::Leaves,
        }
    }

    /// A frame enters bridge `bridge` in `ns` (through port `from`, or from the namespace
    /// itself): the bridge itself or the port whose far end holds `nh` takes it.
    fn across_bridge(
        &self,
        ns: &Namespace,
        bridge: &str,
        from: Option<&str>,
        nh: IpAddr,
        via: &mut Vec<String>,
    ) -> Next {
        via.push(format!("bridge {bridge} ({})", ns.name));
        let Some(b) = ns.link(bridge) else {
            return Next::Broken(format!("no bridge {bridge} in {}", ns.name), vec![], None);
        };
        if !b.is_up() {
            return Next::Broken(
                format!("bridge {bridge} is down in {}", ns.name),
                vec!["link-down"],
                Some(ns.name.clone()),
            );
        }
        let in_port = from
            .and_then(|p| ns.link(p))
            .and_then(|l| l.bridge_port.as_ref());
        if let (Some(p), Some(why)) = (from, in_port.and_then(|bp| bp.blocks_from())) {
            return port_blocks(ns, p, why);
        }
        if from.is_some() && holds_on(ns, bridge, nh) {
            return Next::Namespace(ns.name.clone(), bridge.to_string());
        }
        for port in ns
            .links
            .iter()
            .filter(|l| l.master.as_deref() == Some(bridge) && Some(l.name.as_str()) != from)
        {
            if port.kind != LinkKind::Veth {
                continue;
            }
            let Some((far_ns, far)) = self.peer(port) else {
                continue;
            };
            if holds(far_ns, nh) {
                via.push(format!(
                    "port {} ⇄ {} ({})",
                    port.name, far.name, far_ns.name
                ));
                if !port.is_up() || !far.is_up() {
                    let (at, what) = if port.is_up() {
                        (
                            &far_ns.name,
                            format!("{} is down in {}", far.name, far_ns.name),
                        )
                    } else {
                        (
                            &ns.name,
                            format!("bridge port {} is down in {}", port.name, ns.name),
                        )
                    };
                    return Next::Broken(what, vec!["link-down", "peer-down"], Some(at.clone()));
                }
                if let Some(bp) = &port.bridge_port {
                    if let Some(why) = bp.blocks_to() {
                        return port_blocks(ns, &port.name, why);
                    }
                    if bp.isolated && in_port.is_some_and(|i| i.isolated) {
                        let why = format!(
                            "it and {} are both isolated: the bridge forwards nothing between them",
                            from.unwrap_or("?")
                        );
                        return port_blocks(ns, &port.name, why);
                    }
                }
                return Next::Namespace(far_ns.name.clone(), far.name.clone());
            }
        }
        // The namespace holds nh on another interface: Linux answers ARP for any local
        // address unless arp_ignore / arp_filter say otherwise (a host whose mask is too wide
        // ARPs for the router's far address, and gets through).
        if holds(ns, nh) && from.is_some() && ns.sysctls.answers_arp_for_other_links(bridge) {
            return Next::Namespace(ns.name.clone(), bridge.to_string());
        }
        if holds(ns, nh) && from.is_some() {
            return Next::Broken(
                format!(
                    "{nh} is {}'s, but not on bridge {bridge}: nothing on the bridge answers ARP for it",
                    ns.name
                ),
                vec!["bridge-no-addr", "port-detached"],
                Some(ns.name.clone()),
            );
        }
        Next::Broken(
            format!(
                "nothing on bridge {bridge} in {} holds {nh}: ARP goes unanswered",
                ns.name
            ),
            vec!["port-detached", "bridge-no-addr", "no-route"],
            Some(ns.name.clone()),
        )
    }

    fn peer(&self, link: &Link) -> Option<(&Namespace, &Link)> {
        let p = link.peer.as_ref()?;
        let ns = self.ns(p.namespace.as_deref()?)?;
        let l = ns.link_by_index(p.ifindex)?;
        Some((ns, l))
    }
}

impl Walk<'_> {
    /// 6. Layer 2 to the next namespace through `oif` towards `nh`: `at` moves there (with
    ///    the bridge's namespace's netfilter on the way when it sees bridged packets), or the
    ///    leg ends — it leaves the node, or breaks.
    pub(super) fn cross(
        &self,
        here: &Here<'_>,
        at: &mut At,
        (oif, nh): (&str, IpAddr),
        bindings: &mut [Binding],
        hop: &mut Hop,
    ) -> Result<(), End> {
        let ns = here.ns;
        // The route stage set the source; after routing may have changed it.
        let src = at.src.unwrap_or(at.dst);
        let flow = (src, at.dst, at.port);
        let sent = if here.iif.is_some() {
            "forwarded"
        } else {
            "sent"
        };
        match self.next_namespace(ns, oif, nh, &mut hop.via) {
            Next::Namespace(next, next_iif) => {
                if let Some((drop_at, cause)) =
                    self.bridged_drop(ns, oif, &next, &next_iif, flow, here.ct(), hop)
                {
                    let finding = self.finding(&drop_at, &["forward-drop"], None);
                    return Err(End::dropped(&drop_at, cause, finding));
                }
                if here.reply {
                    let to = (next.as_str(), next_iif.as_str());
                    if let Some(orig) = self.bridged_undnat(ns, oif, to, src, bindings, hop) {
                        at.src = Some(orig);
                    }
                }
                hop.verdict = sent.into();
                at.ns = next;
                at.iif = Some(next_iif);
                Ok(())
            }
            Next::Leaves => {
                hop.verdict = "leaves the node".into();
                let outcome = Outcome::LeavesNode {
                    namespace: at.ns.clone(),
                    iface: oif.to_string(),
                };
                Err(End::outcome(outcome, None))
            }
            Next::Broken(cause, rules, broke_at) => {
                let wrong_mac = rules.contains(&"neigh-mac") || rules.contains(&NEIGH_LEARNED);
                if wrong_mac && !here.reply {
                    if let Some((next, next_iif)) = self.flooded_dnat(ns, oif, flow, hop) {
                        hop.verdict = sent.into();
                        at.ns = next;
                        at.iif = Some(next_iif);
                        return Ok(());
                    }
                }
                let ns_name = broke_at.unwrap_or_else(|| at.ns.clone());
                // A cause across a veth is found by the finding's object there.
                let finding = self.finding(&ns_name, &rules, None);
                Err(End::dropped(&ns_name, cause, finding))
            }
        }
    }
}
