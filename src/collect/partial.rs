//! The live model: a snapshot kept up to date by re-reading only what the kernel said
//! changed ([`Touched`]): the namespaces named, and in each only the kinds of objects named.
//! New namespaces are read whole, gone ones dropped, veths re-paired for the touched
//! namespaces only (`peers_touched.rs`). Firewall rules, listening sockets and DNS files
//! have no events: they are read again only by a full read (`Touched::full`).

use std::collections::{BTreeSet, HashMap, HashSet};

use super::partial_links::LinkParts;
use super::partial_patch::NsDelta;
use std::time::{SystemTime, UNIX_EPOCH};

use super::ip_state::RtnlParts;
use super::parallel;
use super::partial_read::{read_kinds, read_scoped};
use super::peers_touched::{pair_touched, Pairing};
use super::read_laps::lap;
use super::snapshot::{collect, collect_one, failed, Collected, Options, SnapshotError};
use super::sysctl::HostProbe;
use super::touched::{Kinds, Touched};
use crate::model::{Namespace, Snapshot, Sysctls};
use crate::netlink::RtSocket;
use crate::netns::discover::{discover, Discovery, FoundNs};

/// A snapshot and the scan it was read from (the two are in the same order).
pub struct Live {
    pub snapshot: Snapshot,
    pub(super) discovery: Discovery,
    pub(super) opts: Options,
    /// Probed once, at the full read.
    pub(super) probe: HostProbe,
    /// When the last whole read was taken (`partial_light.rs`: the periodic refresh reads
    /// the node whole only every [`super::partial_light::WHOLE_EVERY`]).
    pub(super) whole_at: std::time::Instant,
    /// Per namespace (by inode), the nftables ruleset generation its firewall was last
    /// read at by a light refresh; unchanged, the rules are not read again.
    pub(super) fw_gen: HashMap<u64, u32>,
    /// The namespaces the last read read whole (new ones, all of a full read): what
    /// partial reads never read (firewall, sockets, DNS files) changed only for those.
    pub(super) read_whole: BTreeSet<u64>,
    /// The last refresh renamed a namespace.
    pub(super) renamed: bool,
    /// Per namespace (by inode) changed by the last refresh only through a read of some of
    /// its links, what was read (`partial_patch.rs`: sent as such to the UI's copy).
    pub(super) deltas: HashMap<u64, NsDelta>,
}

/// What was read again in one namespace (`None`: not asked for), and its socket.
pub(super) struct Parts {
    pub(super) rtnl: RtnlParts,
    pub(super) sysctls: Option<Sysctls>,
    pub(super) socket: Option<RtSocket>,
}

/// One namespace's job in a refresh.
enum Job {
    /// Read it whole (it is new).
    Whole(usize),
    /// Read these kinds again.
    Kinds(usize, Kinds),
    /// Read these per-link kinds for these links only (`partial_links.rs`), and the other
    /// kinds (rules, sysctls) whole.
    Scoped(usize, Kinds, Kinds, BTreeSet<u32>),
}

/// What a job found.
pub(super) enum Found {
    Whole(usize, Box<Collected>),
    Parts(usize, Box<Parts>),
    Scoped(usize, Box<(LinkParts, Parts)>),
}

impl Live {
    /// Reads everything (as `collect::snapshot` does) and keeps the scan. `opts.only` must
    /// be empty: the live model holds every namespace.
    pub fn read(opts: &Options) -> Result<Live, SnapshotError> {
        let discovery = discover();
        let snapshot = collect(&discovery, opts)?;
        let read_whole = snapshot.namespaces.iter().map(|n| n.inode).collect();
        Ok(Live {
            snapshot,
            discovery,
            opts: opts.clone(),
            probe: HostProbe::probe(),
            read_whole,
            renamed: false,
            whole_at: std::time::Instant::now(),
            fw_gen: HashMap::new(),
            deltas: HashMap::new(),
        })
    }

    /// Applies `touched`: a full read when it says so (compared with the model: only the
    /// namespaces that differ count as changed, `partial_full.rs`), else only what it names.
    /// Returns the inodes of the namespaces whose data changed (re-read, new, renamed, or
    /// naming a renamed one as a veth's peer). Gone namespaces are the ones no longer in
    /// the snapshot; whether one was renamed, [`Live::renamed`].
    pub fn refresh(&mut self, mut touched: Touched) -> Result<BTreeSet<u64>, SnapshotError> {
        self.read_whole.clear();
        self.renamed = false;
        self.deltas.clear();
        if touched.full {
            let fresh = Live::read(&self.opts)?;
            return Ok(self.adopt_full(fresh));
        }
        let mut jobs = Vec::new();
        let changed_set = touched.discovery.is_some();
        let mut renamed = BTreeSet::new();
        let mut rescanned = BTreeSet::new();
        if let Some(d) = touched.discovery.take() {
            let d = self.fresher_of(d);
            let (new, touched_by_rename, by_scan) = self.adopt(d);
            // Generations of namespaces gone go with them (an inode comes back for another).
            let present: HashSet<u64> = self.snapshot.namespaces.iter().map(|n| n.inode).collect();
            self.fw_gen.retain(|inode, _| present.contains(inode));
            renamed = touched_by_rename;
            rescanned = by_scan;
            jobs.extend(new.into_iter().map(Job::Whole));
        }
        lap("adopt");
        let at: HashMap<u64, usize> = self
            .snapshot
            .namespaces
            .iter()
            .enumerate()
            .map(|(i, ns)| (ns.inode, i))
            .collect();
        for (inode, kinds) in &touched.namespaces {
            let Some(&i) = at.get(inode) else { continue };
            if jobs.iter().any(|j| matches!(j, Job::Whole(w) if *w == i)) {
                continue;
            }
            let ns = &self.snapshot.namespaces[i];
            // A multipath route names several links: routes of one link cannot be told.
            let multipath = || ns.routes.iter().any(|r| !r.nexthops.is_empty());
            match touched.scope(*inode) {
                Some(links) if !multipath() => {
                    let per_link = kinds.with_dependents().and(Kinds::PER_LINK);
                    // Sysctls only when netconf said so: a link's own come with its name,
                    // and a new or renamed link is looked at after the read.
                    let mut rest = kinds.without(Kinds::PER_LINK);
                    // Netconf events only about links of the scope (a link come, gone or
                    // renamed announces its own): their sysctls are read with them, those
                    // links' alone (`SCOPE_SYSCTLS`, `read_scoped`).
                    if touched
                        .netconf_devices(*inode)
                        .is_some_and(|d| d.is_subset(links))
                    {
                        rest = rest.without(Kinds::SYSCTLS) | Kinds::SCOPE_SYSCTLS;
                    }
                    jobs.push(Job::Scoped(i, per_link, rest, links.clone()));
                }
                _ => jobs.push(Job::Kinds(i, kinds.with_dependents())),
            }
        }
        for j in &jobs {
            if let Job::Whole(i) = *j {
                self.fw_gen.remove(&self.snapshot.namespaces[i].inode);
            }
        }
        lap("jobs");
        let found = self.run(&jobs);
        lap("run");
        let peers = self.apply(found);
        lap("apply");
        let names = &self.snapshot.namespaces;
        let mut changed: BTreeSet<u64> = peers.iter().map(|&(i, _)| names[i].inode).collect();
        // A namespace that changed otherwise too (renamed, rescanned, read whole) is sent
        // whole. A veth paired anew as the other end of one read elsewhere is in the delta:
        // of the links read (`pair_deltas`), or not (`NsDelta::paired`) — the host's end of
        // a new pod's veth, on every pod created.
        self.carry_paired(&peers);
        let names = &self.snapshot.namespaces;
        let otherwise: Vec<u64> = (renamed.iter().chain(&rescanned).copied())
            .chain(self.read_whole.iter().copied())
            .collect();
        changed.extend(jobs.iter().map(|j| match *j {
            Job::Whole(i) | Job::Kinds(i, _) | Job::Scoped(i, ..) => names[i].inode,
        }));
        if changed_set {
            self.snapshot.cni = Some(crate::cni::read(
                &self
                    .opts
                    .cni_dirs
                    .clone()
                    .unwrap_or_else(crate::cni::Dirs::configured),
            ));
            lap("cni");
        }
        self.snapshot.taken_at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        for inode in &otherwise {
            self.deltas.remove(inode);
        }
        self.pair_deltas();
        self.renamed = !renamed.is_empty();
        changed.extend(renamed);
        changed.extend(rescanned);
        Ok(changed)
    }

    /// The namespaces the last [`Live::refresh`] read whole (all, after [`Live::read`]
    /// and a rename): only for those can a patch's firewall, sockets and DNS files differ.
    pub fn read_whole(&self) -> &BTreeSet<u64> {
        &self.read_whole
    }

    /// Whether the last [`Live::refresh`] renamed a namespace (a `pid:N` whose process
    /// went, a name that came): the doctor, which knows namespaces by name, starts over.
    pub fn renamed(&self) -> bool {
        self.renamed
    }

    /// `d` (the watcher's scan, kept up to date name by name), with the entries of the
    /// namespaces it shares, under the same name, with this model's own scan when that one
    /// is newer: the periodic refresh scans `/proc` every minute, the watcher only when the
    /// set of namespaces or their first process changes, so its copy's processes, workloads
    /// and roots may be older than what the model shows, and taking them would put dead
    /// holders back (and make a namespace known by a dead pid's path look gone).
    fn fresher_of(&self, mut d: Discovery) -> Discovery {
        if d.scanned >= self.discovery.scanned {
            return d;
        }
        let mine: HashMap<u64, &FoundNs> = self
            .discovery
            .namespaces
            .iter()
            .map(|f| (f.inode, f))
            .collect();
        for f in &mut d.namespaces {
            // Compared before cloned: during churn the watcher's copy is older than the model's
            // scan on every read after a periodic refresh, and nearly all entries are equal.
            if let Some(m) = mine.get(&f.inode).filter(|m| m.name == f.name && **m != f) {
                f.clone_from(m);
            }
        }
        d.scanned = self.discovery.scanned;
        d
    }

    /// Takes a new scan: namespaces keep their data (with the scan's names, paths and
    /// processes), gone ones are dropped. Returns the indexes of the new ones, still empty,
    /// and of the renamed ones (all to be read whole),
    /// the inodes of the namespaces renamed and of those whose veths name one as peer, and
    /// those whose processes, paths or workload the scan changed.
    fn adopt(&mut self, d: Discovery) -> (Vec<usize>, BTreeSet<u64>, BTreeSet<u64>) {
        let mut old = kept_in_scan_order(std::mem::take(&mut self.snapshot.namespaces), &d);
        let mut renamed: HashMap<String, String> = HashMap::new();
        let mut rescanned = BTreeSet::new();
        let mut new = Vec::new();
        self.snapshot.namespaces.reserve(d.namespaces.len());
        for (i, f) in d.namespaces.iter().enumerate() {
            let ns = match old.take(f.inode) {
                Some(mut ns) => {
                    if ns.name != f.name {
                        renamed.insert(ns.name.clone(), f.name.clone());
                        // Read it whole: inode numbers are reused (lowest free first), so
                        // a namespace deleted and another created between two scans look
                        // like one renamed; whole, the new one cannot show the old one's
                        // objects (a real rename costs one namespace's read).
                        new.push(i);
                        ns.name.clone_from(&f.name);
                    }
                    // Who holds it, and where it is named, change without an event: a
                    // scan that sees them change changes the namespace. Compared, and
                    // copied only when they differ: a scan of a churning node changes a few
                    // namespaces of a thousand.
                    let mut differs = false;
                    if ns.processes != f.processes {
                        ns.processes.clone_from(&f.processes);
                        differs = true;
                    }
                    if ns.paths != f.named_paths {
                        ns.paths.clone_from(&f.named_paths);
                        differs = true;
                    }
                    if ns.workload != f.workload {
                        ns.workload.clone_from(&f.workload);
                        differs = true;
                    }
                    if ns.kind != f.kind {
                        ns.kind = f.kind;
                        differs = true;
                    }
                    if differs {
                        rescanned.insert(f.inode);
                    }
                    ns
                }
                None => {
                    new.push(i);
                    Namespace::new(f.name.clone(), f.kind, f.inode)
                }
            };
            self.snapshot.namespaces.push(ns);
        }
        let mut by_rename = BTreeSet::new();
        if !renamed.is_empty() {
            by_rename = rename_peers(&mut self.snapshot.namespaces, &renamed);
            let names: BTreeSet<&String> = renamed.values().collect();
            let inodes = self.snapshot.namespaces.iter();
            by_rename.extend(inodes.filter(|n| names.contains(&n.name)).map(|n| n.inode));
        }
        let stale = &self.discovery.warnings;
        self.snapshot.warnings.retain(|w| !stale.contains(w));
        let mut warnings = d.warnings.clone();
        warnings.append(&mut self.snapshot.warnings);
        self.snapshot.warnings = warnings;
        self.discovery = d;
        (new, by_rename, rescanned)
    }

    /// Runs the jobs on dedicated threads that enter the namespaces.
    fn run(&self, jobs: &[Job]) -> Vec<Found> {
        if jobs.is_empty() {
            return Vec::new();
        }
        let probe = self.probe;
        let found = &self.discovery.namespaces;
        let namespaces = &self.snapshot.namespaces;
        let opts = &self.opts;
        let job = |j: &Job, current: &mut Option<u64>| match *j {
            Job::Whole(i) => {
                Found::Whole(i, Box::new(collect_one(&found[i], current, probe, opts)))
            }
            Job::Kinds(i, kinds) => read_kinds(
                i,
                (&found[i], &namespaces[i]),
                kinds,
                current,
                (probe, opts),
            ),
            Job::Scoped(i, per_link, rest, ref links) => read_scoped(
                i,
                (&found[i], &namespaces[i]),
                (per_link, rest, links),
                current,
                (probe, opts),
            ),
        };
        let on_failure = |j: &Job, why: &str| match *j {
            Job::Whole(i) | Job::Kinds(i, _) | Job::Scoped(i, ..) => {
                Found::Whole(i, Box::new(failed(&found[i], why)))
            }
        };
        parallel::each(
            jobs,
            self.discovery.own_inode,
            parallel::workers(),
            &job,
            &on_failure,
        )
    }

    /// Patches what the jobs found into the snapshot, then pairs the veths of the namespaces
    /// whose links changed and fills what new namespaces need from outside them. Returns the
    /// veths (namespace, ifindex) whose peer pairing changed as the other end.
    fn apply(&mut self, found: Vec<Found>) -> Vec<(usize, u32)> {
        let names: HashMap<String, usize> = self
            .snapshot
            .namespaces
            .iter()
            .enumerate()
            .map(|(i, ns)| (ns.name.clone(), i))
            .collect();
        let mut previous = HashMap::new();
        let mut sockets = HashMap::new();
        let mut touched = Vec::new();
        let mut new = Vec::new();
        let mut only = HashMap::new();
        for f in found {
            match f {
                Found::Whole(i, c) => {
                    self.snapshot.namespaces[i] = c.ns;
                    sockets.extend(c.socket.map(|s| (i, s)));
                    touched.push(i);
                    new.push(i);
                }
                Found::Scoped(i, b) => {
                    let (link_parts, p) = *b;
                    let ns = &mut self.snapshot.namespaces[i];
                    if link_parts.links.is_some() {
                        let scope = &link_parts.scope;
                        only.insert(i, scope.iter().copied().collect());
                        for l in ns.links.iter().filter(|l| scope.contains(&l.index)) {
                            let pn = l.peer.as_ref().and_then(|p| p.namespace.as_ref());
                            let pn = pn.and_then(|n| names.get(n).copied());
                            let entry = (l.link_index.unwrap_or(0), l.link_netnsid, pn);
                            previous.insert((i, l.index), entry);
                        }
                        sockets.extend(p.socket.map(|s| (i, s)));
                        touched.push(i);
                    }
                    let delta = NsDelta {
                        inode: ns.inode,
                        parts: link_parts,
                        rules: p.rtnl.rules,
                        sysctls: p.sysctls,
                        problems: p.rtnl.problems,
                        paired: Vec::new(),
                    };
                    delta.apply(ns);
                    self.deltas.insert(ns.inode, delta);
                }
                Found::Parts(i, p) => {
                    let Parts {
                        rtnl: parts,
                        sysctls,
                        socket,
                    } = *p;
                    let ns = &mut self.snapshot.namespaces[i];
                    if let Some(links) = parts.links {
                        for l in &ns.links {
                            let pn = l.peer.as_ref().and_then(|p| p.namespace.as_ref());
                            let pn = pn.and_then(|n| names.get(n).copied());
                            let entry = (l.link_index.unwrap_or(0), l.link_netnsid, pn);
                            previous.insert((i, l.index), entry);
                        }
                        ns.links = links;
                        sockets.extend(socket.map(|s| (i, s)));
                        touched.push(i);
                    }
                    patch(
                        ns,
                        parts.addresses,
                        parts.routes,
                        parts.rules,
                        parts.neighbors,
                    );
                    if let Some(s) = sysctls {
                        ns.sysctls = s;
                    }
                    for p in parts.problems {
                        ns.add_problem(p);
                    }
                }
            }
        }
        let mut peers = Vec::new();
        if !touched.is_empty() {
            let found = &self.discovery.namespaces;
            let open = |i: usize| found.get(i).and_then(|f| f.open().ok());
            let mut pairing = Pairing {
                touched,
                sockets,
                previous,
                open: &open,
                only,
            };
            peers = pair_touched(&mut self.snapshot.namespaces, &mut pairing);
        }
        let inodes = new.iter().map(|&i| self.snapshot.namespaces[i].inode);
        self.read_whole.extend(inodes);
        if !new.is_empty() {
            super::partial_new::fill(&mut self.snapshot.namespaces, &self.discovery, &new);
        }
        peers
    }
}

/// Replaces the kinds that were read.
fn patch(
    ns: &mut Namespace,
    addresses: Option<Vec<crate::model::Address>>,
    routes: Option<Vec<crate::model::Route>>,
    rules: Option<Vec<crate::model::RoutingRule>>,
    neighbors: Option<Vec<crate::model::Neighbor>>,
) {
    if let Some(a) = addresses {
        ns.addresses = a;
    }
    if let Some(r) = routes {
        ns.routes = r;
    }
    if let Some(r) = rules {
        ns.rules = r;
    }
    if let Some(n) = neighbors {
        ns.neighbors = n;
    }
}

/// The model's namespaces, to be taken by inode in the order of a new scan, each moved once:
/// a namespace is ~1 KB, and moving all of them through a map (and its regrowths) and back
/// was most of a churn read's own time. In a scan's order (the usual case: the scan lists
/// them in the same order, a few come and go) they are taken from the front as they come;
/// otherwise (a namespace renamed moves in the order) through a map.
enum Kept {
    InOrder(std::vec::IntoIter<Namespace>, HashSet<u64>),
    ByInode(HashMap<u64, Namespace>),
}

impl Kept {
    /// The namespace of `inode`, if the model has it (each is taken at most once).
    fn take(&mut self, inode: u64) -> Option<Namespace> {
        match self {
            Kept::ByInode(map) => map.remove(&inode),
            Kept::InOrder(rest, scanned) => {
                if !scanned.contains(&inode) {
                    return None;
                }
                // Those before it are gone (in order, every kept one comes in the scan's order).
                rest.by_ref().find(|ns| ns.inode == inode)
            }
        }
    }
}

fn kept_in_scan_order(old: Vec<Namespace>, d: &Discovery) -> Kept {
    let scanned: HashSet<u64> = d.namespaces.iter().map(|f| f.inode).collect();
    let at: HashMap<u64, usize> = old.iter().enumerate().map(|(i, n)| (n.inode, i)).collect();
    let mut last = None;
    let in_order = d
        .namespaces
        .iter()
        .filter_map(|f| at.get(&f.inode))
        .all(|&i| {
            let ok = last.is_none_or(|l| l < i);
            last = Some(i);
            ok
        });
    if in_order {
        // Only the inodes both have are looked for in `old`.
        let both: HashSet<u64> = scanned.into_iter().filter(|i| at.contains_key(i)).collect();
        Kept::InOrder(old.into_iter(), both)
    } else {
        Kept::ByInode(old.into_iter().map(|ns| (ns.inode, ns)).collect())
    }
}

/// Namespace names changed in a new scan (a `pid:N` whose process went): peers name the new.
/// Returns the inodes of the namespaces whose links it changed.
fn rename_peers(namespaces: &mut [Namespace], renamed: &HashMap<String, String>) -> BTreeSet<u64> {
    let mut changed = BTreeSet::new();
    for ns in namespaces {
        for l in &mut ns.links {
            if let Some(p) = l.peer.as_mut().and_then(|p| p.namespace.as_mut()) {
                if let Some(n) = renamed.get(p) {
                    *p = n.clone();
                    changed.insert(ns.inode);
                }
            }
        }
    }
    changed
}

#[cfg(test)]
#[path = "partial_adopt_tests.rs"]
mod adopt_tests;
