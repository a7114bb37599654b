//! `stale-nat`: NAT rules left behind for addresses nobody holds any more.

use std::collections::BTreeMap;

use crate::model::fast_hash::FxHashSet;
use std::net::Ipv4Addr;

use super::super::facts::{subnet, Facts};
use super::super::{Finding, Severity};
use super::stale_group::group;
use super::*;
use crate::firewall::{XtRule, XtTable};
use crate::model::Namespace;

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

/// The chains of `table` that masquerade or SNAT, by name (the first chain of a name, as
/// `XtTable::chain` finds it). Built once per table: looking each jump's target up by a scan
/// of kube-proxy's thousands of chains was O(rules × chains).
fn masquerading_chains(table: &XtTable) -> FxHashSet<&str> {
    let mut named = FxHashSet::default();
    let mut out = FxHashSet::default();
    for c in &table.chains {
        if !named.insert(c.name.as_str()) {
            continue;
        }
        if c.rules
            .iter()
            .any(|x| matches!(x.target.as_deref(), Some("MASQUERADE" | "SNAT")))
        {
            out.insert(c.name.as_str());
        }
    }
    out
}

/// A nat rule that points at something nobody holds: (key, why), or `None`.
fn stale_seed(
    f: &Facts,
    ns: &Namespace,
    masquerading: &FxHashSet<&str>,
    rule: &XtRule,
) -> Option<(String, String)> {
    match rule.target.as_deref().unwrap_or("") {
        "DNAT" | "SNAT" => {
            let t = nat_target(rule)?;
            let why = nobody_holds_nearby(f, ns, t)?;
            Some((t.to_string(), format!("it sends traffic to {t}, {why}")))
        }
        "MASQUERADE" => {
            let net = rule
                .source
                .as_ref()
                .filter(|c| !c.negated)
                .and_then(parse_net)?;
            if net.prefix_len() == 0 || f.held.iter().any(|h| net.contains(&h.ip())) {
                return None;
            }
            // A host route's key is the address, so Docker's hairpin masquerade
            // (`-s IP/32 -d IP/32 … -j MASQUERADE`) joins the DNAT to IP in one group.
            let key = if net.prefix_len() == 32 {
                net.addr().to_string()
            } else {
                net.to_string()
            };
            Some((
                key,
                format!("it masquerades {net}, but no namespace holds an address in {net}"),
            ))
        }
        // A per-container rule (CNI's `-s 10.x.y.z -j CNI-…`, whose chain masquerades)
        // for a container that is gone: incident pattern 17.
        chain if masquerading.contains(chain) => {
            let ip = rule
                .source
                .as_ref()
                .filter(|c| !c.negated)
                .and_then(parse_net)
                .filter(|n| n.prefix_len() == 32)
                .map(|n| n.addr())?;
            let why = nobody_holds_nearby(f, ns, ip)?;
            Some((
                ip.to_string(),
                format!("it hands {ip}'s traffic to {chain}, which masquerades, {why}"),
            ))
        }
        _ => None,
    }
}

/// The rules pointing at one key, as (chain, rule), and why the first one is stale.
type Seeds<'a> = (Vec<(&'a str, &'a XtRule)>, String);

/// `stale-nat`: one finding per address nobody holds, covering every rule and chain left
/// for it (see [`super::stale_group`]).
pub(super) fn stale_nat(f: &Facts, ns: &Namespace, out: &mut Vec<Finding>) {
    let Some(fw) = ns.firewall.as_ref() else {
        return;
    };
    let mut seeds: BTreeMap<String, Seeds> = BTreeMap::new();
    // Per nat table (by address: rules borrow their table), its masquerading chains.
    let mut masquerading: Vec<(&XtTable, FxHashSet<&str>)> = Vec::new();
    for r in v4_rules(fw).filter(|r| r.table.name == "nat") {
        let at = match masquerading
            .iter()
            .position(|(t, _)| std::ptr::eq(*t, r.table))
        {
            Some(i) => i,
            None => {
                masquerading.push((r.table, masquerading_chains(r.table)));
                masquerading.len() - 1
            }
        };
        if let Some((key, why)) = stale_seed(f, ns, &masquerading[at].1, r.rule) {
            let e = seeds.entry(key).or_insert_with(|| (Vec::new(), why));
            e.0.push((r.chain.name.as_str(), r.rule));
        }
    }
    for (key, (rules, why)) in seeds {
        let (chain, first) = rules[0];
        let group = group(fw, &rules, &key);
        let args = rule_args(&first.raw);
        let n = group.rules.len()
            + group
                .chains
                .iter()
                .filter_map(|(t, c)| fw.iptables.iter().find(|x| &x.name == t)?.chain(c))
                .map(|c| c.rules.len())
                .sum::<usize>();
        let from = match group.ids.iter().next() {
            Some(id) => format!(
                "container {}, which went away without cleaning up",
                &id[..id.len().min(12)]
            ),
            None => "something removed".to_string(),
        };
        let rest = match (n, group.chains.len()) {
            (1, 0) => String::new(),
            (n, 0) => format!(" ({n} rules in all)"),
            (n, k) => format!(
                " ({n} rules in all, and {k} chain(s) only they use: {})",
                chain_names(&group)
            ),
        };
        let mut finding = Finding::new(
            "stale-nat",
            Severity::Warning,
            &ns.name,
            Some(&key),
            format!("{chain} NAT rule for {key}, which nobody holds"),
            format!(
                "{} has `{}` in nat/{chain}: {why}; it is left over from {from}{rest}.",
                ns.name,
                args.join(" "),
            ),
        );
        for (t, c, r) in &group.rules {
            finding = finding.object(
                "rule",
                &ns.name,
                format!("{t} {c} {}", rule_args(&r.raw).join(" ")),
            );
        }
        for (t, c) in &group.chains {
            finding = finding.object("chain", &ns.name, format!("{t} {c}"));
        }
        let what = if n == 1 {
            "remove the left-over rule"
        } else {
            "remove the left-over rules and chains"
        };
        out.push(finding.fix(what, group.steps(&ns.name)));
    }
}

fn chain_names(g: &super::stale_group::Group) -> String {
    g.chains
        .iter()
        .map(|(_, c)| c.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
