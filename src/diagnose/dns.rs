//! DNS configuration: nameservers a namespace has no route to, and an nsswitch `hosts:` line
//! that leaves out DNS or /etc/hosts.
//!
//! A namespace that merely inherits the host's files (an `ip netns` namespace without its own
//! `/etc/netns/NAME/…`) was most likely never meant to resolve names: there the finding is
//! information. A file of its own (an override, a container's root) is a warning.

use std::net::IpAddr;

use super::facts::{lookup, Facts};
use super::{Finding, Severity};
use crate::dnsconf::DnsFiles;
use crate::model::RouteKind;
use crate::model::{LinkKind, Namespace, NamespaceKind};
use crate::plan::Step;

pub fn check(f: &Facts) -> Vec<Finding> {
    let host_paths = f
        .snap
        .namespaces
        .iter()
        .find(|n| n.kind == NamespaceKind::Host)
        .and_then(|n| n.dns.as_ref())
        .map(|d| (d.resolv_conf.path.clone(), d.nsswitch.path.clone()))
        .unwrap_or_else(|| ("/etc/resolv.conf".into(), "/etc/nsswitch.conf".into()));
    let mut out = Vec::new();
    for (_, ns) in &f.namespaces {
        let Some(dns) = &ns.dns else { continue };
        nameservers(f, ns, dns, &host_paths.0, &mut out);
        nsswitch_hosts(ns, dns, &host_paths.1, &mut out);
    }
    out
}

/// A file the namespace only inherits from the host (not its own).
fn inherited(ns: &Namespace, path: &str, host: &str) -> bool {
    ns.kind != NamespaceKind::Host && path == host
}

/// `nameserver-unreachable`: each nameserver of resolv.conf (as many as glibc reads) that the
/// namespace has no way to.
fn nameservers(f: &Facts, ns: &Namespace, dns: &DnsFiles, host_rc: &str, out: &mut Vec<Finding>) {
    if let Some(rc) = &dns.resolv_conf.parsed {
        let severity = if inherited(ns, &dns.resolv_conf.path, host_rc) {
            Severity::Info
        } else {
            Severity::Warning
        };
        for server in rc
            .nameservers
            .iter()
            .take(crate::dnsconf::resolv::MAX_NAMESERVERS)
        {
            let Some(IpAddr::V4(ip)) = server.addr else {
                continue;
            };
            if let Some(why) = unreachable(f, ns, ip) {
                out.push(
                    Finding::new(
                        "nameserver-unreachable",
                        severity,
                        &ns.name,
                        Some(&ip.to_string()),
                        format!("nameserver {ip} is unreachable from {}", ns.name),
                        format!(
                            "{} names nameserver {ip}, but {why}: every lookup there waits \
                             for the timeout ({}s × {}) and fails.{}",
                            dns.resolv_conf.path,
                            rc.options.timeout,
                            crate::text::plural(rc.options.attempts as usize, "attempt"),
                            if severity == Severity::Info {
                                " The namespace only inherits the host's file; it may \
                                 never be meant to resolve names."
                            } else {
                                ""
                            }
                        ),
                    )
                    .object("file", &ns.name, dns.resolv_conf.path.clone())
                    .fix_opt(drop_dead_nameserver(f, ns, dns, rc, ip, severity)),
                );
            }
        }
    }
}

/// `nsswitch-hosts`: a `hosts:` line that leaves out DNS (when there is a nameserver) or
/// /etc/hosts.
fn nsswitch_hosts(ns: &Namespace, dns: &DnsFiles, host_nss: &str, out: &mut Vec<Finding>) {
    if let Some(sw) = &dns.nsswitch.parsed {
        let sources = sw.hosts_sources();
        // nss-resolve (systemd-resolved) does DNS and reads /etc/hosts itself.
        let has = |want: &str| sources.iter().any(|x| x == want || x == "resolve");
        let missing: Vec<&str> = ["files", "dns"].into_iter().filter(|s| !has(s)).collect();
        // Without a resolv.conf nameserver there is no DNS to skip.
        let has_dns = dns
            .resolv_conf
            .parsed
            .as_ref()
            .is_some_and(|r| !r.nameservers.is_empty());
        if !missing.is_empty() && (has_dns || missing.contains(&"files")) {
            let severity = if inherited(ns, &dns.nsswitch.path, host_nss) {
                Severity::Info
            } else {
                Severity::Warning
            };
            let consequence = if missing.contains(&"dns") {
                "names are never looked up in DNS, whatever resolv.conf says"
            } else {
                "/etc/hosts is never read (not even for localhost)"
            };
            out.push(
                Finding::new(
                    "nsswitch-hosts",
                    severity,
                    &ns.name,
                    None,
                    format!(
                        "nsswitch hosts: skips {} in {}",
                        missing.join(" and "),
                        ns.name
                    ),
                    format!(
                        "{} has `hosts: {}`, without {}: {consequence}.",
                        dns.nsswitch.path,
                        sources.join(" "),
                        missing.join(" or ")
                    ),
                )
                .object("file", &ns.name, dns.nsswitch.path.clone())
                .fix_opt(
                    // The host's own file is the host's to change, not a namespace fix.
                    (severity == Severity::Warning && writable(&dns.nsswitch))
                        .then(|| {
                            let raw = dns.nsswitch.raw.as_deref()?;
                            Some((
                                format!(
                                    "add {} to the hosts: line of {}",
                                    missing.join(" and "),
                                    dns.nsswitch.path
                                ),
                                vec![Step::WriteFile {
                                    ns: ns.name.clone(),
                                    path: dns.nsswitch.path.clone(),
                                    content: Some(with_hosts_sources(raw, &missing)),
                                    // Applied right after the snapshot; its inverse
                                    // pins the process (see `plan::inverse`).
                                    pid_start: None,
                                }],
                            ))
                        })
                        .flatten(),
                ),
            );
        }
    }
}

/// When another nameserver of the namespace's own file is reachable, the unreachable one only
/// costs every lookup a timeout: the fix drops its line. With no reachable alternative the
/// right answer (a route? another server?) is the engineer's, and there is no fix.
fn drop_dead_nameserver(
    f: &Facts,
    ns: &Namespace,
    dns: &crate::dnsconf::DnsFiles,
    rc: &crate::dnsconf::resolv::ResolvConf,
    dead: std::net::Ipv4Addr,
    severity: Severity,
) -> Option<(String, Vec<Step>)> {
    if severity != Severity::Warning || !writable(&dns.resolv_conf) {
        return None;
    }
    let alive = rc.nameservers.iter().any(|s| match s.addr {
        Some(IpAddr::V4(ip)) => ip != dead && unreachable(f, ns, ip).is_none(),
        _ => false,
    });
    if !alive {
        return None;
    }
    let raw = dns.resolv_conf.raw.as_deref()?;
    let kept: String = raw
        .lines()
        .filter(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            !(w.first() == Some(&"nameserver") && w.get(1) == Some(&dead.to_string().as_str()))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    Some((
        format!("drop nameserver {dead} from {}", dns.resolv_conf.path),
        vec![Step::WriteFile {
            ns: ns.name.clone(),
            path: dns.resolv_conf.path.clone(),
            content: Some(kept),
            pid_start: None,
        }],
    ))
}

/// Whether a fix may rewrite this file: read whole (a cut file written back would lose its
/// end), and at a path netlens writes (a file reached through a link shows the link's target,
/// which netlens does not write; see [`crate::rootfs::write`]).
fn writable<T>(file: &crate::dnsconf::FileRead<T>) -> bool {
    !file.truncated && crate::rootfs::parse_target(&file.path).is_ok()
}

/// `raw` with `files` put first and `dns` last on its `hosts:` line when missing, every other
/// line and source (and `[NOTFOUND=return]`-style actions) kept as they were.
fn with_hosts_sources(raw: &str, missing: &[&str]) -> String {
    let mut out = String::new();
    for line in raw.lines() {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix("hosts:") {
            let mut words: Vec<&str> = rest.split_whitespace().collect();
            if missing.contains(&"files") {
                words.insert(0, "files");
            }
            if missing.contains(&"dns") {
                words.push("dns");
            }
            out.push_str(&format!("hosts: {}\n", words.join(" ")));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// Why `ip` cannot be reached from `ns`, or `None` if a route (or a local address) covers it.
/// A namespace with no address beyond loopback is isolated on purpose and not judged.
fn unreachable(f: &Facts, ns: &Namespace, ip: std::net::Ipv4Addr) -> Option<String> {
    if ip.is_loopback() {
        let lo_up = ns
            .links
            .iter()
            .any(|l| l.kind == LinkKind::Loopback && l.is_up());
        return (!lo_up).then(|| format!("loopback is down in {}", ns.name));
    }
    if !f.held_in(ns).any(|h| h.live()) {
        return None;
    }
    match lookup(ns, ip) {
        None => Some(format!("{} has no route to {ip}", ns.name)),
        Some(r) if r.kind != RouteKind::Unicast && r.kind != RouteKind::Local => Some(format!(
            "{} routes {ip} to a {} route ({})",
            ns.name, r.kind, r.dst
        )),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn hosts_line_gets_what_it_lacks_and_keeps_the_rest() {
        let raw = "# mine\npasswd: files\nhosts: files [NOTFOUND=return] mdns4\n";
        assert_eq!(
            super::with_hosts_sources(raw, &["dns"]),
            "# mine\npasswd: files\nhosts: files [NOTFOUND=return] mdns4 dns\n"
        );
        assert_eq!(
            super::with_hosts_sources("hosts: dns\n", &["files"]),
            "hosts: files dns\n"
        );
    }
}
