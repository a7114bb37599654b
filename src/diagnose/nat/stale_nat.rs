//! `stale-nat`: NAT rules left behind for addresses nobody holds any more.

use std::net::Ipv4Addr;

use super::super::facts::{subnet, Facts};
use super::super::{Finding, Severity};
use super::*;
use crate::firewall::XtRule;
use crate::model::Namespace;
use crate::plan::Step;

/// The address in `--to-destination 10.0.0.5:80` / `--to-source 10.0.0.5-10.0.0.9`.
fn nat_target(rule: &XtRule) -> Option<Ipv4Addr> {
    let (_, v) = rule
        .target_args
        .iter()
        .find(|(k, _)| k == "--to-destination" || k == "--to-source")?;
    let first = v.split(['-', ':']).next()?;
    first.parse().ok()
}

/// Why `ip` is a left-over: it is on a connected subnet of `ns` whose segment is fully visible
/// (veths into namespaces we read, bridges), and nobody holds it. `None` when someone does, or
/// when the holder could be out of sight (a DNAT to a remote server is normal).
fn nobody_holds_nearby(f: &Facts, ns: &Namespace, ip: Ipv4Addr) -> Option<String> {
    if f.holders(ip).next().is_some() {
        return None;
    }
    let h = f.held_in(ns).find(|h| h.net.trunc().contains(&ip))?;
    let closed = f
        .segment_id(ns, h.link)
        .is_some_and(|s| f.segment(s).closed);
    closed.then(|| {
        format!(
            "on {} ({}), but no namespace holds {ip} any more",
            subnet(h.net),
            h.link.name
        )
    })
}

/// A user chain of `table` that masquerades or SNATs.
fn masquerading_chain(table: &crate::firewall::XtTable, chain: &str) -> bool {
    table.chain(chain).is_some_and(|c| {
        c.rules
            .iter()
            .any(|x| matches!(x.target.as_deref(), Some("MASQUERADE" | "SNAT")))
    })
}

/// `stale-nat`
pub(super) fn stale_nat(f: &Facts, ns: &Namespace, out: &mut Vec<Finding>) {
    let Some(fw) = ns.firewall.as_ref() else {
        return;
    };
    for r in v4_rules(fw).filter(|r| r.table.name == "nat") {
        let target = r.rule.target.as_deref().unwrap_or("");
        let (key, why) = match target {
            "DNAT" | "SNAT" => {
                let Some(t) = nat_target(r.rule) else {
                    continue;
                };
                let Some(why) = nobody_holds_nearby(f, ns, t) else {
                    continue;
                };
                (t.to_string(), format!("it sends traffic to {t}, {why}"))
            }
            "MASQUERADE" => {
                let Some(src) = r.rule.source.as_ref().filter(|c| !c.negated) else {
                    continue;
                };
                let Some(net) = parse_net(src) else { continue };
                if net.prefix_len() == 0 || f.held.iter().any(|h| net.contains(&h.ip())) {
                    continue;
                }
                (
                    net.to_string(),
                    format!("it masquerades {net}, but no namespace holds an address in {net}"),
                )
            }
            // A per-container rule (CNI's `-s 10.x.y.z -j CNI-…`, whose chain masquerades)
            // for a container that is gone: incident pattern 17.
            chain if masquerading_chain(r.table, chain) => {
                let Some(ip) = r
                    .rule
                    .source
                    .as_ref()
                    .filter(|c| !c.negated)
                    .and_then(parse_net)
                    .filter(|n| n.prefix_len() == 32)
                    .map(|n| n.addr())
                else {
                    continue;
                };
                let Some(why) = nobody_holds_nearby(f, ns, ip) else {
                    continue;
                };
                (
                    ip.to_string(),
                    format!("it hands {ip}'s traffic to {chain}, which masquerades, {why}"),
                )
            }
            _ => continue,
        };
        let args = rule_args(&r.rule.raw);
        out.push(
            Finding::new(
                "stale-nat",
                Severity::Warning,
                &ns.name,
                Some(&key),
                format!("{} NAT rule for {key}, which nobody holds", r.chain.name),
                format!(
                    "{} has `{}` in nat/{}: {why}; it is left over from something removed.",
                    ns.name,
                    args.join(" "),
                    r.chain.name
                ),
            )
            .object(
                "rule",
                &ns.name,
                format!("nat {} {}", r.chain.name, args.join(" ")),
            )
            .fix(
                "remove the left-over rule",
                vec![Step::DelIptablesRule {
                    ns: ns.name.clone(),
                    table: "nat".into(),
                    chain: r.chain.name.clone(),
                    rule: args,
                }],
            ),
        );
    }
}
