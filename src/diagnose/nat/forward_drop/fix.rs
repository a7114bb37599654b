//! The fix for `forward-drop`: an ACCEPT for each flow found dropped, in the direction it
//! was dropped (iptables rules, or native nft accepts through the opener), and the finding
//! that carries it.

use super::super::TAG;
use super::Flow;
use crate::diagnose::nft_fix::Opener;
use crate::diagnose::{Finding, Severity};
use crate::model::Namespace;
use crate::plan::{NftAccept, Step};

/// The iptables step that accepts `rule` first in filter FORWARD, for a drop in the filter
/// table (`None`: netlens does not open it).
pub(super) fn xt_accept(ns: &Namespace, rule: Vec<String>) -> impl Fn(&str) -> Option<Step> + '_ {
    move |by: &str| {
        by.starts_with("filter ").then(|| Step::InsertIptablesRule {
            ns: ns.name.clone(),
            table: "filter".into(),
            chain: "FORWARD".into(),
            position: 1,
            rule: rule
                .iter()
                .cloned()
                .chain(TAG.map(str::to_string))
                .chain(["-j".into(), "ACCEPT".into()])
                .collect(),
        })
    }
}

/// The iptables match and the nft accept for the flow's new connections.
pub(super) fn accept_new(fl: &Flow) -> (Vec<String>, NftAccept) {
    let src = fl.src_net.map(|n| n.to_string());
    let dst = fl.dst_net.map(|n| n.to_string());
    let mut r = vec!["-i".into(), fl.iif.clone(), "-o".into(), fl.oif.clone()];
    if let Some(s) = &src {
        r.extend(["-s".into(), s.clone()]);
    }
    if let Some(d) = &dst {
        r.extend(["-d".into(), d.clone()]);
    }
    match &fl.port {
        Some((p, _)) if p == "icmp" => r.extend(["-p".into(), p.clone()]),
        Some((p, n)) => {
            r.extend(["-p".into(), p.clone(), "--dport".into(), n.to_string()]);
        }
        None => {}
    }
    let m = NftAccept {
        iif: Some(fl.iif.clone()),
        oif: Some(fl.oif.clone()),
        saddr: fl.src_net.map(Into::into),
        daddr: fl.dst_net.map(Into::into),
        proto: fl.port.as_ref().map(|p| p.0.clone()),
        // A ping is matched by its protocol alone.
        dport: fl.port.as_ref().filter(|p| p.0 != "icmp").map(|p| p.1),
        established: false,
    };
    (r, m)
}

/// The iptables match and the nft accept for the flow's replies.
pub(super) fn accept_reply(fl: &Flow) -> (Vec<String>, NftAccept) {
    let src = fl.src_net.map(|n| n.to_string());
    let dst = fl.dst_net.map(|n| n.to_string());
    // A routed reply may come back in on another link (asymmetric routes): its
    // interfaces are not pinned, conntrack only lets replies of accepted flows by.
    let pinned = fl.iif == fl.oif;
    let mut r = if pinned {
        vec!["-i".into(), fl.oif.clone(), "-o".into(), fl.iif.clone()]
    } else {
        Vec::new()
    };
    if let Some(d) = &dst {
        r.extend(["-s".into(), d.clone()]);
    }
    if let Some(s) = &src {
        r.extend(["-d".into(), s.clone()]);
    }
    r.extend([
        "-m".into(),
        "conntrack".into(),
        "--ctstate".into(),
        "RELATED,ESTABLISHED".into(),
    ]);
    let m = NftAccept {
        iif: pinned.then(|| fl.oif.clone()),
        oif: pinned.then(|| fl.iif.clone()),
        saddr: fl.dst_net.map(Into::into),
        daddr: fl.src_net.map(Into::into),
        proto: None,
        dport: None,
        established: true,
    };
    (r, m)
}

/// The finding: what is dropped, the chains that drop it, and the opener's steps as its fix
/// (or why there is none).
pub(super) fn finding(
    ns: &Namespace,
    why: &[String],
    bridged: bool,
    beyond_pings: bool,
    mut opener: Opener<'_>,
) -> Finding {
    let bridged = if bridged {
        " With net.bridge.bridge-nf-call-iptables=1 traffic between two ports of one bridge \
         passes FORWARD too."
    } else {
        ""
    };
    let mut finding = Finding::new(
        "forward-drop",
        if beyond_pings {
            Severity::Error
        } else {
            Severity::Warning
        },
        &ns.name,
        None,
        format!("{} drops the traffic it forwards", ns.name),
        format!(
            "{} forwards traffic it then drops: {}.{bridged}",
            ns.name,
            why.join("; ")
        ),
    );
    // An iptables ACCEPT does not override a drop in a native nft base chain (each base
    // chain decides on its own): the opener put the accept in each chain that drops.
    let nft_chains = opener.nft_chains();
    let xt = opener
        .steps
        .iter()
        .any(|s| matches!(s, Step::InsertIptablesRule { .. }));
    if xt || nft_chains.is_empty() {
        finding = finding.object("rule", &ns.name, "filter FORWARD policy");
    }
    for c in &nft_chains {
        finding = finding.object("rule", &ns.name, c.clone());
    }
    if !opener.rejected.is_empty() || opener.steps.is_empty() {
        opener.rejected.dedup();
        finding.fix_rejected = Some(format!(
            "netlens cannot open every dropped flow: {}",
            opener.rejected.join("; ")
        ));
    } else {
        let title = if nft_chains.is_empty() {
            "accept the dropped flows (and their replies) in FORWARD".to_string()
        } else {
            let mut at: Vec<String> = nft_chains.clone();
            if xt {
                at.insert(0, "FORWARD".into());
            }
            format!(
                "accept the dropped flows (and their replies) in {}",
                at.join(" and ")
            )
        };
        finding = finding.fix(title, opener.steps);
    }
    finding
}
