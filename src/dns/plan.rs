//! The resolution plan: from a namespace's parsed nsswitch.conf, resolv.conf and hosts, and
//! the name asked for, the steps glibc takes, in order. Pure: no I/O, no clock.
//!
//! What glibc does (2.26 and later; `nss/nsswitch.c`, `resolv/res_query.c`,
//! `resolv/res_send.c`), and so what is modelled:
//! - `getaddrinfo` walks the `hosts:` sources in order. After each one, the status it returned
//!   (SUCCESS, NOTFOUND, UNAVAIL, TRYAGAIN) picks an action: `return` stops, `continue` goes on.
//!   Defaults: SUCCESS=return, everything else continue. `[NOTFOUND=return]` after a source
//!   changes that for the source it follows. No `hosts:` line means `files dns`.
//! - the `dns` source runs `res_search`: a name with a trailing dot is tried as is and only as
//!   is; a name with at least `ndots` dots is tried as is first; then (no trailing dot) each
//!   search domain in order (all of them: glibc ≥ 2.26 has no limit on the list); then, if the
//!   name was not tried as is and the list holds no root domain, as is last — unless
//!   `no-tld-query` and the name has no dot.
//! - each query goes to the nameservers in order, `attempts` rounds; the wait for server `i`
//!   of `n` is `(timeout << i) / n` seconds (at least 1; `timeout` for the first server) — a
//!   quirk of `send_dg` that makes later servers wait longer.
//! - without a `search`/`domain` line the search list is the domain part of the host name;
//!   without a usable `nameserver` line, the server is 127.0.0.1.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::query::QueryType;
use crate::dnsconf::{Action, Hosts, NsSwitch, ResolvConf};

/// One `hosts:` source as glibc will consult it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedSource {
    pub name: String,
    pub kind: SourceKind,
    /// The `[STATUS=action]` items written after it, as written.
    pub actions: Vec<Action>,
}

/// How netlens can evaluate a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// `/etc/hosts`.
    Files,
    /// The stub resolver: resolv.conf's servers, search list and ndots.
    Dns,
    /// systemd's nss-myhostname: localhost, `*.localhost`, the host name.
    MyHostname,
    /// nss-mdns (`mdns4_minimal`, `mdns_minimal`, `mdns4`, …): only `.local` names.
    Mdns,
    /// Anything else (`resolve`, `mymachines`, `nis`, `sss`, `wins`, …): not evaluated.
    Other,
}

impl SourceKind {
    fn of(name: &str) -> SourceKind {
        match name {
            "files" => SourceKind::Files,
            "dns" => SourceKind::Dns,
            "myhostname" => SourceKind::MyHostname,
            n if n.starts_with("mdns") => SourceKind::Mdns,
            _ => SourceKind::Other,
        }
    }
}

/// NSS statuses (`enum nss_status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NssStatus {
    Success,
    NotFound,
    Unavail,
    TryAgain,
}

impl NssStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            NssStatus::Success => "SUCCESS",
            NssStatus::NotFound => "NOTFOUND",
            NssStatus::Unavail => "UNAVAIL",
            NssStatus::TryAgain => "TRYAGAIN",
        }
    }
}

/// What glibc does after a source returned `status`: true to stop (`return`), false to go on.
/// The last matching `[…]` item wins, as glibc fills one action slot per status in order.
pub fn stops_after(source: &PlannedSource, status: NssStatus) -> bool {
    let mut stop = status == NssStatus::Success;
    for a in &source.actions {
        let matches = a.status.eq_ignore_ascii_case(status.as_str());
        if matches != a.negated {
            // `merge` only means something for group databases; for hosts it continues.
            stop = a.action.eq_ignore_ascii_case("return");
        }
    }
    stop
}

/// Why a candidate name is tried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "domain")]
pub enum CandidateKind {
    /// Trailing dot: the name is absolute and tried only as is.
    Absolute,
    /// At least `ndots` dots: as is, before the search list.
    AsIsFirst,
    /// The name plus one search domain.
    Search(String),
    /// As is, after the search list.
    AsIsLast,
}

/// One name the `dns` source will ask for, fully qualified (ends with a dot).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    pub name: String,
    pub why: CandidateKind,
}

/// The names `res_search` tries for `name`, in order (see the module comment).
pub fn candidates(name: &str, search: &[String], ndots: u8, no_tld_query: bool) -> Vec<Candidate> {
    let dots = name.matches('.').count();
    let trailing_dot = name.ends_with('.');
    let mut out = Vec::new();
    let bare = name.strip_suffix('.').unwrap_or(name);
    let absolute = format!("{bare}.");
    if trailing_dot {
        out.push(Candidate {
            name: absolute,
            why: CandidateKind::Absolute,
        });
        return out;
    }
    let mut tried_as_is = false;
    if dots >= usize::from(ndots) {
        out.push(Candidate {
            name: absolute.clone(),
            why: CandidateKind::AsIsFirst,
        });
        tried_as_is = true;
    }
    let mut searched = false;
    let mut root_on_list = false;
    for domain in search {
        searched = true;
        // glibc strips one leading dot; what is left empty is the root ("name.").
        let d = domain.strip_prefix('.').unwrap_or(domain);
        let d = d.strip_suffix('.').unwrap_or(d);
        if d.is_empty() {
            root_on_list = true;
            out.push(Candidate {
                name: absolute.clone(),
                why: CandidateKind::Search(".".into()),
            });
        } else {
            out.push(Candidate {
                name: format!("{bare}.{d}."),
                why: CandidateKind::Search(d.to_string()),
            });
        }
    }
    // glibc: (dots || !searched || !RES_NOTLDQUERY) && !(tried_as_is || root_on_list).
    let tld_allowed = dots > 0 || !searched || !no_tld_query;
    if tld_allowed && !tried_as_is && !root_on_list {
        out.push(Candidate {
            name: absolute,
            why: CandidateKind::AsIsLast,
        });
    }
    out
}

/// One nameserver with the wait glibc gives it per try.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedServer {
    pub addr: IpAddr,
    /// IPv6 zone (`%eth0`), if any.
    pub scope: Option<String>,
    pub timeout_ms: u64,
}

/// `send_dg`'s wait for server `index` of `count`: `(timeout << index) / count` for every
/// server but the first, at least one second.
pub fn server_timeout(timeout_secs: u32, index: usize, count: usize) -> Duration {
    let shifted = u64::from(timeout_secs) << index.min(16);
    let secs = if index > 0 {
        shifted / count.max(1) as u64
    } else {
        shifted
    };
    Duration::from_secs(secs.max(1))
}

/// Everything glibc would do for one lookup, before anything is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LookupPlan {
    pub name: String,
    pub qtype: String,
    /// The `hosts:` sources in order; empty when the type bypasses nsswitch (MX, SRV, …).
    pub sources: Vec<PlannedSource>,
    /// Where the order came from: `nsswitch.conf line N`, or glibc's default.
    pub sources_from: String,
    pub candidates: Vec<Candidate>,
    pub servers: Vec<PlannedServer>,
    pub search: Vec<String>,
    pub ndots: u8,
    pub attempts: u32,
    pub timeout_secs: u32,
    /// What netlens assumed or could not model, for the reader.
    pub notes: Vec<String>,
}

/// The parsed files a plan is made from; a missing file is `None`.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlanInput<'a> {
    pub resolv: Option<&'a ResolvConf>,
    pub nsswitch: Option<&'a NsSwitch>,
    pub hosts: Option<&'a Hosts>,
    /// The host name processes there see (`gethostname`), for the default search domain.
    pub hostname: Option<&'a str>,
}

/// Builds the plan for `name` (already validated) and `qtype`.
pub fn plan(input: &PlanInput<'_>, name: &str, qtype: QueryType) -> LookupPlan {
    let mut notes = Vec::new();
    let default_rc = ResolvConf::default();
    let rc = input.resolv.unwrap_or_else(|| {
        notes.push(
            "no resolv.conf: glibc uses its defaults (127.0.0.1, ndots:1, timeout:5, attempts:2)"
                .into(),
        );
        &default_rc
    });

    let (sources, sources_from) = if !qtype.uses_nsswitch() {
        notes.push(format!(
            "{} records are looked up with res_search: nsswitch.conf and /etc/hosts take no part",
            qtype.label()
        ));
        (Vec::new(), "res_search (no nsswitch)".to_string())
    } else {
        match input.nsswitch.and_then(|n| n.database("hosts")) {
            Some(db) => (
                db.sources
                    .iter()
                    .map(|s| PlannedSource {
                        name: s.name.clone(),
                        kind: SourceKind::of(&s.name),
                        actions: s.actions.clone(),
                    })
                    .collect(),
                format!("nsswitch.conf line {}", db.line),
            ),
            None => (
                crate::dnsconf::nsswitch::DEFAULT_HOSTS_SOURCES
                    .iter()
                    .map(|s| PlannedSource {
                        name: s.to_string(),
                        kind: SourceKind::of(s),
                        actions: Vec::new(),
                    })
                    .collect(),
                if input.nsswitch.is_some() {
                    "glibc default (nsswitch.conf has no hosts: line)".to_string()
                } else {
                    "glibc default (no nsswitch.conf)".to_string()
                },
            ),
        }
    };

    let mut search = rc.search.clone();
    if search.is_empty() {
        // res_init: no search/domain line → the host name's domain part.
        if let Some((_, domain)) = input.hostname.and_then(|h| h.split_once('.')) {
            if !domain.is_empty() {
                notes.push(format!(
                    "no search or domain line: glibc searches the host name's domain {domain}"
                ));
                search.push(domain.to_string());
            }
        }
    }
    let no_tld_query = rc.options.other.iter().any(|o| o == "no-tld-query");
    let ndots = rc.options.ndots;
    let candidates = candidates(name, &search, ndots, no_tld_query);

    let mut addrs: Vec<(IpAddr, Option<String>)> = rc
        .nameservers
        .iter()
        .filter_map(|n| n.addr.map(|a| (a, n.scope.clone())))
        .take(crate::dnsconf::resolv::MAX_NAMESERVERS)
        .collect();
    if addrs.is_empty() {
        if input.resolv.is_some() {
            notes.push("no usable nameserver line: glibc asks 127.0.0.1".into());
        }
        addrs.push((IpAddr::V4(Ipv4Addr::LOCALHOST), None));
    }
    let skipped = rc.nameservers.iter().filter(|n| n.addr.is_some()).count();
    if skipped > crate::dnsconf::resolv::MAX_NAMESERVERS {
        notes.push(format!(
            "{skipped} nameservers listed: glibc asks only the first {}",
            crate::dnsconf::resolv::MAX_NAMESERVERS
        ));
    }
    let count = addrs.len();
    let servers = addrs
        .into_iter()
        .enumerate()
        .map(|(i, (addr, scope))| PlannedServer {
            addr,
            scope,
            timeout_ms: server_timeout(rc.options.timeout.max(1), i, count).as_millis() as u64,
        })
        .collect();
    if rc.options.rotate {
        notes.push(
            "options rotate: glibc starts each lookup at a different server; shown in file order"
                .into(),
        );
    }
    if rc.options.use_vc {
        notes.push("options use-vc: glibc would use TCP; netlens sends UDP first".into());
    }

    LookupPlan {
        name: name.to_string(),
        qtype: qtype.label(),
        sources,
        sources_from,
        candidates,
        servers,
        search,
        ndots,
        attempts: rc.options.attempts.max(1),
        timeout_secs: rc.options.timeout.max(1),
        notes,
    }
}

/// How many queries an external two-label name (`example.com`) costs before its absolute
/// query, with A and AAAA sent for each candidate: the ndots amplification.
pub fn wasted_queries(search: &[String], ndots: u8, no_tld_query: bool) -> usize {
    candidates("example.com", search, ndots, no_tld_query)
        .iter()
        .take_while(|c| !matches!(c.why, CandidateKind::AsIsFirst | CandidateKind::AsIsLast))
        .filter(|c| c.name != "example.com.")
        .count()
        * 2
}

#[cfg(test)]
mod tests {
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
}
