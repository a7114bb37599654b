//! A hub's NAT in a few words: its source NAT rules (iptables and native nftables) spelled
//! short, then how many DNAT rules it has.

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
                let mut s = t.to_string();
                if let Some(src) = &r.rule.source {
                    s.push_str(&format!(
                        " {}{}",
                        if src.negated { "! " } else { "" },
                        src.value
                    ));
                }
                if let Some(o) = &r.rule.out_iface {
                    s.push_str(&format!(
                        " {}-o {}",
                        if o.negated { "! " } else { "" },
                        o.value
                    ));
                }
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
