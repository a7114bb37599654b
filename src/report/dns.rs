//! `netlens dns` as text that reads step by step. Only reads the report.

use std::fmt::Write;

use crate::put;

use crate::dns::plan::CandidateKind;
use crate::dns::report::{DnsReport, DnsSearch};

/// The report as the CLI prints it (and the TUI shows it).
pub fn render(r: &DnsReport) -> String {
    let mut o = String::new();
    header(&mut o, r);
    steps(&mut o, r);
    verdict(&mut o, r);
    if let Some(d) = &r.dns_behind_hosts {
        let _ = writeln!(o);
        put!(
            o,
            "DNS behind the hosts entry (netlens asked; glibc did not):"
        );
        search_text(&mut o, d, "  ");
    }
    if !r.notes.is_empty() {
        let _ = writeln!(o);
        for n in &r.notes {
            put!(o, "note: {n}");
        }
    }
    let _ = writeln!(o);
    put!(o, "dig / nslookup:");
    for t in &r.tools_differ {
        put!(o, "  - {t}");
    }
    o
}

/// What is resolved where, the files read, the `hosts:` sources and the resolver's settings.
fn header(o: &mut String, r: &DnsReport) {
    put!(o, "{} {} in {}", r.name, r.qtype, r.namespace);
    put!(
        o,
        "  files: {} · {} · {}",
        r.files.resolv_conf,
        r.files.nsswitch,
        r.files.hosts
    );
    for e in &r.files.errors {
        put!(o, "  ! {e}");
    }
    let p = &r.plan;
    if !p.sources.is_empty() {
        let line: Vec<String> = p
            .sources
            .iter()
            .map(|s| {
                let mut t = s.name.clone();
                for a in &s.actions {
                    t.push_str(&format!(
                        " [{}{}={}]",
                        if a.negated { "!" } else { "" },
                        a.status,
                        a.action
                    ));
                }
                t
            })
            .collect();
        put!(o, "  hosts: {}   ({})", line.join(" "), p.sources_from);
    }
    let servers: Vec<String> = p
        .servers
        .iter()
        .map(|s| format!("{} (waits {} ms)", s.addr, s.timeout_ms))
        .collect();
    put!(
        o,
        "  resolver: search [{}] · ndots {} · {} · nameservers {}",
        p.search.join(" "),
        p.ndots,
        super::plural(p.attempts as usize, "attempt"),
        servers.join(", ")
    );
    let _ = writeln!(o);
}

/// Each source consulted, in order, with what it answered and what nsswitch did then.
fn steps(o: &mut String, r: &DnsReport) {
    let p = &r.plan;
    for (i, s) in r.steps.iter().enumerate() {
        let assumed = if s.evaluated { "" } else { " (assumed)" };
        put!(
            o,
            "{}. {}{}: {}{} → {}",
            i + 1,
            s.source,
            if s.actions.is_empty() {
                String::new()
            } else {
                format!(" {}", s.actions.join(" "))
            },
            s.status.as_str(),
            assumed,
            s.action
        );
        match &s.dns {
            // The search ends with its own summary line.
            Some(d) => search_text(o, d, "   "),
            None => {
                put!(o, "   {}", s.detail);
            }
        }
    }
    if p.sources.iter().len() > r.steps.len() && !r.steps.is_empty() {
        let skipped: Vec<&str> = p.sources[r.steps.len()..]
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        put!(o, "   not consulted: {}", skipped.join(", "));
    }
    let _ = writeln!(o);
}

/// RESOLVED (by which source, to what) or NOT RESOLVED, and the time it took.
fn verdict(o: &mut String, r: &DnsReport) {
    if r.resolved {
        let what = if r.addresses.is_empty() {
            r.answers.join("; ")
        } else {
            r.addresses
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        put!(
            o,
            "RESOLVED by {}: {what}",
            r.answered_by.as_deref().unwrap_or("?")
        );
    } else if r.capped {
        put!(
            o,
            "NOT RESOLVED: netlens stopped waiting at its {} s cap (--max-time); glibc would wait longer",
            r.max_time_secs
        );
    } else {
        put!(o, "NOT RESOLVED");
    }
    put!(o, "  {} ms in all", r.total_ms);
}

fn search_text(o: &mut String, d: &DnsSearch, indent: &str) {
    for c in &d.candidates {
        let why = match &c.why {
            CandidateKind::Absolute => "absolute (trailing dot)".to_string(),
            CandidateKind::AsIsFirst => "as is, first (enough dots for ndots)".to_string(),
            CandidateKind::Search(d) => format!("search domain {d}"),
            CandidateKind::AsIsLast => "as is, after the search list".to_string(),
        };
        put!(o, "{indent}{}  [{why}] → {}", c.name, c.result);
        for q in &c.queries {
            let mut line = format!(
                "{indent}    {:<5} @{} try {} {}: {} in {:.1} ms",
                q.qtype, q.server, q.attempt, q.transport, q.result, q.ms
            );
            if q.result == "NOERROR" && q.answers.is_empty() {
                line.push_str(" (no data)");
            }
            if q.result == "timeout" {
                line.push_str(&format!(" (waited {} ms)", q.wait_ms));
            }
            if !q.answers.is_empty() {
                line.push_str(&format!(" — {}", q.answers.join("; ")));
            }
            if let Some(e) = &q.error {
                line.push_str(&format!(" — {e}"));
            }
            put!(o, "{line}");
        }
    }
    put!(o, "{indent}{}", d.summary);
}
