//! A container owns its network namespace and can fill it: tens of thousands of bridges,
//! veth pairs and addresses (or a saved snapshot claiming them). The doctor runs over every
//! namespace at once, so its cost must grow with what is there, not with its square: before,
//! 5,000 veth pairs with addresses took 35 s and 100,000 bridges over 4 minutes, stalling the
//! doctor (and the TUI's doctor view) for every other namespace of the node. The same held for
//! the text report's veth pairs (20,000 pairs: 12 s) and the TUI's topology (20,000 bridges
//! with addresses: 8 s, redrawn on every refresh) and for pairing veth ends while collecting,
//! which every live command does (40,000 pairs: 43 s).

use crate::common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use common::tui::asset;
use netlens::model::{Address, Link, LinkFlag, LinkFlags, Namespace, PeerRef, Snapshot};

/// How much larger the big run is than the small one.
const GROWTH: u32 = 8;

/// The most the work may grow over `GROWTH` times the input: linear work grows 8 times (a
/// little more with a log factor or a cold cache), the quadratic code these tests replaced
/// grew 64 times. Not a deadline: how long either run takes does not matter, so a loaded
/// machine cannot fail the test, only a cost that outgrows what it reads.
const MAX_GROWTH: f64 = 24.0;

/// CPU time this thread spent in `f`, user and system. Wall time would count whatever else
/// shares the cores (other tests, other builds); this thread's CPU time counts only its own
/// work, and everything measured here runs on this one thread.
fn cpu_time<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    fn now() -> Duration {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: a valid clock id and a valid out-pointer; the call only writes `ts`.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
        Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
    }
    let start = now();
    let out = f();
    (out, now() - start)
}

/// Runs `work` on the input `build(n)` and on `build(GROWTH * n)` and fails when the cost
/// grew more than [`MAX_GROWTH`] times. `check` looks at each result, so the work cannot be
/// optimised away or silently do nothing.
fn assert_linear<I, O>(
    what: &str,
    n: u32,
    build: impl Fn(u32) -> I,
    mut work: impl FnMut(&mut I) -> O,
    check: impl Fn(&O),
) {
    let mut costs = Vec::new();
    for size in [n, GROWTH * n] {
        let mut input = build(size);
        let (out, took) = cpu_time(|| work(&mut input));
        check(&out);
        costs.push((size, took));
    }
    let (small, big) = (costs[0].1.as_secs_f64(), costs[1].1.as_secs_f64());
    let growth = big / small.max(1e-6);
    eprintln!("{what}: {costs:?}, grew {growth:.1}x for {GROWTH}x the input");
    assert!(
        growth < MAX_GROWTH,
        "{what}: {:?} at {} but {:?} at {}: {growth:.1} times the cost for {GROWTH} times \
         the input (at most {MAX_GROWTH})",
        costs[0].1,
        costs[0].0,
        costs[1].1,
        costs[1].0
    );
}

fn address(ifindex: u32, name: &str) -> Address {
    Address {
        ifindex,
        ifname: name.to_string(),
        address: IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | ifindex)),
        prefix_len: 24,
        scope: netlens::model::RouteScope::Global,
        peer: None,
    }
}

/// The demo with `bridge-host` holding `pairs` veth pairs inside the namespace, every end
/// with an address, every other one a port of br0; then as many bridges.
fn namespace_full_of_links(pairs: u32) -> Snapshot {
    let mut snap = asset("demo-bridge.json");
    let ns = snap
        .namespaces
        .iter_mut()
        .find(|n| n.name == "bridge-host")
        .expect("bridge-host");
    let mut bridge = Link::new(2, "br0", "bridge");
    bridge.flags = LinkFlags::from([LinkFlag::Up]);
    ns.links = vec![bridge];
    ns.addresses.clear();
    let me = ns.name.clone();
    for i in 0..pairs {
        let (a, b) = (10 + 2 * i, 11 + 2 * i);
        for (x, y) in [(a, b), (b, a)] {
            let name = format!("v{x}");
            let mut l = Link::new(x, name.clone(), "veth");
            l.flags = LinkFlags::from([LinkFlag::Up]);
            l.link_index = Some(y);
            l.peer = Some(PeerRef {
                namespace: Some(me.clone()),
                ifindex: y,
                name: Some(format!("v{y}")),
            });
            if x % 4 == 0 {
                l.master_index = Some(2);
                l.master = Some("br0".into());
            }
            ns.addresses.push(address(x, &name));
            ns.links.push(l);
        }
    }
    for i in 0..pairs {
        ns.links
            .push(Link::new(1_000_000 + i, format!("b{i}"), "bridge"));
    }
    snap
}

#[test]
fn a_namespace_full_of_links_keeps_the_doctor_linear() {
    assert_linear(
        "the doctor over veth pairs and bridges",
        1_500,
        namespace_full_of_links,
        |snap| netlens::diagnose::diagnose(snap),
        |findings| assert!(!findings.is_empty()),
    );
}

/// `bridge-host` of the demo emptied, for a test to fill.
fn demo_with_empty_host() -> (Snapshot, usize) {
    let mut snap = asset("demo-bridge.json");
    let at = snap
        .namespaces
        .iter()
        .position(|n| n.name == "bridge-host")
        .expect("bridge-host");
    snap.namespaces[at].links.clear();
    snap.namespaces[at].addresses.clear();
    (snap, at)
}

fn add_veth_pairs(ns: &mut Namespace, pairs: u32) {
    let me = ns.name.clone();
    for i in 0..pairs {
        let (a, b) = (10 + 2 * i, 11 + 2 * i);
        for (x, y) in [(a, b), (b, a)] {
            let mut l = Link::new(x, format!("v{x}"), "veth");
            l.link_index = Some(y);
            l.peer = Some(PeerRef {
                namespace: Some(me.clone()),
                ifindex: y,
                name: Some(format!("v{y}")),
            });
            ns.links.push(l);
        }
    }
}

fn demo_with_veth_pairs(pairs: u32) -> Snapshot {
    let (mut snap, at) = demo_with_empty_host();
    add_veth_pairs(&mut snap.namespaces[at], pairs);
    snap
}

fn demo_with_bridges(bridges: u32) -> Snapshot {
    let (mut snap, at) = demo_with_empty_host();
    let ns = &mut snap.namespaces[at];
    for i in 0..bridges {
        let name = format!("b{i}");
        ns.addresses.push(address(10 + i, &name));
        ns.links.push(Link::new(10 + i, name, "bridge"));
    }
    snap
}

#[test]
fn a_namespace_full_of_links_keeps_the_report_and_topology_linear() {
    assert_linear(
        "the text report over veth pairs",
        7_500,
        demo_with_veth_pairs,
        |snap| netlens::report::snapshot::render(snap),
        |text| assert!(text.contains("v10 (bridge-host) ⇄ v11 (bridge-host)")),
    );
    assert_linear(
        "the topology over bridges with addresses",
        7_500,
        demo_with_bridges,
        |snap| netlens::ui::topo::layout(snap, &Default::default()),
        |lines| assert!(!lines.is_empty()),
    );
}

/// Veth pairs as collected: ends know their peer's ifindex, not yet its name.
fn unpaired(pairs: u32) -> (Snapshot, usize) {
    let (mut snap, at) = demo_with_empty_host();
    add_veth_pairs(&mut snap.namespaces[at], pairs);
    for l in &mut snap.namespaces[at].links {
        l.peer = None;
    }
    (snap, at)
}

#[test]
fn pairing_a_namespace_full_of_veths_is_linear() {
    assert_linear(
        "pairing veth ends",
        15_000,
        unpaired,
        |(snap, at)| {
            let mut access: Vec<netlens::collect::peers::NsAccess> = snap
                .namespaces
                .iter()
                .map(|_| netlens::collect::peers::NsAccess {
                    socket: None,
                    file: None,
                })
                .collect();
            netlens::collect::peers::pair_veths(&mut snap.namespaces, &mut access);
            snap.namespaces[*at].links[0].peer.clone()
        },
        |peer| assert_eq!(peer.as_ref().and_then(|p| p.name.as_deref()), Some("v11")),
    );
}
