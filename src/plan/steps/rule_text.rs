//! The words of a policy rule: `ip rule` syntax for the preview and the descriptions, and
//! the offline checks that a rule is one netlens can write back exactly.

use crate::model::{RouteFamily, RouteProtocol, RoutingRule, RoutingRuleAction};

/// The rule as `ip rule add` takes it after `add`: `pref N [not] from … to … fwmark … iif …
/// oif … lookup T | goto G | blackhole …` (and `proto`, `suppress_prefixlength`).
pub fn rule_args(r: &RoutingRule) -> Vec<String> {
    let mut v = vec!["pref".to_string(), r.priority.to_string()];
    let mut push = |k: &str, val: String| v.extend([k.to_string(), val]);
    if r.invert {
        push("not", String::new());
    }
    push("from", r.src.clone().unwrap_or_else(|| "all".into()));
    if let Some(d) = &r.dst {
        push("to", d.clone());
    }
    if let Some(m) = r.fwmark_text() {
        push("fwmark", m);
    }
    if let Some(i) = &r.iif {
        push("iif", i.clone());
    }
    if let Some(o) = &r.oif {
        push("oif", o.clone());
    }
    if let Some(p) = r.suppress_prefixlen {
        push("suppress_prefixlength", p.to_string());
    }
    if let Some(p) = &r.protocol {
        push("proto", p.to_string());
    }
    v.retain(|a| !a.is_empty());
    v.extend(
        r.action_text()
            .split(' ')
            .map(str::to_string)
            .collect::<Vec<_>>(),
    );
    v
}

/// Offline checks: a family, selectors of that family, names the kernel would take, an
/// action and protocol netlens writes.
pub(super) fn check_rule(r: &RoutingRule) -> Result<(), String> {
    let v6 = match &r.family {
        RouteFamily::Inet => false,
        RouteFamily::Inet6 => true,
        RouteFamily::Other(other) => {
            return Err(format!("rule family {other:?} is not inet or inet6"))
        }
    };
    for sel in [&r.src, &r.dst].into_iter().flatten() {
        let net: ipnet::IpNet = sel
            .parse()
            .map_err(|_| format!("rule selector {sel:?} is not an address/prefix"))?;
        if matches!(net, ipnet::IpNet::V6(_)) != v6 {
            return Err(format!("{sel} is not of the rule's family {}", r.family));
        }
    }
    for dev in [&r.iif, &r.oif].into_iter().flatten() {
        super::ifname(dev)?;
    }
    if super::rule::action_of(&r.action).is_none() {
        return Err(format!(
            "rule action {:?} is not one netlens writes",
            r.action
        ));
    }
    if r.action == RoutingRuleAction::Goto && r.goto.is_none() {
        return Err("a goto rule needs its target priority".into());
    }
    if r.protocol.as_ref().is_some_and(|p| p.number().is_none()) {
        let name = r.protocol.as_ref().map(RouteProtocol::as_str);
        return Err(format!("unknown rule protocol {name:?}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_rule;
    use crate::model::RoutingRule;

    fn with_protocol(protocol: &str) -> RoutingRule {
        let json = format!(
            r#"{{"family":"inet","priority":100,"table":254,"action":"lookup","protocol":"{protocol}"}}"#
        );
        serde_json::from_str(&json).unwrap()
    }

    /// A rule's protocol is written as its kernel number: named ones and numbers `ip` prints
    /// pass; any other text is refused, named as the snapshot has it.
    #[test]
    fn a_rule_protocol_must_have_a_kernel_number() {
        for ok in ["boot", "static", "openr", "250"] {
            assert_eq!(check_rule(&with_protocol(ok)), Ok(()), "{ok}");
        }
        for bad in ["frr", "4", "017"] {
            assert_eq!(
                check_rule(&with_protocol(bad)),
                Err(format!("unknown rule protocol Some({bad:?})")),
                "{bad}"
            );
        }
    }
}
