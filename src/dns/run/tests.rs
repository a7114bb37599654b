//! glibc's stopping rules, checked over a fake transport: no network.
use std::net::IpAddr;
use std::time::Duration;

use hickory_proto::rr::RecordType;

use super::*;
use crate::dns::exchange::{Outcome, Sent, Transport};
use crate::dns::plan::{plan, LookupPlan, NssStatus, PlanInput, PlannedServer};
use crate::dns::query::QueryType;
use crate::dns::wire::Reply;
use crate::dnsconf::{hosts, nsswitch, resolv};

/// A fake DNS: per (server, name) an outcome; records what was asked.
struct Fake {
    answers: Vec<(String, String, Outcome)>,
    asked: Vec<(String, String, RecordType)>,
    timeout_cost: bool,
}

fn reply(rcode: &str, addr: Option<&str>, rt: RecordType) -> Outcome {
    let ip: Option<IpAddr> = addr.map(|a| a.parse().expect("ip"));
    let fits = matches!(
        (ip, rt),
        (Some(IpAddr::V4(_)), RecordType::A) | (Some(IpAddr::V6(_)), RecordType::AAAA)
    );
    Outcome::Reply(Reply {
        id: 0,
        rcode: rcode.into(),
        truncated: false,
        answers: if fits {
            vec![format!("x 0 {rt} {}", addr.unwrap_or(""))]
        } else {
            vec![]
        },
        addresses: if fits {
            ip.into_iter().collect()
        } else {
            vec![]
        },
        has_wanted: fits,
    })
}

impl Transport for Fake {
    fn exchange(
        &mut self,
        server: &PlannedServer,
        name: &str,
        types: &[RecordType],
        wait: Duration,
    ) -> Vec<Sent> {
        types
            .iter()
            .map(|rt| {
                self.asked
                    .push((server.addr.to_string(), name.to_string(), *rt));
                let o = self
                    .answers
                    .iter()
                    .find(|(s, n, _)| *s == server.addr.to_string() && (n == name || n == "*"))
                    .map(|(_, _, o)| o.clone())
                    .unwrap_or(Outcome::Timeout);
                let o = match o {
                    Outcome::Reply(r) if r.rcode == "NOERROR" && !r.answers.is_empty() => {
                        let a = r.addresses[0].to_string();
                        reply("NOERROR", Some(&a), *rt)
                    }
                    o => o,
                };
                let elapsed = if o == Outcome::Timeout && self.timeout_cost {
                    wait
                } else {
                    Duration::from_millis(1)
                };
                Sent {
                    rt: *rt,
                    outcome: o,
                    elapsed,
                    transport: "udp",
                }
            })
            .collect()
    }
}

fn fake(answers: &[(&str, &str, Outcome)]) -> Fake {
    Fake {
        answers: answers
            .iter()
            .map(|(s, n, o)| (s.to_string(), n.to_string(), o.clone()))
            .collect(),
        asked: Vec::new(),
        timeout_cost: true,
    }
}

fn mk(resolv_text: &str, ns_text: &str, name: &str) -> LookupPlan {
    let rc = resolv::parse(resolv_text);
    let ns = nsswitch::parse(ns_text);
    plan(
        &PlanInput {
            resolv: Some(&rc),
            nsswitch: Some(&ns),
            hosts: None,
            hostname: None,
        },
        name,
        QueryType::Addresses,
    )
}

#[test]
fn nxdomain_then_success_in_search_order() {
    let p = mk(
        "search a.test b.test\nnameserver 10.0.0.1\n",
        "hosts: files dns\n",
        "web",
    );
    let mut f = fake(&[
        (
            "10.0.0.1",
            "web.a.test.",
            reply("NXDOMAIN", None, RecordType::A),
        ),
        (
            "10.0.0.1",
            "web.b.test.",
            reply("NOERROR", Some("10.7.0.7"), RecordType::A),
        ),
    ]);
    let h = hosts::parse("127.0.0.1 localhost\n");
    let w = walk(
        &p,
        QueryType::Addresses,
        Some(&h),
        None,
        &mut f,
        &mut Budget::new(DEFAULT_MAX_TIME),
    );
    assert_eq!(w.answered_by.as_deref(), Some("dns"));
    let dns = w.steps[1].dns.as_ref().expect("dns step");
    assert_eq!(
        dns.candidates
            .iter()
            .map(|c| c.result.as_str())
            .collect::<Vec<_>>(),
        vec![
            "NXDOMAIN",
            "answered",
            "not needed: an earlier name answered"
        ]
    );
    assert_eq!(w.addresses, vec!["10.7.0.7".parse::<IpAddr>().expect("ip")]);
    assert_eq!(w.steps[0].action, "continue");
}

#[test]
fn hosts_hit_stops_before_dns() {
    let p = mk("nameserver 10.0.0.1\n", "hosts: files dns\n", "db.internal");
    let mut f = fake(&[]);
    let h = hosts::parse("10.5.5.5 db.internal db\n");
    let w = walk(
        &p,
        QueryType::Addresses,
        Some(&h),
        None,
        &mut f,
        &mut Budget::new(DEFAULT_MAX_TIME),
    );
    assert_eq!(w.steps.len(), 1);
    assert_eq!(w.steps[0].action, "return");
    assert!(f.asked.is_empty());
    // An A-only lookup of a name the file has only as IPv6 goes on to DNS.
    let h6 = hosts::parse("fd00::5 db.internal\n");
    let mut f = fake(&[("10.0.0.1", "*", reply("NXDOMAIN", None, RecordType::A))]);
    let w = walk(
        &p,
        QueryType::parse("A").expect("A"),
        Some(&h6),
        None,
        &mut f,
        &mut Budget::new(DEFAULT_MAX_TIME),
    );
    assert_eq!(w.steps.len(), 2);
}

#[test]
fn notfound_return_stops_before_dns() {
    let p = mk(
        "nameserver 10.0.0.1\n",
        "hosts: files [NOTFOUND=return] dns\n",
        "web",
    );
    let mut f = fake(&[]);
    let w = walk(
        &p,
        QueryType::Addresses,
        Some(&hosts::parse("")),
        None,
        &mut f,
        &mut Budget::new(DEFAULT_MAX_TIME),
    );
    assert_eq!(w.steps.len(), 1);
    assert_eq!(
        (w.steps[0].status, w.steps[0].action.as_str()),
        (NssStatus::NotFound, "return")
    );
    assert!(w.answered_by.is_none() && f.asked.is_empty());
}

#[test]
fn dead_second_server_after_a_refusal_times_out_with_glibc_waits() {
    let p = mk(
        "nameserver 10.0.0.1\nnameserver 10.0.0.2\noptions timeout:2 attempts:2\n",
        "hosts: dns\n",
        "x.example.",
    );
    let mut f = fake(&[("10.0.0.1", "*", reply("REFUSED", None, RecordType::A))]);
    let mut b = Budget::new(DEFAULT_MAX_TIME);
    let w = walk(&p, QueryType::Addresses, None, None, &mut f, &mut b);
    let dns = w.steps[0].dns.as_ref().expect("dns");
    assert_eq!(dns.status, NssStatus::Unavail);
    let q = &dns.candidates[0].queries;
    // 2 attempts × 2 servers × (A, AAAA).
    assert_eq!(q.len(), 8);
    assert_eq!(q[2].result, "timeout");
    assert_eq!(q[2].wait_ms, 2000, "(2 << 1) / 2 s for the second server");
    assert_eq!(b.spent, Duration::from_millis(1 + 2000 + 1 + 2000));
}

#[test]
fn timeout_ends_the_search_list_but_not_the_last_as_is_try() {
    let p = mk(
        "search a.test b.test\nnameserver 10.0.0.1\noptions timeout:1 attempts:1\n",
        "hosts: dns\n",
        "web",
    );
    let mut f = fake(&[("10.0.0.1", "web.", reply("NXDOMAIN", None, RecordType::A))]);
    let w = walk(
        &p,
        QueryType::Addresses,
        None,
        None,
        &mut f,
        &mut Budget::new(DEFAULT_MAX_TIME),
    );
    let r: Vec<String> = w.steps[0]
        .dns
        .as_ref()
        .expect("dns")
        .candidates
        .iter()
        .map(|c| c.result.clone())
        .collect();
    assert_eq!(r[0], "timeout");
    assert!(r[1].starts_with("not tried"), "{r:?}");
    assert_eq!(r[2], "NXDOMAIN");
}

#[test]
fn refused_everywhere_gives_up_the_search() {
    let p = mk(
        "search a.test b.test\nnameserver 10.0.0.1\n",
        "hosts: dns\n",
        "web",
    );
    let mut f = fake(&[("10.0.0.1", "*", Outcome::Refused)]);
    let w = walk(
        &p,
        QueryType::Addresses,
        None,
        None,
        &mut f,
        &mut Budget::new(DEFAULT_MAX_TIME),
    );
    let dns = w.steps[0].dns.as_ref().expect("dns");
    assert_eq!(dns.candidates.iter().filter(|c| c.tried).count(), 1);
    assert_eq!(dns.status, NssStatus::Unavail);
}

#[test]
fn the_cap_stops_a_dead_server() {
    let p = mk(
        "nameserver 10.0.0.9\noptions timeout:30 attempts:5\n",
        "hosts: dns\n",
        "web.",
    );
    let mut f = fake(&[]);
    let mut b = Budget::new(Duration::from_secs(3));
    let w = walk(&p, QueryType::Addresses, None, None, &mut f, &mut b);
    assert!(w.capped);
    assert!(b.spent <= Duration::from_secs(3));
    assert_eq!(
        w.steps[0].dns.as_ref().expect("dns").candidates[0].queries[0].wait_ms,
        3000
    );
}

#[test]
fn mx_goes_straight_to_res_search() {
    let p = plan(
        &PlanInput::default(),
        "example.test.",
        QueryType::parse("MX").expect("MX"),
    );
    let mut f = fake(&[("127.0.0.1", "*", reply("NXDOMAIN", None, RecordType::MX))]);
    let w = walk(
        &p,
        QueryType::parse("MX").expect("MX"),
        None,
        None,
        &mut f,
        &mut Budget::new(DEFAULT_MAX_TIME),
    );
    assert_eq!(w.steps[0].source, "res_search");
    assert_eq!(
        f.asked,
        vec![("127.0.0.1".into(), "example.test.".into(), RecordType::MX)]
    );
}

/// "Network is unreachable" is not a refusal: each candidate says which it was.
#[test]
fn unreachable_is_not_called_refused() {
    let p = mk("nameserver 10.0.0.1\n", "hosts: dns\n", "web.");
    let gone = Outcome::Unreachable("Network is unreachable (os error 101)".into());
    let mut f = fake(&[("10.0.0.1", "*", gone)]);
    let w = walk(
        &p,
        QueryType::Addresses,
        None,
        None,
        &mut f,
        &mut Budget::new(DEFAULT_MAX_TIME),
    );
    let dns = w.steps[0].dns.as_ref().expect("dns");
    assert_eq!(dns.candidates[0].result, "unreachable");
    let mut f = fake(&[("10.0.0.1", "*", Outcome::Refused)]);
    let w = walk(
        &p,
        QueryType::Addresses,
        None,
        None,
        &mut f,
        &mut Budget::new(DEFAULT_MAX_TIME),
    );
    assert_eq!(
        w.steps[0].dns.as_ref().expect("dns").candidates[0].result,
        "refused"
    );
}
