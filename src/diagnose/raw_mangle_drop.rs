//! `raw-mangle-drop`: a DROP in the `raw` or `mangle` table (iptables). The forward-drop and
//! input-drop rules look at `filter` (a filter DROP keyed on a mangle mark is theirs); these tables run before it and drop just as well, where nobody looks.
//!
//! A rule whose source or destination names no address a namespace of the snapshot holds is
//! left alone (it concerns nobody netlens sees); so are anti-spoofing rules (`! -i IF`, as
//! Docker writes in `raw`) and chains other software manages. The fix deletes the rule.

use ipnet::Ipv4Net;

use super::facts::Facts;
use super::nat::rule_args;
use super::{Finding, Severity};
use crate::firewall::{Cond, IpFamily, XtRuleRef};
use crate::model::Namespace;
use crate::plan::Step;

const MANAGED: [&str; 4] = ["KUBE-", "CNI-", "NETAVARK", "DOCKER"];

fn net(c: &Cond) -> Option<Ipv4Net> {
    let v = c.value.as_str();
    v.parse::<Ipv4Net>()
        .ok()
        .or_else(|| v.parse::<std::net::Ipv4Addr>().ok().map(Into::into))
}

/// Whether an address condition can match an address the snapshot holds (`None`: no
/// condition, or one netlens cannot read, which stays quiet).
fn names_held(f: &Facts, c: &Option<Cond>) -> Option<bool> {
    let Some(c) = c else {
        return Some(true);
    };
    let n = net(c)?;
    let any = f.held.iter().any(|h| n.contains(&h.ip()) != c.negated);
    Some(any)
}

fn is_drop(r: &XtRuleRef) -> bool {
    r.rule.target.as_deref() == Some("DROP")
}

/// The rule line without `iptables-save -c`'s leading `[packets:bytes]`: ids must not
/// change as traffic flows.
fn without_counters(raw: &str) -> String {
    let t = raw.trim();
    match t.strip_prefix('[').and_then(|r| r.split_once("] ")) {
        Some((_, rest)) => rest.trim().to_string(),
        None => t.to_string(),
    }
}

pub fn check(f: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    for (_, ns) in &f.namespaces {
        let Some(fw) = &ns.firewall else {
            continue;
        };
        let rules: Vec<XtRuleRef> = fw
            .xt_rules()
            .filter(|r| r.table.family == IpFamily::V4)
            .collect();
        for r in rules.iter().filter(|r| is_drop(r)) {
            if MANAGED.iter().any(|m| r.chain.name.starts_with(m))
                || r.rule.in_iface.as_ref().is_some_and(|c| c.negated)
                || names_held(f, &r.rule.source) != Some(true)
                || names_held(f, &r.rule.destination) != Some(true)
            {
                continue;
            }
            // A filter DROP keyed on a mangle mark is forward-drop's (the evaluator follows
            // marks).
            if matches!(r.table.name.as_str(), "raw" | "mangle") {
                out.push(finding(ns, r));
            }
        }
    }
    out
}

fn finding(ns: &Namespace, r: &XtRuleRef) -> Finding {
    let (table, chain) = (r.table.name.as_str(), r.chain.name.as_str());
    let text = without_counters(&r.rule.raw);
    let why = format!(
        "the `{table}` table runs before `filter` (where the forward-drop and input-drop \
         checks look), so what it drops never reaches a filter rule or a socket"
    );
    let key = format!("{table}/{chain}/{text}");
    Finding::new(
        "raw-mangle-drop",
        Severity::Error,
        &ns.name,
        Some(&key),
        format!("{} drops packets in {table} {chain}", ns.name),
        format!(
            "{} has `{table} {chain}: {text}`: every packet it matches is dropped, silently; \
             {why}. Its match names addresses that namespaces here hold. Unless this traffic \
             is meant to be dropped, delete the rule.",
            ns.name
        ),
    )
    .object("rule", &ns.name, format!("{table} {chain}: {text}"))
    .fix(
        format!("delete the DROP rule in {table} {chain}"),
        vec![Step::DelIptablesRule {
            ns: ns.name.clone(),
            table: table.into(),
            chain: chain.into(),
            rule: rule_args(&text),
        }],
    )
}
