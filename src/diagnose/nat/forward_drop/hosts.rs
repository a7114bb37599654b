//! Flows from and to the hosts the namespace's own rules name. A flow stands for a whole
//! subnet (or everything behind a router, or everything beyond the uplink) and is judged with
//! one address for each end; a rule aimed at one host (`-s 10.1.0.12 -j MARK`, then a mark
//! dropped in FORWARD) passes that address and drops the host's traffic (oracle seed 606:
//! a host two routers away). So each host the rules name by address, when it lies behind one
//! end of a flow, is judged at that end too.

use crate::model::fast_hash::FxHashSet;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::what::What;
use super::Flow;
use crate::diagnose::facts::Facts;
use crate::firewall::nft_expr::{NftAtom, NftKey, NftOp, NftStmt};
use crate::model::Namespace;

/// At most this many named hosts are judged (each multiplies the flows).
const MAX_NAMED: usize = 8;

/// Networks the rules of `ns` (iptables and native nft) match by source or destination (not
/// negated).
fn named_nets(ns: &Namespace) -> Vec<Ipv4Net> {
    let Some(fw) = ns.firewall.as_ref() else {
        return Vec::new();
    };
    let mut out: Vec<Ipv4Net> = Vec::new();
    // Membership by set, order kept: kube-proxy's rules name thousands of distinct hosts, and
    // a scan of the list per rule was O(rules × hosts).
    let mut seen: FxHashSet<Ipv4Net> = FxHashSet::default();
    let rules = fw
        .iptables
        .iter()
        .flat_map(|t| &t.chains)
        .flat_map(|c| &c.rules);
    let mut add = |n: Option<Ipv4Net>| {
        if let Some(n) = n.filter(|n| seen.insert(*n)) {
            out.push(n);
        }
    };
    for r in rules {
        for cond in [&r.source, &r.destination].into_iter().flatten() {
            if !cond.negated {
                add(net(&cond.value));
            }
        }
    }
    // Native nft rules: `ip saddr` / `ip daddr` equal to an address, a prefix or a list.
    let stmts = fw
        .nft
        .iter()
        .flat_map(|t| &t.chains)
        .flat_map(|c| &c.rules)
        .flat_map(|r| r.stmts.iter().flatten());
    for st in stmts {
        let NftStmt::Match {
            key: NftKey::Saddr { v6: false } | NftKey::Daddr { v6: false },
            op: NftOp::Eq,
            right,
        } = st
        else {
            continue;
        };
        for atom in right {
            match atom {
                NftAtom::Text(t) => add(net(t)),
                NftAtom::Prefix { addr, len } => add(net(&format!("{addr}/{len}"))),
                _ => {}
            }
        }
    }
    out
}

fn net(text: &str) -> Option<Ipv4Net> {
    text.parse::<Ipv4Net>()
        .ok()
        .or_else(|| text.parse::<Ipv4Addr>().ok().map(Ipv4Net::from))
}

/// `flows`, each followed by its copies from and to the named hosts behind its ends.
pub(super) fn with_named_hosts(f: &Facts, ns: &Namespace, flows: Vec<Flow>) -> Vec<Flow> {
    named_copies(f, ns, flows, true)
}

/// [`with_named_hosts`]; `once`: each packet copied once (false only in tests, as the
/// reference that copies every flow).
fn named_copies(f: &Facts, ns: &Namespace, flows: Vec<Flow>, once: bool) -> Vec<Flow> {
    let nets = named_nets(ns);
    if nets.is_empty() {
        return flows;
    }
    let mut hosts: Vec<(Ipv4Addr, &str)> = Vec::new();
    for h in f.held.iter().filter(|h| h.live() && h.ns.name != ns.name) {
        let ip = h.ip();
        if !nets.iter().any(|n| n.contains(&ip)) || hosts.iter().any(|x| x.0 == ip) {
            continue;
        }
        // Where `ns` sends it: the link a flow from it comes in by, or one to it leaves by.
        if let Some(dev) = f.route_to(ns, ip).and_then(|r| r.dev.as_deref()) {
            hosts.push((ip, dev));
        }
        if hosts.len() == MAX_NAMED {
            break;
        }
    }
    // A copy is one host's packet: every sender's flow out of the same link to the same
    // place makes the same copy from that host (a thousand pods on a bridge, the same eight
    // named pods), and judging the same packet again only says the same thing again.
    // The keys borrow the flows' names: cloning them for each of the thousands of
    // candidate copies was most of this function.
    let mut seen: FxHashSet<PacketKey> = FxHashSet::default();
    // A flow's copies from hosts depend on all of it but its source, and an earlier flow
    // that differs only there made them already (its own packet is the one copy it did not
    // make): so each flow but its source is tried once, not once per sender and host. The
    // same for copies to hosts and the destination.
    let (mut from_done, mut to_done): (FxHashSet<PacketKey>, FxHashSet<PacketKey>) =
        Default::default();
    let any = Ipv4Addr::UNSPECIFIED;
    let mut copies_of: Vec<Vec<Flow>> = Vec::with_capacity(flows.len());
    for fl in &flows {
        let key = packet_key(fl);
        seen.insert(key.clone());
        let mut copies = Vec::new();
        // Port-forwards come from anywhere: their senders are not known hosts.
        if fl.port.is_none() {
            let from_left = !once
                || from_done.insert(PacketKey {
                    src: any,
                    ..key.clone()
                });
            let to_left = !once
                || to_done.insert(PacketKey {
                    dst: any,
                    ..key.clone()
                });
            for &(ip, dev) in &hosts {
                let from = from_left
                    && ip != fl.src
                    && dev == fl.iif
                    && fl.src_net.is_none_or(|n| n.contains(&ip));
                if from
                    && (seen.insert(PacketKey {
                        src: ip,
                        ..key.clone()
                    }) || !once)
                {
                    copies.push(Flow {
                        src: ip,
                        what: What {
                            host: Some((true, ip)),
                            ..fl.what.clone()
                        },
                        ..fl.clone()
                    });
                }
                let to = to_left
                    && ip != fl.dst
                    && dev == fl.oif
                    && fl.dst_net.is_none_or(|n| n.contains(&ip));
                if to
                    && (seen.insert(PacketKey {
                        dst: ip,
                        ..key.clone()
                    }) || !once)
                {
                    copies.push(Flow {
                        dst: ip,
                        what: What {
                            host: Some((false, ip)),
                            ..fl.what.clone()
                        },
                        ..fl.clone()
                    });
                }
            }
        }
        copies_of.push(copies);
    }
    drop((seen, from_done, to_done));
    let mut out = Vec::with_capacity(flows.len());
    for (fl, copies) in flows.into_iter().zip(copies_of) {
        out.push(fl);
        out.extend(copies);
    }
    out
}

#[cfg(test)]
#[path = "hosts_tests.rs"]
mod tests;

/// What a flow's verdicts and fix depend on: all of it but its description.
#[derive(Clone, PartialEq, Eq, Hash)]
struct PacketKey<'f> {
    src: Ipv4Addr,
    src_net: Option<Ipv4Net>,
    iif: &'f str,
    dst: Ipv4Addr,
    dst_net: Option<Ipv4Net>,
    oif: &'f str,
    port: Option<(&'f str, u16)>,
}

fn packet_key(fl: &Flow) -> PacketKey<'_> {
    PacketKey {
        src: fl.src,
        src_net: fl.src_net,
        iif: &fl.iif,
        dst: fl.dst,
        dst_net: fl.dst_net,
        oif: &fl.oif,
        port: fl.port.as_ref().map(|(p, n)| (p.as_str(), *n)),
    }
}
