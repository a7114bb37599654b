//! The live watcher's own view against the truth: it keeps the set of namespaces up to date by
//! the names inotify gives (`netns::discover::by_name`) instead of a whole discovery per
//! event, and wakes on the sockets that have something (epoll). In a throwaway world, a
//! seeded random sequence of named namespaces added and deleted (also within the recheck
//! window, mounted late, left as plain files, given a second name), with link changes in some;
//! after each step the watcher is drained and what it knows must equal a fresh `discover()`,
//! and what it handed on (the scan of namespaces, the namespaces touched) must say so.

use crate::common::topo_gen::Rng;
use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::time::{Duration, Instant};

use netlens::collect::touched::Touched;
use netlens::netns::discover::{discover, Discovery};
use netlens::ui::watch::Watcher;

use crate::common::world::{in_world, sh};

/// A discovery, all of it, one line per namespace (the order is part of it: the snapshot
/// lists namespaces in discovery's order).
fn view(d: &Discovery) -> Vec<String> {
    let mut v: Vec<String> = d.namespaces.iter().map(|n| format!("{n:?}")).collect();
    v.push(format!("own {:?} warnings {:?}", d.own_inode, d.warnings));
    v
}

fn inodes(d: &Discovery) -> BTreeSet<u64> {
    d.namespaces.iter().map(|n| n.inode).collect()
}

/// Every notification until the watcher has been quiet for a while (longer than a recheck).
fn settle(w: &mut Watcher) -> Touched {
    crate::live_model::settle_for(w, Duration::from_millis(400))
}

fn inode_of(name: &str) -> u64 {
    std::fs::metadata(format!("/run/netns/{name}"))
        .expect("stat the name")
        .ino()
}

/// One random step; returns what it did and the namespace whose links it changed, if any.
fn step(
    rng: &mut Rng,
    w: &mut Watcher,
    names: &mut Vec<String>,
    k: usize,
) -> (String, Option<u64>) {
    let pick = |rng: &mut Rng, names: &[String]| names[rng.below(names.len())].clone();
    match rng.below(8) {
        0 | 1 => {
            let n = format!("n{k}");
            sh(&["ip", "netns", "add", &n]);
            names.push(n.clone());
            (format!("add {n}"), None)
        }
        2 if names.len() > 2 => {
            let n = names.remove(rng.below(names.len()));
            sh(&["ip", "netns", "del", &n]);
            (format!("del {n}"), None)
        }
        3 => {
            // Gone again before the watcher's recheck of it.
            let n = format!("n{k}");
            sh(&["ip", "netns", "add", &n]);
            sh(&["ip", "netns", "del", &n]);
            (format!("add and del {n}"), None)
        }
        4 => {
            // The name first, the mount after the watcher saw the name (as `ip netns add`
            // does, slower).
            let n = format!("late{k}");
            std::fs::write(format!("/run/netns/{n}"), b"").expect("create the name");
            let _ = w.wait(Duration::from_millis(20));
            let at = format!("/run/netns/{n}");
            sh(&[
                "unshare",
                "--net",
                "--",
                "mount",
                "--bind",
                "/proc/self/ns/net",
                &at,
            ]);
            names.push(n.clone());
            (format!("late mount {n}"), None)
        }
        5 => {
            // A leftover of a failed `ip netns add`: a plain file, never a namespace; or one
            // such going.
            let n = format!("junk{}", k % 3);
            let at = format!("/run/netns/{n}");
            if std::fs::remove_file(&at).is_err() {
                std::fs::write(&at, b"").expect("create junk");
            }
            (format!("junk {n}"), None)
        }
        6 if !names.is_empty() => {
            // A second name for a namespace known by one: the name alone cannot say.
            let n = pick(rng, names);
            let alias = format!("alias{k}");
            let (from, to) = (format!("/run/netns/{n}"), format!("/run/netns/{alias}"));
            std::fs::write(&to, b"").expect("create the alias");
            sh(&["mount", "--bind", &from, &to]);
            names.push(alias.clone());
            (format!("alias {alias} of {n}"), None)
        }
        _ if !names.is_empty() => {
            let n = pick(rng, names);
            let veth = format!("d{k}");
            let peer = format!("e{k}");
            let add = [
                "ip", "-n", &n, "link", "add", &veth, "type", "veth", "peer", &peer,
            ];
            sh(&add);
            (format!("link {veth} in {n}"), Some(inode_of(&n)))
        }
        _ => ("nothing".into(), None),
    }
}

#[test]
fn the_known_namespaces_equal_a_discovery_after_random_name_changes() {
    in_world(
        "live_watch::the_known_namespaces_equal_a_discovery_after_random_name_changes",
        || {
            std::fs::create_dir_all("/run/netns").expect("mkdir /run/netns");
            let mut names: Vec<String> = (0..4).map(|i| format!("s{i}")).collect();
            for n in &names {
                sh(&["ip", "netns", "add", n]);
            }
            let mut w = Watcher::start();
            assert_eq!(view(w.known()), view(&discover()), "at the start");
            let seed = std::env::var("NETLENS_LIVE_SEED")
                .ok()
                .and_then(|s| s.parse().ok());
            let mut rng = Rng::new(seed.unwrap_or(0x5eed_7a7c));
            let mut before = inodes(w.known());
            let mut handed = w.known().clone();
            let mut by_name = 0;
            for k in 0..60 {
                let (what, linked) = step(&mut rng, &mut w, &mut names, k);
                let whole = w.whole_discoveries();
                let touched = settle(&mut w);
                by_name += usize::from(w.whole_discoveries() == whole);
                let truth = discover();
                assert_eq!(view(w.known()), view(&truth), "step {k} ({what})");
                if let Some(d) = touched.discovery {
                    handed = d;
                }
                // The collector was handed every change of the set, as it is now.
                assert_eq!(view(&handed), view(&truth), "step {k} ({what}): handed");
                let after = inodes(&truth);
                if let Some(inode) = linked {
                    assert!(
                        touched.namespaces.contains_key(&inode),
                        "step {k} ({what}): {:?}",
                        touched.namespaces
                    );
                }
                // Events of the namespaces only, and only of the ones known.
                for inode in touched.namespaces.keys() {
                    assert!(after.contains(inode) || before.contains(inode), "step {k}");
                }
                before = after;
            }
            // Most steps were looked at by name, not by a whole discovery.
            assert!(
                by_name >= 40,
                "{by_name} of 60 steps without a whole discovery"
            );
        },
    );
}

/// A namespace held by a process (which `/proc` shows) stays when its name goes, as the
/// process's `pid:N`; a name given to a namespace a process already holds takes it over; a
/// namespace added by name lists its first process after the next `/proc` rescan.
#[test]
fn a_namespace_held_by_a_process_outlives_its_name() {
    in_world(
        "live_watch::a_namespace_held_by_a_process_outlives_its_name",
        || {
            std::fs::create_dir_all("/run/netns").expect("mkdir /run/netns");
            sh(&["ip", "netns", "add", "held"]);
            let child = std::process::Command::new("ip")
                .args(["netns", "exec", "held", "sleep", "600"])
                .spawn()
                .expect("start a process in the namespace");
            // Until the process is in it.
            let inode = inode_of("held");
            let deadline = Instant::now() + Duration::from_secs(5);
            while !entered_by(&discover(), inode) {
                assert!(Instant::now() < deadline, "the process never entered");
                std::thread::sleep(Duration::from_millis(20));
            }
            let mut w = Watcher::start();
            assert_eq!(view(w.known()), view(&discover()));
            sh(&["ip", "netns", "del", "held"]);
            let t = settle(&mut w);
            let truth = discover();
            assert!(truth.namespaces.iter().any(|n| n.inode == inode));
            assert_eq!(view(w.known()), view(&truth), "the name gone");
            assert!(t.discovery.is_some());
            // A name again, on the namespace the process holds.
            std::fs::write("/run/netns/again", b"").expect("create the name");
            let from = format!("/proc/{}/ns/net", child.id());
            sh(&["mount", "--bind", &from, "/run/netns/again"]);
            settle(&mut w);
            assert_eq!(view(w.known()), view(&discover()), "named again");
            // A namespace added by its name alone, then entered by its first process (a
            // pod's sandbox): the `/proc` rescan (3 s) lists the process with it.
            sh(&["ip", "netns", "add", "fresh"]);
            settle(&mut w);
            assert_eq!(view(w.known()), view(&discover()), "fresh");
            let second = std::process::Command::new("ip")
                .args(["netns", "exec", "fresh", "sleep", "600"])
                .spawn()
                .expect("start a process in the namespace");
            let inode = inode_of("fresh");
            let deadline = Instant::now() + Duration::from_secs(5);
            while !entered_by(&discover(), inode) {
                assert!(Instant::now() < deadline, "the process never entered");
                std::thread::sleep(Duration::from_millis(20));
            }
            let deadline = Instant::now() + Duration::from_secs(5);
            while !entered_by(w.known(), inode) {
                assert!(Instant::now() < deadline, "the first process was not seen");
                let _ = w.wait(Duration::from_millis(100));
            }
            assert_eq!(view(w.known()), view(&discover()), "fresh, entered");
            for mut c in [child, second] {
                let _ = c.kill();
                let _ = c.wait();
            }
        },
    );
}

/// Whether `sleep` runs in the namespace `inode` as `d` lists it.
fn entered_by(d: &Discovery, inode: u64) -> bool {
    let ns = d.namespaces.iter().find(|n| n.inode == inode);
    ns.is_some_and(|n| n.processes.iter().any(|p| p.comm == "sleep"))
}

/// With 200 quiet namespaces subscribed, an event in one is reported for that one only.
#[test]
fn an_event_in_one_of_200_namespaces_is_reported_for_it_only() {
    in_world(
        "live_watch::an_event_in_one_of_200_namespaces_is_reported_for_it_only",
        || {
            std::fs::create_dir_all("/run/netns").expect("mkdir /run/netns");
            let batch: String = (0..200).map(|i| format!("netns add q{i}\n")).collect();
            let file = std::env::temp_dir().join("live_watch.batch");
            std::fs::write(&file, batch).expect("write the batch");
            sh(&["ip", "-batch", file.to_str().unwrap()]);
            let mut w = Watcher::start();
            assert_eq!(w.known().namespaces.len(), 201);
            settle(&mut w);
            let mut rng = Rng::new(0x200);
            for round in 0..3 {
                let n = format!("q{}", rng.below(200));
                for updown in ["up", "down"] {
                    sh(&["ip", "-n", &n, "link", "set", "lo", updown]);
                    let t = settle(&mut w);
                    let keys: Vec<u64> = t.namespaces.keys().copied().collect();
                    assert_eq!(keys, [inode_of(&n)], "round {round}: lo {updown} in {n}");
                    assert!(t.discovery.is_none() && !t.full, "round {round}");
                }
            }
            // What handing the set to the collector costs, at this size.
            let at = Instant::now();
            let copies = 100;
            for _ in 0..copies {
                std::hint::black_box(w.known().clone());
            }
            println!(
                "clone of a discovery of {} namespaces: {:?}",
                w.known().namespaces.len(),
                at.elapsed() / copies
            );
        },
    );
}
