//! Carrying out a [`LookupPlan`]: the `hosts:` sources in order, `res_search` over the candidate
//! names, `res_send` over the servers — with glibc's stopping rules — through a
//! [`Transport`], so the logic is tested without a network and run for real inside a
//! namespace.
//!
//! `res_send` per candidate (glibc `resolv/res_send.c`): `attempts` rounds over the servers;
//! a NOERROR or NXDOMAIN reply ends it; SERVFAIL, REFUSED, NOTIMP, an ICMP port unreachable or
//! a send error move to the next server; a timeout too, but remembers that a server was
//! silent. With no final reply the error is ETIMEDOUT if any server timed out, else
//! ECONNREFUSED.
//!
//! `res_search` (`resolv/res_query.c`): a success returns; NXDOMAIN and no-data go on to the
//! next candidate; in the search list a timeout ends the list (the last as-is try still
//! runs) and ECONNREFUSED gives up at once. nss_dns maps ETIMEDOUT and ECONNREFUSED to
//! UNAVAIL, everything else that failed to NOTFOUND.

use std::net::IpAddr;
use std::time::Duration;

use hickory_proto::rr::RecordType;

use super::exchange::{Outcome, Sent, Transport};
use super::plan::{stops_after, CandidateKind, LookupPlan, NssStatus, PlannedServer, SourceKind};
use super::query::QueryType;
use super::report::{CandidateRun, DnsSearch, HostsMatch, QueryRecord, SourceStep};
use crate::dnsconf::Hosts;

/// Wall-clock time netlens spends waiting for nameservers in one `netlens dns`. glibc's
/// worst case is attempts (≤ 5) × servers (≤ 3) × up to 30 s per candidate, minutes for a
/// dead server; 12 s lets the default single-server case (5 s × 2 attempts) show in full.
pub const DEFAULT_MAX_TIME: Duration = Duration::from_secs(12);

/// Time spent against a cap. Counted from what each exchange reports, so a fake transport
/// drives it in tests.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub cap: Duration,
    pub spent: Duration,
}

impl Budget {
    pub fn new(cap: Duration) -> Self {
        Budget {
            cap,
            spent: Duration::ZERO,
        }
    }
    pub fn left(&self) -> Duration {
        self.cap.saturating_sub(self.spent)
    }
}

/// How one `res_send` ended.
#[derive(Debug, Clone, PartialEq)]
enum SendEnd {
    /// A NOERROR/NXDOMAIN reply per type that got one.
    Final(Vec<(RecordType, super::wire::Reply)>),
    Timeout,
    Refused,
    Capped,
}

fn result_word(o: &Outcome) -> (String, Option<String>) {
    match o {
        Outcome::Reply(r) => (r.rcode.clone(), None),
        Outcome::Timeout => ("timeout".into(), None),
        Outcome::Refused => (
            "refused".into(),
            Some("ICMP port unreachable: nothing listens on port 53 there".into()),
        ),
        Outcome::Unreachable(e) => ("unreachable".into(), Some(e.clone())),
        Outcome::Error(e) => ("error".into(), Some(e.clone())),
    }
}

fn res_send(
    plan: &LookupPlan,
    name: &str,
    types: &[RecordType],
    t: &mut dyn Transport,
    budget: &mut Budget,
    log: &mut Vec<QueryRecord>,
) -> SendEnd {
    let mut silent_server = false;
    for attempt in 1..=plan.attempts {
        for server in &plan.servers {
            let full = Duration::from_millis(server.timeout_ms);
            let wait = full.min(budget.left());
            if wait.is_zero() {
                return SendEnd::Capped;
            }
            let sent = t.exchange(server, name, types, wait);
            let took = sent.iter().map(|s| s.elapsed).max().unwrap_or_default();
            budget.spent += took;
            record(log, server, name, attempt, wait, &sent);
            let finals: Vec<(RecordType, super::wire::Reply)> = sent
                .iter()
                .filter_map(|s| match &s.outcome {
                    Outcome::Reply(r) if r.is_final() => Some((s.rt, r.clone())),
                    _ => None,
                })
                .collect();
            // glibc keeps one final reply of the pair even when the other type timed out.
            if !finals.is_empty() {
                return SendEnd::Final(finals);
            }
            if sent.iter().any(|s| s.outcome == Outcome::Timeout) {
                if wait < full {
                    return SendEnd::Capped;
                }
                silent_server = true;
            }
        }
    }
    if silent_server {
        SendEnd::Timeout
    } else {
        SendEnd::Refused
    }
}

fn record(
    log: &mut Vec<QueryRecord>,
    server: &PlannedServer,
    name: &str,
    attempt: u32,
    wait: Duration,
    sent: &[Sent],
) {
    for s in sent {
        let (result, error) = result_word(&s.outcome);
        let answers = match &s.outcome {
            Outcome::Reply(r) => r.answers.clone(),
            _ => Vec::new(),
        };
        log.push(QueryRecord {
            name: name.to_string(),
            qtype: s.rt.to_string(),
            server: server.addr.to_string(),
            attempt,
            transport: s.transport.to_string(),
            wait_ms: wait.as_millis() as u64,
            result,
            answers,
            error,
            ms: (s.elapsed.as_secs_f64() * 1000.0 * 10.0).round() / 10.0,
        });
    }
}

/// `res_search` over the plan's candidates.
pub fn search(
    plan: &LookupPlan,
    qtype: QueryType,
    t: &mut dyn Transport,
    budget: &mut Budget,
) -> DnsSearch {
    let types = qtype.record_types();
    let mut runs: Vec<CandidateRun> = plan
        .candidates
        .iter()
        .map(|c| CandidateRun {
            name: c.name.clone(),
            why: c.why.clone(),
            tried: false,
            result: String::new(),
            queries: Vec::new(),
        })
        .collect();
    let mut search_over: Option<&'static str> = None;
    let mut last_failure = NssStatus::NotFound;
    let mut capped = false;
    let mut answer: Option<(usize, Vec<(RecordType, super::wire::Reply)>)> = None;
    for i in 0..runs.len() {
        let in_search = matches!(runs[i].why, CandidateKind::Search(_));
        if in_search {
            if let Some(why) = search_over {
                runs[i].result = format!("not tried: {why}");
                continue;
            }
        }
        let mut log = Vec::new();
        let end = res_send(plan, &runs[i].name, &types, t, budget, &mut log);
        runs[i].tried = true;
        runs[i].queries = log;
        match end {
            SendEnd::Final(replies) => {
                if replies.iter().any(|(_, r)| r.has_wanted) {
                    runs[i].result = "answered".into();
                    answer = Some((i, replies));
                    break;
                }
                runs[i].result = if replies.iter().any(|(_, r)| r.rcode == "NXDOMAIN") {
                    "NXDOMAIN".into()
                } else {
                    "no data".into()
                };
                last_failure = NssStatus::NotFound;
            }
            SendEnd::Timeout => {
                runs[i].result = "timeout".into();
                last_failure = NssStatus::Unavail;
                if in_search {
                    search_over = Some("the search list ends after a timeout");
                }
            }
            SendEnd::Refused => {
                runs[i].result = "refused".into();
                last_failure = NssStatus::Unavail;
                if in_search {
                    // ECONNREFUSED in the search loop: res_search returns at once.
                    for later in runs.iter_mut().skip(i + 1) {
                        later.result =
                            "not tried: every server refused or failed (glibc gives up)".into();
                    }
                    break;
                }
            }
            SendEnd::Capped => {
                runs[i].result = "capped".into();
                capped = true;
                last_failure = NssStatus::Unavail;
                for later in runs.iter_mut().skip(i + 1) {
                    later.result = "not tried: netlens' time cap reached".into();
                }
                break;
            }
        }
    }
    if answer.is_none() {
        // A name tried with a trailing dot ends the search whatever happened.
        for r in runs.iter_mut().filter(|r| !r.tried && r.result.is_empty()) {
            r.result = "not tried".into();
        }
    } else {
        for r in runs.iter_mut().filter(|r| !r.tried && r.result.is_empty()) {
            r.result = "not needed: an earlier name answered".into();
        }
    }
    let queries_sent = runs.iter().map(|r| r.queries.len()).sum();
    match answer {
        Some((i, replies)) => {
            let mut addresses: Vec<IpAddr> = Vec::new();
            let mut answers = Vec::new();
            for (_, r) in &replies {
                for a in &r.addresses {
                    if !addresses.contains(a) {
                        addresses.push(*a);
                    }
                }
                answers.extend(r.answers.iter().cloned());
            }
            DnsSearch {
                summary: format!("{} answered after {queries_sent} queries", runs[i].name),
                candidates: runs.clone(),
                status: NssStatus::Success,
                answered_name: Some(runs[i].name.clone()),
                addresses,
                answers,
                queries_sent,
                capped,
            }
        }
        None => DnsSearch {
            summary: if capped {
                format!(
                    "no answer before netlens' {} s cap ({queries_sent} queries); glibc would still be waiting",
                    budget.cap.as_secs()
                )
            } else {
                format!(
                    "no candidate answered ({queries_sent} queries): {}",
                    if last_failure == NssStatus::Unavail {
                        "nameservers timed out or refused (UNAVAIL)"
                    } else {
                        "the name does not exist (NOTFOUND)"
                    }
                )
            },
            candidates: runs,
            status: last_failure,
            answered_name: None,
            addresses: Vec::new(),
            answers: Vec::new(),
            queries_sent,
            capped,
        },
    }
}

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
            SourceKind::Files => match hosts {
                None => {
                    step.status = NssStatus::Unavail;
                    step.detail = "the hosts file cannot be read".into();
                }
                Some(h) => {
                    let matches: Vec<HostsMatch> = h
                        .entries
                        .iter()
                        .filter(|e| e.names.iter().any(|n| n.eq_ignore_ascii_case(&bare)))
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
                        w.answered_by = Some(src.name.clone());
                        w.addresses = matches.iter().map(|m| m.addr).collect();
                        w.answers = matches
                            .iter()
                            .map(|m| {
                                format!("hosts line {}: {} {}", m.line, m.addr, m.names.join(" "))
                            })
                            .collect();
                    }
                    step.hosts_matches = matches;
                }
            },
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
                let own = hostname.map(|h| h.to_ascii_lowercase());
                let local = bare == "localhost" || bare.ends_with(".localhost");
                if local || own.as_deref() == Some(bare.as_str()) {
                    step.status = NssStatus::Success;
                    step.evaluated = local;
                    step.detail = if local {
                        "nss-myhostname answers localhost names with 127.0.0.1 / ::1".into()
                    } else {
                        "the host name: nss-myhostname answers with the host's own addresses".into()
                    };
                    w.answered_by = Some(src.name.clone());
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

#[cfg(test)]
#[path = "run_tests.rs"]
mod tests;
