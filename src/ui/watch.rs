//! Live updates: the kernel tells us what changes.
//!
//! One NETLINK_ROUTE socket per namespace, opened inside it and subscribed to the link,
//! address, route, neighbour, rule and netconf groups, and an inotify watch on the named
//! namespace directories; a single thread sleeps in `poll` on all of them. Each notification
//! is read and classified (`watch_events.rs`): the UI is told which kinds of objects changed
//! in which namespace ([`Touched`]), so the collector re-reads only that. Chatter the UI does
//! not show (neighbour reachability flips, NOARP entries) only bumps a counter. Processes come
//! and go without an event, so `/proc` is rescanned on a slow timer; firewall rules, sockets
//! and DNS files have no events at all and wait for the slow full read.

use std::collections::BTreeSet;
use std::fs::File;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};

use super::watch_events::{ifindex_of, kinds_of, messages, NeighTable};
use super::watch_procs::ProcWatch;
use super::Msg;
use crate::collect::touched::{Kinds, Touched};
use crate::netns::discover::{discover, named_dirs, Discovery};
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

/// One namespace's subscription.
struct Sub {
    inode: u64,
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

/// Keeps the subscriptions of namespaces still in `found`, drops the others and subscribes
/// to the new ones only: a pod starting costs one socket, not one per namespace.
fn resubscribe(found: &Discovery, subs: &mut Vec<Sub>) -> BTreeSet<u64> {
    let inodes: BTreeSet<u64> = found.namespaces.iter().map(|n| n.inode).collect();
    subs.retain(|s| inodes.contains(&s.inode));
    let have: BTreeSet<u64> = subs.iter().map(|s| s.inode).collect();
    for ns in found.namespaces.iter().filter(|n| !have.contains(&n.inode)) {
        let Ok(file) = ns.open() else { continue };
        if let Some(socket) = subscribe(&file, &ns.name) {
            subs.push(Sub {
                inode: ns.inode,
                socket,
                neigh: NeighTable::default(),
            });
        }
    }
    inodes
}

/// Reads everything waiting on one socket into `touched`.
fn read(sub: &mut Sub, buf: &mut [u8], touched: &mut Touched) {
    loop {
        match sub.socket.recv(&mut &mut buf[..], 0) {
            Ok(0) => break,
            Ok(n) => {
                for m in messages(&buf[..n.min(buf.len())]) {
                    let kinds = kinds_of(m, &mut sub.neigh);
                    if kinds.is_empty() {
                        IGNORED.fetch_add(1, Ordering::Relaxed);
                    }
                    touched.add_on(sub.inode, kinds, ifindex_of(m));
                }
            }
            // Notifications were lost: what they said is unknown, so read it all again.
            Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                sub.neigh = NeighTable::default();
                touched.add(sub.inode, Kinds::ALL);
            }
            Err(_) => break,
        }
    }
}

/// The watcher's state: the subscriptions, the inotify watch, and when the next `/proc`
/// rescan and full read are due. `spawn` runs it on a thread; tests drive it step by step.
pub struct Watcher {
    inotify: Option<Inotify>,
    subs: Vec<Sub>,
    inodes: BTreeSet<u64>,
    buf: Vec<u8>,
    last_rescan: Instant,
    last_full: Instant,
    procs: ProcWatch,
    /// A name appeared or went under a named-namespace directory: look again then. `ip
    /// netns add` creates the file before it mounts the namespace on it, and a scan in
    /// between does not see it yet (a mount makes no inotify event).
    recheck: Option<Instant>,
}

/// How long after a name appears its namespace is looked for again.
const RECHECK: Duration = Duration::from_millis(200);

impl Watcher {
    /// Subscribes to every namespace found now (the caller's thread never changes namespace).
    pub fn start() -> Watcher {
        let inotify = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC).ok();
        if let Some(ino) = &inotify {
            for (dir, _) in named_dirs() {
                let _ = ino.add_watch(&dir, AddWatchFlags::IN_CREATE | AddWatchFlags::IN_DELETE);
            }
        }
        let mut subs = Vec::new();
        let inodes = resubscribe(&discover(), &mut subs);
        let mut procs = ProcWatch::default();
        procs.changed(&inodes);
        Watcher {
            procs,
            inotify,
            subs,
            inodes,
            buf: vec![0u8; 64 * 1024],
            last_rescan: Instant::now(),
            last_full: Instant::now(),
            recheck: None,
        }
    }

    /// Waits up to `max` for notifications (less when a rescan is due) and returns what they
    /// say changed: empty when nothing did.
    pub fn wait(&mut self, max: Duration) -> Touched {
        let mut fds: Vec<PollFd> = self
            .subs
            .iter()
            .map(|s| PollFd::new(s.socket.as_fd(), PollFlags::POLLIN))
            .collect();
        if let Some(ino) = &self.inotify {
            fds.push(PollFd::new(ino.as_fd(), PollFlags::POLLIN));
        }
        // A busy node never lets poll time out: the rescan is due by the clock.
        let mut wait = RESCAN.saturating_sub(self.last_rescan.elapsed()).min(max);
        if let Some(at) = self.recheck {
            wait = wait.min(at.saturating_duration_since(Instant::now()));
        }
        let timeout = PollTimeout::try_from(wait).unwrap_or(PollTimeout::NONE);
        let _ = poll(&mut fds, timeout);
        let readable: Vec<bool> = fds.iter().map(|f| f.any().unwrap_or(false)).collect();
        drop(fds);
        let mut touched = Touched::default();
        for (sub, _) in self.subs.iter_mut().zip(&readable).filter(|(_, r)| **r) {
            read(sub, &mut self.buf, &mut touched);
        }
        let named_event = readable.len() > self.subs.len() && readable[self.subs.len()];
        let recheck_due = self.recheck.is_some_and(|at| Instant::now() >= at);
        if named_event {
            self.recheck = Some(Instant::now() + RECHECK);
        } else if recheck_due {
            self.recheck = None;
        }
        let named_changed = named_event || recheck_due;
        let rescan_due = self.last_rescan.elapsed() >= RESCAN;
        if rescan_due {
            self.last_rescan = Instant::now();
        }
        if named_changed || (rescan_due && self.procs.changed(&self.inodes)) {
            if let Some(ino) = &self.inotify {
                let _ = ino.read_events();
            }
            let found = discover();
            let now: BTreeSet<u64> = found.namespaces.iter().map(|n| n.inode).collect();
            if now != self.inodes {
                self.inodes = resubscribe(&found, &mut self.subs);
                touched.discovery = Some(found);
            }
        }
        if self.last_full.elapsed() >= SLOW_REFRESH {
            self.last_full = Instant::now();
            touched.full = true;
        }
        touched
    }
}

/// Starts the watcher; it stops when the UI is gone (the channel closes).
pub fn spawn(tx: Sender<Msg>) {
    std::thread::spawn(move || {
        let mut watcher = Watcher::start();
        loop {
            let touched = watcher.wait(RESCAN);
            if !touched.is_empty() && tx.send(Msg::Changed(touched)).is_err() {
                return;
            }
        }
    });
}
