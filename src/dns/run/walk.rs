//! The `hosts:` walk: each nsswitch source in order with its actions, `dns` through
//! [`search`], `files` and `myhostname` answered here from what was read.

use std::net::IpAddr;

use super::search::search;
use super::Budget;
use crate::dns::exchange::Transport;
use crate::dns::plan::{stops_after, LookupPlan, NssStatus, SourceKind};
use crate::dns::query::QueryType;
use crate::dns::report::{HostsMatch, SourceStep};
use crate::dnsconf::Hosts;

/// What the `hosts:` walk found.
pub struct Walk {
    pub steps: Vec<SourceStep>,
    pub answered_by: Option<String>,
    pub addresses: Vec<IpAddr>,
    pub answers: Vec<String>,
    pub capped: bool,
}

fn label_actions(a: &[crate::dnsconf::Action]) -> Vec<String> {
    a.iter()
        .map(|a| {
            format!(
                "[{}{}={}]",
                if a.negated { "!" } else { "" },
                a.status,
                a.action
            )
        })
        .collect()
}

/// Walks the plan's sources (or a lone `res_search` for types that bypass nsswitch).
pub fn walk(
    plan: &LookupPlan,
    qtype: QueryType,
    hosts: Option<&Hosts>,
    hostname: Option<&str>,
    t: &mut dyn Transport,
    budget: &mut Budget,
) -> Walk {
    let mut w = Walk {
        steps: Vec::new(),
        answered_by: None,
        addresses: Vec::new(),
        answers: Vec::new(),
        capped: false,
    };
    if plan.sources.is_empty() {
        let s = search(plan, qtype, t, budget);
        w.capped = s.capped;
        if s.status == NssStatus::Success {
            w.answered_by = Some("dns".into());
            w.addresses = s.addresses.clone();
            w.answers = s.answers.clone();
        }
        w.steps.push(SourceStep {
            source: "res_search".into(),
            actions: Vec::new(),
            evaluated: true,
            status: s.status,
            action: "return".into(),
            detail: s.summary.clone(),
            hosts_matches: Vec::new(),
            dns: Some(s),
        });
        return w;
    }
    let bare = plan
        .name
        .strip_suffix('.')
        .unwrap_or(&plan.name)
        .to_ascii_lowercase();
    for src in &plan.sources {
        let mut step = SourceStep {
            source: src.name.clone(),
            actions: label_actions(&src.actions),
            evaluated: true,
            status: NssStatus::NotFound,
            action: String::new(),
            detail: String::new(),
            hosts_matches: Vec::new(),
            dns: None,
        };
        match src.kind {
            SourceKind::Files => files(&mut step, &mut w, &src.name, hosts, &bare, qtype),
            SourceKind::Dns => {
                let s = search(plan, qtype, t, budget);
                step.status = s.status;
                step.detail = s.summary.clone();
                w.capped |= s.capped;
                if s.status == NssStatus::Success {
                    w.answered_by = Some(src.name.clone());
                    w.addresses = s.addresses.clone();
                    w.answers = s.answers.clone();
                }
                step.dns = Some(s);
            }
            SourceKind::MyHostname => {
                myhostname(&mut step, &mut w, &src.name, hostname, &bare, qtype)
            }
            SourceKind::Mdns => {
                if bare.ends_with(".local") {
                    step.evaluated = false;
                    step.status = NssStatus::Unavail;
                    step.detail =
                        "a .local name: nss-mdns would ask avahi (not evaluated; assumed UNAVAIL)"
                            .into();
                } else {
                    step.status = NssStatus::Unavail;
                    step.detail = "not a .local name: nss-mdns returns UNAVAIL".into();
                }
            }
            SourceKind::Other => {
                step.evaluated = false;
                step.status = NssStatus::Unavail;
                step.detail = format!(
                    "nss-{} is not evaluated by netlens; assumed UNAVAIL (what glibc gets when the module is not installed)",
                    src.name
                );
            }
        }
        let stop = stops_after(src, step.status);
        step.action = if stop { "return" } else { "continue" }.into();
        w.steps.push(step);
        if stop {
            break;
        }
    }
    w
}

/// nss-files: the hosts file's entries for the name, of the families asked.
fn files(
    step: &mut SourceStep,
    w: &mut Walk,
    src: &str,
    hosts: Option<&Hosts>,
    bare: &str,
    qtype: QueryType,
) {
    match hosts {
        None => {
            step.status = NssStatus::Unavail;
            step.detail = "the hosts file cannot be read".into();
        }
        Some(h) => {
            let matches: Vec<HostsMatch> = h
                .entries
                .iter()
                .filter(|e| e.names.iter().any(|n| n.eq_ignore_ascii_case(bare)))
                .filter(|e| match e.addr {
                    IpAddr::V4(_) => qtype.wants_v4(),
                    IpAddr::V6(_) => qtype.wants_v6(),
                })
                .map(|e| HostsMatch {
                    line: e.line,
                    addr: e.addr,
                    names: e.names.clone(),
                })
                .collect();
            if matches.is_empty() {
                step.detail = format!("no {} entry for {bare}", qtype.label());
            } else {
                step.status = NssStatus::Success;
                step.detail = matches
                    .iter()
                    .map(|m| format!("line {}: {} {}", m.line, m.addr, m.names.join(" ")))
                    .collect::<Vec<_>>()
                    .join("; ");
                w.answered_by = Some(src.to_string());
                w.addresses = matches.iter().map(|m| m.addr).collect();
                w.answers = matches
                    .iter()
                    .map(|m| format!("hosts line {}: {} {}", m.line, m.addr, m.names.join(" ")))
                    .collect();
            }
            step.hosts_matches = matches;
        }
    }
}

/// nss-myhostname: localhost names, and the host's own name.
fn myhostname(
    step: &mut SourceStep,
    w: &mut Walk,
    src: &str,
    hostname: Option<&str>,
    bare: &str,
    qtype: QueryType,
) {
    let own = hostname.map(|h| h.to_ascii_lowercase());
    let local = bare == "localhost" || bare.ends_with(".localhost");
    if local || own.as_deref() == Some(bare) {
        step.status = NssStatus::Success;
        step.evaluated = local;
        step.detail = if local {
            "nss-myhostname answers localhost names with 127.0.0.1 / ::1".into()
        } else {
            "the host name: nss-myhostname answers with the host's own addresses".into()
        };
        w.answered_by = Some(src.to_string());
        if local {
            if qtype.wants_v4() {
                w.addresses.push(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
            }
            if qtype.wants_v6() {
                w.addresses.push(IpAddr::V6(std::net::Ipv6Addr::LOCALHOST));
            }
        }
    } else {
        step.detail = "not localhost, not the host name".into();
    }
}
