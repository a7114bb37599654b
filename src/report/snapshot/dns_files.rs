//! A namespace's resolver files in the snapshot's text: resolv.conf, nsswitch.conf, hosts.

use std::fmt::Write;

use crate::dnsconf::DnsFiles;
use crate::put;

pub(super) fn render_dns(out: &mut String, dns: &DnsFiles) {
    let rc = &dns.resolv_conf;
    let mut line = format!("  dns  {}", rc.path);
    match (&rc.parsed, &rc.error) {
        (Some(p), _) => {
            let servers: Vec<&str> = p.nameservers.iter().map(|n| n.text.as_str()).collect();
            if servers.is_empty() {
                line.push_str(": no nameserver");
            } else {
                let _ = write!(line, ": nameserver {}", servers.join(" "));
            }
            if !p.search.is_empty() {
                let _ = write!(line, "; search {}", p.search.join(" "));
            }
            if p.options.ndots != 1 {
                let _ = write!(line, "; ndots {}", p.options.ndots);
            }
        }
        (None, Some(e)) => {
            let _ = write!(line, ": {e}");
        }
        (None, None) => {}
    }
    if let Some(ns) = &dns.nsswitch.parsed {
        let _ = write!(line, "; hosts: {}", ns.hosts_sources().join(" "));
    }
    put!(out, "{line}");
    if let Some(p) = &rc.parsed {
        for w in &p.warnings {
            put!(out, "    ! {w}");
        }
    }
    for (path, cut) in [
        (&rc.path, rc.truncated),
        (&dns.nsswitch.path, dns.nsswitch.truncated),
        (&dns.hosts.path, dns.hosts.truncated),
    ] {
        if cut {
            put!(
                out,
                "    ! {path}: larger than 1 MiB, only its beginning was read"
            );
        }
    }
}
