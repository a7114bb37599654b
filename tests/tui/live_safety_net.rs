//! The UI's copy of the live model against the collector's, and the 60 s full read as a
//! safety net: compared with the model, it patches only the namespaces that differ (none
//! when nothing changed), and a change whose event was lost still reaches the UI.

use std::collections::BTreeSet;
use std::time::Duration;

use netlens::collect::partial::Live;
use netlens::collect::touched::Touched;
use netlens::collect::{self, Options};
use netlens::model::Snapshot;
use netlens::ui::app::{App, Source};
use netlens::ui::Msg;

use crate::common::world::{in_world, sh};
use crate::live_model::{add_pod, host_bridge, normal};

/// A live app given the model's first read whole, as the collector sends it.
pub fn ui_of(live: &Live) -> App {
    let mut app = App::new(Source::Live, None);
    app.handle(Msg::Collected(Box::new(live.snapshot.clone()), vec![]));
    app
}

/// Sends the app what the collector sends after a read that returned `changed`: a patch
/// of the namespaces changed (without what the read did not read, and those changed only
/// by a read of some of their links as what was read). Returns how many came that way.
pub fn send(app: &mut App, live: &Live, changed: &BTreeSet<u64>) -> usize {
    let patch = live.patch_for_copy(changed);
    let deltas = patch.deltas.len();
    app.handle(Msg::Patched(Box::new(patch)));
    deltas
}

/// The app's copy equals the collector's model exactly (the app sorts its namespaces for
/// the list: compared by inode).
pub fn assert_ui_equals_model(app: &App, live: &Live, what: &str) {
    let by_inode = |s: &Snapshot| {
        let mut s = s.clone();
        s.namespaces.sort_by_key(|n| n.inode);
        s
    };
    let ui = by_inode(app.snapshot.as_ref().expect("the app holds a snapshot"));
    let model = by_inode(&live.snapshot);
    if ui != model {
        let differ: Vec<&str> = ui
            .namespaces
            .iter()
            .zip(&model.namespaces)
            .filter(|(a, b)| a != b)
            .map(|(a, _)| a.name.as_str())
            .collect();
        panic!(
            "{what}: the UI's copy differs from the collector's model ({} vs {} namespaces; \
             differing: {differ:?})",
            ui.namespaces.len(),
            model.namespaces.len()
        );
    }
}

/// A full read until it finds nothing to patch (the world settling); the count it took.
fn until_quiet(live: &mut Live, app: &mut App) -> usize {
    for n in 0..10 {
        let changed = live.refresh(Touched::full()).unwrap();
        send(app, live, &changed);
        if changed.is_empty() {
            return n;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    panic!("a full read kept finding changes in a quiet world");
}

/// A bridge and `pods` pods, read, shown, and read again until quiet: the options, the
/// model and the app.
fn quiet_world(pods: usize) -> (Options, Live, App) {
    host_bridge();
    (0..pods).for_each(add_pod);
    let opts = Options::default();
    let mut live = Live::read(&opts).unwrap();
    let mut app = ui_of(&live);
    until_quiet(&mut live, &mut app);
    (opts, live, app)
}

/// Namespace `name` in the model.
fn named<'a>(live: &'a Live, name: &str) -> &'a netlens::model::Namespace {
    let ns = live.snapshot.namespaces.iter().find(|n| n.name == name);
    ns.unwrap_or_else(|| panic!("no namespace {name} in the model"))
}

/// The inode of namespace `name` in the model.
fn inode_of(live: &Live, name: &str) -> u64 {
    named(live, name).inode
}

/// No watcher runs (every event is lost): the full read finds exactly the namespace
/// changed, patches it, and the UI's copy ends equal to the model and to a fresh read.
#[test]
fn a_change_whose_event_was_lost_reaches_the_ui_by_the_full_read() {
    in_world(
        "live_safety_net::a_change_whose_event_was_lost_reaches_the_ui_by_the_full_read",
        || {
            let (opts, mut live, mut app) = quiet_world(4);
            let steps: [(&str, &[&str]); 3] = [
                (
                    "p2",
                    &[
                        "ip",
                        "-n",
                        "p2",
                        "addr",
                        "add",
                        "10.7.7.1/24",
                        "dev",
                        "eth0",
                    ],
                ),
                (
                    "p1",
                    &["ip", "-n", "p1", "link", "set", "eth0", "mtu", "1400"],
                ),
                ("host", &["ip", "route", "add", "10.8.8.0/24", "dev", "br0"]),
            ];
            for (name, argv) in steps {
                sh(argv);
                let changed = live.refresh(Touched::full()).unwrap();
                assert!(!live.renamed());
                let want: BTreeSet<u64> = [inode_of(&live, name)].into();
                assert_eq!(changed, want, "{argv:?}: only {name} differs");
                send(&mut app, &live, &changed);
                assert_ui_equals_model(&app, &live, &format!("{argv:?}"));
                let full = collect::snapshot(&opts).unwrap();
                assert!(normal(&live.snapshot) == normal(&full), "{argv:?}");
            }
            // And a namespace gone without its event: dropped from the UI too.
            sh(&["ip", "netns", "del", "p3"]);
            std::thread::sleep(Duration::from_millis(300));
            let changed = live.refresh(Touched::full()).unwrap();
            send(&mut app, &live, &changed);
            assert_ui_equals_model(&app, &live, "p3 deleted");
            let ui = app.snapshot.as_ref().unwrap();
            assert!(ui.namespaces.iter().all(|n| n.name != "p3"));
            until_quiet(&mut live, &mut app);
        },
    );
}

/// A namespace known by its process (`pid:N`) gets a name, by a scan (the watcher's path)
/// and by a full read: each is a patch of the renamed namespace and of those whose veths
/// name it as peer, and the UI's copy ends equal to the model.
#[test]
fn a_renamed_namespace_is_a_patch() {
    in_world("live_safety_net::a_renamed_namespace_is_a_patch", || {
        host_bridge();
        (0..2).for_each(add_pod);
        let mut holders = Vec::new();
        for (k, name) in ["late1", "late2"].iter().enumerate() {
            let child = std::process::Command::new("unshare")
                .args(["--net", "--", "sleep", "600"])
                .spawn()
                .expect("unshare");
            std::thread::sleep(Duration::from_millis(300));
            let pid = child.id().to_string();
            let host = format!("vl{k}");
            sh(&[
                "ip", "link", "add", &host, "type", "veth", "peer", "name", "eth0",
            ]);
            sh(&["ip", "link", "set", "eth0", "netns", &pid]);
            sh(&["ip", "link", "set", &host, "master", "br0", "up"]);
            holders.push((child, pid, *name));
        }
        let opts = Options::default();
        let mut live = Live::read(&opts).unwrap();
        let mut app = ui_of(&live);
        until_quiet(&mut live, &mut app);
        for (n, (_, pid, name)) in holders.iter().enumerate() {
            let path = format!("/run/netns/{name}");
            std::fs::create_dir_all("/run/netns").expect("mkdir");
            std::fs::write(&path, b"").expect("the name");
            let ns = format!("/proc/{pid}/ns/net");
            sh(&["mount", "--bind", &ns, &path]);
            let changed = if n == 0 {
                let touched = Touched {
                    discovery: Some(netlens::netns::discover::discover()),
                    ..Touched::default()
                };
                live.refresh(touched).unwrap()
            } else {
                live.refresh(Touched::full()).unwrap()
            };
            assert!(live.renamed(), "{name}");
            let named = live.snapshot.namespaces.iter().find(|x| x.name == *name);
            let host = live.snapshot.namespaces.iter().find(|x| x.name == "host");
            let (named, host) = (named.expect("named"), host.expect("host"));
            assert!(changed.contains(&named.inode) && changed.contains(&host.inode));
            send(&mut app, &live, &changed);
            assert_ui_equals_model(&app, &live, name);
            let peer = host.links.iter().find(|l| l.name == format!("vl{n}"));
            let peer_ns = peer.and_then(|l| l.peer.as_ref()?.namespace.clone());
            assert_eq!(peer_ns.as_deref(), Some(*name), "the host's veth names it");
        }
        for (mut child, ..) in holders {
            let _ = child.kill();
            let _ = child.wait();
        }
    });
}

/// A process holding a listener in a namespace, killed when dropped (also on a failure).
struct Listener(std::process::Child);

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts a TCP listener on `port` in namespace `ns` and waits until it listens.
fn listen(ns: &str, port: u16) -> Listener {
    let code = format!(
        "import socket,time\ns=socket.socket()\ns.bind(('0.0.0.0',{port}))\ns.listen()\n\
         print('up',flush=True)\ntime.sleep(600)"
    );
    let child = std::process::Command::new("ip")
        .args(["netns", "exec", ns, "python3", "-c", &code])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    let mut l = Listener(child);
    let mut line = String::new();
    let out = l.0.stdout.as_mut().expect("stdout");
    std::io::BufRead::read_line(&mut std::io::BufReader::new(out), &mut line)
        .expect("the listener says it is up");
    l
}

/// `model` equals `whole` (a fresh whole read) but for the firewalls; else names what
/// differs in namespace `name`.
fn assert_same_but_firewalls(model: &Snapshot, whole: &Snapshot, name: &str) {
    let (a, b) = (without_firewalls(model), without_firewalls(whole));
    if a != b {
        let pick = |v: &serde_json::Value| {
            let list = v["namespaces"].as_array().unwrap().clone();
            list.into_iter().find(|n| n["name"] == name)
        };
        panic!(
            "after {name}'s change the model differs from a whole read:\n{:?}\n{:?}",
            pick(&a),
            pick(&b)
        );
    }
}

/// The snapshot as `normal` gives it, without the firewalls (whose counters a later read
/// may see moved) .
fn without_firewalls(s: &Snapshot) -> serde_json::Value {
    let mut v = normal(s);
    for ns in v["namespaces"].as_array_mut().unwrap() {
        ns["firewall"] = serde_json::Value::Null;
    }
    v
}

/// The periodic refresh between whole reads (`partial_light.rs`) reads only what has no
/// event: a firewall rule, a listener and a sysctl changed with no watcher running each
/// reach the model and the UI's copy as a patch of exactly their namespace, equal to a fresh
/// whole read; nothing changed, it patches nothing.
#[test]
fn the_light_refresh_finds_what_has_no_event() {
    in_world(
        "live_safety_net::the_light_refresh_finds_what_has_no_event",
        || {
            let (opts, mut live, mut app) = quiet_world(3);
            let quiet = live.refresh_periodic(Touched::full()).unwrap();
            assert!(quiet.is_empty(), "nothing changed, yet {quiet:?}");
            let has_rule = |l: &Live| {
                let ns = named(l, "p1");
                let fw = ns.firewall.as_ref().expect("p1's firewall");
                fw.iptables
                    .iter()
                    .flat_map(|t| &t.chains)
                    .flat_map(|c| &c.rules)
                    .any(|r| r.raw.contains("--dport 7 ") && r.raw.contains("DROP"))
            };
            assert!(!has_rule(&live));
            let mut listener = None;
            let steps: [(&str, &[&str]); 3] = [
                (
                    "p1",
                    &[
                        "ip", "netns", "exec", "p1", "iptables", "-A", "INPUT", "-p", "tcp",
                        "--dport", "7", "-j", "DROP",
                    ],
                ),
                ("p2", &[]),
                // ARP answering where a bridge is: no netconf event reports it.
                ("host", &["sysctl", "-qw", "net.ipv4.conf.all.arp_ignore=1"]),
            ];
            for (name, argv) in steps {
                if argv.is_empty() {
                    listener = Some(listen(name, 7070));
                } else {
                    sh(argv);
                }
                let want: BTreeSet<u64> = [inode_of(&live, name)].into();
                let changed = live.refresh_periodic(Touched::full()).unwrap();
                assert_eq!(changed, want, "{name} {argv:?}: only {name} differs");
                assert_eq!(live.read_whole(), &want, "its patch carries its parts");
                send(&mut app, &live, &changed);
                assert_ui_equals_model(&app, &live, name);
                let full = collect::snapshot(&opts).unwrap();
                assert_same_but_firewalls(&live.snapshot, &full, name);
            }
            assert!(has_rule(&live), "the rule reached the model");
            let p2 = live
                .snapshot
                .namespaces
                .iter()
                .find(|n| n.name == "p2")
                .unwrap();
            let s = p2
                .sockets
                .iter()
                .find(|s| s.port == 7070)
                .expect("the listener");
            assert!(!s.processes.is_empty(), "its holder is named");
            assert!(live.refresh_periodic(Touched::full()).unwrap().is_empty());
            drop(listener);
        },
    );
}

/// The nftables generation the light refresh trusts: moved by a rule change (iptables-nft
/// included), not by packets counted.
#[test]
fn the_ruleset_generation_moves_with_rules_not_counters() {
    in_world(
        "live_safety_net::the_ruleset_generation_moves_with_rules_not_counters",
        || {
            use netlens::firewall::nfnetlink::generation;
            sh(&["ip", "link", "set", "lo", "up"]);
            let g0 = generation().unwrap().expect("nf_tables");
            sh(&[
                "iptables", "-A", "INPUT", "-i", "lo", "-p", "icmp", "-j", "ACCEPT",
            ]);
            let g1 = generation().unwrap().unwrap();
            assert_ne!(g0, g1, "a rule added moves the generation");
            sh(&["ping", "-c", "2", "-i", "0.2", "-W", "1", "127.0.0.1"]);
            let counted = sh(&["iptables", "-v", "-n", "-L", "INPUT"]);
            assert!(
                !counted.contains(" 0     0 ACCEPT"),
                "the rule counted: {counted}"
            );
            assert_eq!(generation().unwrap(), Some(g1), "counters do not move it");
            sh(&["nft", "add", "table", "inet", "nltest"]);
            assert_ne!(generation().unwrap(), Some(g1), "nft moves it too");
        },
    );
}

/// Inode numbers are reused (lowest free first, once the old namespace is freed): a
/// namespace deleted and another created between two scans look like one renamed, same inode,
/// new name. The model must then read it whole, never keep the old one's objects. Made
/// deterministic: the model's copy of p1 is given an object the kernel never had, and a scan
/// names p1's inode anew.
#[test]
fn a_namespace_seen_under_a_new_name_is_read_whole() {
    in_world(
        "live_safety_net::a_namespace_seen_under_a_new_name_is_read_whole",
        || {
            let (opts, mut live, _app) = quiet_world(2);
            let inode = inode_of(&live, "p1");
            let p1 = live.snapshot.namespaces.iter_mut().find(|n| n.name == "p1");
            let p1 = p1.expect("p1");
            let mut ghost = p1.links[0].clone();
            ghost.name = "ghost0".into();
            ghost.index = 9999;
            p1.links.push(ghost);
            // The scan that sees p1's inode under another name (a bind mount, so that a
            // whole read after it agrees).
            sh(&["touch", "/run/netns/reborn"]);
            sh(&["mount", "--bind", "/run/netns/p1", "/run/netns/reborn"]);
            sh(&["umount", "/run/netns/p1"]);
            sh(&["rm", "/run/netns/p1"]);
            let touched = Touched {
                discovery: Some(netlens::netns::discover::discover()),
                ..Touched::default()
            };
            let changed = live.refresh(touched).unwrap();
            assert!(changed.contains(&inode));
            let ns = live.snapshot.namespaces.iter().find(|n| n.inode == inode);
            let ns = ns.expect("the namespace, renamed");
            assert_eq!(ns.name, "reborn");
            assert!(
                ns.links.iter().all(|l| l.name != "ghost0"),
                "the old name's objects were kept: {:?}",
                ns.links.iter().map(|l| &l.name).collect::<Vec<_>>()
            );
            let full = collect::snapshot(&opts).unwrap();
            assert_same_but_firewalls(&live.snapshot, &full, "reborn");
        },
    );
}

/// The watcher's copy of the scan is kept up to date name by name, its processes as old as
/// its last whole scan; the periodic refresh scans `/proc` each minute. An older copy handed
/// over must not put back what the newer scan replaced.
#[test]
fn an_older_scan_does_not_undo_a_newer_one() {
    in_world(
        "live_safety_net::an_older_scan_does_not_undo_a_newer_one",
        || {
            let (_opts, mut live, _app) = quiet_world(2);
            let old_scan = netlens::netns::discover::discover();
            let holder = listen("p1", 7072);
            let changed = live.refresh_periodic(Touched::full()).unwrap();
            assert!(changed.contains(&inode_of(&live, "p1")));
            let held = |l: &Live| !named(l, "p1").processes.is_empty();
            assert!(held(&live), "the periodic refresh found p1's new process");
            // A name added since (the watcher's copy: the old scan and the new name).
            sh(&["ip", "netns", "add", "late"]);
            let fresh = netlens::netns::discover::discover();
            let mut copy = old_scan.clone();
            let late = fresh.namespaces.iter().find(|f| f.name == "late").unwrap();
            copy.namespaces.push(late.clone());
            let touched = Touched {
                discovery: Some(copy),
                ..Touched::default()
            };
            live.refresh(touched).unwrap();
            assert!(held(&live), "the older copy put p1's holders back to none");
            assert!(live.snapshot.namespaces.iter().any(|n| n.name == "late"));
            drop(holder);
        },
    );
}

/// The ifindex of `name` in the calling thread's namespace (the world's host).
fn ifindex(name: &str) -> u32 {
    let c = std::ffi::CString::new(name).expect("a name");
    // SAFETY: a valid NUL-terminated string for the call's duration.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    assert_ne!(i, 0, "no link {name}");
    i
}

/// The host's end of a new pod's veth is read (link-scoped) before the pod's namespace is
/// known, unpaired; the scan that finds the pod pairs it as the other end while the host's
/// own read names another link. The host then changed outside the links it read: the delta
/// of that read must carry the paired veth too, and the UI's copy equals the model.
#[test]
fn a_veth_paired_outside_the_links_read_reaches_the_ui() {
    use netlens::collect::touched::Kinds;
    in_world(
        "live_safety_net::a_veth_paired_outside_the_links_read_reaches_the_ui",
        || {
            let (_opts, mut live, mut app) = quiet_world(1);
            let host = inode_of(&live, "host");
            sh(&["ip", "netns", "add", "pz"]);
            let veth = ["ip", "link", "add", "vz", "type", "veth", "peer"];
            sh(&[&veth[..], &["name", "ez", "netns", "pz"]].concat());
            let mut t = Touched::default();
            t.add_on(host, Kinds::LINKS | Kinds::ADDRESSES, Some(ifindex("vz")));
            let changed = live.refresh(t).unwrap();
            assert_eq!(send(&mut app, &live, &changed), 1, "the host as a delta");
            assert_ui_equals_model(&app, &live, "the host's end read");
            let peer_of_vz = |live: &Live| {
                let host = named(live, "host");
                let vz = host.links.iter().find(|l| l.name == "vz").expect("vz");
                vz.peer.as_ref().and_then(|p| p.namespace.clone())
            };
            assert_eq!(peer_of_vz(&live), None, "pz is not known yet");
            sh(&[
                "ip", "link", "add", "dz", "type", "veth", "peer", "name", "dz2",
            ]);
            let mut t = Touched {
                discovery: Some(netlens::netns::discover::discover()),
                ..Touched::default()
            };
            t.add_on(host, Kinds::LINKS, Some(ifindex("dz")));
            let changed = live.refresh(t).unwrap();
            assert_eq!(peer_of_vz(&live).as_deref(), Some("pz"));
            assert_eq!(send(&mut app, &live, &changed), 1, "the host as a delta");
            assert_ui_equals_model(&app, &live, "the pod found and vz paired");
        },
    );
}

/// A link's rp_filter set in the same batch as an event on that link: netconf names only a
/// link of the scope, so its sysctls are read with it — and must be (they were left out
/// unless the link came, went or was renamed: the new value waited for the whole read).
#[test]
fn a_sysctl_changed_with_its_link_is_read_with_it() {
    use netlens::collect::touched::Kinds;
    in_world(
        "live_safety_net::a_sysctl_changed_with_its_link_is_read_with_it",
        || {
            let (_opts, mut live, mut app) = quiet_world(1);
            let host = inode_of(&live, "host");
            let before = named(&live, "host").sysctls.rp_filter.get("vp0").copied();
            let value = if before == Some(2) { 1 } else { 2 };
            sh(&[
                "sysctl",
                "-qw",
                &format!("net.ipv4.conf.vp0.rp_filter={value}"),
            ]);
            sh(&["ip", "link", "set", "vp0", "mtu", "1400"]);
            let mut t = Touched::default();
            t.add_on(host, Kinds::LINKS, Some(ifindex("vp0")));
            t.add_netconf(host, Some(ifindex("vp0")));
            let changed = live.refresh(t).unwrap();
            let now = named(&live, "host").sysctls.rp_filter.get("vp0").copied();
            assert_eq!(now, Some(value), "rp_filter of vp0 (was {before:?})");
            send(&mut app, &live, &changed);
            assert_ui_equals_model(&app, &live, "rp_filter with an MTU");
        },
    );
}
