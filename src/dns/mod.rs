//! `netlens dns`: how glibc would resolve a name in one namespace, step by step.
//!
//! Pure parts: [`query`] (what is asked), [`plan`] (the steps glibc takes, from the files),
//! [`run`] (glibc's stopping rules over a [`exchange::Transport`]), [`wire`] (DNS messages),
//! `report::dns::render` (text). I/O: [`exchange`] (sockets) and [`explain`] (finds the namespace, reads
//! its files, runs everything on a thread inside it).
//!
//! Queries are sent with hickory-proto, one message at a time from sockets created inside the
//! namespace, not with hickory-resolver: the resolver hides what this command exists to show
//! (it picks servers by its own statistics, retries and caches internally, searches DNS
//! before /etc/hosts and has no nsswitch), so each query's server, rcode and time would be
//! lost, and glibc's order (`(timeout << i) / n` per server, attempts rounds) could not be
//! reproduced.
//!
//! For the TUI: [`explain`] blocks for up to `max_time` (default [`DEFAULT_MAX_TIME`]) while
//! nameservers answer — call it from a worker thread — and `report::dns::render` turns the report into
//! the same text the CLI prints.

pub mod announce;
pub mod exchange;
pub mod plan;
pub mod query;
pub mod report;
pub mod run;
pub mod wire;

use std::fs::File;
use std::net::IpAddr;
use std::time::{Duration, Instant};

pub use plan::{LookupPlan, NssStatus};
pub use query::QueryType;
pub use report::DnsReport;
pub use run::DEFAULT_MAX_TIME;

use crate::dnsconf::{read_all, read_dns_files, DnsFiles, READ_LIMIT};
use crate::netns::enter::{run_in_netns_file, EnterError};
use crate::netns::lookup::{self, LookupError};
use exchange::SocketTransport;
use report::FilesUsed;
use run::Budget;

#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    #[error("invalid name {name:?}: {reason}")]
    BadName { name: String, reason: &'static str },
    #[error(
        "unknown query type {given:?} (A, AAAA, A+AAAA, MX, TXT, SRV, CNAME, NS, PTR, SOA, CAA, …)"
    )]
    BadType { given: String },
    #[error(transparent)]
    Namespace(#[from] LookupError),
    #[error(transparent)]
    Enter(#[from] EnterError),
}

/// What to explain.
#[derive(Debug, Clone)]
pub struct ExplainRequest {
    /// A namespace as `--ns` takes it (snapshot name, path, pid, container id prefix, inode).
    pub ns: String,
    pub name: String,
    pub qtype: QueryType,
    /// netlens' cap on time spent waiting for nameservers.
    pub max_time: Duration,
    /// When /etc/hosts answers, also ask DNS (to show whether the entry shadows it).
    pub check_dns_behind_hosts: bool,
    /// Told what each wait for a nameserver is (the CLI's progress line); `None`: silent.
    pub announce: Option<announce::Announce>,
}

impl ExplainRequest {
    pub fn new(ns: &str, name: &str, qtype: QueryType) -> Self {
        ExplainRequest {
            ns: ns.to_string(),
            name: name.to_string(),
            qtype,
            max_time: DEFAULT_MAX_TIME,
            check_dns_behind_hosts: true,
            announce: None,
        }
    }
}

/// Finds the namespace, reads the files its processes see, and resolves `req.name` the way
/// glibc would there, sending real queries from inside it.
pub fn explain(req: &ExplainRequest) -> Result<DnsReport, DnsError> {
    query::validate_name(&req.name)?;
    let (found, file) = lookup::find(&req.ns)?;
    let over = found.etc_override.as_deref().filter(|d| d.is_dir());
    let key = (found.root.clone(), over.map(|d| d.to_path_buf()));
    let files = read_all(std::slice::from_ref(&key), READ_LIMIT)
        .pop()
        .unwrap_or_else(|| read_dns_files(&found.root, over));
    let hostname = nix::unistd::gethostname()
        .ok()
        .map(|h| h.to_string_lossy().into_owned());
    explain_with(&found.name, &file, &files, hostname.as_deref(), req)
}

/// [`explain`] with the namespace already opened and its files already read (the TUI has
/// both from its snapshot).
pub fn explain_with(
    ns_name: &str,
    ns_file: &File,
    files: &DnsFiles,
    hostname: Option<&str>,
    req: &ExplainRequest,
) -> Result<DnsReport, DnsError> {
    query::validate_name(&req.name)?;
    let started = Instant::now();
    let rc = files.resolv_conf.parsed.as_ref();
    let input = plan::PlanInput {
        resolv: rc,
        nsswitch: files.nsswitch.parsed.as_ref(),
        hosts: files.hosts.parsed.as_ref(),
        hostname,
    };
    let the_plan = plan::plan(&input, &req.name, req.qtype);
    let edns0 = rc.is_some_and(|r| r.options.edns0);
    let mut report = run_in_netns_file(ns_file, ns_name, || {
        let mut t = SocketTransport::new(edns0);
        match &req.announce {
            Some(to) => {
                let mut a = announce::Announcing::new(&mut t, the_plan.attempts, to.clone());
                execute(ns_name, &the_plan, req, files, hostname, &mut a)
            }
            None => execute(ns_name, &the_plan, req, files, hostname, &mut t),
        }
    })?;
    report.total_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// Everything but finding the namespace: pure over the transport.
pub fn execute(
    ns_name: &str,
    the_plan: &LookupPlan,
    req: &ExplainRequest,
    files: &DnsFiles,
    hostname: Option<&str>,
    t: &mut dyn exchange::Transport,
) -> DnsReport {
    let mut errors = Vec::new();
    for (what, path, err) in [
        (
            "resolv.conf",
            &files.resolv_conf.path,
            &files.resolv_conf.error,
        ),
        ("nsswitch.conf", &files.nsswitch.path, &files.nsswitch.error),
        ("hosts", &files.hosts.path, &files.hosts.error),
    ] {
        if let Some(e) = err {
            errors.push(format!("{what} {path}: {e}"));
        }
    }
    let mut report = DnsReport {
        namespace: ns_name.to_string(),
        name: req.name.clone(),
        qtype: req.qtype.label(),
        files: FilesUsed {
            resolv_conf: files.resolv_conf.path.clone(),
            nsswitch: files.nsswitch.path.clone(),
            hosts: files.hosts.path.clone(),
            errors,
        },
        plan: the_plan.clone(),
        steps: Vec::new(),
        resolved: false,
        answered_by: None,
        addresses: Vec::new(),
        answers: Vec::new(),
        dns_behind_hosts: None,
        tools_differ: Vec::new(),
        capped: false,
        max_time_secs: req.max_time.as_secs(),
        total_ms: 0,
        notes: the_plan.notes.clone(),
    };
    // getaddrinfo hands back an address literal without asking any source.
    if let Ok(ip) = req.name.parse::<IpAddr>() {
        report.resolved = true;
        report.answered_by = Some("literal".into());
        report.addresses = vec![ip];
        report
            .notes
            .push("an address literal: getaddrinfo returns it without asking any source".into());
        return report;
    }
    let mut budget = Budget::new(req.max_time);
    let w = run::walk(
        the_plan,
        req.qtype,
        files.hosts.parsed.as_ref(),
        hostname,
        t,
        &mut budget,
    );
    report.steps = w.steps;
    report.resolved = w.answered_by.is_some();
    report.answered_by = w.answered_by;
    report.addresses = w.addresses;
    report.answers = w.answers;
    report.capped = w.capped;

    let files_answered = report.answered_by.as_deref() == Some("files");
    let bare = req
        .name
        .strip_suffix('.')
        .unwrap_or(&req.name)
        .to_ascii_lowercase();
    // localhost names are the hosts file's by definition (RFC 6761): nothing to compare.
    let localish = bare == "localhost" || bare.ends_with(".localhost");
    if files_answered && req.check_dns_behind_hosts && !localish && budget.left() > Duration::ZERO {
        // Short waits: this is netlens' own question, not part of the lookup.
        let mut quick = the_plan.clone();
        quick.attempts = 1;
        for s in &mut quick.servers {
            s.timeout_ms = s.timeout_ms.min(1000);
        }
        let mut b = Budget::new(budget.left().min(Duration::from_secs(3)));
        report.dns_behind_hosts = Some(run::search(&quick, req.qtype, t, &mut b));
    }
    report.tools_differ = tools_differ(&report);
    if let Some(shadow) = shadow_note(&report) {
        report.notes.push(shadow);
    }
    report
}

/// Whether the hosts entry that answered hides something else in DNS.
fn shadow_note(r: &DnsReport) -> Option<String> {
    let dns = r.dns_behind_hosts.as_ref()?;
    let hosts: Vec<String> = r.addresses.iter().map(IpAddr::to_string).collect();
    Some(match dns.status {
        NssStatus::Success => {
            let mut d: Vec<String> = dns.addresses.iter().map(IpAddr::to_string).collect();
            let mut h = hosts.clone();
            d.sort();
            h.sort();
            if d == h {
                format!(
                    "hosts entry agrees with DNS ({} gives {} too)",
                    dns.answered_name.as_deref().unwrap_or("DNS"),
                    d.join(", ")
                )
            } else {
                format!(
                    "hosts entry shadows DNS: the file says {}, DNS ({}) says {}",
                    hosts.join(", "),
                    dns.answered_name.as_deref().unwrap_or("?"),
                    d.join(", ")
                )
            }
        }
        NssStatus::NotFound => {
            format!("only the hosts file knows {}: DNS has no such name", r.name)
        }
        _ => "DNS could not be asked whether it agrees with the hosts entry (no answer)".into(),
    })
}

/// Where `dig` and `nslookup` part ways with glibc for this lookup.
fn tools_differ(r: &DnsReport) -> Vec<String> {
    let mut out = vec![
        "dig and nslookup never read /etc/hosts or nsswitch.conf; they only ask DNS".to_string(),
    ];
    let p = &r.plan;
    let bare = r.name.strip_suffix('.').unwrap_or(&r.name);
    if !r.name.ends_with('.') && !p.search.is_empty() {
        out.push(format!(
            "dig {bare} asks for {bare}. only (no search list unless +search); nslookup applies the search list"
        ));
    }
    match r.answered_by.as_deref() {
        Some("files") => out.push(match &r.dns_behind_hosts {
            Some(d) if d.status == NssStatus::Success => format!(
                "here the hosts file answered: dig/nslookup would show DNS's answer instead ({})",
                d.addresses
                    .iter()
                    .map(IpAddr::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Some(d) if d.status == NssStatus::NotFound => {
                "here the hosts file answered: dig/nslookup would report NXDOMAIN".to_string()
            }
            _ => "here the hosts file answered: dig/nslookup would not see that entry".to_string(),
        }),
        Some("myhostname") => out.push(
            "nss-myhostname answered: dig/nslookup would ask DNS, which usually has no such name"
                .into(),
        ),
        _ => {}
    }
    if !p.sources.is_empty() && !p.sources.iter().any(|s| s.name == "dns") {
        out.push(
            "the hosts: line has no dns: this namespace's programs never ask DNS, but dig/nslookup do"
                .into(),
        );
    }
    if let Some(first) = r.steps.first() {
        if first.source != "res_search"
            && r.steps.iter().all(|s| s.source != "dns")
            && p.sources.iter().any(|s| s.name == "dns")
        {
            out.push(format!(
                "glibc stopped at {} before reaching dns; dig/nslookup would still ask DNS",
                r.steps
                    .last()
                    .map(|s| s.source.as_str())
                    .unwrap_or(first.source.as_str())
            ));
        }
    }
    let ns = r.namespace.as_str();
    let getent = if ns == "host" {
        Some(format!("getent ahosts {bare}"))
    } else if let Some(pid) = ns.strip_prefix("pid:") {
        Some(format!("nsenter -t {pid} -n -m getent ahosts {bare}"))
    } else if ns.contains(':') {
        None
    } else {
        Some(format!("ip netns exec {ns} getent ahosts {bare}"))
    };
    if let Some(cmd) = getent {
        out.push(format!("`{cmd}` shows glibc's own answer there"));
    }
    out
}
