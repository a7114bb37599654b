//! Policy rules on the live system: [`Step::DelRule`] deletes the one rule equal to the step's
//! in every attribute the snapshot holds (several rules may share a priority, and `ip rule
//! del pref N` would take the first of them), [`Step::AddRule`] writes one back with all of
//! them. A rule that also matches on what the snapshot does not hold (uid range, ip proto,
//! ports, tos, l3mdev, …) could not be put back exactly: deleting it is refused.

use std::net::IpAddr;

use futures::TryStreamExt;
use netlink_packet_core::Nla;
use netlink_packet_route::route::{RouteHeader, RouteProtocol};
use netlink_packet_route::rule::{RuleAction, RuleAttribute, RuleFlags, RuleMessage};
use netlink_packet_route::AddressFamily;
use rtnetlink::{Handle, IpVersion};

use std::fmt;

use super::super::exec::Engine;
use super::super::shell::ip;
use super::super::step::Step;
use super::rule_text::{check_rule, rule_args};
use super::{lines, not_mine, Family, Prepared, Role, StepError};
use crate::model::{RouteFamily, RoutingRule, RoutingRuleAction};
use crate::netlink::convert::rule_from;
use crate::netlink::query::nl_err;

pub struct Rules;

impl Family for Rules {
    fn describe(&self, step: &Step, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match step {
            Step::DelRule { ns, rule } => write!(f, "delete policy rule `{}` in {ns}", shown(rule)),
            Step::AddRule { ns, rule } => write!(f, "add policy rule `{}` in {ns}", shown(rule)),
            _ => not_mine(step),
        }
    }

    fn check(&self, step: &Step, _: Role) -> Result<(), String> {
        let (Step::DelRule { rule, .. } | Step::AddRule { rule, .. }) = step else {
            not_mine(step)
        };
        check_rule(rule)
    }

    fn commands(&self, step: &Step) -> Vec<String> {
        let (verb, ns, rule) = match step {
            Step::DelRule { ns, rule } => ("del", ns, rule),
            Step::AddRule { ns, rule } => ("add", ns, rule),
            _ => not_mine(step),
        };
        let mut head = Vec::new();
        if rule.family == RouteFamily::Inet6 {
            head.push("-6");
        }
        head.extend(["rule", verb]);
        let mut argv = ip(ns, &head);
        argv.extend(rule_args(rule));
        lines(&[argv])
    }

    fn prepare(&self, eng: &mut Engine, step: &Step) -> Result<Prepared, StepError> {
        prepare(eng, step)
    }

    fn execute(&self, eng: &mut Engine, step: &Step) -> Result<Option<Vec<Step>>, StepError> {
        execute(eng, step).map(|()| None)
    }
}

/// The netlink action of a rule's action; `None` for one netlens does not write.
pub fn action_of(action: &RoutingRuleAction) -> Option<RuleAction> {
    Some(match action {
        RoutingRuleAction::Lookup => RuleAction::ToTable,
        RoutingRuleAction::Goto => RuleAction::Goto,
        RoutingRuleAction::Nop => RuleAction::Nop,
        RoutingRuleAction::Blackhole => RuleAction::Blackhole,
        RoutingRuleAction::Unreachable => RuleAction::Unreachable,
        RoutingRuleAction::Prohibit => RuleAction::Prohibit,
        RoutingRuleAction::Unspec | RoutingRuleAction::Other(_) => return None,
    })
}

/// Whether the live `have` is the rule `want` names. A step without a protocol (written by
/// hand) matches any.
pub fn same_rule(have: &RoutingRule, want: &RoutingRule) -> bool {
    let mut have = have.clone();
    if want.protocol.is_none() {
        have.protocol = None;
    }
    have == *want
}

/// Why a live rule cannot be written back from what the snapshot holds, if it cannot.
fn unmodelled(m: &RuleMessage) -> Option<String> {
    if m.header.tos != 0 {
        return Some(format!("tos {:#x}", m.header.tos));
    }
    m.attributes.iter().find_map(|a| match a {
        RuleAttribute::UidRange(_) => Some("uidrange".to_string()),
        RuleAttribute::IpProtocol(_) => Some("ipproto".into()),
        RuleAttribute::SourcePortRange(_) => Some("sport".into()),
        RuleAttribute::DestinationPortRange(_) => Some("dport".into()),
        RuleAttribute::L3MDev(true) => Some("l3mdev".into()),
        RuleAttribute::TunId(id) if *id != 0 => Some("tun_id".into()),
        RuleAttribute::SuppressIfGroup(g) if *g != u32::MAX => Some("suppress_ifgroup".into()),
        RuleAttribute::Realm(_) => Some("realms".into()),
        RuleAttribute::Other(nla) => Some(format!("attribute {}", nla.kind())),
        _ => None,
    })
}

struct Live {
    rule: RoutingRule,
    msg: RuleMessage,
}

async fn live_rules(h: &Handle, ns: &str, family: &RouteFamily) -> Result<Vec<Live>, String> {
    let v = if *family == RouteFamily::Inet6 {
        IpVersion::V6
    } else {
        IpVersion::V4
    };
    let msgs: Vec<RuleMessage> = h
        .rule()
        .get(v)
        .execute()
        .try_collect()
        .await
        .map_err(|e| format!("cannot list the policy rules of {ns}: {}", nl_err(e)))?;
    Ok(msgs
        .into_iter()
        .filter_map(|msg| rule_from(&msg).map(|rule| Live { rule, msg }))
        .collect())
}

/// Every rule of `family` in `ns`, in the kernel's order, each with why it could not be
/// written back exactly (see [`unmodelled`]), if it could not: what `DeleteNs` records.
pub(super) async fn listed(
    h: &Handle,
    ns: &str,
    family: &RouteFamily,
) -> Result<Vec<(RoutingRule, Option<String>)>, String> {
    let live = live_rules(h, ns, family).await?;
    Ok(live
        .into_iter()
        .map(|l| {
            let why = unmodelled(&l.msg);
            (l.rule, why)
        })
        .collect())
}

fn shown(rule: &RoutingRule) -> String {
    rule_args(rule).join(" ")
}

/// The one live rule `rule` names; `None` when there is none. Two that the snapshot cannot
/// tell apart are refused rather than guessed between.
async fn find(h: &Handle, ns: &str, rule: &RoutingRule) -> Result<Option<Live>, String> {
    let mut found: Vec<Live> = live_rules(h, ns, &rule.family)
        .await?
        .into_iter()
        .filter(|l| same_rule(&l.rule, rule))
        .collect();
    if found.len() > 1 {
        return Err(format!(
            "{} rules in {ns} look like `{}` (they differ in what netlens does not read): \
             refusing to pick one",
            found.len(),
            shown(rule)
        ));
    }
    Ok(found.pop())
}

/// `present` or `absent`, as undo compares a rule.
pub fn observe(eng: &mut Engine, ns: &str, rule: &RoutingRule) -> Result<String, String> {
    let h = eng.handle(ns)?;
    let here = eng.block_on(find(&h, ns, rule))?.is_some();
    Ok((if here { "present" } else { "absent" }).into())
}

fn prepare(eng: &mut Engine, step: &Step) -> Result<Prepared, StepError> {
    let (Step::DelRule { ns, rule } | Step::AddRule { ns, rule }) = step else {
        not_mine(step)
    };
    let h = eng.handle(ns)?;
    let live = eng.block_on(find(&h, ns, rule))?;
    let adding = matches!(step, Step::AddRule { .. });
    let (noop, inverse) = match (adding, live) {
        (true, Some(_)) | (false, None) => (true, Vec::new()),
        (true, None) => (
            false,
            vec![Step::DelRule {
                ns: ns.clone(),
                rule: rule.clone(),
            }],
        ),
        (false, Some(l)) => (false, del_inverse(eng, ns, rule, l)?),
    };
    Ok(Prepared { noop, inverse })
}

/// Undoing a delete: the rule again, then the rules of the same priority that came after it
/// deleted and added again. The kernel appends a new rule after those of its priority, and
/// among equals the first listed decides, so only that puts the order back.
fn del_inverse(
    eng: &mut Engine,
    ns: &str,
    rule: &RoutingRule,
    l: Live,
) -> Result<Vec<Step>, String> {
    let h = eng.handle(ns)?;
    let live = eng.block_on(live_rules(&h, ns, &rule.family))?;
    let at = live
        .iter()
        .position(|x| x.msg == l.msg)
        .unwrap_or(live.len());
    let after: Vec<&Live> = live[at..]
        .iter()
        .skip(1)
        .filter(|x| x.rule.priority == rule.priority)
        .collect();
    for x in std::iter::once(&l).chain(after.iter().copied()) {
        if let Some(what) = unmodelled(&x.msg) {
            return Err(format!(
                "refusing to delete rule `{}` in {ns}: `{}` matches on {what}, which undo \
                 could not put back",
                shown(rule),
                shown(&x.rule)
            ));
        }
    }
    let mut inverse = vec![Step::AddRule {
        ns: ns.to_string(),
        rule: l.rule.clone(),
    }];
    for x in after {
        let rule = x.rule.clone();
        inverse.push(Step::DelRule {
            ns: ns.to_string(),
            rule: rule.clone(),
        });
        inverse.push(Step::AddRule {
            ns: ns.to_string(),
            rule,
        });
    }
    Ok(inverse)
}

fn execute(eng: &mut Engine, step: &Step) -> Result<(), StepError> {
    match step {
        Step::DelRule { ns, rule } => {
            let h = eng.handle(ns)?;
            eng.block_on(async {
                let Some(l) = find(&h, ns, rule).await? else {
                    return Ok(());
                };
                h.rule().del(l.msg).execute().await.map_err(|e| {
                    StepError::kernel(format!("cannot delete rule `{}` in {ns}", shown(rule)), e)
                })
            })
        }
        Step::AddRule { ns, rule } => {
            let msg = message(rule)?;
            let h = eng.handle(ns)?;
            eng.block_on(async {
                let mut req = h.rule().add();
                *req.message_mut() = msg;
                req.execute().await.map_err(|e| {
                    StepError::kernel(format!("cannot add rule `{}` in {ns}", shown(rule)), e)
                })
            })
        }
        _ => not_mine(step),
    }
}

fn prefix(sel: &str) -> Result<(IpAddr, u8), String> {
    let net: ipnet::IpNet = sel
        .parse()
        .map_err(|_| format!("rule selector {sel:?} is not an address/prefix"))?;
    Ok((net.addr(), net.prefix_len()))
}

/// The RTM_NEWRULE message of `rule`, every attribute `ip rule add` would send for it.
pub fn message(rule: &RoutingRule) -> Result<RuleMessage, String> {
    let mut m = RuleMessage::default();
    m.header.family = match rule.family {
        RouteFamily::Inet6 => AddressFamily::Inet6,
        _ => AddressFamily::Inet,
    };
    m.header.action =
        action_of(&rule.action).ok_or_else(|| format!("rule action {:?}", rule.action))?;
    // Tables past 255 travel in FRA_TABLE only, as iproute2 sends them.
    m.header.table = u8::try_from(rule.table).unwrap_or(RouteHeader::RT_TABLE_UNSPEC);
    if rule.invert {
        m.header.flags = RuleFlags::Invert;
    }
    let a = &mut m.attributes;
    a.push(RuleAttribute::Priority(rule.priority));
    if rule.table != 0 {
        a.push(RuleAttribute::Table(rule.table));
    }
    if let Some(src) = &rule.src {
        let (ip, len) = prefix(src)?;
        m.header.src_len = len;
        m.attributes.push(RuleAttribute::Source(ip));
    }
    if let Some(dst) = &rule.dst {
        let (ip, len) = prefix(dst)?;
        m.header.dst_len = len;
        m.attributes.push(RuleAttribute::Destination(ip));
    }
    let a = &mut m.attributes;
    if let Some(i) = &rule.iif {
        a.push(RuleAttribute::Iifname(i.clone()));
    }
    if let Some(o) = &rule.oif {
        a.push(RuleAttribute::Oifname(o.clone()));
    }
    if let Some(mark) = rule.fwmark {
        a.push(RuleAttribute::FwMark(mark));
    }
    if let Some(mask) = rule.fwmask {
        a.push(RuleAttribute::FwMask(mask));
    }
    if let Some(g) = rule.goto {
        a.push(RuleAttribute::Goto(g));
    }
    if let Some(p) = rule.suppress_prefixlen {
        a.push(RuleAttribute::SuppressPrefixLen(p));
    }
    if let Some(p) = &rule.protocol {
        let n = p
            .number()
            .ok_or_else(|| format!("unknown rule protocol {:?}", p.as_str()))?;
        a.push(RuleAttribute::Protocol(RouteProtocol::from(n)));
    }
    Ok(m)
}
