//! A namespace's firewall in the snapshot's text: each backend's tables and rules.

use crate::firewall::{Backend, Firewall, IpFamily, XtSource};
use crate::put;

/// Rules shown per namespace in text; the JSON has all of them.
const MAX_RULES: usize = 40;

pub(super) fn render_firewall(out: &mut String, fw: &Firewall) {
    for e in &fw.errors {
        put!(out, "  ! firewall: {e}");
    }
    if fw.backends.is_empty() {
        return;
    }
    let names: Vec<&str> = fw
        .backends
        .iter()
        .map(|b| match b {
            Backend::Nft => "nft",
            Backend::IptablesNft => "iptables-nft",
            Backend::IptablesLegacy => "iptables-legacy",
        })
        .collect();
    put!(out, "  firewall  backends: {}", names.join(", "));
    let mut shown = 0;
    let mut hidden = 0;
    for table in &fw.iptables {
        let family = match table.family {
            IpFamily::V4 => "iptables",
            IpFamily::V6 => "ip6tables",
        };
        let source = match table.source {
            XtSource::Nft => "",
            XtSource::Legacy => " (legacy)",
        };
        for chain in &table.chains {
            let policy_matters = chain.policy.as_deref().is_some_and(|p| p != "ACCEPT");
            if chain.rules.is_empty() && !policy_matters {
                continue;
            }
            if shown >= MAX_RULES {
                hidden += chain.rules.len();
                continue;
            }
            let policy = chain
                .policy
                .as_deref()
                .map(|p| format!(" policy {p}"))
                .unwrap_or_default();
            put!(
                out,
                "    {family}{source} {} {}{policy}",
                table.name,
                chain.name
            );
            for rule in &chain.rules {
                if shown >= MAX_RULES {
                    hidden += 1;
                    continue;
                }
                put!(out, "      {}", rule.raw);
                shown += 1;
            }
        }
    }
    for table in fw.nft.iter().filter(|t| !t.looks_like_iptables_nft()) {
        for chain in &table.chains {
            if chain.rules.is_empty() {
                continue;
            }
            let hook = chain
                .hook
                .as_deref()
                .map(|h| format!(" hook {h}"))
                .unwrap_or_default();
            put!(
                out,
                "    nft {} {} {}{hook}",
                table.family,
                table.name,
                chain.name
            );
            for rule in &chain.rules {
                if shown >= MAX_RULES {
                    hidden += 1;
                    continue;
                }
                put!(out, "      {}", rule.expr_summary);
                shown += 1;
            }
        }
    }
    if hidden > 0 {
        put!(
            out,
            "    (+{} more; see --json)",
            crate::report::plural(hidden, "rule")
        );
    }
}
