//! Live updates: the kernel tells us when something changes.
//!
//! One NETLINK_ROUTE socket per namespace, opened inside it and subscribed to the link, address,
//! route and neighbour multicast groups, and an inotify watch on the named-namespace
//! directories; a single thread sleeps in `poll` on all of them. Processes come and go without
//! an event, so `/proc` is rescanned on a slow timer. The thread only says "something changed";
//! the UI loop coalesces bursts into one re-read.

use std::collections::BTreeSet;
use std::fs::File;
use std::os::fd::AsFd;
use std::sync::mpsc::Sender;
use std::time::Duration;

use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};

use super::Msg;
use crate::netns::discover::{discover, named_dirs, Discovery};
use crate::netns::enter::run_in_netns_file;

/// RTMGRP_LINK | RTMGRP_NEIGH | RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_IFADDR |
/// RTMGRP_IPV6_ROUTE
const GROUPS: u32 = 0x1 | 0x4 | 0x10 | 0x40 | 0x100 | 0x400;
/// How often `/proc` is rescanned for namespaces held by new or exited processes.
const RESCAN: Duration = Duration::from_secs(3);
/// Firewall rules, sysctls and DNS files change without a netlink event: every this many
/// rescans (≈ 9 s) the UI reads everything again anyway.
const SLOW_REFRESH_EVERY: u32 = 3;

fn subscribe(file: &File, label: &str) -> Option<Socket> {
    run_in_netns_file(file, label, || {
        let mut s = Socket::new(NETLINK_ROUTE).ok()?;
        s.bind(&SocketAddr::new(0, GROUPS)).ok()?;
        s.set_non_blocking(true).ok()?;
        Some(s)
    })
    .ok()
    .flatten()
}

/// Sockets for every namespace of `found`, and their identities.
fn subscribe_all(found: &Discovery) -> (BTreeSet<u64>, Vec<Socket>) {
    let mut inodes = BTreeSet::new();
    let mut sockets = Vec::new();
    for ns in &found.namespaces {
        inodes.insert(ns.inode);
        let Some(file) = ns.paths.iter().find_map(|p| File::open(p).ok()) else {
            continue;
        };
        sockets.extend(subscribe(&file, &ns.name));
    }
    (inodes, sockets)
}

fn drain(sock: &Socket) {
    let mut buf = vec![0u8; 16 * 1024];
    while let Ok(n) = sock.recv(&mut &mut buf[..], 0) {
        if n == 0 {
            break;
        }
    }
}

/// Starts the watcher; it stops when the UI is gone (the channel closes).
pub fn spawn(tx: Sender<Msg>) {
    std::thread::spawn(move || {
        let inotify = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC).ok();
        if let Some(ino) = &inotify {
            for (dir, _) in named_dirs() {
                let _ = ino.add_watch(&dir, AddWatchFlags::IN_CREATE | AddWatchFlags::IN_DELETE);
            }
        }
        let (mut inodes, mut sockets) = subscribe_all(&discover());
        let mut quiet_rescans = 0u32;
        loop {
            let mut fds: Vec<PollFd> = sockets
                .iter()
                .map(|s| PollFd::new(s.as_fd(), PollFlags::POLLIN))
                .collect();
            if let Some(ino) = &inotify {
                fds.push(PollFd::new(ino.as_fd(), PollFlags::POLLIN));
            }
            let timeout = PollTimeout::try_from(RESCAN).unwrap_or(PollTimeout::NONE);
            let ready = poll(&mut fds, timeout).unwrap_or(0);
            let mut changed = false;
            let mut rescan = ready == 0;
            for (i, fd) in fds.iter().enumerate() {
                if !fd.any().unwrap_or(false) {
                    continue;
                }
                if i < sockets.len() {
                    changed = true;
                } else {
                    rescan = true;
                }
            }
            drop(fds);
            if changed {
                sockets.iter().for_each(drain);
            }
            if rescan {
                if let Some(ino) = &inotify {
                    let _ = ino.read_events();
                }
                let found = discover();
                let now: BTreeSet<u64> = found.namespaces.iter().map(|n| n.inode).collect();
                if now != inodes {
                    // The scan just made is the one to subscribe to: no second walk of /proc.
                    (inodes, sockets) = subscribe_all(&found);
                    changed = true;
                }
                if ready == 0 {
                    quiet_rescans += 1;
                    if quiet_rescans >= SLOW_REFRESH_EVERY {
                        quiet_rescans = 0;
                        changed = true;
                    }
                }
            }
            if changed && tx.send(Msg::Changed).is_err() {
                return;
            }
        }
    });
}
