//! NAT and the FORWARD chain: a private subnet leaving through an uplink with nothing to
//! masquerade it, a FORWARD policy of DROP with nothing accepting the traffic the namespace is
//! a gateway for, and NAT rules left behind for addresses nobody holds any more.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

mod forward_drop;
mod masquerade;
mod stale_group;
mod stale_nat;

use super::facts::{subnet, Facts};
use super::Finding;
use crate::firewall::{Cond, Firewall, IpFamily, XtRuleRef};
use crate::model::Namespace;
use forward_drop::forward_drop;
use masquerade::no_masquerade;
use stale_nat::stale_nat;

/// Every rule netlens adds is tagged, so it can be told apart and removed later.
const TAG: [&str; 4] = crate::plan::RULE_TAG;

pub fn check(f: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    for (_, ns) in &f.namespaces {
        if ns.sysctls.ip_forward == Some(1) {
            no_masquerade(f, ns, &mut out);
            forward_drop(f, ns, &mut out);
        }
        stale_nat(f, ns, &mut out);
    }
    out
}

pub(super) fn v4_rules(fw: &Firewall) -> impl Iterator<Item = XtRuleRef<'_>> {
    fw.xt_rules().filter(|r| r.table.family == IpFamily::V4)
}

pub(super) fn parse_net(c: &Cond) -> Option<Ipv4Net> {
    c.value.parse::<Ipv4Net>().ok().or_else(|| {
        c.value
            .parse::<Ipv4Addr>()
            .ok()
            .and_then(|a| Ipv4Net::new(a, 32).ok())
    })
}

/// Whether an optional address match lets traffic from/to `net` through.
pub(super) fn net_matches(cond: &Option<Cond>, net: Ipv4Net) -> bool {
    match cond {
        None => true,
        Some(c) => match parse_net(c) {
            Some(n) => n.contains(&net.network()) != c.negated,
            None => false,
        },
    }
}

/// Whether an optional interface match (`-o eth0`, `! -o br0`, `-o veth+`) covers `iface`.
pub(super) fn iface_matches(cond: &Option<Cond>, iface: &str) -> bool {
    match cond {
        None => true,
        Some(c) => {
            let hit = match c.value.strip_suffix('+') {
                Some(prefix) => iface.starts_with(prefix),
                None => c.value == iface,
            };
            hit != c.negated
        }
    }
}

/// The namespaces' subnets that send everything (a default route) through `ns`, with the link
/// of `ns` they arrive on.
pub(super) fn downstream(f: &Facts, ns: &Namespace) -> BTreeSet<(Ipv4Net, String)> {
    let mut set = BTreeSet::new();
    for u in f.transit_uses(ns) {
        if let Some(h) = f
            .held_in(u.from)
            .find(|h| h.live() && h.net.trunc().contains(&u.gw))
        {
            set.insert((subnet(h.net), u.link.name.clone()));
        }
    }
    set
}

pub(super) fn nat_covers(fw: &Firewall, net: Ipv4Net, uplink: &str) -> bool {
    // Only rules POSTROUTING reaches count: a chain nothing jumps to any more (a flushed
    // POSTROUTING, a CNI chain left behind) masquerades nothing.
    let xt = fw
        .iptables
        .iter()
        .filter(|t| t.family == IpFamily::V4 && t.name == "nat")
        .any(|table| {
            let mut todo = vec![("POSTROUTING".to_string(), true)];
            let mut seen = BTreeSet::new();
            while let Some((name, path_ok)) = todo.pop() {
                if !seen.insert(name.clone()) {
                    continue;
                }
                let Some(chain) = table.chain(&name) else {
                    continue;
                };
                for r in &chain.rules {
                    // The selectors of the jump that led here narrow what the chain sees.
                    let selects = path_ok
                        && net_matches(&r.source, net)
                        && iface_matches(&r.out_iface, uplink);
                    match r.target.as_deref() {
                        Some("MASQUERADE" | "SNAT") if selects => return true,
                        Some(t) if table.chain(t).is_some() => {
                            // A per-host jump (`-s 10.0.0.2 -j CNI-…`) covers one address
                            // only; count the chain when the jump admits the subnet's
                            // hosts, i.e. the source matches or is narrower but inside it.
                            let admits = path_ok
                                && iface_matches(&r.out_iface, uplink)
                                && match &r.source {
                                    None => true,
                                    Some(c) if !c.negated => parse_net(c).is_some_and(|n| {
                                        n.contains(&net.network()) || net.contains(&n.network())
                                    }),
                                    Some(_) => true,
                                };
                            todo.push((t.to_string(), admits));
                        }
                        _ => {}
                    }
                }
            }
            false
        });
    // Native nft rules are summarised, not parsed: any masquerade/snat counts, to stay quiet
    // rather than wrong.
    let nft = fw
        .nft
        .iter()
        .filter(|t| !t.looks_like_iptables_nft())
        .any(|t| {
            t.chains.iter().any(|c| {
                c.rules.iter().any(|r| {
                    r.verdict
                        .as_deref()
                        .is_some_and(|v| v.starts_with("masquerade") || v.starts_with("snat"))
                })
            })
        });
    xt || nft
}

/// The rule's arguments after `-A CHAIN`, as an argv for a delete: quoted with iptables-save's
/// `\"` and `\\` escapes resolved, so `iptables -D` matches a comment like podman's
/// `name: "podman" id: "…"`.
pub fn rule_args(raw: &str) -> Vec<String> {
    let words = crate::firewall::iptables_save::rule_words(raw);
    // Drop `[packets:bytes]` counters and `-A CHAIN`.
    let mut rest: &[String] = &words;
    if rest.first().is_some_and(|w| w.starts_with('[')) {
        rest = &rest[1..];
    }
    if rest.first().is_some_and(|w| w == "-A") && rest.len() >= 2 {
        rest = &rest[2..];
    }
    rest.to_vec()
}

#[cfg(test)]
mod rule_args_tests {
    use super::rule_args;

    /// A stale podman rule is deleted with the argv iptables got: escaped quotes resolved, the
    /// comment one word.
    #[test]
    fn podman_comment_is_one_argument() {
        let raw = r#"[0:0] -A CNI-abc -d 10.88.0.0/16 -m comment --comment "name: \"podman\" id: \"0b1a\"" -j ACCEPT"#;
        assert_eq!(
            rule_args(raw),
            [
                "-d",
                "10.88.0.0/16",
                "-m",
                "comment",
                "--comment",
                r#"name: "podman" id: "0b1a""#,
                "-j",
                "ACCEPT"
            ]
        );
    }
}
