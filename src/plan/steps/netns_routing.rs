//! The routing a namespace takes with it when [`Step::DeleteNs`] deletes it, beyond `lo`'s
//! routes: policy rules other than the kernel's defaults, and routes through no interface
//! (blackhole, unreachable, prohibit, throw, in any table). Each is given back by the step
//! that writes it exactly (`AddRule`, `RestoreRoute`; a default rule that was removed by
//! `DelRule`); one that step could not write exactly is refused, naming it, so the namespace
//! is never deleted with something undo would silently drop.

use netlink_packet_route::route::RouteAttribute;
use rtnetlink::Handle;

use super::super::live::{routes, LiveRoute};
use super::super::step::Step;
use super::rule::listed;
use super::rule_text::{check_rule, rule_args};
use super::StepError;
use crate::model::{RouteFamily, RouteProtocol, RoutingRule};

/// RTN_BLACKHOLE, RTN_UNREACHABLE, RTN_PROHIBIT, RTN_THROW, by their `ip route` names: the
/// route types that need no interface.
const NO_DEV_KINDS: [(u8, &str); 4] = [
    (6, "blackhole"),
    (7, "unreachable"),
    (8, "prohibit"),
    (9, "throw"),
];

/// RTPROT_KERNEL: who made the default rules.
const PROTO_KERNEL: u8 = 2;

fn busy(ns: &str, what: &str) -> StepError {
    StepError::Busy(format!(
        "refusing to delete namespace {ns}: it holds {what} that undo could not give back; \
         remove it first"
    ))
}

/// Everything routing in `ns` that a new namespace would lack, as the steps that give it
/// back after `CreateNs`; refused when one of them could not be given back exactly.
pub(super) async fn routing_steps(h: &Handle, ns: &str) -> Result<Vec<Step>, StepError> {
    let live = routes(h, ns).await?;
    let no_dev: Vec<&LiveRoute> = live.iter().filter(|r| r.oif.is_none()).collect();
    let mut steps = route_restore(ns, &no_dev)?;
    for family in [RouteFamily::Inet, RouteFamily::Inet6] {
        let rules = listed(h, ns, &family).await?;
        steps.extend(rule_restore(ns, &kernel_defaults(&family), &rules)?);
    }
    Ok(steps)
}

/// The rules a new namespace starts with: `lookup local` at 0, `lookup main` at 32766 and,
/// for IPv4, `lookup default` at 32767.
fn kernel_defaults(family: &RouteFamily) -> Vec<RoutingRule> {
    let v4_only = *family != RouteFamily::Inet6;
    [(0, 255), (32766, 254), (32767, 253)]
        .into_iter()
        .filter(|&(priority, _)| v4_only || priority != 32767)
        .map(|(priority, table)| RoutingRule {
            protocol: Some(RouteProtocol::from_number(PROTO_KERNEL)),
            ..RoutingRule::lookup(family.clone(), priority, table)
        })
        .collect()
}

/// The steps that turn a new namespace's rules (`defaults`) into `live` (listed in the
/// kernel's order, each with why it could not be written back, if it could not): the
/// defaults that are gone deleted, then every other rule added in order. The kernel puts a
/// new rule after those of its priority, so that order comes back — unless a default was
/// listed after another rule of its priority, which is refused, as is a rule held twice
/// (adding it again finds it there).
fn rule_restore(
    ns: &str,
    defaults: &[RoutingRule],
    live: &[(RoutingRule, Option<String>)],
) -> Result<Vec<Step>, StepError> {
    let mut missing: Vec<&RoutingRule> = defaults.iter().collect();
    let mut extras: Vec<&RoutingRule> = Vec::new();
    let shown = |r: &RoutingRule| rule_args(r).join(" ");
    for (rule, why) in live {
        if let Some(at) = missing.iter().position(|d| *d == rule) {
            if let Some(before) = extras.iter().find(|e| e.priority == rule.priority) {
                return Err(StepError::Busy(format!(
                    "refusing to delete namespace {ns}: its policy rule `{}` comes after `{}` \
                     of the same priority, an order undo could not give back; remove `{}` first",
                    shown(rule),
                    shown(before),
                    shown(before)
                )));
            }
            missing.remove(at);
            continue;
        }
        let what = format!("policy rule `{}`", shown(rule));
        if let Some(why) = why {
            return Err(busy(ns, &format!("{what} (it matches on {why})")));
        }
        if let Err(why) = check_rule(rule) {
            return Err(busy(ns, &format!("{what} ({why})")));
        }
        if extras.contains(&rule) {
            return Err(busy(ns, &format!("{what} twice")));
        }
        extras.push(rule);
    }
    let step = |rule: &RoutingRule, add: bool| {
        let (ns, rule) = (ns.to_string(), rule.clone());
        match add {
            true => Step::AddRule { ns, rule },
            false => Step::DelRule { ns, rule },
        }
    };
    let gone = missing.into_iter().map(|r| step(r, false));
    Ok(gone
        .chain(extras.into_iter().map(|r| step(r, true)))
        .collect())
}

/// `blackhole 10.9.0.0/16 table 100`, as `ip route` shows it.
fn route_text(r: &LiveRoute) -> String {
    let kind = NO_DEV_KINDS.iter().find(|(k, _)| *k == r.kind);
    let kind = kind.map_or_else(|| format!("type {}", r.kind), |(_, n)| n.to_string());
    format!("{kind} {}", r.spec)
}

/// Why `RestoreRoute` could not write an interface-less route back exactly, if it could not:
/// a type that needs an interface (a multipath route), or anything the step does not hold.
fn route_unmodelled(r: &LiveRoute) -> Option<String> {
    if !NO_DEV_KINDS.iter().any(|(k, _)| *k == r.kind) {
        return Some(format!("route type {}", r.kind));
    }
    if r.msg.header.tos != 0 {
        return Some(format!("tos {:#x}", r.msg.header.tos));
    }
    r.msg.attributes.iter().find_map(|a| match a {
        RouteAttribute::Destination(_)
        | RouteAttribute::Table(_)
        | RouteAttribute::Priority(_)
        | RouteAttribute::PrefSource(_)
        | RouteAttribute::CacheInfo(_) => None,
        // The variant's name (`MultiPath`, `Metrics`, `Realm`), not its whole value.
        other => Some(format!("{other:?}").split('(').next().map(str::to_string)?),
    })
}

/// The interface-less routes of a namespace as the steps that put them back; refused when
/// one holds what the step does not, or two are the same route to `RestoreRoute` (it would
/// find the first there and give back only one).
fn route_restore(ns: &str, no_dev: &[&LiveRoute]) -> Result<Vec<Step>, StepError> {
    let mut steps = Vec::new();
    for (i, r) in no_dev.iter().enumerate() {
        let what = format!("route `{}`", route_text(r));
        if let Some(why) = route_unmodelled(r) {
            return Err(busy(ns, &format!("{what} (with {why})")));
        }
        if no_dev[..i].iter().any(|earlier| earlier.matches(&r.spec)) {
            return Err(busy(ns, &format!("{what} twice")));
        }
        steps.push(r.restore_step(ns));
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_route::route::RouteMessage;

    fn rule(json: &str) -> RoutingRule {
        serde_json::from_str(json).unwrap()
    }

    fn v4_defaults() -> Vec<(RoutingRule, Option<String>)> {
        kernel_defaults(&RouteFamily::Inet)
            .into_iter()
            .map(|r| (r, None))
            .collect()
    }

    const EXTRA: &str = r#"{"family":"inet","priority":100,"src":"10.5.0.0/16","table":100,"action":"lookup","protocol":"boot"}"#;

    #[test]
    fn defaults_alone_need_nothing_and_the_v6_set_is_two() {
        let defaults = kernel_defaults(&RouteFamily::Inet);
        assert!(rule_restore("red", &defaults, &v4_defaults())
            .unwrap()
            .is_empty());
        assert_eq!(kernel_defaults(&RouteFamily::Inet6).len(), 2);
        let json = serde_json::to_string(&defaults[0]).unwrap();
        assert_eq!(
            json,
            r#"{"family":"inet","priority":0,"table":255,"action":"lookup","invert":false,"protocol":"kernel"}"#
        );
    }

    /// An extra rule comes back by `AddRule`, a removed default goes again by `DelRule`.
    #[test]
    fn extra_rules_are_added_and_removed_defaults_deleted() {
        let defaults = kernel_defaults(&RouteFamily::Inet);
        let mut live = v4_defaults();
        live.remove(2);
        live.insert(1, (rule(EXTRA), None));
        let steps = rule_restore("red", &defaults, &live).unwrap();
        assert_eq!(
            steps,
            [
                Step::DelRule {
                    ns: "red".into(),
                    rule: defaults[2].clone()
                },
                Step::AddRule {
                    ns: "red".into(),
                    rule: rule(EXTRA)
                },
            ]
        );
    }

    #[test]
    fn unwritable_twice_held_and_reordered_rules_are_refused() {
        let defaults = kernel_defaults(&RouteFamily::Inet);
        let refused = |live: &[(RoutingRule, Option<String>)]| {
            let e = rule_restore("red", &defaults, live).unwrap_err();
            assert!(matches!(e, StepError::Busy(_)), "{e:?}");
            e.to_string()
        };
        let e = refused(&[(rule(EXTRA), Some("uidrange".into()))]);
        assert_eq!(
            e,
            "refusing to delete namespace red: it holds policy rule `pref 100 from \
             10.5.0.0/16 proto boot lookup 100` (it matches on uidrange) that undo could not \
             give back; remove it first"
        );
        let e = refused(&[(rule(EXTRA), None), (rule(EXTRA), None)]);
        assert!(e.contains("twice"), "{e}");
        let unspec = EXTRA.replace("lookup", "unspec");
        let e = refused(&[(rule(&unspec), None)]);
        assert!(e.contains("not one netlens writes"), "{e}");
        let first = rule(&EXTRA.replace("\"priority\":100", "\"priority\":0"));
        let mut live = v4_defaults();
        live.insert(0, (first, None));
        let e = refused(&live);
        assert!(e.contains("comes after `pref 0 from 10.5.0.0/16"), "{e}");
    }

    fn route(dst: &str, kind: u8, table: Option<u32>) -> LiveRoute {
        LiveRoute {
            spec: serde_json::from_value(serde_json::json!({"dst": dst, "table": table})).unwrap(),
            protocol: 3,
            scope: 0,
            kind,
            prefsrc: None,
            oif: None,
            msg: RouteMessage::default(),
        }
    }

    #[test]
    fn interface_less_routes_come_back_unless_unwritable() {
        let hole = route("10.9.0.0/16", 6, Some(100));
        let steps = route_restore("red", &[&hole]).unwrap();
        assert_eq!(steps, [hole.restore_step("red")]);
        assert_eq!(route_text(&hole), "blackhole 10.9.0.0/16 table 100");
        let e = route_restore("red", &[&hole, &hole])
            .unwrap_err()
            .to_string();
        assert!(e.contains("twice"), "{e}");
        let mut multipath = route("10.8.0.0/16", 1, None);
        let e = route_restore("red", &[&multipath]).unwrap_err().to_string();
        assert!(e.contains("(with route type 1)"), "{e}");
        multipath.kind = 7;
        multipath
            .msg
            .attributes
            .push(RouteAttribute::Metrics(Vec::new()));
        let e = route_restore("red", &[&multipath]).unwrap_err().to_string();
        assert_eq!(
            e,
            "refusing to delete namespace red: it holds route `unreachable 10.8.0.0/16` \
             (with Metrics) that undo could not give back; remove it first"
        );
    }
}
