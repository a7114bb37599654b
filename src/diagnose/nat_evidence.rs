//! What the routing rules need to know of NAT, without judging it (that is `nat`'s job):
//! whether a namespace masquerades an address on its way out, read from its POSTROUTING
//! chain's MASQUERADE and SNAT rules, and native nftables nat chains' masquerade / snat.

use std::net::Ipv4Addr;

use crate::firewall::nft_expr::{NftAtom, NftKey, NftOp, NftStmt};
use crate::firewall::IpFamily;
use crate::model::Namespace;

/// Whether `ns` has a v4 `nat POSTROUTING` MASQUERADE or SNAT rule whose source match (if
/// any) takes `ip`. Rules in chains POSTROUTING jumps to are not followed: this is evidence
/// that `ip` is meant to go out, and missing some of it only keeps a rule quiet.
pub fn masquerades(ns: &Namespace, ip: Ipv4Addr) -> bool {
    let Some(fw) = &ns.firewall else { return false };
    let nft = fw.nft_nat_rules("postrouting").any(|r| {
        let stmts = r.stmts.as_deref().unwrap_or(&[]);
        let nats = stmts
            .iter()
            .any(|s| matches!(s, NftStmt::Nat { nat, .. } if nat == "masquerade" || nat == "snat"));
        nats && stmts.iter().all(|s| match s {
            NftStmt::Match {
                key: NftKey::Saddr { v6: false },
                op,
                right,
            } => {
                let has = right.iter().any(|a| match a {
                    NftAtom::Prefix { addr, len } => format!("{addr}/{len}")
                        .parse::<ipnet::Ipv4Net>()
                        .is_ok_and(|n| n.contains(&ip)),
                    NftAtom::Text(t) => t.parse::<Ipv4Addr>() == Ok(ip),
                    _ => false,
                });
                has == (*op == NftOp::Eq)
            }
            _ => true,
        })
    });
    nft || fw
        .nat_rules()
        .filter(|r| r.table.family == IpFamily::V4 && r.chain.name == "POSTROUTING")
        .filter(|r| matches!(r.rule.target.as_deref(), Some("MASQUERADE" | "SNAT")))
        .any(|r| match &r.rule.source {
            None => true,
            Some(c) => c
                .value
                .parse::<ipnet::Ipv4Net>()
                .ok()
                .or_else(|| c.value.parse::<Ipv4Addr>().ok().map(ipnet::Ipv4Net::from))
                .is_some_and(|n| n.contains(&ip) != c.negated),
        })
}

/// Whether `ns` does any NAT: a v4 rule with a target in its nat table (MASQUERADE, SNAT,
/// DNAT, a jump to a chain of them). A router without one routes, and whoever is upstream of
/// it must route back; one with a port forward but no MASQUERADE lost its MASQUERADE.
pub fn translates_any(ns: &Namespace) -> bool {
    let Some(fw) = &ns.firewall else { return false };
    let nft = ["prerouting", "output", "postrouting", "input"]
        .iter()
        .any(|hook| fw.nft_nat_rules(hook).any(|r| r.verdict.is_some()));
    nft || fw
        .nat_rules()
        .any(|r| r.table.family == IpFamily::V4 && r.rule.target.is_some())
}

/// Whether `ns` translates source addresses: a v4 nat rule with a target in POSTROUTING or
/// INPUT (MASQUERADE, SNAT, a jump to chains of them), a MASQUERADE/SNAT/NETMAP rule in any
/// nat chain, or a native nft nat chain at those hooks with a verdict. A router with only a
/// port-forward (DNAT) does not: it may route its subnets upstream (oracle seed 232), or it
/// may be a NAT router that lost its MASQUERADE — the two look alike.
pub fn translates_sources(ns: &Namespace) -> bool {
    let Some(fw) = &ns.firewall else { return false };
    let nft = ["postrouting", "input"]
        .iter()
        .any(|hook| fw.nft_nat_rules(hook).any(|r| r.verdict.is_some()));
    nft || fw.nat_rules().any(|r| {
        r.table.family == IpFamily::V4
            && r.rule.target.as_deref().is_some_and(|t| {
                matches!(r.chain.name.as_str(), "POSTROUTING" | "INPUT")
                    || matches!(t, "MASQUERADE" | "SNAT" | "NETMAP")
            })
    })
}
