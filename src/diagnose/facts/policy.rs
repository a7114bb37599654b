//! Route lookup through `ip rule`, as the kernel does it for a reverse-path check: rules in
//! priority order, each table asked in turn. A rule whose selectors depend on what the lookup
//! cannot know (a source address, an input or output interface, a mark) makes the answer
//! "cannot judge" when its table would answer, so a rule stays quiet rather than guessing.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::route_dst;
use crate::model::{Namespace, Route, RoutingRule};

/// What the kernel's lookup of a destination gives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Policy<'a> {
    Route(&'a Route),
    /// No rule's table has a route (or a `blackhole`/`unreachable`/`prohibit` rule hit first).
    NoRoute,
    /// A rule that might apply depends on something the lookup does not know.
    CannotJudge,
}

/// The route `ip` takes in `ns`, following its IPv4 policy rules; the main-table-and-others
/// longest match of [`super::lookup`] when the snapshot recorded no rules (an old snapshot).
pub fn lookup_by_rules(ns: &Namespace, ip: Ipv4Addr) -> Policy<'_> {
    let mut rules: Vec<&RoutingRule> = ns.rules.iter().filter(|r| r.family == "inet").collect();
    if rules.is_empty() {
        return super::lookup(ns, ip).map_or(Policy::NoRoute, Policy::Route);
    }
    rules.sort_by_key(|r| r.priority);
    for r in rules {
        let Some(selects) = selects(r, ip) else {
            if in_table(ns, r.table, ip, r.suppress_prefixlen).is_some() {
                return Policy::CannotJudge;
            }
            continue;
        };
        if !selects {
            continue;
        }
        match r.action.as_str() {
            "lookup" => {
                if let Some(route) = in_table(ns, r.table, ip, r.suppress_prefixlen) {
                    return Policy::Route(route);
                }
            }
            "blackhole" | "unreachable" | "prohibit" => return Policy::NoRoute,
            "nop" => {}
            // `goto` and anything newer: not modelled.
            _ => return Policy::CannotJudge,
        }
    }
    Policy::NoRoute
}

/// Whether rule `r` selects a lookup of `ip` with no mark from the local host (`iif lo`);
/// `None` when it depends on a source address or an output interface.
fn selects(r: &RoutingRule, ip: Ipv4Addr) -> Option<bool> {
    if r.src.as_deref().is_some_and(|s| !is_any(s)) || r.oif.is_some() {
        return None;
    }
    let mut hit = true;
    if let Some(d) = &r.dst {
        hit &= d.parse::<Ipv4Net>().ok()?.contains(&ip);
    }
    if let Some(i) = &r.iif {
        hit &= i == "lo";
    }
    if let Some(m) = r.fwmark {
        hit &= m & r.fwmask.unwrap_or(u32::MAX) == 0;
    }
    Some(hit != r.invert)
}

fn is_any(net: &str) -> bool {
    net.parse::<Ipv4Net>().is_ok_and(|n| n.prefix_len() == 0)
}

/// Longest match of `ip` in one table, lowest metric among equals; routes with a prefix of
/// `suppress` or shorter do not count (`suppress_prefixlength`).
fn in_table(ns: &Namespace, table: u32, ip: Ipv4Addr, suppress: Option<u32>) -> Option<&Route> {
    ns.routes
        .iter()
        .filter(|r| r.table == table)
        .filter_map(|r| route_dst(r).map(|d| (r, d)))
        .filter(|(_, d)| d.contains(&ip))
        .filter(|(_, d)| suppress.is_none_or(|s| u32::from(d.prefix_len()) > s))
        .max_by_key(|(r, d)| (d.prefix_len(), std::cmp::Reverse(r.metric.unwrap_or(0))))
        .map(|(r, _)| r)
}
