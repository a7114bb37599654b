//! Routes and policy rules that throw traffic away: `drop-route` (a `blackhole`,
//! `unreachable` or `prohibit` route) and `policy-rule` (an `ip rule` that drops, or sends a
//! lookup to a table whose route drops or leads to a gateway nobody holds).
//!
//! Such routes are often deliberate (Calico's blackhole per IPAM block, a "null route" for an
//! aggregate), so a finding needs a victim: an address that a namespace of the snapshot
//! really holds, whose lookup ends in the drop. Unused space a blackhole covers is nobody's
//! problem.

use std::net::Ipv4Addr;

use ipnet::{IpNet, Ipv4Net};

use super::facts::{lookup_by_rules, route_dst, route_gw, show_dst, Checked, Facts, Held, Policy};
use super::no_default::add_default;
use super::{Finding, Severity};
use crate::model::{Namespace, Route, RoutingRule, RoutingRuleAction};
use crate::model::{RouteFamily, RouteKind};
use crate::plan::{RouteSpec, Step};

/// Victims named in a finding (the rest are counted).
const SHOWN: usize = 3;

/// Whether the route `ns` takes to `ip` is one that drops (then `drop-route`, not
/// `no-route`, is the finding).
pub(super) fn ends_in_drop(ns: &Namespace, ip: Ipv4Addr) -> bool {
    super::facts::lookup(ns, ip).is_some_and(|r| r.kind.drops())
}

/// Live addresses other namespaces hold in `net`: what a route or rule for `net` concerns.
fn victims<'a>(f: &'a Facts, ns: &Namespace, net: Ipv4Net) -> Vec<&'a Held<'a>> {
    let mut seen: Vec<Ipv4Addr> = Vec::new();
    f.held
        .iter()
        .filter(|h| h.live() && h.ns.name != ns.name && net.contains(&h.ip()))
        .filter(|h| {
            let new = !seen.contains(&h.ip());
            seen.push(h.ip());
            new
        })
        .collect()
}

fn list(v: &[&Held]) -> String {
    let mut s: Vec<String> = v
        .iter()
        .take(SHOWN)
        .map(|h| format!("{} ({})", h.ip(), h.ns.name))
        .collect();
    if v.len() > SHOWN {
        s.push(format!("and {} more", v.len() - SHOWN));
    }
    s.join(", ")
}

pub fn check(f: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    for (_, ns) in &f.namespaces {
        for r in ns
            .routes
            .iter()
            .filter(|r| r.table != 255 && r.kind.drops())
        {
            if let Some(finding) = drop_route(f, ns, r) {
                out.push(finding);
            }
        }
        for rule in ns
            .rules
            .iter()
            .filter(|r| r.family == RouteFamily::Inet && !builtin(r))
        {
            if let Some(finding) = policy_rule(f, ns, rule) {
                out.push(finding);
            }
        }
    }
    out
}

/// The lookup of a packet the namespace sends itself, from any source: a `from` rule covers
/// only some sources (cannot judge), `iif lo` matches.
const LOCAL: Checked = Checked {
    to: Ipv4Net::new_assert(Ipv4Addr::UNSPECIFIED, 0),
    out: Some("lo"),
};

/// A drop-type route that the lookup of a held address really ends in.
fn drop_route(f: &Facts, ns: &Namespace, r: &Route) -> Option<Finding> {
    let dst = route_dst(r)?;
    let hit: Vec<&Held> = victims(f, ns, dst)
        .into_iter()
        .filter(|h| matches!(lookup_by_rules(ns, h.ip(), LOCAL), Policy::Route(x) if std::ptr::eq(x, r)))
        .collect();
    if hit.is_empty() {
        return None;
    }
    let shown = show_dst(dst);
    let table = if r.table == 254 {
        String::new()
    } else {
        format!(" table {}", r.table_name)
    };
    let spec = RouteSpec {
        dst: IpNet::V4(dst),
        via: None,
        dev: None,
        table: (r.table != 254).then_some(r.table),
        metric: r.metric,
    };
    let mut steps = vec![Step::DelRoute {
        ns: ns.name.clone(),
        route: spec,
    }];
    // A default that drops replaced the way out: put one back through a gateway that leads
    // to the victims, when the segments offer one.
    let gw = (dst.prefix_len() == 0 && r.table == 254)
        .then(|| way_out(f, ns, &hit))
        .flatten();
    if let Some(g) = gw {
        steps.push(add_default(ns, g));
    }
    let what = match gw {
        Some(g) => format!("delete it and route by default via {g}"),
        None => "delete it".to_string(),
    };
    let finding = Finding::new(
        "drop-route",
        Severity::Error,
        &ns.name,
        Some(&shown),
        format!(
            "{} {shown}{table} in {} drops traffic to {}",
            r.kind,
            ns.name,
            list(&hit)
        ),
        format!(
            "{} has the route `{} {shown}{table}` (proto {}): the kernel {} every packet it \
             routes there. Addresses that namespaces of this host hold are behind it: {}. \
             Unless that traffic is meant to be refused, {what}.",
            ns.name,
            r.kind,
            r.protocol,
            match r.kind {
                RouteKind::Blackhole => "silently discards",
                RouteKind::Unreachable => "answers \"host unreachable\" to",
                _ => "answers \"administratively prohibited\" to",
            },
            list(&hit)
        ),
    )
    .object("route", &ns.name, format!("{} {shown}{table}", r.kind));
    Some(finding.fix(format!("delete the {} route {shown}", r.kind), steps))
}

/// A gateway on one of `ns`'s segments: one that forwards onward ([`Facts::segment_gateway`]),
/// or else a neighbour that itself holds one of the victims.
fn way_out(f: &Facts, ns: &Namespace, hit: &[&Held]) -> Option<Ipv4Addr> {
    let links: Vec<_> = f.held_in(ns).filter(|h| h.live()).map(|h| h.link).collect();
    if let Some(g) = links.iter().find_map(|l| f.segment_gateway(ns, l)) {
        return Some(g.ip());
    }
    for own in f.held_in(ns).filter(|h| h.live()) {
        let seg = f.segment_id(ns, own.link)?;
        let on_seg = f.segment(seg).links.iter().flat_map(|k| f.held_at_key(*k));
        for o in on_seg.filter(|o| o.live() && own.net.trunc().contains(&o.ip())) {
            if o.ns.name != ns.name && hit.iter().any(|h| h.ns.name == o.ns.name) {
                return Some(o.ip());
            }
        }
    }
    None
}

/// The three rules every namespace starts with (`local`, `main`, `default`).
fn builtin(r: &RoutingRule) -> bool {
    r.action == RoutingRuleAction::Lookup
        && r.src.is_none()
        && r.dst.is_none()
        && r.iif.is_none()
        && r.oif.is_none()
        && r.fwmark.is_none()
        && matches!(
            (r.priority, r.table),
            (0, 255) | (32766, 254) | (32767, 253)
        )
}

fn net_of(s: &str) -> Option<Ipv4Net> {
    s.parse::<Ipv4Net>()
        .ok()
        .or_else(|| s.parse::<Ipv4Addr>().ok().map(|a| a.into()))
}

/// Longest match of `ip` in table `table`.
fn in_table(ns: &Namespace, table: u32, ip: Ipv4Addr) -> Option<&Route> {
    ns.routes
        .iter()
        .filter(|r| r.table == table)
        .filter_map(|r| route_dst(r).map(|d| (r, d)))
        .filter(|(_, d)| d.contains(&ip))
        .max_by_key(|(r, d)| (d.prefix_len(), std::cmp::Reverse(r.metric.unwrap_or(0))))
        .map(|(r, _)| r)
}

/// Why the route a rule's table gives for a victim loses the packet, if it does: it drops,
/// or its gateway is on a segment whose every member netlens sees and none holds it.
fn bad_route(f: &Facts, ns: &Namespace, r: &Route) -> Option<String> {
    if r.kind.drops() {
        return Some(format!("`{} {}`", r.kind, r.dst));
    }
    let gw = route_gw(r)?;
    let link = ns.links.iter().find(|l| Some(&l.name) == r.dev.as_ref())?;
    let seg = f.segment_id(ns, link)?;
    let held = f
        .segment(seg)
        .links
        .iter()
        .flat_map(|k| f.held_at_key(*k))
        .any(|h| h.ip() == gw && h.live());
    (f.segment(seg).closed && !held).then(|| {
        format!(
            "`{} via {gw}`, an address nobody on {} holds",
            r.dst, link.name
        )
    })
}

/// A rule that selects traffic to held addresses (from held addresses, when it names a
/// source) and drops it, directly or through its table.
fn policy_rule(f: &Facts, ns: &Namespace, rule: &RoutingRule) -> Option<Finding> {
    // A mark or an inverted match depends on what the doctor cannot see; a rule that
    // suppresses prefixes is a deliberate "main table except the default" idiom.
    if rule.fwmark.is_some() || rule.invert || rule.suppress_prefixlen.is_some() {
        return None;
    }
    if let Some(src) = rule.src.as_deref().and_then(net_of) {
        if src.prefix_len() > 0 && !f.held.iter().any(|h| src.contains(&h.ip())) {
            return None;
        }
    }
    let dst = rule.dst.as_deref().and_then(net_of).unwrap_or_default();
    let mut why = None;
    let hit: Vec<&Held> = victims(f, ns, dst)
        .into_iter()
        .filter(|h| {
            let bad = if rule.action.drops() {
                Some(format!("`{}`", rule.action))
            } else if rule.action == RoutingRuleAction::Lookup {
                in_table(ns, rule.table, h.ip()).and_then(|r| bad_route(f, ns, r))
            } else {
                None
            };
            let hits = bad.is_some();
            if why.is_none() {
                why = bad;
            }
            hits
        })
        .collect();
    let why = why?;
    let sel = selector(rule);
    let finding = Finding::new(
        "policy-rule",
        Severity::Error,
        &ns.name,
        Some(&rule.priority.to_string()),
        format!(
            "ip rule {} `{sel}` in {} loses traffic to {}",
            rule.priority,
            ns.name,
            list(&hit)
        ),
        format!(
            "{} has the policy rule `{}: {sel}`, ahead of the main table; for traffic it \
             selects, the kernel ends at {why}, so packets to {} are lost. Unless the rule is \
             meant to refuse this traffic, the fix deletes that one rule (matched on all its \
             selectors, not only its priority).",
            ns.name,
            rule.priority,
            list(&hit),
        ),
    )
    .object("rule", &ns.name, format!("{}: {sel}", rule.priority));
    let step = Step::DelRule {
        ns: ns.name.clone(),
        rule: rule.clone(),
    };
    Some(finding.fix(format!("delete ip rule {}", rule.priority), vec![step]))
}

/// The rule as `ip rule` prints it after the priority.
fn selector(r: &RoutingRule) -> String {
    let mut s = format!("from {}", r.src.as_deref().unwrap_or("all"));
    if let Some(d) = &r.dst {
        s += &format!(" to {d}");
    }
    if let Some(i) = &r.iif {
        s += &format!(" iif {i}");
    }
    if let Some(o) = &r.oif {
        s += &format!(" oif {o}");
    }
    if r.action == RoutingRuleAction::Lookup {
        s += &format!(" lookup {}", crate::model::table_name(r.table));
    } else {
        s += &format!(" {}", r.action);
    }
    s
}
