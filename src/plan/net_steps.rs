//! Words, shell preview and offline checks of the bridge-port, neighbour and policy-rule
//! steps ([`Step::SetBridgePort`], [`Step::DelNeigh`] / [`Step::AddNeigh`],
//! [`Step::DelRule`] / [`Step::AddRule`]). Kept apart from the older steps' arms so each
//! family's text lives in one place; the engine halves are `brport_ops`, `neigh_ops` and
//! `rule_ops`.

use std::fmt;

use super::step::Step;
use crate::model::RoutingRule;

/// `bridge link set` names for the STP states a plan may set.
const STATES: [&str; 5] = [
    "disabled",
    "listening",
    "learning",
    "forwarding",
    "blocking",
];

pub fn state_name(state: u8) -> String {
    STATES
        .get(usize::from(state))
        .map_or_else(|| state.to_string(), |s| s.to_string())
}

fn on_off(v: bool) -> &'static str {
    if v {
        "on"
    } else {
        "off"
    }
}

/// `isolated off state 3 …`: the `bridge link set` arguments of the flags a step sets.
fn port_args(
    isolated: Option<bool>,
    state: Option<u8>,
    learning: Option<bool>,
    flood: Option<bool>,
) -> Vec<String> {
    let mut v = Vec::new();
    if let Some(i) = isolated {
        v.extend(["isolated".to_string(), on_off(i).to_string()]);
    }
    if let Some(s) = state {
        v.extend(["state".to_string(), s.to_string()]);
    }
    if let Some(l) = learning {
        v.extend(["learning".to_string(), on_off(l).to_string()]);
    }
    if let Some(f) = flood {
        v.extend(["flood".to_string(), on_off(f).to_string()]);
    }
    v
}

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
        push("proto", p.clone());
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

pub fn describe(step: &Step, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match step {
        Step::SetBridgePort {
            ns,
            link,
            isolated,
            state,
            learning,
            flood,
        } => {
            let mut args = port_args(*isolated, *state, *learning, *flood);
            if let (Some(s), Some(pos)) = (state, args.iter().position(|a| a == "state")) {
                args[pos + 1] = state_name(*s);
            }
            write!(f, "set bridge port {link} {} in {ns}", args.join(" "))?;
            if *learning == Some(false) {
                write!(f, " (forgetting the MACs it learnt)")?;
            }
            Ok(())
        }
        Step::DelNeigh { ns, link, addr } => {
            write!(f, "delete the neighbour entry {addr} on {link} in {ns}")
        }
        Step::AddNeigh {
            ns,
            link,
            addr,
            lladdr,
        } => write!(
            f,
            "add permanent neighbour {addr} lladdr {lladdr} on {link} in {ns}"
        ),
        Step::DelRule { ns, rule } => {
            write!(
                f,
                "delete policy rule `{}` in {ns}",
                rule_args(rule).join(" ")
            )
        }
        Step::AddRule { ns, rule } => {
            write!(f, "add policy rule `{}` in {ns}", rule_args(rule).join(" "))
        }
        other => write!(f, "{other:?}"),
    }
}

/// The shell equivalents: `bridge -n NS link set dev X …`, `ip -n NS neigh …`,
/// `ip -n NS rule …`. `ip_in(ns, args)` renders `ip` in the step's namespace, `in_ns` any
/// other tool there.
pub fn argvs(
    step: &Step,
    ip_in: &dyn Fn(&str, &[&str]) -> Vec<String>,
    in_ns: &dyn Fn(&str, &[&str]) -> Vec<String>,
) -> Vec<Vec<String>> {
    match step {
        Step::SetBridgePort {
            ns,
            link,
            isolated,
            state,
            learning,
            flood,
        } => {
            let mut argv = in_ns(ns, &["bridge", "link", "set", "dev", link]);
            argv.extend(port_args(*isolated, *state, *learning, *flood));
            let mut cmds = vec![argv];
            if *learning == Some(false) {
                // Sent in the same message: the port forgets the MACs it learnt.
                let flush = [
                    "link",
                    "set",
                    "dev",
                    link,
                    "type",
                    "bridge_slave",
                    "fdb_flush",
                ];
                cmds.push(ip_in(ns, &flush));
            }
            cmds
        }
        Step::DelNeigh { ns, link, addr } => {
            vec![ip_in(ns, &["neigh", "del", &addr.to_string(), "dev", link])]
        }
        Step::AddNeigh {
            ns,
            link,
            addr,
            lladdr,
        } => vec![ip_in(
            ns,
            &[
                "neigh",
                "replace",
                &addr.to_string(),
                "lladdr",
                lladdr,
                "nud",
                "permanent",
                "dev",
                link,
            ],
        )],
        Step::DelRule { ns, rule } | Step::AddRule { ns, rule } => {
            let verb = if matches!(step, Step::DelRule { .. }) {
                "del"
            } else {
                "add"
            };
            let mut head = Vec::new();
            if rule.family == "inet6" {
                head.push("-6");
            }
            head.extend(["rule", verb]);
            let mut argv = ip_in(ns, &head);
            argv.extend(rule_args(rule));
            vec![argv]
        }
        _ => Vec::new(),
    }
}

/// Offline checks: names the kernel would take, values in range, a rule netlens can write
/// back exactly. `ifname` is the plan's interface-name check.
pub fn check(step: &Step, ifname: &dyn Fn(&str) -> Result<(), String>) -> Result<(), String> {
    match step {
        Step::SetBridgePort {
            link,
            isolated,
            state,
            learning,
            flood,
            ..
        } => {
            ifname(link)?;
            if state.is_some_and(|s| s > 4) {
                return Err(format!(
                    "bridge port state {} is not one of 0..=4 ({})",
                    state.unwrap_or(0),
                    STATES.join(", ")
                ));
            }
            if isolated.is_none() && state.is_none() && learning.is_none() && flood.is_none() {
                return Err(format!("the step sets no flag of bridge port {link}"));
            }
            Ok(())
        }
        Step::DelNeigh { link, .. } => ifname(link),
        Step::AddNeigh { link, lladdr, .. } => {
            ifname(link)?;
            let mac = super::exec::parse_mac(lladdr)?;
            if mac.len() != 6 {
                return Err(format!("invalid MAC address {lladdr:?}"));
            }
            Ok(())
        }
        Step::DelRule { rule, .. } | Step::AddRule { rule, .. } => check_rule(rule, ifname),
        _ => Ok(()),
    }
}

fn check_rule(r: &RoutingRule, ifname: &dyn Fn(&str) -> Result<(), String>) -> Result<(), String> {
    let v6 = match r.family.as_str() {
        "inet" => false,
        "inet6" => true,
        other => return Err(format!("rule family {other:?} is not inet or inet6")),
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
        ifname(dev)?;
    }
    if super::rule_ops::action_of(&r.action).is_none() {
        return Err(format!(
            "rule action {:?} is not one netlens writes",
            r.action
        ));
    }
    if r.action == "goto" && r.goto.is_none() {
        return Err("a goto rule needs its target priority".into());
    }
    if r.protocol
        .as_deref()
        .is_some_and(|p| super::rule_ops::protocol_number(p).is_none())
    {
        return Err(format!("unknown rule protocol {:?}", r.protocol));
    }
    Ok(())
}
