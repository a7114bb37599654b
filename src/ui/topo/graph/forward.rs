//! A router's FORWARD policy in a few words: what happens to forwarded packets no rule
//! decides. iptables' filter FORWARD chains (nft and legacy) and native nftables base chains
//! on the forward hook are read; one that drops wins, since a packet must pass them all.

use crate::model::firewall::IpFamily;
use crate::model::Namespace;

/// The FORWARD policy as the box prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardPolicy {
    /// `FORWARD DROP · 3 rules`, `FORWARD ACCEPT (no rules)`, `nft forward drop (inet fw)`.
    pub text: String,
    /// The policy drops what no rule accepts.
    pub drops: bool,
}

/// `None` when the firewall was not read.
pub(super) fn forward_policy(ns: &Namespace) -> Option<ForwardPolicy> {
    let fw = ns.firewall.as_ref()?;
    let mut found: Vec<ForwardPolicy> = Vec::new();
    for t in fw
        .iptables
        .iter()
        .filter(|t| t.name == "filter" && t.family == IpFamily::V4)
    {
        if let Some(c) = t.chain("FORWARD") {
            let policy = c.policy.as_deref().unwrap_or("ACCEPT");
            found.push(ForwardPolicy {
                text: format!("FORWARD {policy} · {}", rules(c.rules.len())),
                drops: policy != "ACCEPT",
            });
        }
    }
    for t in fw.nft.iter().filter(|t| !fw.claimed_by_iptables_nft(t)) {
        for c in t
            .chains
            .iter()
            .filter(|c| c.hook.as_deref() == Some("forward"))
        {
            let policy = c.policy.as_deref().unwrap_or("accept");
            found.push(ForwardPolicy {
                text: format!("nft forward {policy} ({} {})", t.family, t.name),
                drops: policy != "accept",
            });
        }
    }
    if found.is_empty() {
        return Some(ForwardPolicy {
            text: "FORWARD ACCEPT (no rules)".into(),
            drops: false,
        });
    }
    // The one that drops first: forwarded packets must pass every chain.
    found.sort_by_key(|p| !p.drops);
    found.dedup();
    let drops = found[0].drops;
    let text = found
        .iter()
        .map(|p| p.text.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    Some(ForwardPolicy { text, drops })
}

fn rules(n: usize) -> String {
    crate::text::plural(n, "rule")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::firewall::iptables_save;
    use crate::model::firewall::{Firewall, NftChain, NftTable, XtSource};
    use crate::model::NamespaceKind;

    fn router(iptables: &str, nft: Vec<NftTable>) -> Namespace {
        let mut ns = Namespace::new("r".into(), NamespaceKind::Named, 1);
        let (tables, errors) = iptables_save::parse(iptables, IpFamily::V4, XtSource::Nft);
        assert!(errors.is_empty(), "{errors:?}");
        ns.firewall = Some(Firewall {
            iptables: tables,
            nft,
            ..Firewall::default()
        });
        ns
    }

    fn nft_forward(policy: &str) -> NftTable {
        NftTable {
            family: "inet".into(),
            name: "fw".into(),
            handle: None,
            chains: vec![NftChain {
                name: "fwd".into(),
                handle: None,
                hook: Some("forward".into()),
                prio: Some(0),
                policy: Some(policy.into()),
                chain_type: Some("filter".into()),
                rules: Vec::new(),
            }],
            sets: Vec::new(),
            named: Vec::new(),
        }
    }

    #[test]
    fn iptables_and_native_nft_policies_the_dropping_one_first() {
        let accept = "*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD -j ACCEPT\nCOMMIT\n";
        let p = forward_policy(&router(accept, Vec::new())).expect("read");
        assert_eq!(p.text, "FORWARD ACCEPT · 1 rule");
        assert!(!p.drops);
        let p = forward_policy(&router(accept, vec![nft_forward("drop")])).expect("read");
        assert_eq!(
            p.text,
            "nft forward drop (inet fw), FORWARD ACCEPT · 1 rule"
        );
        assert!(p.drops);
        let p = forward_policy(&router("", Vec::new())).expect("read");
        assert_eq!(p.text, "FORWARD ACCEPT (no rules)");
        let unread = Namespace::new("u".into(), NamespaceKind::Named, 2);
        assert_eq!(forward_policy(&unread), None);
    }
}
