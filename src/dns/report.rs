//! The result of `netlens dns`: serde types that are the JSON contract (`docs/dns.md`), built
//! by [`super::run`] and drawn by [`super::render`].

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::plan::{CandidateKind, LookupPlan, NssStatus};

/// One lookup explained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DnsReport {
    pub namespace: String,
    pub name: String,
    /// `A+AAAA` (getaddrinfo's default), `A`, `AAAA`, `MX`, …
    pub qtype: String,
    /// The files read, after `/etc/netns/NAME` overrides and container roots.
    pub files: FilesUsed,
    pub plan: LookupPlan,
    /// Each `hosts:` source in order, as far as glibc got (a single `res_search` step for
    /// record types that bypass nsswitch).
    pub steps: Vec<SourceStep>,
    pub resolved: bool,
    /// The source that answered: `files`, `dns`, `myhostname`, `literal`.
    pub answered_by: Option<String>,
    /// Addresses (A/AAAA lookups) from the answering source.
    pub addresses: Vec<IpAddr>,
    /// Answer records (DNS) or hosts lines (files) behind the result.
    pub answers: Vec<String>,
    /// When /etc/hosts answered: what DNS says about the same name (netlens asked it after
    /// the fact; glibc did not). Decides whether the hosts entry shadows DNS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_behind_hosts: Option<DnsSearch>,
    /// Where `dig` / `nslookup` would see something else, and why.
    pub tools_differ: Vec<String>,
    /// netlens stopped waiting at its time cap while glibc would still be waiting.
    pub capped: bool,
    /// That cap (`--max-time`), in seconds.
    pub max_time_secs: u64,
    pub total_ms: u64,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilesUsed {
    pub resolv_conf: String,
    pub nsswitch: String,
    pub hosts: String,
    /// Read errors (`not found`, permissions) per file, when any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// One source of the `hosts:` line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceStep {
    pub source: String,
    /// `[NOTFOUND=return]`-style items after it, as written.
    pub actions: Vec<String>,
    /// False for a source glibc would consult but netlens cannot (`resolve`, `nis`, `sss`,
    /// mDNS for `.local`): its status is an assumption, said in `detail`.
    pub evaluated: bool,
    pub status: NssStatus,
    /// `return` or `continue`: what glibc does next.
    pub action: String,
    pub detail: String,
    /// Hosts file lines that matched (files).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts_matches: Vec<HostsMatch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<DnsSearch>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostsMatch {
    pub line: usize,
    pub addr: IpAddr,
    pub names: Vec<String>,
}

/// The `dns` source: `res_search` over the candidate names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DnsSearch {
    pub candidates: Vec<CandidateRun>,
    pub status: NssStatus,
    /// The candidate that answered.
    pub answered_name: Option<String>,
    pub addresses: Vec<IpAddr>,
    pub answers: Vec<String>,
    pub queries_sent: usize,
    pub capped: bool,
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CandidateRun {
    pub name: String,
    pub why: CandidateKind,
    pub tried: bool,
    /// `answered`, `NXDOMAIN`, `no data`, `timeout`, `refused`, `unreachable`, `capped`, or why it was not
    /// tried.
    pub result: String,
    pub queries: Vec<QueryRecord>,
}

/// One query sent to one nameserver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryRecord {
    pub name: String,
    pub qtype: String,
    pub server: String,
    /// 1-based round over the servers (resolv.conf `attempts`).
    pub attempt: u32,
    pub transport: String,
    /// How long glibc waits for this server (after netlens' cap, when it cut it).
    pub wait_ms: u64,
    /// `NOERROR`, `NXDOMAIN`, `SERVFAIL`, `REFUSED`, … for a reply; `timeout`, `refused`
    /// (ICMP port unreachable), `unreachable`, `error` otherwise.
    pub result: String,
    pub answers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Time from sending to the reply (or to giving up), in milliseconds.
    pub ms: f64,
}
