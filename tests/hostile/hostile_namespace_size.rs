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
use std::time::{Duration, Instant};

use common::tui::asset;
use netlens::model::{Address, Link, LinkFlag, LinkFlags, Namespace, PeerRef, Snapshot};

/// A hang detector, not a benchmark: the sizes below take one or two seconds in a debug build
/// now and minutes with the quadratic code they replaced, so a limit of 30 s holds a margin of
/// more than ten either way, even on a loaded 2-core CI machine running tests in parallel.
const DEADLINE: Duration = Duration::from_secs(30);

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

#[test]
fn a_namespace_full_of_links_keeps_the_doctor_linear() {
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
    // 15,000 veth pairs inside the namespace, every end with an address, every other one a
    // port of br0; then 15,000 bridges.
    for i in 0..15_000u32 {
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
    for i in 0..15_000u32 {
        ns.links
            .push(Link::new(100_000 + i, format!("b{i}"), "bridge"));
    }
    let started = Instant::now();
    let findings = netlens::diagnose::diagnose(&snap);
    let took = started.elapsed();
    assert!(!findings.is_empty());
    assert!(
        took < DEADLINE,
        "the doctor took {took:?} over one namespace of 45,000 links"
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

#[test]
fn a_namespace_full_of_links_keeps_the_report_and_topology_linear() {
    let deadline = DEADLINE;
    let (mut snap, at) = demo_with_empty_host();
    add_veth_pairs(&mut snap.namespaces[at], 60_000);
    let started = Instant::now();
    let text = netlens::report::snapshot::render(&snap);
    let took = started.elapsed();
    assert!(text.contains("v10 (bridge-host) ⇄ v11 (bridge-host)") || text.contains("v10"));
    assert!(
        took < deadline,
        "the text report took {took:?} over 60,000 veth pairs"
    );

    let (mut snap, at) = demo_with_empty_host();
    let ns = &mut snap.namespaces[at];
    for i in 0..60_000u32 {
        let name = format!("b{i}");
        ns.addresses.push(address(10 + i, &name));
        ns.links.push(Link::new(10 + i, name, "bridge"));
    }
    let started = Instant::now();
    let lines = netlens::ui::topo::layout(&snap, &Default::default());
    let took = started.elapsed();
    assert!(!lines.is_empty());
    assert!(
        took < deadline,
        "the topology took {took:?} over 60,000 bridges"
    );
}

#[test]
fn pairing_a_namespace_full_of_veths_is_linear() {
    let (mut snap, at) = demo_with_empty_host();
    add_veth_pairs(&mut snap.namespaces[at], 120_000);
    // As collected: ends know their peer's ifindex, not yet its name.
    for l in &mut snap.namespaces[at].links {
        l.peer = None;
    }
    let mut access: Vec<netlens::collect::peers::NsAccess> = snap
        .namespaces
        .iter()
        .map(|_| netlens::collect::peers::NsAccess {
            socket: None,
            file: None,
        })
        .collect();
    let started = Instant::now();
    netlens::collect::peers::pair_veths(&mut snap.namespaces, &mut access);
    let took = started.elapsed();
    let v10 = &snap.namespaces[at].links[0];
    assert_eq!(
        v10.peer.as_ref().and_then(|p| p.name.as_deref()),
        Some("v11")
    );
    assert!(
        took < DEADLINE,
        "pairing took {took:?} over 120,000 veth pairs"
    );
}
