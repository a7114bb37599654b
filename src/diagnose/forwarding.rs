//! Forwarding sysctls: a namespace other namespaces route through must have ip_forward=1, and
//! strict reverse-path filtering must not drop traffic that arrives on one link and would be
//! answered through another.

use super::facts::{lookup, show_dst, Facts};
use super::{Finding, Severity};
use crate::plan::Step;

/// `forwarding-off`: someone's gateway with net.ipv4.ip_forward=0.
pub fn check(f: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    for (_, ns) in &f.namespaces {
        if ns.sysctls.ip_forward != Some(0) {
            continue;
        }
        let uses = f.transit_uses(ns);
        let Some(first) = uses.first() else { continue };
        // Routing between two subnets: it has another subnet, or a route onwards.
        let onwards =
            f.live_subnets(ns).len() >= 2 || super::facts::gateway_routes(ns).next().is_some();
        if !onwards {
            continue;
        }
        let evidence: Vec<String> = uses
            .iter()
            .take(4)
            .map(|u| {
                format!(
                    "{} routes {} via {} ({} on {})",
                    u.from.name,
                    show_dst(u.dst),
                    u.gw,
                    ns.name,
                    u.link.name
                )
            })
            .collect();
        let more = if uses.len() > 4 {
            format!(" and {} more routes", uses.len() - 4)
        } else {
            String::new()
        };
        let mut finding = Finding::new(
            "forwarding-off",
            Severity::Error,
            &ns.name,
            None,
            format!("{} is a gateway but does not forward packets", ns.name),
            format!(
                "{}{more}, but {} has net.ipv4.ip_forward=0, so it drops every packet not \
                 addressed to itself.",
                evidence.join("; "),
                ns.name
            ),
        )
        .object("sysctl", &ns.name, "net.ipv4.ip_forward")
        .object("namespace", &first.from.name, "");
        for u in uses.iter().take(4) {
            finding = finding.object("route", &u.from.name, show_dst(u.dst));
        }
        out.push(finding.fix(
            format!("turn on IPv4 forwarding in {}", ns.name),
            vec![Step::SetSysctl {
                ns: ns.name.clone(),
                key: "net/ipv4/ip_forward".into(),
                value: "1".into(),
                persist: false,
            }],
        ));
    }
    out
}

/// `rp-filter-strict`: strict rp_filter (1) on a link where traffic from another namespace
/// arrives but the reply would leave through a different link, so the kernel drops it.
pub fn check_rp_filter(f: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    for (_, ns) in &f.namespaces {
        let all = ns.sysctls.rp_filter_all.unwrap_or(0);
        for u in f.transit_uses(ns) {
            let iface = ns.sysctls.rp_filter.get(&u.link.name).copied().unwrap_or(0);
            // The kernel uses max(all, iface); 1 is strict, 2 loose.
            if all.max(iface) != 1 {
                continue;
            }
            // The source the sender uses: its address on the link towards the gateway.
            let Some(src) = f
                .held_in(u.from)
                .find(|h| h.live() && h.net.trunc().contains(&u.gw))
            else {
                continue;
            };
            let Some(back) = lookup(ns, src.ip()) else {
                continue;
            };
            let Some(dev) = back.dev.as_deref() else {
                continue;
            };
            if dev == u.link.name || back.kind != "unicast" {
                continue;
            }
            let key = format!("net/ipv4/conf/{}/rp_filter", u.link.name);
            out.push(
                Finding::new(
                    "rp-filter-strict",
                    Severity::Error,
                    &ns.name,
                    Some(&u.link.name),
                    format!(
                        "strict rp_filter on {} drops traffic from {}",
                        u.link.name, u.from.name
                    ),
                    format!(
                        "{} sends {} via {} into {} on {}, from {}; {} routes {} back out of \
                         {dev}, not {}, and rp_filter is strict there (all={all}, {}={iface}), \
                         so those packets are dropped as spoofed.",
                        u.from.name,
                        show_dst(u.dst),
                        u.gw,
                        ns.name,
                        u.link.name,
                        src.ip(),
                        ns.name,
                        src.ip(),
                        u.link.name,
                        u.link.name
                    ),
                )
                .object("link", &ns.name, u.link.name.clone())
                .object("sysctl", &ns.name, key.replace('/', "."))
                .fix(
                    format!("loose rp_filter on {} in {}", u.link.name, ns.name),
                    vec![Step::SetSysctl {
                        ns: ns.name.clone(),
                        key,
                        value: "2".into(),
                        persist: false,
                    }],
                ),
            );
        }
    }
    out
}
