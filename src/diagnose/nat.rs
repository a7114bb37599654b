//! NAT and the FORWARD chain: a private subnet leaving through an uplink with nothing to
//! masquerade it, a FORWARD policy of DROP with nothing accepting the traffic the namespace is
//! a gateway for, and NAT rules left behind for addresses nobody holds any more.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::facts::{default_route, is_private, route_gw, subnet, Facts};
use super::{Finding, Severity};
use crate::firewall::{Cond, Firewall, IpFamily, XtRule, XtRuleRef};
use crate::model::Namespace;
use crate::plan::Step;

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

fn v4_rules(fw: &Firewall) -> impl Iterator<Item = XtRuleRef<'_>> {
    fw.xt_rules().filter(|r| r.table.family == IpFamily::V4)
}

fn parse_net(c: &Cond) -> Option<Ipv4Net> {
    c.value.parse::<Ipv4Net>().ok().or_else(|| {
        c.value
            .parse::<Ipv4Addr>()
            .ok()
            .and_then(|a| Ipv4Net::new(a, 32).ok())
    })
}

/// Whether an optional address match lets traffic from/to `net` through.
fn net_matches(cond: &Option<Cond>, net: Ipv4Net) -> bool {
    match cond {
        None => true,
        Some(c) => match parse_net(c) {
            Some(n) => n.contains(&net.network()) != c.negated,
            None => false,
        },
    }
}

/// Whether an optional interface match (`-o eth0`, `! -o br0`, `-o veth+`) covers `iface`.
fn iface_matches(cond: &Option<Cond>, iface: &str) -> bool {
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
fn downstream(f: &Facts, ns: &Namespace) -> BTreeSet<(Ipv4Net, String)> {
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

fn nat_covers(fw: &Firewall, net: Ipv4Net, uplink: &str) -> bool {
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

/// `no-masquerade`
fn no_masquerade(f: &Facts, ns: &Namespace, out: &mut Vec<Finding>) {
    let Some(def) = default_route(ns) else { return };
    let (Some(gw), Some(uplink)) = (route_gw(def), def.dev.as_deref()) else {
        return;
    };
    let upstream = f.live_holder(gw).map(|h| h.ns);
    let empty = Firewall::default();
    let fw = ns.firewall.as_ref().unwrap_or(&empty);
    for (net, link) in downstream(f, ns) {
        if link == uplink || !is_private(net) || nat_covers(fw, net, uplink) {
            continue;
        }
        let (severity, why) = match upstream {
            Some(up) if f.covers(up, net) => continue,
            Some(up) => (
                Severity::Error,
                format!("{} (which holds {gw}) has no route back to {net}", up.name),
            ),
            None => (
                Severity::Warning,
                format!(
                    "{net} is private, so the network beyond {gw} is unlikely to route it back"
                ),
            ),
        };
        let rule: Vec<String> = ["-s", &net.to_string(), "-o", uplink]
            .into_iter()
            .chain(TAG)
            .chain(["-j", "MASQUERADE"])
            .map(str::to_string)
            .collect();
        out.push(
            Finding::new(
                "no-masquerade",
                severity,
                &ns.name,
                Some(&net.to_string()),
                format!("{net} leaves {} through {uplink} without NAT", ns.name),
                format!(
                    "Namespaces on {net} ({link}) go out via {}; {} forwards them out of \
                     {uplink} via {gw} with their own source addresses, because no MASQUERADE \
                     or SNAT rule in its nat table matches {net}; {why}.",
                    ns.name, ns.name
                ),
            )
            .object("route", &ns.name, "default")
            .object("link", &ns.name, uplink.to_string())
            .fix(
                format!("masquerade {net} out of {uplink}"),
                vec![Step::AddIptablesRule {
                    ns: ns.name.clone(),
                    table: "nat".into(),
                    chain: "POSTROUTING".into(),
                    rule,
                }],
            ),
        );
    }
}

/// A rule that only lets replies through (`--ctstate RELATED,ESTABLISHED`) does not accept
/// new connections.
fn only_replies(rule: &XtRule) -> bool {
    rule.matches
        .iter()
        .any(|m| (m.option == "--ctstate" || m.option == "--state") && !m.value.contains("NEW"))
}

/// Whether the filter FORWARD chain (following jumps) accepts new traffic from `net` arriving
/// on `link`.
fn xt_forward_accepts(fw: &Firewall, net: Ipv4Net, link: &str) -> bool {
    for table in fw
        .iptables
        .iter()
        .filter(|t| t.family == IpFamily::V4 && t.name == "filter")
    {
        let mut todo = vec!["FORWARD".to_string()];
        let mut seen = BTreeSet::new();
        while let Some(name) = todo.pop() {
            if !seen.insert(name.clone()) {
                continue;
            }
            let Some(chain) = table.chain(&name) else {
                continue;
            };
            for r in &chain.rules {
                let selects = net_matches(&r.source, net) && iface_matches(&r.in_iface, link);
                match r.target.as_deref() {
                    Some("ACCEPT") if selects && !only_replies(r) => return true,
                    Some(t) if table.chain(t).is_some() => todo.push(t.to_string()),
                    _ => {}
                }
            }
        }
    }
    false
}

/// `forward-drop`
fn forward_drop(f: &Facts, ns: &Namespace, out: &mut Vec<Finding>) {
    let Some(fw) = ns.firewall.as_ref() else {
        return;
    };
    let policy_drop = fw
        .iptables
        .iter()
        .filter(|t| t.family == IpFamily::V4 && t.name == "filter")
        .filter_map(|t| t.chain("FORWARD"))
        .any(|c| c.policy.as_deref() == Some("DROP"));
    let nft_drop = fw
        .nft
        .iter()
        .filter(|t| !t.looks_like_iptables_nft())
        .any(|t| {
            t.chains.iter().any(|c| {
                c.hook.as_deref() == Some("forward") && c.policy.as_deref() == Some("drop")
            })
        });
    if !policy_drop && !nft_drop {
        return;
    }
    let mut blocked: Vec<(Ipv4Net, String)> = Vec::new();
    for (net, link) in downstream(f, ns) {
        let accepted = if policy_drop {
            xt_forward_accepts(fw, net, &link)
        } else {
            // nft rules are summaries: accept if one mentions the subnet or the link.
            fw.nft.iter().any(|t| {
                t.chains.iter().any(|c| {
                    c.rules.iter().any(|r| {
                        r.verdict.as_deref() == Some("accept")
                            && !r.expr_summary.contains("ct state")
                            && (r.expr_summary.contains(&net.network().to_string())
                                || r.expr_summary.contains(&format!("\"{link}\"")))
                    })
                })
            })
        };
        if !accepted {
            blocked.push((net, link));
        }
    }
    if blocked.is_empty() {
        return;
    }
    let list: Vec<String> = blocked
        .iter()
        .map(|(n, l)| format!("{n} (on {l})"))
        .collect();
    let bridged = if ns.sysctls.bridge_nf_call_iptables == Some(1)
        && ns.links.iter().any(|l| l.kind == "bridge")
    {
        " With net.bridge.bridge-nf-call-iptables=1 even traffic between two ports of one \
         bridge passes FORWARD and is dropped."
    } else {
        ""
    };
    let where_ = if policy_drop {
        "the filter FORWARD chain's policy is DROP"
    } else {
        "an nftables forward chain's policy is drop"
    };
    let mut steps = Vec::new();
    if policy_drop {
        for (net, _) in &blocked {
            let n = net.to_string();
            steps.push(Step::AddIptablesRule {
                ns: ns.name.clone(),
                table: "filter".into(),
                chain: "FORWARD".into(),
                rule: ["-s", &n]
                    .into_iter()
                    .chain(TAG)
                    .chain(["-j", "ACCEPT"])
                    .map(str::to_string)
                    .collect(),
            });
            steps.push(Step::AddIptablesRule {
                ns: ns.name.clone(),
                table: "filter".into(),
                chain: "FORWARD".into(),
                rule: [
                    "-d",
                    &n,
                    "-m",
                    "conntrack",
                    "--ctstate",
                    "RELATED,ESTABLISHED",
                ]
                .into_iter()
                .chain(TAG)
                .chain(["-j", "ACCEPT"])
                .map(str::to_string)
                .collect(),
            });
        }
    }
    out.push(
        Finding::new(
            "forward-drop",
            Severity::Error,
            &ns.name,
            None,
            format!("{} drops the traffic it forwards", ns.name),
            format!(
                "{} is the gateway of {}, but {where_} and no rule accepts that traffic.{bridged}",
                ns.name,
                list.join(", ")
            ),
        )
        .object("rule", &ns.name, "filter FORWARD policy")
        .fix("accept the forwarded subnets in FORWARD", steps),
    );
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
fn stale_nat(f: &Facts, ns: &Namespace, out: &mut Vec<Finding>) {
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
