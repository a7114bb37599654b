//! The Topology tab: the picture of the lab's saved snapshots (insta), of hand-built nodes with
//! other names and shapes than the lab's (down links, lost peers, process-held containers,
//! chains of routers), collapsing at 150 namespaces without hiding a broken one, and the keys.

use crate::common;

use crate::topo_build::*;
use common::tui::{asset, key, screen};
use crossterm::event::{Event, KeyCode, KeyModifiers};
use netlens::model::{Link, NamespaceKind, PeerRef, ProcessRef, Snapshot};
use netlens::ui::app::{App, Focus};
use netlens::ui::tabs::Tab;
use netlens::ui::Msg;

fn app_over(snap: Snapshot) -> App {
    common::tui::app_over("test.json", snap)
}

/// A docker-like host: bridge `dkr0` 172.30.0.1/16 with three containers held only by their
/// processes, one of them with its peer down; a VPN namespace reached by a direct veth that
/// routes on to an inner namespace; a veth whose other end is in a namespace netlens cannot
/// see; and a namespace joined to nothing.
fn odd_node() -> Snapshot {
    let mut nodes = vec![
        ns("host", NamespaceKind::Host),
        ns("vpn", NamespaceKind::Named),
        ns("inner", NamespaceKind::Named),
        ns("scratch", NamespaceKind::Named),
    ];
    for (i, comm) in ["nginx", "redis", "pause"].iter().enumerate() {
        let mut c = ns(&format!("pid:{}", 4100 + i), NamespaceKind::Process);
        c.processes.push(ProcessRef {
            pid: 4100 + i as u32,
            comm: comm.to_string(),
            container_id: None,
        });
        nodes.push(c);
    }
    let mut uplink = up(Link::new(2, "enp1s0", "device"));
    uplink.mac = Some("52:54:00:12:34:56".into());
    find(&mut nodes, "host").links.push(uplink);
    find(&mut nodes, "host").sysctls.ip_forward = Some(1);
    addr(&mut nodes, "host", "enp1s0", "203.0.113.7/24");
    default_via(&mut nodes, "host", "enp1s0", "203.0.113.1");
    for i in 0..3u32 {
        let c = format!("pid:{}", 4100 + i);
        let port = format!("vethc{i}");
        veth(&mut nodes, ("host", &port, 10 + i), (&c, "eth0", 2));
        addr(&mut nodes, &c, "eth0", &format!("172.30.0.{}/16", i + 2));
        default_via(&mut nodes, &c, "eth0", "172.30.0.1");
    }
    bridge(
        &mut nodes,
        "host",
        "dkr0",
        9,
        &["vethc0", "vethc1", "vethc2"],
    );
    addr(&mut nodes, "host", "dkr0", "172.30.0.1/16");
    set_down(&mut nodes, "pid:4101", "eth0");
    veth(&mut nodes, ("host", "to-vpn", 20), ("vpn", "wan", 2));
    addr(&mut nodes, "host", "to-vpn", "10.99.0.1/30");
    addr(&mut nodes, "vpn", "wan", "10.99.0.2/30");
    default_via(&mut nodes, "vpn", "wan", "10.99.0.1");
    veth(&mut nodes, ("vpn", "tun-in", 3), ("inner", "eth9", 2));
    addr(&mut nodes, "inner", "eth9", "10.98.0.2/24");
    // A veth whose peer sits in a namespace not in the snapshot.
    let mut lost = up(Link::new(30, "veth-lost", "veth"));
    lost.peer = Some(PeerRef {
        namespace: None,
        ifindex: 7,
        name: None,
    });
    find(&mut nodes, "host").links.push(lost);
    snapshot(nodes)
}

// --- the pictures ----------------------------------------------------------------------------

#[test]
fn bridge_lab_shows_uplink_nat_bridge_and_its_namespaces() {
    let pic = picture(&asset("demo-bridge.json"));
    let gw = line_with(&pic, "⇡ uplink");
    assert!(
        gw.contains("192.168.1.2/24 → default via 192.168.1.1"),
        "{gw}"
    );
    assert!(line_with(&pic, "NAT masq").contains("masq 192.168.15.0/24 → any · 1 DNAT"));
    assert!(line_with(&pic, "◉ bridge v-net-0").contains("192.168.15.5/24"));
    let red = line_with(&pic, "[ bridge-red");
    assert!(red.contains("veth-red-br ══ veth-red") && red.contains("192.168.15.1/24"));
}

#[test]
fn cluster_lab_shows_each_node_with_its_pods_and_routes_to_the_others() {
    let pic = picture(&asset("demo-cluster.json"));
    for n in 1..=3 {
        let node = format!("┌─ cluster-node{n} ");
        let start = pic
            .iter()
            .position(|l| l.starts_with(&node))
            .expect("node box");
        let block: Vec<&String> = pic[start..].iter().take_while(|l| !l.is_empty()).collect();
        let text = block
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            text.contains(&format!("bridge cni0 10.244.{n}.1/24")),
            "{text}"
        );
        assert!(
            text.contains(&format!("[ cluster-n{n}-pod1 10.244.{n}.2/24")),
            "{text}"
        );
        assert!(
            text.contains(&format!("[ cluster-n{n}-pod2 10.244.{n}.3/24")),
            "{text}"
        );
        let others: Vec<u32> = (1..=3).filter(|&m| m != n).collect();
        for m in others {
            assert!(
                text.contains(&format!("10.244.{m}.0/24 via 192.168.1.1{m}")),
                "{text}"
            );
        }
    }
}

#[test]
fn other_names_and_shapes_down_links_and_lost_peers() {
    let pic = picture(&odd_node());
    // The host comes first, with its physical uplink.
    assert!(pic[0].starts_with("┌─ host "), "{}", pic.join("\n"));
    assert!(line_with(&pic, "⇡ uplink enp1s0")
        .contains("enp1s0 203.0.113.7/24 → default via 203.0.113.1"));
    assert!(line_with(&pic, "◉ bridge dkr0").contains("172.30.0.1/16 · 3 ports"));
    // Containers by their process name; the one whose eth0 is down says so on its line.
    assert!(line_with(&pic, "pid:4100 nginx").contains("172.30.0.2/16 → via 172.30.0.1"));
    let redis = line_with(&pic, "pid:4101 redis");
    assert!(redis.contains("eth0 admin-down"), "{redis}");
    assert!(!line_with(&pic, "pid:4102 pause").contains("down"));
    // The VPN routes on to `inner`, so it is a hub with its own box.
    assert!(line_with(&pic, "to-vpn 10.99.0.1/30 ══ wan").contains("⟦vpn⟧"));
    assert!(pic.iter().any(|l| l.starts_with("┌─ vpn ")));
    assert!(line_with(&pic, "tun-in ══ eth9").contains("[ inner 10.98.0.2/24"));
    assert!(line_with(&pic, "veth-lost").contains("✗ peer in a namespace netlens cannot see"));
    assert!(line_with(&pic, "[ scratch").contains("lo only"));
    // The uplink is not listed a second time among the host's other links.
    assert_eq!(pic.iter().filter(|l| l.contains("enp1s0")).count(), 1);
}

#[test]
fn a_vanished_peer_namespace_is_marked() {
    let mut snap = odd_node();
    snap.namespaces.retain(|n| n.name != "pid:4102");
    let pic = picture(&snap);
    assert!(line_with(&pic, "vethc2").contains("✗ peer in pid:4102, not read"));
}

/// 150 pods on one bridge, the 77th with its link down.
fn big_node() -> Snapshot {
    let mut nodes = vec![ns("host", NamespaceKind::Host)];
    let mut ports = Vec::new();
    for i in 0..150u32 {
        let pod = format!("pod-{i:03}");
        nodes.push(ns(&pod, NamespaceKind::Named));
        let port = format!("veth{i:03}");
        veth(&mut nodes, ("host", &port, 100 + i), (&pod, "eth0", 2));
        addr(
            &mut nodes,
            &pod,
            "eth0",
            &format!("10.88.{}.{}/16", i / 200, i % 200 + 2),
        );
        ports.push(port);
    }
    let refs: Vec<&str> = ports.iter().map(String::as_str).collect();
    bridge(&mut nodes, "host", "podbr", 50, &refs);
    set_down(&mut nodes, "pod-077", "eth0");
    snapshot(nodes)
}

#[test]
fn a_hundred_and_fifty_pods_collapse_without_hiding_the_broken_one() {
    let pic = picture(&big_node());
    assert!(
        pic.len() < 20,
        "collapsed picture has {} lines:\n{}",
        pic.len(),
        pic.join("\n")
    );
    let group = line_with(&pic, "more namespaces on podbr");
    assert!(
        group.contains("144 more") && group.contains("(pod-003 … pod-147)"),
        "{group}"
    );
    // The broken pod is shown on its own line although it sits in the middle.
    assert!(line_with(&pic, "[ pod-077").contains("eth0 admin-down"));
    for shown in ["pod-000", "pod-002", "pod-148", "pod-149"] {
        line_with(&pic, &format!("[ {shown} "));
    }
    assert!(!pic.iter().any(|l| l.contains("[ pod-050 ")));
}

#[test]
fn enter_expands_and_collapses_a_group_and_opens_a_namespace() {
    let mut a = app_over(big_node());
    key(&mut a, KeyCode::Char('t'));
    key(&mut a, KeyCode::Char('l'));
    assert_eq!(a.focus, Focus::Details);
    let lines = a
        .topology
        .lines
        .clone()
        .expect("picture built when the tab is shown");
    let toggle = lines
        .iter()
        .position(|l| l.toggle.is_some())
        .expect("group line");
    for _ in 0..toggle {
        key(&mut a, KeyCode::Char('j'));
    }
    key(&mut a, KeyCode::Enter);
    let expanded = a.topology.lines.clone().expect("picture");
    assert!(expanded.len() > 150, "{} lines", expanded.len());
    let s = screen(&mut a, 120, 30);
    assert!(s.contains("pod-005"), "{s}");
    // The last line collapses the group again.
    key(&mut a, KeyCode::Char('G'));
    key(&mut a, KeyCode::Enter);
    assert_eq!(a.topology.lines.as_ref().map(Vec::len), Some(lines.len()));
    // Enter on a pod's line opens that namespace's links.
    key(&mut a, KeyCode::Char('g'));
    let pod = lines
        .iter()
        .position(|l| l.text().contains("[ pod-077"))
        .expect("pod line");
    for _ in 0..pod {
        key(&mut a, KeyCode::Char('j'));
    }
    key(&mut a, KeyCode::Enter);
    assert_eq!(a.tab, Tab::Links);
    assert_eq!(
        a.selected_namespace().map(|n| n.name.as_str()),
        Some("pod-077")
    );
}

#[test]
fn choosing_a_namespace_on_the_left_scrolls_the_picture_to_it() {
    let mut a = app_over(asset("demo-cluster.json"));
    key(&mut a, KeyCode::Char('t'));
    let _ = screen(&mut a, 120, 12);
    for _ in 0..8 {
        key(&mut a, KeyCode::Char('j'));
    }
    let name = a.selected_namespace().expect("namespace").name.clone();
    assert_eq!(name, "cluster-node1");
    let s = screen(&mut a, 120, 12);
    assert!(s.contains("┌─ cluster-node1 "), "{s}");
    assert!(!s.contains("┌─ host "), "{s}");
}

#[test]
fn no_colour_and_tiny_terminals() {
    let mut a = app_over(big_node());
    key(&mut a, KeyCode::Char('t'));
    for (w, h) in [(1, 1), (12, 4), (50, 8), (300, 120)] {
        let _ = screen(&mut a, w, h);
    }
}

#[test]
fn clicking_a_tab_title_opens_that_tab() {
    use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let mut a = app_over(asset("demo-bridge.json"));
    // The tab bar keeps the active title in view, so titles move: read it before each click.
    let click = |a: &mut App, title: &str| {
        let s = screen(a, 150, 20);
        let first = s.lines().next().expect("first line");
        let byte = first.find(title).expect("title on screen");
        // The backend's text starts with a quote; columns count characters, not bytes.
        let column = first[..byte].chars().count() as u16 - 1 + 2;
        a.handle(Msg::Input(Event::Mouse(MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column,
            row: 0,
            modifiers: KeyModifiers::NONE,
        })));
    };
    click(&mut a, "Topology");
    assert_eq!(a.tab, Tab::Topology);
    assert!(screen(&mut a, 150, 20).contains("Topology · 7 namespaces"));
    click(&mut a, "Routes");
    assert_eq!(a.tab, Tab::Routes);
}
