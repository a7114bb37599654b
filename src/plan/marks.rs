//! What a plan left: after each step that changed something, apply observes every object the
//! plan has changed so far (a link's MTU, master or admin state, an address or route being
//! there, a sysctl, a file's content, how often an iptables rule is in its chain) and journals
//! it. Before undo runs any inverse, it observes the same objects again: one that differs was
//! changed by someone else since, and undoing would destroy that work, so undo refuses (unless
//! forced) and names each one.

use std::collections::BTreeMap;
use std::fmt;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::exec::Engine;
use super::journal::{Entry, Event};
use super::marks_observe::observe;
use super::step::{RouteSpec, Step};
use super::steps::rule_args;
use super::{persist, proc_ops};

/// One object a plan changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "object", rename_all = "snake_case")]
pub enum Object {
    /// A link the plan created: its bridge ports and addresses (deleting it on undo would take
    /// containers attached to it since, or addresses added to it, with it).
    Link {
        ns: String,
        name: String,
    },
    Mtu {
        ns: String,
        link: String,
    },
    Master {
        ns: String,
        link: String,
    },
    Admin {
        ns: String,
        link: String,
    },
    Address {
        ns: String,
        link: String,
        addr: IpNet,
    },
    Route {
        ns: String,
        route: RouteSpec,
    },
    Sysctl {
        ns: String,
        key: String,
    },
    SysctlFile {
        key: String,
    },
    File {
        path: String,
    },
    /// `line` as `iptables -S` prints the rule (so a rule is recognised however it was spelt).
    Rule {
        ns: String,
        table: String,
        chain: String,
        line: String,
    },
    /// A user chain a plan removed or created: its rules (`iptables -S` lines, one per line),
    /// gone when the chain does not exist.
    Chain {
        ns: String,
        table: String,
        chain: String,
    },
    /// A bridge port's flags (`isolated off state forwarding learning on flood on`).
    BridgePort {
        ns: String,
        link: String,
    },
    /// A neighbour entry: its MAC and state, gone when there is none.
    Neigh {
        ns: String,
        link: String,
        addr: std::net::IpAddr,
    },
    /// A policy rule: present or absent.
    PolicyRule {
        ns: String,
        rule: crate::model::RoutingRule,
    },
}

/// An object and its state as the plan left it (`None`: the object, or its link, was gone).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark {
    pub object: Object,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub left: Option<String>,
    /// Its state before the plan first changed it, when known: if it is back in that state,
    /// undo has nothing to change there and destroys nothing (say the kernel dropped a route
    /// the plan added when another plan's undo set its link down).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<State>,
}

/// A state that may be "gone" (`value` None).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

impl fmt::Display for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Object::Link { ns, name } => write!(f, "link {name} in {ns} (created by the plan)"),
            Object::Mtu { ns, link } => write!(f, "mtu of {link} in {ns}"),
            Object::Master { ns, link } => write!(f, "master of {link} in {ns}"),
            Object::Admin { ns, link } => write!(f, "admin state of {link} in {ns}"),
            Object::Address { ns, link, addr } => write!(f, "address {addr} on {link} in {ns}"),
            Object::Route { ns, route } => write!(f, "route {route} in {ns}"),
            Object::Sysctl { ns, key } => write!(f, "sysctl {} in {ns}", key.replace('/', ".")),
            Object::SysctlFile { key } => write!(f, "{}", persist::conf_path(key).display()),
            Object::File { path } => write!(f, "{path}"),
            Object::Rule {
                ns,
                table,
                chain,
                line,
            } => write!(f, "rule `{line}` in {table}/{chain} of {ns}"),
            Object::Chain { ns, table, chain } => write!(f, "chain {table}/{chain} of {ns}"),
            Object::BridgePort { ns, link } => write!(f, "bridge port flags of {link} in {ns}"),
            Object::Neigh { ns, link, addr } => {
                write!(f, "neighbour entry {addr} on {link} in {ns}")
            }
            Object::PolicyRule { ns, rule } => {
                write!(f, "policy rule `{}` in {ns}", rule_args(rule).join(" "))
            }
        }
    }
}

impl Object {
    fn has_content(&self) -> bool {
        matches!(self, Object::File { .. } | Object::SysctlFile { .. })
    }
}

/// How a state reads in a message: file contents by size, other values as they are.
fn shown(object: &Object, value: Option<&String>) -> String {
    match (value, object) {
        (None, Object::File { .. } | Object::SysctlFile { .. }) => "no file".into(),
        (None, _) => "gone".into(),
        (Some(v), o) if o.has_content() => {
            let n = v.lines().count();
            format!("{n} line{}", if n == 1 { "" } else { "s" })
        }
        (Some(v), Object::Rule { .. }) => format!("{v} time(s)"),
        (Some(v), Object::Chain { .. }) => format!("{} rule(s)", v.lines().count()),
        (Some(v), _) => v.escape_debug().to_string(),
    }
}

/// State read just before a step runs: its objects' states, and an iptables chain's rules (so
/// the rule's own line, and how often it was there, can be told afterwards).
pub struct Before {
    rules: Option<Vec<String>>,
    values: Vec<(Object, Option<String>)>,
}

pub fn before(eng: &mut Engine, step: &Step) -> Before {
    let known = Before {
        rules: None,
        values: Vec::new(),
    };
    let values = objects(step, &known)
        .into_iter()
        .filter_map(|o| observe(eng, &o).ok().map(|v| (o, v)))
        .collect();
    Before {
        rules: rule_listing(step),
        values,
    }
}

/// The state `object` had before the step, when known.
pub fn before_state(before: &Before, object: &Object) -> Option<State> {
    if let Object::Rule { line, .. } = object {
        let rules = before.rules.as_ref()?;
        let n = rules.iter().filter(|l| *l == line).count();
        return Some(State {
            value: Some(n.to_string()),
        });
    }
    before
        .values
        .iter()
        .find(|(o, _)| o == object)
        .map(|(_, v)| State { value: v.clone() })
}

fn rule_listing(step: &Step) -> Option<Vec<String>> {
    match step {
        Step::AddIptablesRule {
            ns, table, chain, ..
        }
        | Step::InsertIptablesRule {
            ns, table, chain, ..
        }
        | Step::DelIptablesRule {
            ns, table, chain, ..
        } => proc_ops::list_rules(ns, table, chain).ok(),
        _ => None,
    }
}

fn count(lines: &[String]) -> BTreeMap<&str, usize> {
    let mut m = BTreeMap::new();
    for l in lines {
        *m.entry(l.as_str()).or_default() += 1;
    }
    m
}

/// The rule line of `table`/`chain` in `ns` whose count the step (which just ran) changed.
fn changed_rule(ns: &str, table: &str, chain: &str, before: &Before) -> Option<Object> {
    let old = before.rules.as_ref()?;
    let new = proc_ops::list_rules(ns, table, chain).ok()?;
    let (old, new) = (count(old), count(&new));
    let changed = new
        .iter()
        .find(|(l, n)| old.get(*l).copied().unwrap_or(0) != **n)
        .map(|(l, _)| *l)
        .or_else(|| old.keys().find(|l| !new.contains_key(*l)).copied())?;
    Some(Object::Rule {
        ns: ns.to_string(),
        table: table.to_string(),
        chain: chain.to_string(),
        line: changed.to_string(),
    })
}

/// The objects `step` (which just ran) changed.
pub fn objects(step: &Step, before: &Before) -> Vec<Object> {
    let s = |x: &String| x.clone();
    match step {
        Step::AddVeth {
            ns,
            name,
            peer_ns,
            peer,
        } => vec![
            Object::Link {
                ns: s(ns),
                name: s(name),
            },
            Object::Link {
                ns: s(peer_ns),
                name: s(peer),
            },
        ],
        Step::AddBridge { ns, name } => vec![Object::Link {
            ns: s(ns),
            name: s(name),
        }],
        Step::SetMtu { ns, link, .. } => vec![Object::Mtu {
            ns: s(ns),
            link: s(link),
        }],
        Step::SetMaster { ns, link, .. } => vec![Object::Master {
            ns: s(ns),
            link: s(link),
        }],
        Step::SetLinkUp { ns, link, .. } => vec![Object::Admin {
            ns: s(ns),
            link: s(link),
        }],
        Step::AddAddress { ns, link, addr } | Step::DelAddress { ns, link, addr } => {
            vec![Object::Address {
                ns: s(ns),
                link: s(link),
                addr: *addr,
            }]
        }
        Step::AddRoute { ns, route }
        | Step::DelRoute { ns, route }
        | Step::RestoreRoute { ns, route, .. } => vec![Object::Route {
            ns: s(ns),
            route: route.clone(),
        }],
        Step::SetSysctl {
            ns, key, persist, ..
        } => {
            let mut v = vec![Object::Sysctl {
                ns: s(ns),
                key: s(key),
            }];
            if *persist {
                v.push(Object::SysctlFile { key: s(key) });
            }
            v
        }
        Step::RestoreSysctlFile { key, .. } => vec![Object::SysctlFile { key: s(key) }],
        Step::WriteFile { path, .. } => vec![Object::File { path: s(path) }],
        Step::AddIptablesRule {
            ns, table, chain, ..
        }
        | Step::InsertIptablesRule {
            ns, table, chain, ..
        }
        | Step::DelIptablesRule {
            ns, table, chain, ..
        } => changed_rule(ns, table, chain, before).into_iter().collect(),
        Step::AddIptablesChain { ns, table, chain }
        | Step::DelIptablesChain { ns, table, chain } => {
            vec![Object::Chain {
                ns: s(ns),
                table: s(table),
                chain: s(chain),
            }]
        }
        Step::SetBridgePort { ns, link, .. } => vec![Object::BridgePort {
            ns: s(ns),
            link: s(link),
        }],
        Step::DelNeigh { ns, link, addr } | Step::AddNeigh { ns, link, addr, .. } => {
            vec![Object::Neigh {
                ns: s(ns),
                link: s(link),
                addr: *addr,
            }]
        }
        Step::DelRule { ns, rule } | Step::AddRule { ns, rule } => vec![Object::PolicyRule {
            ns: s(ns),
            rule: rule.clone(),
        }],
        _ => Vec::new(),
    }
}

/// Observes every object (one that cannot be read is left out: it cannot be compared later).
pub fn observe_all(eng: &mut Engine, objects: &[(Object, Option<State>)]) -> Vec<Mark> {
    objects
        .iter()
        .filter_map(|(o, before)| {
            observe(eng, o).ok().map(|left| Mark {
                object: o.clone(),
                left,
                before: before.clone(),
            })
        })
        .collect()
}

/// What the plan left, from its journal: the last observation. `None` when undo cannot
/// compare: an undo or rollback already changed things back part way (its retry must
/// converge, not refuse), or a step was started but never finished (its effect is unknown).
pub fn left_by(entry: &Entry) -> Option<Vec<Mark>> {
    let mut open = Vec::new();
    let mut last = Vec::new();
    for r in &entry.records {
        match &r.event {
            Event::StepStarted { index, .. } => open.push(*index),
            Event::StepDone { index, .. } => open.retain(|i| i != index),
            Event::Left { marks, .. } => last = marks.clone(),
            Event::UndoStarted { .. } | Event::RolledBack { .. } => return None,
            _ => {}
        }
    }
    open.is_empty().then_some(last)
}

/// Each object whose state differs from what the plan left, and how.
pub fn changed_since(eng: &mut Engine, marks: &[Mark]) -> Vec<String> {
    marks
        .iter()
        .filter_map(|m| {
            let now = observe(eng, &m.object);
            match now {
                Ok(now) if now == m.left => None,
                // Back as before the plan: undo will leave it alone.
                Ok(now) if m.before.as_ref().is_some_and(|b| b.value == now) => None,
                Ok(now) => Some(format!(
                    "{}: the plan left {}, now {}",
                    m.object,
                    shown(&m.object, m.left.as_ref()),
                    shown(&m.object, now.as_ref())
                )),
                Err(e) => Some(format!("{}: cannot read it: {e}", m.object)),
            }
        })
        .map(|s| printable(&s))
        .collect()
}

/// One line, no terminal control: rule lines and names come from the kernel and from files.
fn printable(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_round_trip_and_describe_changes() {
        let m = Mark {
            object: Object::Rule {
                ns: "red".into(),
                table: "filter".into(),
                chain: "FORWARD".into(),
                line: "-A FORWARD -s 10.0.0.0/24 -j ACCEPT".into(),
            },
            left: Some("1".into()),
            before: Some(State { value: None }),
        };
        let text = serde_json::to_string(&m).unwrap();
        assert_eq!(serde_json::from_str::<Mark>(&text).unwrap(), m);
        assert_eq!(shown(&m.object, Some(&"2".to_string())), "2 time(s)");
        let f = Object::File {
            path: "/etc/netns/red/hosts".into(),
        };
        assert_eq!(shown(&f, Some(&"a\nb\n".to_string())), "2 lines");
        assert_eq!(shown(&f, None), "no file");
        assert_eq!(printable("a\x1b[2Jb\nc"), "a\\u{1b}[2Jb\\nc");
    }

    #[test]
    fn rule_line_is_the_one_whose_count_changed() {
        let step = Step::AddIptablesRule {
            ns: "x".into(),
            table: "filter".into(),
            chain: "C".into(),
            rule: vec![],
        };
        // Without a listing from before, nothing can be told (and nothing is claimed).
        let none = Before {
            rules: None,
            values: Vec::new(),
        };
        assert!(objects(&step, &none).is_empty());
    }
}
