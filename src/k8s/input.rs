//! Would the node's netfilter let a peer's first packet to a port in? Asks
//! [`crate::firewall::eval`] (the one iptables evaluator) for a new connection from
//! a peer address, coming in on the interface that holds the route back to that peer: nat
//! PREROUTING first (a DNAT sends it to FORWARD instead, as for a NodePort), then filter INPUT.

use std::cmp::Reverse;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::route_index::RouteIndex;
use crate::firewall::eval::{self, Compiled, Pkt, Verdict};
use crate::model::{LinkKind, Namespace, Route, RouteFamily, RouteKind, RouteScope};

/// What netfilter does with a peer's first packet to a port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputVerdict {
    /// `accept`, `drop` (DROP or REJECT) or `unknown` (the firewall was not read).
    pub verdict: String,
    /// The rule or policy that drops it.
    pub rule: Option<String>,
    /// The peer address the packet was judged from, and the interface it comes in on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iif: Option<String>,
    /// DNAT on the way, rules netlens could not judge, nft netdev tables it did not evaluate.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl InputVerdict {
    pub fn is_drop(&self) -> bool {
        self.verdict == "drop"
    }

    fn unknown(why: &str) -> Self {
        InputVerdict {
            verdict: "unknown".into(),
            rule: None,
            from: None,
            iif: None,
            notes: vec![why.into()],
        }
    }

    /// The worst of several: a drop over an unknown over an accept.
    pub fn worst(all: Vec<InputVerdict>) -> InputVerdict {
        let rank = |v: &InputVerdict| match v.verdict.as_str() {
            "drop" => 0,
            "unknown" => 1,
            _ => 2,
        };
        all.into_iter()
            .min_by_key(rank)
            .unwrap_or_else(|| InputVerdict::unknown("no peer address to judge from"))
    }
}

/// The route `ip` takes from `ns`: longest prefix, lowest metric, any table but `local`.
/// Policy rules are not followed, as in the doctor.
pub fn route_to(ns: &Namespace, ip: IpAddr) -> Option<&Route> {
    ns.routes
        .iter()
        .filter(|r| routed(r))
        .filter_map(|r| route_net(r).filter(|n| n.contains(&ip)).map(|n| (r, n)))
        .max_by_key(|(r, n)| (n.prefix_len(), Reverse(r.metric.unwrap_or(0))))
        .map(|(r, _)| r)
}

/// Whether [`route_to`] considers `r` at all: unicast, any table but `local`.
pub(super) fn routed(r: &Route) -> bool {
    r.table != 255 && r.kind == RouteKind::Unicast
}

pub(super) fn route_net(r: &Route) -> Option<IpNet> {
    if r.dst.is_default() {
        return match r.family {
            RouteFamily::Inet => "0.0.0.0/0".parse().ok(),
            RouteFamily::Inet6 => "::/0".parse().ok(),
            RouteFamily::Other(_) => None,
        };
    }
    r.dst.net()
}

/// Whether `ip` is one of the namespace's own addresses (or loopback).
pub fn is_local(ns: &Namespace, ip: IpAddr) -> bool {
    ip.is_loopback() || ns.addresses.iter().any(|a| a.address == ip)
}

/// The address a peer coming in on `iif` would connect to: the node's own on that link, else
/// any of its addresses of the same family.
fn node_addr(ns: &Namespace, iif: Option<&str>, peer: IpAddr) -> IpAddr {
    let same = |a: &&crate::model::Address| a.address.is_ipv4() == peer.is_ipv4();
    ns.addresses
        .iter()
        .filter(same)
        .find(|a| Some(a.ifname.as_str()) == iif)
        .or_else(|| {
            ns.addresses
                .iter()
                .filter(same)
                .find(|a| a.scope == RouteScope::Global)
        })
        .map(|a| a.address)
        .unwrap_or(if peer.is_ipv4() {
            IpAddr::from([127, 0, 0, 1])
        } else {
            IpAddr::from(std::net::Ipv6Addr::LOCALHOST)
        })
}

/// Peer addresses to judge from when the user named none: the default gateways (peers beyond
/// them come in on the same link), or, without a default route, a neighbour address on each
/// connected subnet.
pub fn representative_peers(ns: &Namespace) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = ns
        .routes
        .iter()
        .filter(|r| r.table != 255 && r.kind == RouteKind::Unicast && r.dst.is_default())
        .filter_map(|r| r.gateway)
        .collect();
    if out.is_empty() {
        for a in ns
            .addresses
            .iter()
            .filter(|a| a.scope == RouteScope::Global)
        {
            if a.address.is_loopback()
                || ns
                    .link(&a.ifname)
                    .is_some_and(|l| l.kind == LinkKind::Loopback)
            {
                continue;
            }
            let Ok(net) = IpNet::new(a.address, a.prefix_len) else {
                continue;
            };
            if let Some(h) = net.hosts().take(16).find(|h| !is_local(ns, *h)) {
                out.push(h);
            }
        }
    }
    let mut seen = Vec::new();
    out.retain(|ip| {
        let new = !seen.contains(ip);
        seen.push(*ip);
        new
    });
    out.truncate(8);
    out
}

/// What netfilter in `ns` does with a new `proto` connection from `src` to `dport`.
pub fn judge(ns: &Namespace, src: IpAddr, proto: &str, dport: u16) -> InputVerdict {
    judge_with(ns, None, None, src, proto, dport)
}

/// [`judge`], walking `compiled` (`ns`'s firewall compiled once, as the doctor holds it for
/// many judgements) instead of compiling the tables for this one, and looking routes up in
/// `routes` (`ns`'s, built once) instead of scanning them.
pub fn judge_with(
    ns: &Namespace,
    compiled: Option<&Compiled>,
    routes: Option<&RouteIndex>,
    src: IpAddr,
    proto: &str,
    dport: u16,
) -> InputVerdict {
    let Some(fw) = &ns.firewall else {
        return InputVerdict::unknown("firewall rules were not read");
    };
    let own;
    let c = match compiled {
        Some(c) => c,
        None => {
            own = Compiled::new(fw);
            &own
        }
    };
    let decide_at = |tables: &[&str], chain: &str, pkt: &Pkt, local: &dyn Fn(IpAddr) -> bool| {
        c.decide_at(fw, tables, chain, pkt, local)
    };
    let route_to = |ip: IpAddr| match routes {
        Some(ix) => ix.route_to(ns, ip),
        None => route_to(ns, ip),
    };
    let iif = route_to(src).and_then(|r| r.dev.clone());
    let local = |ip: IpAddr| is_local(ns, ip);
    let mut pkt = Pkt {
        src,
        dst: node_addr(ns, iif.as_deref(), src),
        proto: proto.into(),
        dport: Some(dport),
        iif: iif.clone(),
        oif: None,
        ct: "NEW",
        mark: 0,
    };
    let mut notes = Vec::new();
    let pre = decide_at(eval::PREROUTING, "PREROUTING", &pkt, &local);
    if pre.drops() {
        return verdict_of(pre.verdict, src, iif, notes);
    }
    pkt.mark = pre.mark.unwrap_or(0);
    notes.extend(pre.unsure.iter().map(|u| format!("not judged: {u}")));
    let mut chain = "INPUT";
    let mut tables = eval::INPUT;
    // Which service endpoint a random (`-m statistic`) rule picks cannot be judged: the
    // endpoint the rules fall through to stands for all, as before.
    if let Verdict::Nat { target, to, by, .. } = &pre.assumed {
        if let Some((ip, port)) = to.as_deref().and_then(parse_to) {
            notes.push(format!(
                "{target} to {} by {by}",
                to.as_deref().unwrap_or("")
            ));
            if !is_local(ns, ip) {
                // Sent on to a pod or another host: FORWARD decides, not INPUT.
                chain = "FORWARD";
                tables = eval::FORWARD;
                pkt.oif = route_to(ip).and_then(|r| r.dev.clone());
                pkt.dst = ip;
            }
            if let Some(p) = port {
                pkt.dport = Some(p);
            }
        }
    }
    let d = decide_at(tables, chain, &pkt, &local);
    notes.extend(d.unsure.iter().map(|u| format!("not judged: {u}")));
    // ip/ip6/inet tables are evaluated with the rest; a netdev ingress chain is not.
    for t in fw.nft.iter().filter(|t| t.family == "netdev") {
        if t.chains.iter().any(|c| c.hook.is_some()) {
            notes.push(format!(
                "nftables table netdev {} hooks ingress; it was not evaluated",
                t.name
            ));
        }
    }
    verdict_of(d.verdict, src, iif, notes)
}

fn verdict_of(
    v: Verdict,
    src: IpAddr,
    iif: Option<String>,
    mut notes: Vec<String>,
) -> InputVerdict {
    let (verdict, rule) = match v {
        Verdict::Drop { by } => ("drop", Some(by)),
        Verdict::CannotJudge { by, why } => {
            notes.push(format!("cannot judge: {why}"));
            ("unknown", Some(by))
        }
        _ => ("accept", None),
    };
    InputVerdict {
        verdict: verdict.into(),
        rule,
        from: Some(src),
        iif,
        notes,
    }
}

/// `10.0.0.2:80`, `10.0.0.2`, `[fd00::2]:80`, `10.0.0.2-10.0.0.5:80-90` (first of each).
fn parse_to(to: &str) -> Option<(IpAddr, Option<u16>)> {
    let first_port = |p: &str| p.split('-').next().and_then(|p| p.parse().ok());
    if let Some(rest) = to.strip_prefix('[') {
        let (ip, tail) = rest.split_once(']')?;
        let port = tail.strip_prefix(':').and_then(first_port);
        return Some((ip.split('-').next()?.parse().ok()?, port));
    }
    let (ip, port) = match to.rsplit_once(':') {
        Some((ip, p)) if !ip.contains(':') => (ip, first_port(p)),
        _ => (to, None),
    };
    Some((ip.split('-').next()?.parse().ok()?, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dnat_targets_parse() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(parse_to("10.0.0.2:80"), Some((ip("10.0.0.2"), Some(80))));
        assert_eq!(parse_to("10.0.0.2"), Some((ip("10.0.0.2"), None)));
        assert_eq!(
            parse_to("[fd00::2]:8080"),
            Some((ip("fd00::2"), Some(8080)))
        );
        assert_eq!(
            parse_to("10.0.0.2-10.0.0.5:80-90"),
            Some((ip("10.0.0.2"), Some(80)))
        );
        assert_eq!(parse_to("fd00::2"), Some((ip("fd00::2"), None)));
        assert_eq!(parse_to("junk"), None);
    }
}
