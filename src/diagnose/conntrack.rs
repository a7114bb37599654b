//! Conntrack: a table close to full drops new connections (`nf_conntrack: table full,
//! dropping packet`); insert failures are the race behind periodic 5-second DNS delays.

use super::facts::Facts;
use super::{Finding, Severity};
use crate::model::{Namespace, NamespaceKind};
use crate::plan::Step;

/// Fill ratios (percent) for a warning and for an error.
const WARN_PCT: u64 = 75;
const ERROR_PCT: u64 = 90;

pub fn check(f: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    for (_, ns) in &f.namespaces {
        let s = &ns.sysctls;
        if let (Some(count), Some(max)) = (s.conntrack_count, s.conntrack_max) {
            if let Some(pct) = count.saturating_mul(100).checked_div(max) {
                if pct >= WARN_PCT {
                    let severity = if pct >= ERROR_PCT {
                        Severity::Error
                    } else {
                        Severity::Warning
                    };
                    out.push(full(ns, count, max, pct, severity));
                }
            }
        }
        // One snapshot cannot tell a climbing counter from an old one: say it, as information;
        // two snapshots (`netlens diff`) show whether it moves.
        if let Some(failed) = s.conntrack_insert_failed.filter(|n| *n > 0) {
            out.push(
                Finding::new(
                    "conntrack-insert-failed",
                    Severity::Info,
                    &ns.name,
                    None,
                    format!("{failed} conntrack insert failures in {}", ns.name),
                    format!(
                        "{} counts {failed} conntrack insert_failed events since boot: two \
                         packets of one new flow raced (typically A and AAAA DNS queries from \
                         one socket) and one was dropped. If it keeps rising, lookups stall \
                         for 5 seconds; `options single-request-reopen` in resolv.conf avoids it.",
                        ns.name
                    ),
                )
                .object("sysctl", &ns.name, "insert_failed"),
            );
        }
    }
    out
}

/// `conntrack-full`. nf_conntrack_max is one global limit, compared with each namespace's own
/// count, and the kernel lets only the initial namespace set it (read-only elsewhere): the fix
/// is offered in the host namespace only; a container's finding says where to raise it.
fn full(ns: &Namespace, count: u64, max: u64, pct: u64, severity: Severity) -> Finding {
    let host = ns.kind == NamespaceKind::Host;
    let finding = Finding::new(
        "conntrack-full",
        severity,
        &ns.name,
        None,
        format!("conntrack table {pct}% full in {}", ns.name),
        format!(
            "{} tracks {count} connections of nf_conntrack_max {max} ({pct}%); at 100% the \
             kernel drops every new connection (\"nf_conntrack: table full, dropping packet\").{}",
            ns.name,
            if host {
                ""
            } else {
                " The limit is global and only the host's namespace can raise it \
                 (sysctl net.netfilter.nf_conntrack_max there); here it is read-only."
            }
        ),
    )
    .object("sysctl", &ns.name, "net.netfilter.nf_conntrack_max");
    if !host {
        return finding;
    }
    finding.fix(
        "double nf_conntrack_max",
        vec![Step::SetSysctl {
            ns: ns.name.clone(),
            key: "net/netfilter/nf_conntrack_max".into(),
            value: max.saturating_mul(2).to_string(),
            persist: false,
        }],
    )
}
