//! `netlens dns NAME [--ns NS] [--type A|AAAA|…] [--json] [--max-time SECS]`: how glibc would
//! resolve NAME in that namespace, step by step, with real queries sent from inside it.
//! Exit 0 resolved, 1 not resolved, 2 bad input (unknown namespace, invalid name or type).

use std::time::Duration;

use crate::dns::{self, DnsError, ExplainRequest, QueryType};

#[derive(Debug, Clone, clap::Args)]
pub struct DnsArgs {
    /// The name to resolve (a trailing dot makes it absolute: no search list).
    #[arg(value_name = "NAME")]
    pub name: String,
    /// The namespace (name, path, pid, container or pod name, container id prefix or inode);
    /// default: the host's.
    #[arg(long, value_name = "NS", default_value = "host")]
    pub ns: String,
    /// Record type: A+AAAA (default, like getaddrinfo), A, AAAA, or any other (MX, TXT, SRV…,
    /// which glibc looks up without nsswitch).
    #[arg(long = "type", value_name = "TYPE", default_value = "A+AAAA")]
    pub qtype: String,
    /// Stop waiting for nameservers after this many seconds in all.
    #[arg(long, value_name = "SECS", default_value_t = dns::DEFAULT_MAX_TIME.as_secs())]
    pub max_time: u64,
    /// When /etc/hosts answers, do not ask DNS whether it agrees.
    #[arg(long)]
    pub no_dns_check: bool,
    /// Print the explanation as JSON (files read, the plan, every step and query; docs/dns.md).
    #[arg(long)]
    pub json: bool,
}

const EXIT_UNRESOLVED: i32 = 1;
const EXIT_USAGE: i32 = 2;

pub fn run(args: &DnsArgs) -> anyhow::Result<i32> {
    let report = QueryType::parse(&args.qtype).and_then(|qtype| {
        let mut req = ExplainRequest::new(&args.ns, &args.name, qtype);
        req.max_time = Duration::from_secs(args.max_time.max(1));
        req.check_dns_behind_hosts = !args.no_dns_check;
        // A dead nameserver costs seconds per try: say what is being waited for.
        let progress = super::output::Progress::current();
        if progress != super::output::Progress::Off {
            req.announce = Some(dns::announce::Announce(std::sync::Arc::new(
                move |what: Option<&str>| match what {
                    Some(w) => progress.say(w),
                    None => progress.clear(),
                },
            )));
        }
        dns::explain(&req)
    });
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            crate::errln!("netlens dns: {e}");
            return Ok(match e {
                DnsError::BadName { .. } | DnsError::BadType { .. } | DnsError::Namespace(_) => {
                    EXIT_USAGE
                }
                // Not entering the namespace (no privilege) is no answer either way.
                DnsError::Enter(_) => EXIT_USAGE,
            });
        }
    };
    let text = if args.json {
        let mut t = serde_json::to_string_pretty(&report)?;
        t.push('\n');
        t
    } else {
        crate::report::dns::render(&report)
    };
    super::output::print_report(&text, args.json, crate::report::color::Kind::Dns)?;
    Ok(if report.resolved { 0 } else { EXIT_UNRESOLVED })
}
