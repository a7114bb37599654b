//! Building a [`Snapshot`]: discover, read every namespace in parallel on dedicated threads,
//! then the cross-namespace work (veth peers, socket owners, DNS files) on the caller's thread.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use super::peers::{pair_veths, NsAccess};
use super::sysctl::{self, HostProbe};
use super::{ip_state, parallel, sockets};
use crate::dnsconf::{read_all, DnsFiles, READ_LIMIT as DNS_READ_LIMIT};
use crate::firewall;
use crate::model::{Namespace, NsStatus, Snapshot, SCHEMA_VERSION};
use crate::netlink::RtSocket;
use crate::netns::discover::{discover, Discovery, FoundNs};

/// What to collect.
#[derive(Debug, Clone)]
pub struct Options {
    /// Namespace selectors (`--ns`): a name, a path, a container id prefix or an inode. Empty
    /// means all. Everything is still read so veth peers resolve across the filter.
    pub only: Vec<String>,
    /// Run the firewall collector (it may spawn iptables-save/nft where rules exist).
    pub firewall: bool,
    /// Read only what `ip link/addr/route/neigh` list (`snapshot --ip-only`): links,
    /// addresses, routes of every table and neighbours, with veth ends paired. No rules,
    /// sysctls, sockets, firewall, DNS files or CNI state (the snapshot's warnings say so).
    pub ip_only: bool,
    /// Worker threads; 0 picks one per CPU, at least 2, at most 8.
    pub workers: usize,
    /// Where to read CNI configs, plugins and leases; `None`: the defaults as the environment
    /// overrides them (`crate::cni::Dirs::configured`).
    pub cni_dirs: Option<crate::cni::Dirs>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            only: Vec::new(),
            firewall: true,
            ip_only: false,
            workers: 0,
            cni_dirs: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error(
        "unknown namespace {wanted:?}{}",
        crate::netns::lookup::suggest(wanted, known)
    )]
    UnknownNamespace { wanted: String, known: Vec<String> },
}

/// What a worker produced for one namespace.
pub(super) struct Collected {
    pub ns: Namespace,
    pub file: Option<File>,
    pub socket: Option<RtSocket>,
}

/// Reads one namespace on the calling thread, which must be a dedicated collector thread: it
/// may be moved into the namespace and is never used for anything else afterwards.
/// `current` is the namespace the thread is in now (it moves from job to job), so entering is
/// skipped only when the thread is already there.
pub(super) fn collect_one(
    found: &FoundNs,
    current: &mut Option<u64>,
    probe: HostProbe,
    opts: &Options,
) -> Collected {
    let mut ns = Namespace::new(found.name.clone(), found.kind, found.inode);
    ns.paths = found.named_paths.clone();
    ns.processes = found.processes.clone();
    ns.workload = found.workload.clone();

    let (file, status) = parallel::enter(found, current);
    if status != NsStatus::Ok {
        ns.status = status;
        return Collected {
            ns,
            file,
            socket: None,
        };
    }
    let mut socket = match RtSocket::open() {
        Ok(s) => Some(s),
        Err(e) => {
            ns.add_problem(format!("netlink socket: {e}"));
            None
        }
    };
    if let Some(sock) = socket.as_mut() {
        let data = if opts.ip_only {
            ip_state::read_ip_facts(sock)
        } else {
            ip_state::read_all(sock)
        };
        ns.links = data.links;
        ns.addresses = data.addresses;
        ns.routes = data.routes;
        ns.rules = data.rules;
        ns.neighbors = data.neighbors;
        for p in data.problems.into_iter().chain(sock.take_warnings()) {
            ns.add_problem(p);
        }
    }
    if opts.ip_only {
        return Collected { ns, file, socket };
    }
    ns.sysctls = sysctl::read_sysctls(socket.as_mut(), &ns.links, probe);
    match sockets::read_listening() {
        Ok(list) => ns.sockets = list,
        Err(e) => ns.add_problem(format!("sock_diag: {e}")),
    }
    if opts.firewall {
        let fw = firewall::collect::collect_in_current_netns();
        // An unreadable rule set must not pass for an empty one under an `ok` status.
        for e in &fw.errors {
            ns.add_problem(format!("firewall: {e}"));
        }
        ns.firewall = Some(fw);
    }
    Collected { ns, file, socket }
}

fn worker_count(opts: &Options, jobs: usize) -> usize {
    let n = if opts.workers > 0 {
        opts.workers
    } else {
        parallel::workers()
    };
    n.min(jobs.max(1))
}

/// Reads the namespaces found by `discovery`, in parallel.
pub fn collect(discovery: &Discovery, opts: &Options) -> Result<Snapshot, SnapshotError> {
    check_selectors(discovery, opts)?;
    let taken_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);

    let probe = HostProbe::probe();
    // Two per namespace while its veths are paired, and one more that the live view's
    // watcher holds all along (its subscription): a whole read under the TUI at 1000
    // namespaces would otherwise run out at the limit raised for the read alone.
    let mut fd_warning = raise_nofile(discovery.namespaces.len() as u64 * 3 + 64);
    let collected = read_in_parallel(discovery, opts, probe);
    // The cross-namespace work, on this thread, in this order: veth peers need every
    // namespace's socket; DNS files are read for all before the selection drops any.
    let mut namespaces = pair_peers(collected);
    if !opts.ip_only {
        fill_socket_owners(&mut namespaces);
        fill_dns_files(&mut namespaces, discovery);
    }
    keep_selected(&mut namespaces, discovery, opts);

    let mut warnings = discovery.warnings.clone();
    warnings.extend(fd_warning.take());
    if opts.ip_only {
        warnings.push(IP_ONLY_WARNING.into());
    }
    if !nix::unistd::geteuid().is_root() {
        warnings.push(
            "not running as root: other namespaces cannot be entered (setns needs CAP_SYS_ADMIN) and firewall rules cannot be read (needs CAP_NET_ADMIN); shown: every namespace's identity, and links, addresses, routes, neighbours, sysctls and sockets of this process's own namespace"
                .into(),
        );
    }
    Ok(Snapshot {
        schema_version: SCHEMA_VERSION,
        taken_at,
        hostname: nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_default(),
        namespaces,
        warnings,
        // A handful of small files, read after the namespaces: a pod deleted meanwhile has
        // lost its lease too (host-local releases before the veth goes), and one added
        // meanwhile has a lease seconds old, which is never called a leak.
        cni: (!opts.ip_only).then(|| {
            crate::cni::read(
                &opts
                    .cni_dirs
                    .clone()
                    .unwrap_or_else(crate::cni::Dirs::configured),
            )
        }),
    })
}

/// What an `--ip-only` snapshot says about itself, so that a reader of the saved file does not
/// take its empty sockets and firewall for "none".
pub const IP_ONLY_WARNING: &str = "ip-only snapshot: links, addresses, routes and neighbours were read; routing rules, sysctls, sockets, firewall, DNS files and CNI state were not";

/// Every `--ns` selector names a discovered namespace.
fn check_selectors(discovery: &Discovery, opts: &Options) -> Result<(), SnapshotError> {
    for sel in &opts.only {
        if !discovery.namespaces.iter().any(|f| f.matches(sel)) {
            return Err(SnapshotError::UnknownNamespace {
                wanted: sel.clone(),
                known: crate::netns::lookup::labels(&discovery.namespaces),
            });
        }
    }
    Ok(())
}

/// A namespace whose collection did not finish, with why.
pub(super) fn failed(found: &FoundNs, why: &str) -> Collected {
    let mut ns = Namespace::new(found.name.clone(), found.kind, found.inode);
    ns.workload = found.workload.clone();
    ns.status = NsStatus::Inaccessible(why.into());
    Collected {
        ns,
        file: None,
        socket: None,
    }
}

/// Every discovered namespace read on dedicated worker threads, in discovery order.
fn read_in_parallel(discovery: &Discovery, opts: &Options, probe: HostProbe) -> Vec<Collected> {
    let workers = worker_count(opts, discovery.namespaces.len());
    parallel::each(
        &discovery.namespaces,
        discovery.own_inode,
        workers,
        &|found, current| collect_one(found, current, probe, opts),
        &failed,
    )
}

/// The namespaces, with veth ends paired across them (which needs each one's nsfs file and
/// rtnetlink socket, closed when this returns).
fn pair_peers(collected: Vec<Collected>) -> Vec<Namespace> {
    let mut namespaces = Vec::with_capacity(collected.len());
    let mut files = Vec::with_capacity(collected.len());
    let mut socks = Vec::with_capacity(collected.len());
    for c in collected {
        namespaces.push(c.ns);
        files.push(c.file);
        socks.push(c.socket);
    }
    let mut access: Vec<NsAccess<'_>> = files
        .iter()
        .zip(socks.iter_mut())
        .map(|(f, s)| NsAccess {
            socket: s.as_mut(),
            file: f.as_ref(),
        })
        .collect();
    pair_veths(&mut namespaces, &mut access);
    namespaces
}

/// The processes holding each listening socket (one scan of /proc for all namespaces).
fn fill_socket_owners(namespaces: &mut [Namespace]) {
    let wanted: HashSet<u64> = namespaces
        .iter()
        .flat_map(|ns| ns.sockets.iter().map(|s| s.inode))
        .filter(|i| *i != 0)
        .collect();
    let owners = sockets::socket_owners(&wanted);
    for ns in namespaces {
        for s in &mut ns.sockets {
            if let Some(p) = owners.get(&s.inode) {
                s.processes = p.clone();
            }
        }
    }
}

/// Most namespaces see the host's files: read each distinct (root, override) once, all at
/// once and within a time limit (a container's root may never answer).
fn fill_dns_files(namespaces: &mut [Namespace], discovery: &Discovery) {
    let read = read_dns_files(namespaces, discovery);
    for (ns, dns) in namespaces.iter_mut().zip(read) {
        if dns.is_some() {
            ns.dns = dns;
        }
    }
}

/// The DNS files each namespace sees (`None` for one gone), in `discovery`'s order.
pub(super) fn read_dns_files(
    namespaces: &[Namespace],
    discovery: &Discovery,
) -> Vec<Option<DnsFiles>> {
    let keys: Vec<Option<(PathBuf, Option<PathBuf>)>> = namespaces
        .iter()
        .zip(&discovery.namespaces)
        .map(|(ns, found)| {
            if matches!(ns.status, NsStatus::Gone) {
                return None;
            }
            let over = found.etc_override.as_deref().filter(|d| d.is_dir());
            Some((found.root.clone(), over.map(|d| d.to_path_buf())))
        })
        .collect();
    // By a set: a node's pods each have their own /etc/netns override, and a list's
    // `contains` compared paths component by component, quadratically.
    let mut seen: HashSet<&(PathBuf, Option<PathBuf>)> = HashSet::new();
    let mut distinct: Vec<(PathBuf, Option<PathBuf>)> = Vec::new();
    for key in keys.iter().flatten() {
        if seen.insert(key) {
            distinct.push(key.clone());
        }
    }
    let read = read_all(&distinct, DNS_READ_LIMIT);
    let dns_cache: HashMap<(PathBuf, Option<PathBuf>), DnsFiles> =
        distinct.into_iter().zip(read).collect();
    keys.iter()
        .map(|key| key.as_ref().and_then(|k| dns_cache.get(k).cloned()))
        .collect()
}

/// Drops the namespaces `--ns` did not select (all were read, for the veth peers).
fn keep_selected(namespaces: &mut Vec<Namespace>, discovery: &Discovery, opts: &Options) {
    if !opts.only.is_empty() {
        let keep: Vec<bool> = discovery
            .namespaces
            .iter()
            .map(|f| opts.only.iter().any(|s| f.matches(s)))
            .collect();
        let mut k = keep.iter();
        namespaces.retain(|_| *k.next().unwrap_or(&false));
    }
}

/// Every namespace keeps two descriptors open until veth pairing is done (its nsfs file and its
/// rtnetlink socket); Debian's default soft limit of 1024 would fail at ~500 namespaces.
/// Raises the soft limit towards the hard one; says so when even that is too low.
fn raise_nofile(needed: u64) -> Option<String> {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
    if soft >= needed {
        return None;
    }
    let target = needed.min(hard);
    let _ = setrlimit(Resource::RLIMIT_NOFILE, target, hard);
    (target < needed).then(|| {
        format!("open-file limit {hard} is below the {needed} descriptors this many namespaces need: some will be reported as failed (raise it with ulimit -n)")
    })
}

/// Discovers and collects in one call.
pub fn snapshot(opts: &Options) -> Result<Snapshot, SnapshotError> {
    collect(&discover(), opts)
}
