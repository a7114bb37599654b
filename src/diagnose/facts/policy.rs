//! Route lookup through `ip rule`, as the kernel does it for a reverse-path check
//! (`fib_validate_source`): rules in priority order, each table asked in turn, for a flow
//! whose destination is the packet's source, whose *source is the packet's destination*, whose
//! *input interface is the link the packet is forwarded out of* (`lo` only for traffic to the
//! host itself), with no output interface and no mark (unless `src_valid_mark`, which the
//! snapshot does not record). So `from` rules are judged against the destinations of the
//! checked packets, `iif` rules against the forwarding link, and `oif` rules never select. A
//! `from` rule that covers part of those destinations (some packets would take it, others
//! not), an `iif` rule when the forwarding link is not known, or an action not modelled
//! (`goto`) makes the answer "cannot judge" when its table would answer, so the rule stays
//! quiet rather than guessing. (Proved against the kernel in tests/doctor/doctor_routing.rs:
//! `strict_rp_filter_follows_source_rules_of_the_reverse_lookup`.)

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::route_dst;
use crate::model::{Namespace, Route, RouteFamily, RoutingRule, RoutingRuleAction};

/// What the kernel's lookup of a destination gives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Policy<'a> {
    Route(&'a Route),
    /// No rule's table has a route (or a `blackhole`/`unreachable`/`prohibit` rule hit first).
    NoRoute,
    /// A rule that might apply depends on something the lookup does not know.
    CannotJudge,
}

/// The packets a reverse-path check is for: their destinations, and the link `ns` forwards
/// them out of (`None` when not known).
#[derive(Debug, Clone, Copy)]
pub struct Checked<'a> {
    pub to: Ipv4Net,
    pub out: Option<&'a str>,
}

/// The route back to `ip` in `ns` for the `checked` packets from `ip`, following its IPv4
/// policy rules; the main-table-and-others longest match of [`super::lookup`] when the
/// snapshot recorded no rules (an old snapshot).
pub fn lookup_by_rules<'n>(ns: &'n Namespace, ip: Ipv4Addr, checked: Checked) -> Policy<'n> {
    let mut rules: Vec<&RoutingRule> = ns
        .rules
        .iter()
        .filter(|r| r.family == RouteFamily::Inet)
        .collect();
    if rules.is_empty() {
        return super::lookup(ns, ip).map_or(Policy::NoRoute, Policy::Route);
    }
    rules.sort_by_key(|r| r.priority);
    for r in rules {
        let Some(selects) = selects(r, ip, checked) else {
            if in_table(ns, r.table, ip, r.suppress_prefixlen).is_some() {
                return Policy::CannotJudge;
            }
            continue;
        };
        if !selects {
            continue;
        }
        match r.action {
            RoutingRuleAction::Lookup => {
                if let Some(route) = in_table(ns, r.table, ip, r.suppress_prefixlen) {
                    return Policy::Route(route);
                }
            }
            RoutingRuleAction::Blackhole
            | RoutingRuleAction::Unreachable
            | RoutingRuleAction::Prohibit => return Policy::NoRoute,
            RoutingRuleAction::Nop => {}
            // `goto` and anything newer: not modelled.
            _ => return Policy::CannotJudge,
        }
    }
    Policy::NoRoute
}

/// Whether rule `r` selects the reverse lookup of `ip` for the `checked` packets (iif their
/// output link, no oif, no mark); `None` when that depends on which of them it is, or on a
/// link not known.
fn selects(r: &RoutingRule, ip: Ipv4Addr, checked: Checked) -> Option<bool> {
    let to = checked.to;
    let mut hit = true;
    if let Some(s) = r.src.as_deref().filter(|s| !is_any(s)) {
        let from = s.parse::<Ipv4Net>().ok()?;
        if from.contains(&to) {
            // Every packet's reverse lookup has a source in `from`.
        } else if to.contains(&from) {
            // Prefixes nest or are disjoint: only some of the packets take this rule.
            return None;
        } else {
            hit = false;
        }
    }
    // The reverse lookup has no output interface: `oif X` never matches it.
    if r.oif.is_some() {
        hit = false;
    }
    if let Some(d) = &r.dst {
        hit &= d.parse::<Ipv4Net>().ok()?.contains(&ip);
    }
    if let Some(i) = &r.iif {
        hit &= i == checked.out?;
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
