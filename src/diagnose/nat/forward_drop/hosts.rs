//! Flows from and to the hosts the namespace's own rules name. A flow stands for a whole
//! subnet (or everything behind a router, or everything beyond the uplink) and is judged with
//! one address for each end; a rule aimed at one host (`-s 10.1.0.12 -j MARK`, then a mark
//! dropped in FORWARD) passes that address and drops the host's traffic (oracle seed 606:
//! a host two routers away). So each host the rules name by address, when it lies behind one
//! end of a flow, is judged at that end too.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::Flow;
use crate::diagnose::facts::{lookup, Facts};
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
    let rules = fw
        .iptables
        .iter()
        .flat_map(|t| &t.chains)
        .flat_map(|c| &c.rules);
    let mut add = |n: Option<Ipv4Net>| {
        if let Some(n) = n.filter(|n| !out.contains(n)) {
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
        if let Some(dev) = lookup(ns, ip).and_then(|r| r.dev.as_deref()) {
            hosts.push((ip, dev));
        }
        if hosts.len() == MAX_NAMED {
            break;
        }
    }
    let mut out = Vec::with_capacity(flows.len());
    for fl in flows {
        let mut copies = Vec::new();
        // Port-forwards come from anywhere: their senders are not known hosts.
        if fl.port.is_none() {
            for &(ip, dev) in &hosts {
                let from =
                    ip != fl.src && dev == fl.iif && fl.src_net.is_none_or(|n| n.contains(&ip));
                if from {
                    copies.push(Flow {
                        src: ip,
                        what: format!("{} from {ip}", fl.what),
                        ..fl.clone()
                    });
                }
                let to =
                    ip != fl.dst && dev == fl.oif && fl.dst_net.is_none_or(|n| n.contains(&ip));
                if to {
                    copies.push(Flow {
                        dst: ip,
                        what: format!("{} to {ip}", fl.what),
                        ..fl.clone()
                    });
                }
            }
        }
        out.push(fl);
        out.extend(copies);
    }
    out
}
