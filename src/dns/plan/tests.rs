//! The plan against glibc's behaviour, on the sample files under tests/samples: the names
//! `res_search` tries, the servers' waits, the nsswitch actions, and whole plans.

use std::net::{IpAddr, Ipv4Addr};

use super::*;
use crate::dnsconf::{nsswitch, resolv};

fn sample(path: &str) -> String {
    let full = format!("{}/tests/samples/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

fn names(c: &[Candidate]) -> Vec<&str> {
    c.iter().map(|c| c.name.as_str()).collect()
}

fn s(list: &[&str]) -> Vec<String> {
    list.iter().map(|x| x.to_string()).collect()
}

#[test]
fn trailing_dot_is_absolute_and_alone() {
    let c = candidates("db.example.", &s(&["a.test", "b.test"]), 5, false);
    assert_eq!(names(&c), vec!["db.example."]);
    assert_eq!(c[0].why, CandidateKind::Absolute);
}

#[test]
fn kubernetes_pod_ndots5_searches_first() {
    // The clusterfirst sample: search default.svc.cluster.local svc.cluster.local
    // cluster.local google.internal c.gce_project_id.internal, ndots:5.
    let rc = resolv::parse(&sample("resolv/k8s-docs_pod-clusterfirst-gce.resolv.conf"));
    assert_eq!(rc.options.ndots, 5);
    let c = candidates("example.com", &rc.search, rc.options.ndots, false);
    let mut want: Vec<String> = rc
        .search
        .iter()
        .map(|d| format!("example.com.{d}."))
        .collect();
    want.push("example.com.".into());
    assert_eq!(names(&c), want);
    assert_eq!(c.last().unwrap().why, CandidateKind::AsIsLast);
    assert_eq!(
        wasted_queries(&rc.search, rc.options.ndots, false),
        rc.search.len() * 2
    );
}

#[test]
fn enough_dots_go_as_is_first_then_search() {
    // The Go sample: domain localdomain, ndots:5.
    let rc = resolv::parse(&sample("resolv/go_resolv.conf"));
    let c = candidates("a.b.c.d.e.f", &rc.search, rc.options.ndots, false);
    assert_eq!(names(&c), vec!["a.b.c.d.e.f.", "a.b.c.d.e.f.localdomain."]);
    assert_eq!(c[0].why, CandidateKind::AsIsFirst);
    let c = candidates("example.com", &rc.search, rc.options.ndots, false);
    assert_eq!(names(&c), vec!["example.com.localdomain.", "example.com."]);
    let one = candidates("web.corp", &s(&["x.test"]), 1, false);
    assert_eq!(names(&one), vec!["web.corp.", "web.corp.x.test."]);
}

#[test]
fn single_label_searches_then_as_is_unless_no_tld_query() {
    let c = candidates("web", &s(&["x.test", "y.test"]), 1, false);
    assert_eq!(names(&c), vec!["web.x.test.", "web.y.test.", "web."]);
    let c = candidates("web", &s(&["x.test"]), 1, true);
    assert_eq!(names(&c), vec!["web.x.test."]);
    // No search list at all: the name as is, even with no-tld-query.
    let c = candidates("web", &[], 1, true);
    assert_eq!(names(&c), vec!["web."]);
}

#[test]
fn root_on_the_search_list_replaces_the_last_as_is() {
    let rc = resolv::parse(&sample("resolv/go_search-single-dot-resolv.conf"));
    assert!(rc.search.iter().any(|d| d == "."), "{:?}", rc.search);
    let c = candidates("web", &rc.search, rc.options.ndots, false);
    assert_eq!(names(&c), vec!["web."]);
    assert_eq!(c[0].why, CandidateKind::Search(".".into()));
}

#[test]
fn ndots_zero_tries_single_labels_as_is_first() {
    let c = candidates("web", &s(&["x.test"]), 0, false);
    assert_eq!(names(&c), vec!["web.", "web.x.test."]);
}

#[test]
fn server_waits_like_send_dg() {
    let t = |i, n| server_timeout(5, i, n).as_secs();
    assert_eq!((t(0, 1), t(0, 3), t(1, 3), t(2, 3)), (5, 5, 3, 6));
    assert_eq!((t(0, 2), t(1, 2)), (5, 5));
    assert_eq!(server_timeout(1, 1, 3).as_secs(), 1, "at least a second");
}

#[test]
fn notfound_return_and_defaults() {
    let ns = nsswitch::parse("hosts: files mdns4_minimal [NOTFOUND=return] dns\n");
    let p = plan(
        &PlanInput {
            nsswitch: Some(&ns),
            ..Default::default()
        },
        "web",
        QueryType::Addresses,
    );
    let mdns = &p.sources[1];
    assert_eq!(mdns.kind, SourceKind::Mdns);
    assert!(stops_after(mdns, NssStatus::NotFound));
    assert!(!stops_after(mdns, NssStatus::Unavail));
    assert!(stops_after(&p.sources[0], NssStatus::Success));
    assert!(!stops_after(&p.sources[0], NssStatus::NotFound));
    let neg = nsswitch::parse("hosts: resolve [!UNAVAIL=return] dns\n");
    let src = &plan(
        &PlanInput {
            nsswitch: Some(&neg),
            ..Default::default()
        },
        "x",
        QueryType::Addresses,
    )
    .sources[0];
    assert!(stops_after(src, NssStatus::NotFound));
    assert!(!stops_after(src, NssStatus::Unavail));
}

#[test]
fn plans_from_real_samples() {
    let glibc = nsswitch::parse(&sample("nsswitch/glibc_nss_nsswitch.conf"));
    let rc = resolv::parse(&sample("resolv/k8s-docs_pod-dnsconfig.resolv.conf"));
    let p = plan(
        &PlanInput {
            resolv: Some(&rc),
            nsswitch: Some(&glibc),
            hosts: None,
            hostname: None,
        },
        "my-svc",
        QueryType::Addresses,
    );
    let want: Vec<String> = glibc.hosts_sources();
    assert_eq!(
        p.sources.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
        want
    );
    assert!(p.sources_from.starts_with("nsswitch.conf line"));
    assert_eq!(p.servers.len(), rc.effective_nameservers().len());
    assert_eq!(p.ndots, rc.options.ndots);

    let sssd = nsswitch::parse(&sample("nsswitch/authselect_sssd_nsswitch.conf"));
    let p = plan(
        &PlanInput {
            nsswitch: Some(&sssd),
            ..Default::default()
        },
        "web",
        QueryType::Addresses,
    );
    assert_eq!(
        p.sources.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
        sssd.hosts_sources()
    );
    // No resolv.conf: 127.0.0.1 and the defaults.
    assert_eq!(p.servers[0].addr, IpAddr::V4(Ipv4Addr::LOCALHOST));
    assert_eq!(p.servers[0].timeout_ms, 5000);
    assert_eq!(p.attempts, 2);
}

#[test]
fn mx_bypasses_nsswitch_and_hostname_gives_the_default_domain() {
    let p = plan(
        &PlanInput {
            hostname: Some("node7.dc2.example"),
            ..Default::default()
        },
        "mail",
        QueryType::parse("MX").unwrap(),
    );
    assert!(p.sources.is_empty());
    assert_eq!(p.search, vec!["dc2.example"]);
    assert_eq!(names(&p.candidates), vec!["mail.dc2.example.", "mail."]);
}

#[test]
fn only_three_nameservers_with_growing_waits() {
    let rc = resolv::parse(
        "nameserver 10.1.0.1\nnameserver 10.1.0.2\nnameserver 10.1.0.3\nnameserver 10.1.0.4\noptions timeout:2 attempts:3\n",
    );
    let p = plan(
        &PlanInput {
            resolv: Some(&rc),
            ..Default::default()
        },
        "x.",
        QueryType::Addresses,
    );
    assert_eq!(
        p.servers.iter().map(|s| s.timeout_ms).collect::<Vec<_>>(),
        vec![2000, 1000, 2000]
    );
    assert_eq!(p.attempts, 3);
    assert!(p.notes.iter().any(|n| n.contains("only the first 3")));
}
