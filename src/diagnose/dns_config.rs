//! Resolver configuration that costs or breaks lookups, decided from the files alone (and the
//! namespace's listening sockets): a search list longer than resolvers keep, ndots that sends
//! external names through the whole search list first, and a loopback nameserver with nothing
//! listening on port 53 in that namespace.
//!
//! `hosts-shadows-dns` is not a rule: whether a hosts entry hides a different DNS answer
//! needs a query, so `netlens dns` reports it (`dns_behind_hosts`).
//!
//! A file only inherited from the host is judged once, on the host: the two configuration
//! rules skip namespaces that see the host's own resolv.conf. A loopback nameserver is
//! per-namespace (each has its own loopback), so it is judged everywhere — as information
//! where the file is only inherited, like `nameserver-unreachable`.

use std::net::IpAddr;

use super::facts::Facts;
use super::{Finding, Severity};
use crate::dns::plan::wasted_queries;
use crate::dnsconf::resolv::{ResolvConf, MUSL_LINE_MAX, OLD_MAX_SEARCH};
use crate::model::{LinkKind, Namespace, NamespaceKind, NsStatus};

/// Queries an external name may cost before its absolute query without a finding: one
/// search domain (A + AAAA).
const WASTE_OK: usize = 2;

pub fn check(f: &Facts) -> Vec<Finding> {
    let host_resolv = f
        .snap
        .namespaces
        .iter()
        .find(|n| n.kind == NamespaceKind::Host)
        .and_then(|n| n.dns.as_ref())
        .map(|d| d.resolv_conf.path.clone())
        .unwrap_or_else(|| "/etc/resolv.conf".into());
    let mut out = Vec::new();
    for (_, ns) in &f.namespaces {
        let Some(dns) = &ns.dns else { continue };
        let Some(rc) = &dns.resolv_conf.parsed else {
            continue;
        };
        let path = &dns.resolv_conf.path;
        let inherited = ns.kind != NamespaceKind::Host && *path == host_resolv;
        if !inherited {
            out.extend(search_too_long(
                ns,
                rc,
                dns.resolv_conf.raw.as_deref(),
                path,
            ));
            out.extend(ndots_amplification(ns, rc, path));
        }
        out.extend(stub_missing(ns, rc, path, inherited));
    }
    out
}

/// The last `search`/`domain` line's length (glibc: the last one wins).
fn search_line_len(raw: Option<&str>) -> usize {
    raw.unwrap_or("")
        .lines()
        .rfind(|l| l.starts_with("search") || l.starts_with("domain"))
        .map(str::len)
        .unwrap_or(0)
}

fn search_too_long(
    ns: &Namespace,
    rc: &ResolvConf,
    raw: Option<&str>,
    path: &str,
) -> Option<Finding> {
    let count = rc.search.len();
    let line = search_line_len(raw);
    // A line musl can read holds at most 254 characters before its newline.
    let long_line = line >= MUSL_LINE_MAX - 1;
    if count <= OLD_MAX_SEARCH && !long_line {
        return None;
    }
    let mut why = Vec::new();
    if count > OLD_MAX_SEARCH {
        why.push(format!(
            "{count} search domains: glibc before 2.26 keeps only the first {OLD_MAX_SEARCH} (the rest are never searched)"
        ));
    }
    if long_line {
        why.push(format!(
            "the search line is {line} characters: musl (Alpine) ignores a line of {} or more entirely, so such containers search nothing; glibc before 2.26 keeps 256 characters of the list",
            MUSL_LINE_MAX - 1
        ));
    }
    Some(
        Finding::new(
            "search-too-long",
            Severity::Warning,
            &ns.name,
            None,
            format!("search list in {} is longer than some resolvers keep", ns.name),
            format!(
                "{path}: {}. glibc 2.26 and later honour any length, so the same file resolves differently in different images. Kubernetes' kubelet refuses more than 32 domains or 2048 characters. Keep it to {OLD_MAX_SEARCH} domains and under {} characters.",
                why.join("; "),
                MUSL_LINE_MAX - 1
            ),
        )
        .object("file", &ns.name, path.to_string()),
    )
}

fn ndots_amplification(ns: &Namespace, rc: &ResolvConf, path: &str) -> Option<Finding> {
    let no_tld = rc.options.other.iter().any(|o| o == "no-tld-query");
    let n = wasted_queries(&rc.search, rc.options.ndots, no_tld);
    if n <= WASTE_OK {
        return None;
    }
    Some(
        Finding::new(
            "ndots-amplification",
            Severity::Info,
            &ns.name,
            None,
            format!(
                "ndots:{} in {} costs external names {n} queries first",
                rc.options.ndots, ns.name
            ),
            format!(
                "{path} has ndots:{} and {} search domains: a name like example.com (one dot, fewer than {}) is tried in every search domain first, {n} queries (A and AAAA each) that fail before the absolute one; with several nameservers or a slow upstream each costs its round trip. Write external names with a trailing dot, or lower ndots (Kubernetes: dnsConfig options ndots: \"1\" or \"2\").",
                rc.options.ndots,
                rc.search.len(),
                rc.options.ndots
            ),
        )
        .object("file", &ns.name, path.to_string()),
    )
}

fn stub_missing(ns: &Namespace, rc: &ResolvConf, path: &str, inherited: bool) -> Vec<Finding> {
    // Sockets are complete only for a namespace read in full.
    if ns.status != NsStatus::Ok {
        return Vec::new();
    }
    let mut out = Vec::new();
    for ip in rc.effective_nameservers() {
        if !ip.is_loopback() {
            continue;
        }
        let listening = ns.sockets.iter().any(|s| {
            s.port == 53
                && s.proto.starts_with("udp")
                && (s.address == ip
                    // A wildcard socket; an IPv6 one is dual-stack unless v6only.
                    || s.address.is_unspecified())
        });
        if listening {
            continue;
        }
        let lo_up = ns
            .links
            .iter()
            .any(|l| l.kind == LinkKind::Loopback && l.is_up());
        if !lo_up {
            // nameserver-unreachable already says loopback is down.
            continue;
        }
        out.push(
            Finding::new(
                "stub-resolver-missing",
                if inherited { Severity::Info } else { Severity::Warning },
                &ns.name,
                Some(&ip.to_string()),
                format!("nameserver {ip} in {}, but nothing there listens on port 53", ns.name),
                format!(
                    "{path} names the loopback resolver {ip}{}, and no socket in {} listens on {ip}:53 (UDP): each network namespace has its own loopback, so a stub like systemd-resolved's on the host is not reachable from here. Every lookup is refused at once. Give the namespace a resolv.conf with a reachable nameserver{}.",
                    if ip == IpAddr::from([127, 0, 0, 53]) { " (systemd-resolved's stub)" } else { "" },
                    ns.name,
                    if inherited {
                        " (for `ip netns exec`, /etc/netns/NAME/resolv.conf); it only inherits the host's file and may never be meant to resolve names"
                    } else {
                        " (kubelet: --resolv-conf=/run/systemd/resolve/resolv.conf, or CoreDNS forwards to itself)"
                    }
                ),
            )
            .object("file", &ns.name, path.to_string()),
        );
    }
    out
}
