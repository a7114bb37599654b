//! The DNS-related files of a namespace as the snapshot holds them: resolv.conf, nsswitch.conf
//! and hosts, each with its path, raw text and parse. The parsers (glibc's rules) are in
//! `crate::dnsconf`; these are plain data with the lookups every reader needs.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// The outcome of reading and parsing one file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileRead<T> {
    /// The path actually read (after applying overrides, and after following symlinks inside
    /// the namespace's root: `/proc/PID/root/run/systemd/resolve/stub-resolv.conf`).
    pub path: String,
    /// The file's text (invalid UTF-8 replaced), if it could be read.
    pub raw: Option<String>,
    pub parsed: Option<T>,
    /// `"not found"` for a missing file, otherwise the I/O error text.
    pub error: Option<String>,
    /// The file was larger than `crate::rootfs::MAX_FILE` (1 MiB): `raw` and `parsed` hold
    /// its beginning only.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

/// The DNS-related files as seen by processes in one namespace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DnsFiles {
    pub resolv_conf: FileRead<ResolvConf>,
    pub nsswitch: FileRead<NsSwitch>,
    pub hosts: FileRead<Hosts>,
}

/// glibc `MAXNS`.
pub const MAX_NAMESERVERS: usize = 3;

/// One `nameserver` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nameserver {
    /// The value as written (without trailing comment).
    pub text: String,
    /// The parsed address; `None` if glibc would reject it (e.g. a hostname).
    pub addr: Option<IpAddr>,
    /// IPv6 zone after `%` (e.g. `lo0` in `fe80::1%lo0`).
    pub scope: Option<String>,
}

/// The `options` line(s).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvOptions {
    pub ndots: u8,
    /// Seconds per try (glibc default 5).
    pub timeout: u32,
    /// Tries per server (glibc default 2).
    pub attempts: u32,
    pub edns0: bool,
    pub rotate: bool,
    pub use_vc: bool,
    pub single_request: bool,
    pub single_request_reopen: bool,
    /// Every other option, as written (`trust-ad`, `no-aaaa`, `inet6`, …).
    pub other: Vec<String>,
}

impl Default for ResolvOptions {
    fn default() -> Self {
        ResolvOptions {
            ndots: 1,
            timeout: 5,
            attempts: 2,
            edns0: false,
            rotate: false,
            use_vc: false,
            single_request: false,
            single_request_reopen: false,
            other: Vec::new(),
        }
    }
}

/// A parsed resolv.conf.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvConf {
    /// Every `nameserver` line, in order, including unusable ones.
    pub nameservers: Vec<Nameserver>,
    /// The effective search list (from the last `search` or `domain` line).
    pub search: Vec<String>,
    /// The value of the last `domain` line, if any.
    pub domain: Option<String>,
    pub sortlist: Vec<String>,
    pub options: ResolvOptions,
    pub warnings: Vec<String>,
}

impl ResolvConf {
    /// The servers glibc will actually query: the first 3 parseable addresses.
    pub fn effective_nameservers(&self) -> Vec<IpAddr> {
        self.nameservers
            .iter()
            .filter_map(|n| n.addr)
            .take(MAX_NAMESERVERS)
            .collect()
    }
}

/// A `[STATUS=action]` item, e.g. `NOTFOUND=return` or `!UNAVAIL=return`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    /// `success`, `notfound`, `unavail` or `tryagain` as written (case kept).
    pub status: String,
    /// True for `!STATUS=…` (any status but this one).
    pub negated: bool,
    /// `return`, `continue` or `merge` as written.
    pub action: String,
}

/// One service in a database's lookup order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub name: String,
    /// Actions in the brackets that follow this source.
    pub actions: Vec<Action>,
}

/// One `database: sources` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Database {
    pub name: String,
    pub sources: Vec<Source>,
    pub line: usize,
}

/// A parsed nsswitch.conf.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NsSwitch {
    pub databases: Vec<Database>,
    pub warnings: Vec<String>,
}

/// glibc's lookup order when `hosts` is not configured.
pub const DEFAULT_HOSTS_SOURCES: [&str; 2] = ["files", "dns"];

impl NsSwitch {
    /// The database glibc uses for `name`: the first line naming it.
    pub fn database(&self, name: &str) -> Option<&Database> {
        self.databases.iter().find(|d| d.name == name)
    }

    /// Source names for host lookups, in order; glibc's default when no `hosts` line.
    pub fn hosts_sources(&self) -> Vec<String> {
        match self.database("hosts") {
            Some(db) => db.sources.iter().map(|s| s.name.clone()).collect(),
            None => DEFAULT_HOSTS_SOURCES
                .iter()
                .map(|s| s.to_string())
                .collect(),
        }
    }
}

/// One usable line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostsEntry {
    pub addr: IpAddr,
    /// Canonical name first, then aliases.
    pub names: Vec<String>,
    /// 1-based line number.
    pub line: usize,
}

/// A parsed hosts file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hosts {
    pub entries: Vec<HostsEntry>,
    pub warnings: Vec<String>,
}

impl Hosts {
    /// Addresses for `name` in file order, compared case-insensitively like glibc does.
    /// A trailing dot on the query is ignored (`localhost.` matches `localhost`).
    pub fn lookup(&self, name: &str) -> Vec<IpAddr> {
        let name = name.strip_suffix('.').unwrap_or(name);
        let mut out = Vec::new();
        for e in &self.entries {
            if e.names.iter().any(|n| n.eq_ignore_ascii_case(name)) && !out.contains(&e.addr) {
                out.push(e.addr);
            }
        }
        out
    }
}
