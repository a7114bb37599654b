//! A hub's NAT in a few words: its source NAT rules (iptables and native nftables) spelled
//! short — `masq 10.0.0.0/24 → eth0`, what is rewritten and where it leaves — then how many
//! DNAT rules it has.

use crate::model::firewall::XtRule;
use crate::model::Namespace;

/// Source NAT rules spelled short, then the number of DNAT rules.
pub(super) fn nat_summary(ns: &Namespace) -> Vec<String> {
    let Some(fw) = &ns.firewall else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut dnat = 0usize;
    for r in fw.nat_rules() {
        match r.rule.target.as_deref() {
            Some(t @ ("MASQUERADE" | "SNAT")) => {
                let s = source_nat(t, r.rule);
                if !out.contains(&s) {
                    out.push(s);
                }
            }
            Some("DNAT") => dnat += 1,
            _ => {}
        }
    }
    for t in fw.nft.iter().filter(|t| !t.looks_like_iptables_nft()) {
        for c in &t.chains {
            for r in &c.rules {
                match r.verdict.as_deref() {
                    Some(v @ ("masquerade" | "snat")) => {
                        let s = format!("nft {v} ({} {})", t.name, c.name);
                        if !out.contains(&s) {
                            out.push(s);
                        }
                    }
                    Some("dnat") => dnat += 1,
                    _ => {}
                }
            }
        }
    }
    if dnat > 0 {
        out.push(format!("{dnat} DNAT"));
    }
    out
}

/// `masq 10.244.0.0/16 → !cni0`, `SNAT 10.0.0.0/24 → eth0 as 203.0.113.7`: the rule's
/// source and out interface, `any` for one it does not match on.
fn source_nat(target: &str, rule: &XtRule) -> String {
    let not = |negated: bool| if negated { "!" } else { "" };
    let src = rule.source.as_ref().map_or("any".to_string(), |c| {
        format!("{}{}", not(c.negated), c.value)
    });
    let out = rule.out_iface.as_ref().map_or("any".to_string(), |c| {
        format!("{}{}", not(c.negated), c.value)
    });
    let mut s = match target {
        "MASQUERADE" => format!("masq {src} → {out}"),
        t => format!("{t} {src} → {out}"),
    };
    if let Some((_, to)) = rule.target_args.iter().find(|(k, _)| k == "--to-source") {
        s.push_str(&format!(" as {to}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::firewall::iptables_save;
    use crate::model::firewall::{Firewall, IpFamily, XtSource};
    use crate::model::NamespaceKind;

    #[test]
    fn source_nat_says_what_is_rewritten_and_where_it_leaves() {
        let rules = "*nat\n:POSTROUTING ACCEPT [0:0]\n\
            -A POSTROUTING -s 10.244.0.0/16 ! -o cni0 -j MASQUERADE\n\
            -A POSTROUTING -o eth0 -j SNAT --to-source 203.0.113.7\n\
            -A PREROUTING -p tcp --dport 80 -j DNAT --to-destination 10.244.1.2\n\
            COMMIT\n";
        let (tables, errors) = iptables_save::parse(rules, IpFamily::V4, XtSource::Nft);
        assert!(errors.is_empty(), "{errors:?}");
        let mut ns = Namespace::new("r".into(), NamespaceKind::Named, 1);
        ns.firewall = Some(Firewall {
            iptables: tables,
            ..Firewall::default()
        });
        assert_eq!(
            nat_summary(&ns),
            [
                "masq 10.244.0.0/16 → !cni0",
                "SNAT any → eth0 as 203.0.113.7",
                "1 DNAT"
            ]
        );
    }
}
