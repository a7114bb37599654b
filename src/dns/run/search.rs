//! `res_search` over the plan's candidate names: each sent in turn until one answers or
//! glibc's rules end the search, and the summary `netlens dns` shows.

use std::net::IpAddr;

use hickory_proto::rr::RecordType;

use super::send::{res_send, SendEnd};
use super::Budget;
use crate::dns::exchange::Transport;
use crate::dns::plan::{CandidateKind, LookupPlan, NssStatus};
use crate::dns::query::QueryType;
use crate::dns::report::{CandidateRun, DnsSearch};

/// The replies of the name that answered: per record type asked.
type Replies = Vec<(RecordType, crate::dns::wire::Reply)>;

/// How the candidates ended: the one that answered (its index and replies), the status of
/// the last failure, and whether netlens' time cap cut it short.
struct Tried {
    answer: Option<(usize, Replies)>,
    last_failure: NssStatus,
    capped: bool,
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
    let tried = try_candidates(plan, &types, t, budget, &mut runs);
    let untried = if tried.answer.is_none() {
        // A name tried with a trailing dot ends the search whatever happened.
        "not tried"
    } else {
        "not needed: an earlier name answered"
    };
    for r in runs.iter_mut().filter(|r| !r.tried && r.result.is_empty()) {
        r.result = untried.into();
    }
    let queries_sent = runs.iter().map(|r| r.queries.len()).sum();
    let capped = tried.capped;
    match tried.answer {
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
                    if tried.last_failure == NssStatus::Unavail {
                        "nameservers timed out, refused or were unreachable (UNAVAIL)"
                    } else {
                        "the name does not exist (NOTFOUND)"
                    }
                )
            },
            candidates: runs,
            status: tried.last_failure,
            answered_name: None,
            addresses: Vec::new(),
            answers: Vec::new(),
            queries_sent,
            capped,
        },
    }
}

/// Sends each candidate in turn (`res_send`) until one answers or the search ends, noting
/// on each run what happened to it.
fn try_candidates(
    plan: &LookupPlan,
    types: &[RecordType],
    t: &mut dyn Transport,
    budget: &mut Budget,
    runs: &mut [CandidateRun],
) -> Tried {
    let mut search_over: Option<&'static str> = None;
    let mut last_failure = NssStatus::NotFound;
    let mut capped = false;
    let mut answer: Option<(usize, Replies)> = None;
    for i in 0..runs.len() {
        let in_search = matches!(runs[i].why, CandidateKind::Search(_));
        if in_search {
            if let Some(why) = search_over {
                runs[i].result = format!("not tried: {why}");
                continue;
            }
        }
        let mut log = Vec::new();
        let end = res_send(plan, &runs[i].name, types, t, budget, &mut log);
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
            SendEnd::Failed(word) => {
                runs[i].result = word.into();
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
    Tried {
        answer,
        last_failure,
        capped,
    }
}
