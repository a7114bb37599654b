//! The live model against the truth: in a throwaway world of ~20 namespaces on a bridge, a
//! seeded random sequence of changes (links down and up, addresses, routes, neighbours, veths
//! created, moved and deleted across namespaces, links renamed, namespaces added and
//! removed); after each, the watcher's real notifications are fed to the partial refresh and
//! the patched snapshot must equal a full read (`collect::snapshot`), modulo the read time,
//! reachability flips the watcher ignores on purpose, and conntrack counts; and the UI's
//! copy, patched as the collector sends it, must equal the model exactly.

use crate::common::topo_gen::Rng;
use std::time::{Duration, Instant};

use netlens::collect::partial::Live;
use netlens::collect::touched::Touched;
use netlens::collect::{self, Options};
use netlens::model::Snapshot;
use netlens::ui::watch::Watcher;
use serde_json::Value;

use crate::common::world::{in_world, sh, try_sh};
use crate::live_safety_net::{assert_ui_equals_model, send, ui_of};

/// The snapshot as JSON, without what legitimately differs between two reads.
pub fn normal(s: &Snapshot) -> Value {
    let mut v = serde_json::to_value(s).unwrap();
    v["taken_at"] = Value::Null;
    for ns in v["namespaces"].as_array_mut().unwrap() {
        ns["sysctls"]["conntrack_count"] = Value::Null;
        // Routes and neighbours come in the kernel's trie and hash order, which a read
        // limited to one link cannot reproduce (`collect/partial_links.rs`): compared as sets.
        for kind in ["routes", "neighbors"] {
            if let Some(list) = ns[kind].as_array_mut() {
                list.sort_by_key(|x| x.to_string());
            }
        }
        for n in ns["neighbors"].as_array_mut().into_iter().flatten() {
            let st = n["state"].as_str().unwrap_or("").to_string();
            if ["REACHABLE", "STALE", "DELAY", "PROBE"].contains(&st.as_str()) {
                n["state"] = Value::String("VALID".into());
            }
        }
    }
    v
}

/// What differs, by namespace, for the failure message.
fn differences(a: &Value, b: &Value) -> String {
    let list = |v: &Value| v["namespaces"].as_array().cloned().unwrap_or_default();
    let (la, lb) = (list(a), list(b));
    let mut out = String::new();
    if la.len() != lb.len() {
        let names = |l: &[Value]| l.iter().map(|n| n["name"].to_string()).collect::<Vec<_>>();
        out += &format!("namespaces {:?} vs {:?}\n", names(&la), names(&lb));
    }
    for (x, y) in la.iter().zip(&lb) {
        if x != y {
            for key in x.as_object().unwrap().keys() {
                if x[key] != y[key] {
                    out += &format!("{} {key}: {}\n", x["name"], brief(&x[key], &y[key]));
                }
            }
        }
    }
    if out.is_empty() {
        out = "outside the namespaces (warnings, cni)".into();
    }
    out
}

/// Two values that differ, shortened to the elements that differ when both are lists.
fn brief(x: &Value, y: &Value) -> String {
    match (x.as_array(), y.as_array()) {
        (Some(a), Some(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .filter(|(p, q)| p != q)
            .map(|(p, q)| format!("\n  patched {p}\n  full    {q}"))
            .collect(),
        _ => format!("\n  patched {x}\n  full    {y}"),
    }
}

/// Every notification until the kernel has been quiet for a while.
fn settle(w: &mut Watcher) -> Touched {
    settle_for(w, Duration::from_millis(300))
}

/// Every notification until the watcher has been quiet for `quiet`.
pub fn settle_for(w: &mut Watcher, quiet: Duration) -> Touched {
    let mut all = Touched::default();
    let mut quiet_since = Instant::now();
    while quiet_since.elapsed() < quiet {
        let t = w.wait(Duration::from_millis(100));
        if !t.is_empty() {
            all.merge(t);
            quiet_since = Instant::now();
        }
    }
    all
}

fn pod(i: usize) -> String {
    format!("p{i}")
}

/// A namespace with one veth to the bridge, an address and a default route.
pub fn add_pod(i: usize) {
    let p = pod(i);
    sh(&["ip", "netns", "add", &p]);
    // Duplicate address detection would change address flags a second later, in between
    // two reads: off, so that each step is settled when the kernel goes quiet.
    for k in ["all", "default"] {
        let key = format!("net.ipv6.conf.{k}.accept_dad=0");
        sh(&["ip", "netns", "exec", &p, "sysctl", "-qw", &key]);
    }
    let host = format!("vp{i}");
    sh(&[
        "ip", "link", "add", &host, "type", "veth", "peer", "name", "eth0", "netns", &p,
    ]);
    sh(&["ip", "link", "set", &host, "master", "br0", "up"]);
    sh(&["ip", "-n", &p, "link", "set", "eth0", "up"]);
    sh(&["ip", "-n", &p, "link", "set", "lo", "up"]);
    let addr = format!("10.1.{}.{}/16", i / 200, i % 200 + 2);
    sh(&["ip", "-n", &p, "addr", "add", &addr, "dev", "eth0"]);
    sh(&[
        "ip",
        "-n",
        &p,
        "route",
        "add",
        "default",
        "via",
        "10.1.255.1",
    ]);
}

/// The `ip` command of change `k` in namespace `p` (`q`: another one; `n`, `v`: numbers).
fn command(k: usize, (p, q): (&str, &str), n: usize, v: usize) -> Vec<String> {
    let text = match k {
        0 => format!("-n {p} link set eth0 {}", ["down", "up"][n % 2]),
        1 => format!("-n {p} addr add 10.7.{n}.1/24 dev eth0"),
        2 => format!("-n {p} route replace 10.9.{n}.0/24 via 10.1.255.1"),
        3 => format!(
            "-n {p} neigh replace 10.1.255.{n} lladdr 02:00:00:00:00:{:02x} nud permanent dev eth0",
            n % 256
        ),
        4 => format!("-n {p} neigh flush dev eth0"),
        5 => format!("-n {p} link add x{v} type veth peer name y{v} netns {q}"),
        6 => format!("-n {p} link del x{v}"),
        7 => format!("-n {p} link set x{v} netns {q}"),
        8 => format!("-n {p} link set x{v} name r{v}"),
        _ => format!("route replace 10.8.{n}.0/24 dev br0"),
    };
    std::iter::once("ip".to_string())
        .chain(text.split(' ').map(str::to_string))
        .collect()
}

/// One random change; returns what it did, for the failure message.
fn change(rng: &mut Rng, pods: &mut Vec<usize>, next: &mut usize) -> String {
    let p = pod(pods[rng.below(pods.len())]);
    let q = pod(pods[rng.below(pods.len())]);
    let n = rng.below(250) + 1;
    // Few veth names, so that deleting, moving and renaming find one often.
    let v = rng.below(6);
    let run = |argv: Vec<String>| {
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let out = try_sh(&argv);
        format!("{} -> {}", argv.join(" "), out.status)
    };
    match rng.below(12) {
        // The rp_filter new links of `p` start with: a veth added later must carry it
        // (read for the new link alone, `partial.rs::scoped_sysctls`), one renamed keep it.
        11 => {
            let key = format!("net.ipv4.conf.default.rp_filter={}", n % 3);
            run(["ip", "netns", "exec", &p, "sysctl", "-qw", &key]
                .map(String::from)
                .to_vec())
        }
        9 => {
            *next += 1;
            add_pod(*next);
            pods.push(*next);
            format!("added {}", pod(*next))
        }
        10 if pods.len() > 5 => {
            let gone = pods.remove(rng.below(pods.len()));
            run(vec!["ip".into(), "netns".into(), "del".into(), pod(gone)])
        }
        8 => {
            // A link is renamed only while down.
            try_sh(&["ip", "-n", &p, "link", "set", &format!("x{v}"), "down"]);
            run(command(8, (&p, &q), n, v))
        }
        k => run(command(k, (&p, &q), n, v)),
    }
}

/// The host side of the test worlds: a bridge `br0` with the pods' gateway address, and
/// duplicate address detection off (as in each pod, see `add_pod`).
pub fn host_bridge() {
    for k in ["all", "default"] {
        sh(&["sysctl", "-qw", &format!("net.ipv6.conf.{k}.accept_dad=0")]);
    }
    sh(&["ip", "link", "add", "br0", "type", "bridge"]);
    sh(&["ip", "link", "set", "br0", "up"]);
    sh(&["ip", "addr", "add", "10.1.255.1/16", "dev", "br0"]);
}

#[test]
fn the_patched_model_equals_a_full_read_after_random_changes() {
    in_world(
        "live_model::the_patched_model_equals_a_full_read_after_random_changes",
        || {
            host_bridge();
            let mut pods: Vec<usize> = (0..20).collect();
            pods.iter().for_each(|&i| add_pod(i));
            // Firewall rules, which partial reads leave out of their patches (the UI keeps
            // its own): in the host and in a few pods the random changes touch.
            sh(&[
                "iptables",
                "-A",
                "FORWARD",
                "-s",
                "10.66.0.0/16",
                "-j",
                "DROP",
            ]);
            for p in ["p0", "p1", "p2", "p3"] {
                let rule = ["iptables", "-A", "INPUT", "-s", "10.66.0.1", "-j", "DROP"];
                sh(&[&["ip", "netns", "exec", p][..], &rule[..]].concat());
            }
            let mut next = 19;
            let mut w = Watcher::start();
            let opts = Options::default();
            let mut live = Live::read(&opts).unwrap();
            // The UI's copy, patched as the collector patches it.
            let mut ui = ui_of(&live);
            let seed = std::env::var("NETLENS_LIVE_SEED")
                .ok()
                .and_then(|s| s.parse().ok());
            let mut rng = Rng::new(seed.unwrap_or(0x5eed_1234));
            let mut partial_reads = 0;
            let mut link_scoped = 0;
            let mut deltas = 0;
            for step in 0..70 {
                let what = change(&mut rng, &mut pods, &mut next);
                let mut touched = settle(&mut w);
                // A namespace deleted is destroyed by the kernel a little later (its veths
                // with it): what arrives meanwhile is folded in before giving up.
                for attempt in 0..4 {
                    partial_reads += usize::from(!touched.full && !touched.is_empty());
                    link_scoped += touched.links.values().filter(|s| s.is_some()).count();
                    let changed = live.refresh(touched).unwrap();
                    deltas += send(&mut ui, &live, &changed);
                    assert_ui_equals_model(&ui, &live, &format!("step {step} ({what})"));
                    let full = collect::snapshot(&opts).unwrap();
                    let (a, b) = (normal(&live.snapshot), normal(&full));
                    if a == b {
                        break;
                    }
                    assert!(
                        attempt < 3,
                        "step {step} ({what}): the patched model differs from a full read:\n{}",
                        differences(&a, &b)
                    );
                    std::thread::sleep(Duration::from_millis(200));
                    touched = settle(&mut w);
                }
            }
            // The changes were applied as partial reads, not as full ones.
            assert!(partial_reads >= 30, "{partial_reads} partial reads");
            // And many of them were limited to the links the events named.
            assert!(
                link_scoped >= 20,
                "{link_scoped} link-scoped namespace reads"
            );
            // And the UI's copy was patched with what those reads read, in place.
            assert!(deltas >= 10, "{deltas} namespaces patched in place");
        },
    );
}

/// A host veth set down: the kernel drops the IPv4 routes through it without a route
/// event, and the read limited to that link (its link event) must drop them too; set up
/// again, a route added through it comes back in the patch. Checked against a full read.
#[test]
fn a_link_scoped_read_drops_the_routes_of_a_downed_host_veth() {
    in_world(
        "live_model::a_link_scoped_read_drops_the_routes_of_a_downed_host_veth",
        || {
            host_bridge();
            (0..4).for_each(add_pod);
            sh(&["ip", "link", "set", "vp1", "nomaster"]);
            sh(&["ip", "addr", "add", "10.6.1.1/24", "dev", "vp1"]);
            sh(&[
                "ip",
                "route",
                "add",
                "10.6.9.0/24",
                "via",
                "10.6.1.2",
                "dev",
                "vp1",
            ]);
            let mut w = Watcher::start();
            let opts = Options::default();
            let mut live = Live::read(&opts).unwrap();
            let host_routes = |l: &Live| {
                let host = l.snapshot.namespaces.iter().find(|n| n.name == "host");
                let routes = host.map(|h| h.routes.clone()).unwrap_or_default();
                routes
                    .iter()
                    // The main table's: the local table keeps the address's own route.
                    .filter(|r| r.table == 254 && r.dev.as_deref() == Some("vp1"))
                    .filter(|r| r.family == netlens::model::RouteFamily::Inet)
                    .count()
            };
            assert!(
                host_routes(&live) >= 2,
                "the routes through vp1 to start with"
            );
            let steps: [&[&str]; 3] = [
                &["ip", "link", "set", "vp1", "down"],
                &["ip", "link", "set", "vp1", "up"],
                &[
                    "ip",
                    "route",
                    "add",
                    "10.6.9.0/24",
                    "via",
                    "10.6.1.2",
                    "dev",
                    "vp1",
                ],
            ];
            for (n, argv) in steps.iter().enumerate() {
                sh(argv);
                let touched = settle(&mut w);
                assert!(!touched.full && touched.discovery.is_none(), "step {n}");
                // The host's read (and the pod's, whose eth0 lost its carrier) is limited
                // to the links named.
                let all_scoped = touched.links.values().all(Option::is_some);
                assert!(
                    !touched.links.is_empty() && all_scoped,
                    "step {n}: {:?}",
                    touched.links
                );
                live.refresh(touched).unwrap();
                let full = collect::snapshot(&opts).unwrap();
                let (a, b) = (normal(&live.snapshot), normal(&full));
                assert!(a == b, "step {n} ({argv:?}):\n{}", differences(&a, &b));
                if n == 0 {
                    assert_eq!(host_routes(&live), 0, "IPv4 routes of a down link are gone");
                }
            }
            assert!(host_routes(&live) >= 2);
        },
    );
}

/// `ip netns add` creates the name before it mounts the namespace on it (a mount makes no
/// inotify event): a name that is not a namespace yet when it appears is looked at again.
#[test]
fn a_name_mounted_after_it_appeared_is_found() {
    in_world(
        "live_model::a_name_mounted_after_it_appeared_is_found",
        || {
            use std::os::unix::fs::MetadataExt;
            std::fs::create_dir_all("/run/netns").expect("mkdir /run/netns");
            let mut w = Watcher::start();
            std::fs::write("/run/netns/late", b"").expect("create the name");
            let _ = w.wait(Duration::from_millis(100));
            sh(&[
                "unshare",
                "--net",
                "--",
                "mount",
                "--bind",
                "/proc/self/ns/net",
                "/run/netns/late",
            ]);
            let inode = std::fs::metadata("/run/netns/late").expect("stat").ino();
            // Well before the /proc rescan (3 s) could find it.
            let deadline = Instant::now() + Duration::from_millis(1500);
            loop {
                let t = w.wait(Duration::from_millis(100));
                let found = t.discovery.as_ref().is_some_and(|d| {
                    d.namespaces
                        .iter()
                        .any(|n| n.name == "late" && n.inode == inode)
                });
                if found {
                    break;
                }
                assert!(Instant::now() < deadline, "the mounted name was not found");
            }
        },
    );
}
