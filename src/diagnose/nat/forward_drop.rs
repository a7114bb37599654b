//! `forward-drop`: a FORWARD policy of DROP with nothing accepting the traffic the namespace
//! is a gateway for.

use std::collections::BTreeSet;

use ipnet::Ipv4Net;

use super::super::facts::Facts;
use super::super::{Finding, Severity};
use super::*;
use crate::firewall::{Firewall, IpFamily, XtRule};
use crate::model::Namespace;
use crate::plan::Step;

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
pub(super) fn forward_drop(f: &Facts, ns: &Namespace, out: &mut Vec<Finding>) {
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
