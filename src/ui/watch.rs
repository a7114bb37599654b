//! Live updates: the kernel tells us what changes.
//!
//! One NETLINK_ROUTE socket per namespace, opened inside it and subscribed to the link,
//! address, route, neighbour, rule and netconf groups, and an inotify watch on the named
//! namespace directories; a single thread sleeps in `epoll` on all of them, each registered
//! once, so a wake-up costs the sockets that have something to read, not all of them (`poll`
//! over 1000 sockets was half the watcher's time with one veth flapping). Each notification
//! is read and classified (`watch_events.rs`): the UI is told which kinds of objects changed
//! in which namespace ([`Touched`]), so the collector re-reads only that. Chatter the UI does
//! not show (neighbour reachability flips, NOARP entries) only bumps a counter. Processes come
//! and go without an event, so `/proc` is rescanned on a slow timer; a name that comes or goes
//! under a named-namespace directory is looked at alone (`netns::discover::by_name`), not by
//! a whole discovery (which lists every directory and walks `/proc`). Firewall rules, sockets
//! and DNS files have no events at all and wait for the slow full read.

use std::collections::{BTreeSet, HashMap};
use std::ffi::OsString;
use std::fs::File;
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify, WatchDescriptor};

use super::watch_events::{ifindex_of, kinds_of, messages, NeighTable};
use super::watch_procs::ProcWatch;
use super::Msg;
use crate::collect::touched::{Kinds, Touched};
use crate::netns::discover::{discover, distinct_named_dirs, Discovery, FoundNs};
use crate::netns::enter::run_in_netns_file;

/// RTMGRP_LINK | RTMGRP_NEIGH | RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE | RTMGRP_IPV4_RULE |
/// RTMGRP_IPV6_IFADDR | RTMGRP_IPV6_ROUTE, and the groups past the named masks as
/// `1 << (group - 1)`: RTNLGRP_IPV6_RULE (19), RTNLGRP_IPV4_NETCONF (24) and
/// RTNLGRP_IPV6_NETCONF (25), which report forwarding and rp_filter changes.
const GROUPS: u32 = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x100 | 0x400 | 1 << 18 | 1 << 23 | 1 << 24;
/// How often `/proc` is looked at for namespaces held by new or exited processes (a full
/// discovery only when `watch_procs` sees one may have come or gone).
const RESCAN: Duration = Duration::from_secs(3);
/// Firewall rules, listening sockets, DNS files and conntrack counts change without a
/// netlink event: everything is read again this often. A full read costs ~0.3 s of CPU at
/// 1000 namespaces, so at this period it is ~0.5% of a core; `r` reads at once.
pub const SLOW_REFRESH: Duration = Duration::from_secs(60);
/// Receive buffer per socket: a burst (a pod's veth, addresses and routes at once, or a
/// flush) must fit; an overrun (ENOBUFS) costs that namespace a full re-read.
const RCVBUF: usize = 256 * 1024;

/// Notifications read and found not to change anything shown (see `watch_events.rs`).
static IGNORED: AtomicU64 = AtomicU64::new(0);

/// How many notifications were ignored as chatter since the start (for NETLENS_DEBUG_TIMING).
pub fn ignored_events() -> u64 {
    IGNORED.load(Ordering::Relaxed)
}

/// The epoll token of the inotify descriptor; a subscription's is its namespace's inode (nsfs
/// inodes are never 0).
const INOTIFY: u64 = 0;
/// How long after a name appears its namespace is looked for again, the first time; then
/// twice as long each time, this many times, while the name stays a plain file.
const RECHECK: Duration = Duration::from_millis(200);
const RECHECKS: u32 = 5;

/// One namespace's subscription.
struct Sub {
    socket: Socket,
    neigh: NeighTable,
}

fn subscribe(file: &File, label: &str) -> Option<Socket> {
    run_in_netns_file(file, label, || {
        let mut s = Socket::new(NETLINK_ROUTE).ok()?;
        let _ = s.set_rx_buf_sz(RCVBUF);
        s.bind(&SocketAddr::new(0, GROUPS)).ok()?;
        s.set_non_blocking(true).ok()?;
        Some(s)
    })
    .ok()
    .flatten()
}

/// Reads everything waiting on one socket into `touched`.
fn read(inode: u64, sub: &mut Sub, buf: &mut [u8], touched: &mut Touched) {
    loop {
        match sub.socket.recv(&mut &mut buf[..], 0) {
            Ok(0) => break,
            Ok(n) => {
                for m in messages(&buf[..n.min(buf.len())]) {
                    let kinds = kinds_of(m, &mut sub.neigh);
                    if kinds.is_empty() {
                        IGNORED.fetch_add(1, Ordering::Relaxed);
                    }
                    match netconf_device(m) {
                        Some(device) if kinds == Kinds::SYSCTLS => {
                            touched.add_netconf(inode, device)
                        }
                        _ => touched.add_on(inode, kinds, ifindex_of(m)),
                    }
                }
            }
            // Notifications were lost: what they said is unknown, so read it all again.
            Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                sub.neigh = NeighTable::default();
                touched.add(inode, Kinds::ALL);
            }
            Err(_) => break,
        }
    }
}

/// For a netconf message (`RTM_NEWNETCONF`/`RTM_DELNETCONF`), the device it is about:
/// `Some(None)` for `all`, `default` or a message not understood. `None`: not netconf.
fn netconf_device(bytes: &[u8]) -> Option<Option<u32>> {
    const RTM_NEWNETCONF: u16 = 80;
    const RTM_DELNETCONF: u16 = 81;
    const NETCONFA_IFINDEX: u16 = 1;
    let u16_at = |at: usize| Some(u16::from_ne_bytes(bytes.get(at..at + 2)?.try_into().ok()?));
    let i32_at = |at: usize| Some(i32::from_ne_bytes(bytes.get(at..at + 4)?.try_into().ok()?));
    let kind = u16_at(4)?;
    if kind != RTM_NEWNETCONF && kind != RTM_DELNETCONF {
        return None;
    }
    let len = u32::from_ne_bytes(bytes.get(0..4)?.try_into().ok()?) as usize;
    let end = len.min(bytes.len());
    // The 16-byte netlink header, the 4-byte (aligned) netconfmsg, then attributes.
    let mut at = 20;
    while at + 4 <= end {
        let (Some(rta_len), Some(rta_type)) = (u16_at(at), u16_at(at + 2)) else {
            break;
        };
        let rta_len = usize::from(rta_len);
        if rta_len < 4 {
            break;
        }
        if rta_type & 0x3fff == NETCONFA_IFINDEX {
            // Devices count from 1; `all` is -1, `default` -2.
            return Some(
                i32_at(at + 4)
                    .and_then(|i| u32::try_from(i).ok())
                    .filter(|i| *i > 0),
            );
        }
        at += rta_len.div_ceil(4) * 4;
    }
    Some(None)
}

/// A name not mounted on yet, looked at again at `at`.
struct Recheck {
    at: Instant,
    /// Times looked at again so far.
    tries: u32,
    wd: WatchDescriptor,
    name: OsString,
}

/// The watcher's state: the subscriptions, the inotify watch, the namespaces known, and when
/// the next `/proc` rescan and full read are due. `spawn` runs it on a thread; tests drive it
/// step by step.
pub struct Watcher {
    /// `None` only if the kernel refused one: then only the slow full reads come.
    epoll: Option<Epoll>,
    inotify: Option<Inotify>,
    /// The directory (as discovery names it) and name prefix of each inotify watch.
    dirs: HashMap<WatchDescriptor, (PathBuf, &'static str)>,
    /// By namespace inode.
    subs: HashMap<u64, Sub>,
    /// The namespaces as a whole discovery would list them now, kept up to date by name
    /// between discoveries; the collector is handed a copy when they change.
    known: Discovery,
    /// Their inodes, for the `/proc` rescan.
    inodes: BTreeSet<u64>,
    buf: Vec<u8>,
    events: Vec<EpollEvent>,
    last_rescan: Instant,
    last_full: Instant,
    procs: ProcWatch,
    /// Names that appeared before their namespace was mounted on them, soonest first.
    rechecks: Vec<Recheck>,
    /// Whole discoveries made, the first included (for tests: names are looked at alone).
    discoveries: usize,
}

impl Watcher {
    /// Subscribes to every namespace found now (the caller's thread never changes namespace).
    pub fn start() -> Watcher {
        let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC).ok();
        let inotify = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC).ok();
        let mut dirs = HashMap::new();
        if let Some(ino) = &inotify {
            // The directories discovery reads, under the names it reads them by: the paths
            // built from inotify's names are then the ones it records.
            for (dir, prefix) in distinct_named_dirs() {
                let flags = AddWatchFlags::IN_CREATE | AddWatchFlags::IN_DELETE;
                if let Ok(wd) = ino.add_watch(&dir, flags) {
                    dirs.entry(wd).or_insert((dir, prefix));
                }
            }
            if let Some(ep) = &epoll {
                let _ = ep.add(ino.as_fd(), EpollEvent::new(EpollFlags::EPOLLIN, INOTIFY));
            }
        }
        let mut w = Watcher {
            epoll,
            inotify,
            dirs,
            subs: HashMap::new(),
            known: Discovery::default(),
            inodes: BTreeSet::new(),
            buf: vec![0u8; 64 * 1024],
            events: vec![EpollEvent::empty(); 256],
            last_rescan: Instant::now(),
            last_full: Instant::now(),
            procs: ProcWatch::default(),
            rechecks: Vec::new(),
            discoveries: 0,
        };
        w.rediscover();
        w.procs.changed(&w.inodes);
        w
    }

    /// The namespaces known now, as [`discover`] would list them (for tests).
    pub fn known(&self) -> &Discovery {
        &self.known
    }

    /// How many whole discoveries were made since the start, the first included.
    pub fn whole_discoveries(&self) -> usize {
        self.discoveries
    }

    /// Waits up to `max` for notifications (less when a rescan is due) and returns what they
    /// say changed: empty when nothing did.
    pub fn wait(&mut self, max: Duration) -> Touched {
        // A busy node never lets the wait time out: the rescan is due by the clock.
        let mut wait = RESCAN.saturating_sub(self.last_rescan.elapsed()).min(max);
        if let Some(r) = self.rechecks.first() {
            wait = wait.min(r.at.saturating_duration_since(Instant::now()));
        }
        // Rounded up: a wait under a millisecond would otherwise spin until the recheck.
        let ms = wait.as_nanos().div_ceil(1_000_000);
        let timeout = EpollTimeout::try_from(ms).unwrap_or(EpollTimeout::NONE);
        let ready = match &self.epoll {
            Some(ep) => ep.wait(&mut self.events, timeout).unwrap_or(0),
            None => {
                std::thread::sleep(wait);
                0
            }
        };
        let mut touched = Touched::default();
        let mut named_event = false;
        for ev in &self.events[..ready] {
            let token = ev.data();
            if token == INOTIFY {
                named_event = true;
            } else if let Some(sub) = self.subs.get_mut(&token) {
                read(token, sub, &mut self.buf, &mut touched);
            }
        }
        let mut set_changed = false;
        let mut whole = false;
        if named_event {
            match self.names_changed() {
                Some(changed) => set_changed |= changed,
                None => whole = true,
            }
        }
        if !whole
            && self
                .rechecks
                .first()
                .is_some_and(|r| Instant::now() >= r.at)
        {
            match self.recheck() {
                Some(changed) => set_changed |= changed,
                None => whole = true,
            }
        }
        let mut processes = false;
        if self.last_rescan.elapsed() >= RESCAN {
            self.last_rescan = Instant::now();
            processes = self.procs.changed(&self.inodes);
        }
        if whole || processes {
            self.rediscover();
        }
        // After a whole discovery, whether or not the set changed: what made it one (a
        // second name, a process's namespace named or unnamed, processes come or gone)
        // changes names, paths, process lists or workloads.
        if set_changed || whole || processes {
            touched.discovery = Some(self.known.clone());
        }
        if self.last_full.elapsed() >= SLOW_REFRESH {
            self.last_full = Instant::now();
            touched.full = true;
            // A namespace the watcher could not subscribe to sends no events: the periodic
            // refresh (which reads only what has no event) reads it all.
            for ns in &self.known.namespaces {
                if !self.subs.contains_key(&ns.inode) {
                    touched.add(ns.inode, Kinds::ALL);
                }
            }
        }
        touched
    }

    /// Reads the inotify events and looks at the names they give; true when the set of
    /// namespaces changed, `None` when a whole discovery must tell (events lost, a name
    /// whose change moves others).
    fn names_changed(&mut self) -> Option<bool> {
        let ino = self.inotify.as_ref()?;
        let mut names: Vec<(WatchDescriptor, OsString)> = Vec::new();
        let mut lost = false;
        // Each read returns what fits in nix's buffer: read until there is no more.
        while let Ok(events) = ino.read_events() {
            if events.is_empty() {
                break;
            }
            for e in events {
                match e.name {
                    Some(name) if self.dirs.contains_key(&e.wd) => names.push((e.wd, name)),
                    // IN_Q_OVERFLOW, or a directory gone (IN_IGNORED): names unknown.
                    _ => lost = true,
                }
            }
        }
        if lost {
            return None;
        }
        // A name created and deleted in one go is looked at once, as it is now.
        names.sort();
        names.dedup();
        let mut changed = false;
        // After a name that needs a whole discovery, the others are still looked at: one
        // not mounted on yet is not found by that discovery either, and must be rechecked.
        let mut whole = false;
        for (wd, name) in names {
            let Some((update, not_yet)) = self.look_at(wd, &name) else {
                whole = true;
                continue;
            };
            changed |= update;
            if not_yet {
                self.rechecks.retain(|r| r.wd != wd || r.name != name);
                self.schedule(Recheck {
                    at: Instant::now() + RECHECK,
                    tries: 0,
                    wd,
                    name,
                });
            }
        }
        (!whole).then_some(changed)
    }

    /// Looks again at the names due; as [`Watcher::names_changed`].
    fn recheck(&mut self) -> Option<bool> {
        let now = Instant::now();
        let due = self.rechecks.partition_point(|r| r.at <= now);
        let due: Vec<Recheck> = self.rechecks.drain(..due).collect();
        let mut changed = false;
        let mut whole = false;
        for r in due {
            let Some((update, not_yet)) = self.look_at(r.wd, &r.name) else {
                whole = true;
                continue;
            };
            changed |= update;
            if not_yet && r.tries + 1 < RECHECKS {
                self.schedule(Recheck {
                    at: now + RECHECK * 2u32.pow(r.tries + 1),
                    tries: r.tries + 1,
                    ..r
                });
            }
        }
        (!whole).then_some(changed)
    }

    fn schedule(&mut self, r: Recheck) {
        let at = self.rechecks.partition_point(|x| x.at <= r.at);
        self.rechecks.insert(at, r);
    }

    /// Brings the namespace of one name up to date and the subscriptions with it: whether
    /// the set changed, and whether the name is still to be mounted on.
    fn look_at(&mut self, wd: WatchDescriptor, name: &OsString) -> Option<(bool, bool)> {
        let (dir, prefix) = self.dirs.get(&wd)?;
        let procs = &self.procs;
        let update = self
            .known
            .update_name((dir, prefix), name, |i| procs.holds(i))?;
        if let Some(inode) = update.removed {
            self.unsubscribe(inode);
        }
        if let Some(inode) = update.added {
            let found = self.known.namespaces.iter().find(|n| n.inode == inode);
            if let Some(found) = found.cloned() {
                self.subscribe(&found);
            }
        }
        let changed = update.removed.is_some() || update.added.is_some();
        Some((changed, update.not_yet))
    }

    /// A whole discovery: subscribes to the namespaces not subscribed to yet (those that
    /// failed before are tried again), drops the gone.
    fn rediscover(&mut self) {
        let found = discover();
        self.discoveries += 1;
        let now: BTreeSet<u64> = found.namespaces.iter().map(|n| n.inode).collect();
        let gone: Vec<u64> = self
            .subs
            .keys()
            .filter(|i| !now.contains(i))
            .copied()
            .collect();
        for inode in gone {
            self.unsubscribe(inode);
        }
        for ns in &found.namespaces {
            if !self.subs.contains_key(&ns.inode) {
                self.subscribe(ns);
            }
        }
        self.inodes = now;
        self.known = found;
    }

    fn subscribe(&mut self, ns: &FoundNs) {
        self.inodes.insert(ns.inode);
        let (Some(ep), Ok(file)) = (&self.epoll, ns.open()) else {
            return;
        };
        let Some(socket) = subscribe(&file, &ns.name) else {
            return;
        };
        let event = EpollEvent::new(EpollFlags::EPOLLIN, ns.inode);
        if ep.add(socket.as_fd(), event).is_ok() {
            let neigh = NeighTable::default();
            self.subs.insert(ns.inode, Sub { socket, neigh });
        }
    }

    fn unsubscribe(&mut self, inode: u64) {
        self.inodes.remove(&inode);
        if let (Some(sub), Some(ep)) = (self.subs.remove(&inode), &self.epoll) {
            let _ = ep.delete(sub.socket.as_fd());
        }
    }
}

/// Starts the watcher; it stops when the UI is gone (the channel closes). Its thread is
/// named (`netlens-tui-watch`) so that `top -H` and perf tell it from the UI's loop, and a
/// panic on it ends the TUI rather than leave it silently without updates.
pub fn spawn(tx: Sender<Msg>) {
    super::terminal::spawn("watch", move || {
        let mut watcher = Watcher::start();
        loop {
            let touched = watcher.wait(RESCAN);
            if !touched.is_empty() && tx.send(Msg::Changed(touched)).is_err() {
                return;
            }
        }
    });
}

#[cfg(test)]
mod netconf_tests {
    use super::netconf_device;

    /// A netconf message as the kernel sends it: header, netconfmsg, then attributes
    /// (NETCONFA_IFINDEX and one more).
    fn message(kind: u16, ifindex: i32) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend(0u32.to_ne_bytes());
        m.extend(kind.to_ne_bytes());
        m.extend([0u8; 10]);
        m.extend([2u8, 0, 0, 0]);
        m.extend(8u16.to_ne_bytes());
        m.extend(4u16.to_ne_bytes()); // NETCONFA_FORWARDING first
        m.extend(1i32.to_ne_bytes());
        m.extend(8u16.to_ne_bytes());
        m.extend(1u16.to_ne_bytes());
        m.extend(ifindex.to_ne_bytes());
        let len = u32::try_from(m.len()).unwrap();
        m[0..4].copy_from_slice(&len.to_ne_bytes());
        m
    }

    #[test]
    fn the_device_of_a_netconf_message() {
        assert_eq!(netconf_device(&message(80, 12)), Some(Some(12)));
        assert_eq!(netconf_device(&message(81, 3)), Some(Some(3)));
        assert_eq!(netconf_device(&message(80, -1)), Some(None));
        assert_eq!(netconf_device(&message(80, -2)), Some(None));
        assert_eq!(netconf_device(&message(16, 12)), None);
        let cut = message(80, 12);
        assert_eq!(netconf_device(&cut[..24]), Some(None));
    }
}
