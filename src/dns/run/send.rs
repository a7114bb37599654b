//! How one `res_send` runs: `attempts` rounds over the servers, each exchange logged, ending
//! at the first final reply, a timeout, a refusal or netlens' time cap.

use std::time::Duration;

use hickory_proto::rr::RecordType;

use super::Budget;
use crate::dns::exchange::{Outcome, Sent, Transport};
use crate::dns::plan::{LookupPlan, PlannedServer};
use crate::dns::report::QueryRecord;

/// How one `res_send` ended.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum SendEnd {
    /// A NOERROR/NXDOMAIN reply per type that got one.
    Final(Vec<(RecordType, crate::dns::wire::Reply)>),
    Timeout,
    /// Every server refused or could not be reached, with no timeout: the word says which
    /// (`refused`, `unreachable`, or `refused or unreachable` for a mix).
    Failed(&'static str),
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

pub(super) fn res_send(
    plan: &LookupPlan,
    name: &str,
    types: &[RecordType],
    t: &mut dyn Transport,
    budget: &mut Budget,
    log: &mut Vec<QueryRecord>,
) -> SendEnd {
    let mut silent_server = false;
    // What the failures were, so "Network is unreachable" is not reported as a refusal.
    let (mut refused, mut unreachable) = (false, false);
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
            let finals: Vec<(RecordType, crate::dns::wire::Reply)> = sent
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
            refused |= sent.iter().any(|s| s.outcome == Outcome::Refused);
            unreachable |= sent
                .iter()
                .any(|s| matches!(s.outcome, Outcome::Unreachable(_)));
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
        SendEnd::Failed(match (refused, unreachable) {
            (false, true) => "unreachable",
            (true, true) => "refused or unreachable",
            _ => "refused",
        })
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
