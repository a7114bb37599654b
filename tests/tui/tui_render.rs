//! Rendering tests: the TUI drawn into ratatui's TestBackend over the lab's saved snapshots
//! (`assets/demo-*.json`, made with `netlens lab up` + `netlens snapshot --json`), compared
//! with stored screens (insta). A layout change shows up as a diff in review.

use crate::common;

use common::tui::{app, key, screen};
use crossterm::event::KeyCode;
use netlens::model::{LinkFlag, OperState};
use netlens::ui::app::App;
use netlens::ui::Msg;

fn select(app: &mut App, ns: &str) {
    let i = app
        .visible_namespaces()
        .iter()
        .position(|n| n.name == ns)
        .unwrap_or_else(|| panic!("{ns} not in the demo snapshot"));
    app.ns_selected = i;
}

#[test]
fn every_tab_of_the_bridge_gateway() {
    let mut a = app("demo-bridge.json");
    select(&mut a, "bridge-host");
    for (i, tab) in netlens::ui::tabs::Tab::ALL.iter().enumerate() {
        let k = match i {
            9 => '0',
            10 => 'K',
            _ => char::from(b'1' + i as u8),
        };
        key(&mut a, KeyCode::Char(k));
        let s = screen(&mut a, 150, 24);
        let title = match tab {
            // Node-wide, not about the selected namespace.
            netlens::ui::tabs::Tab::Topology => "Topology · 7 namespaces".to_string(),
            netlens::ui::tabs::Tab::Problems => "Problems · 0 errors".to_string(),
            netlens::ui::tabs::Tab::Capture => "Capture · bridge-host".to_string(),
            netlens::ui::tabs::Tab::Ports => "bridge-host · Ports".to_string(),
            _ => format!("bridge-host · {}", tab.title()),
        };
        assert!(s.contains(&title), "{s}");
        insta::assert_snapshot!(format!("bridge_host_{}", tab.title().to_lowercase()), s);
    }
}

#[test]
fn default_view_is_links_with_peers_and_state() {
    let mut a = app("demo-cluster.json");
    select(&mut a, "cluster-node1");
    let s = screen(&mut a, 150, 22);
    // The default tab is Links, with each veth's peer and its namespace.
    assert!(s.contains("cluster-node1 · Links"), "{s}");
    assert!(s.contains("⇄ eth0 (cluster-n1-pod1)"), "{s}");
    insta::assert_snapshot!("cluster_node1_links", s);
}

#[test]
fn help_overlay_lists_every_key_and_esc_closes_it() {
    let mut a = app("demo-bridge.json");
    key(&mut a, KeyCode::Char('?'));
    let s = screen(&mut a, 120, 30);
    for (keys, _) in netlens::ui::keymap::help_lines() {
        assert!(s.contains(keys), "help lacks {keys}: {s}");
    }
    key(&mut a, KeyCode::Esc);
    assert!(!screen(&mut a, 120, 30).contains("keys (? or Esc"));
    assert!(!a.quit, "Esc closes the overlay, it does not quit");
    key(&mut a, KeyCode::Char('q'));
    assert!(a.quit);
}

#[test]
fn filter_narrows_the_namespace_list() {
    let mut a = app("demo-cluster.json");
    key(&mut a, KeyCode::Char('/'));
    for c in "pod2".chars() {
        key(&mut a, KeyCode::Char(c));
    }
    key(&mut a, KeyCode::Enter);
    let names: Vec<String> = a
        .visible_namespaces()
        .iter()
        .map(|n| n.name.clone())
        .collect();
    assert_eq!(
        names,
        ["cluster-n1-pod2", "cluster-n2-pod2", "cluster-n3-pod2"]
    );
    let s = screen(&mut a, 120, 20);
    assert!(s.contains("/pod2"), "{s}");
}

#[test]
fn enter_opens_the_selected_row() {
    let mut a = app("demo-bridge.json");
    select(&mut a, "bridge-red");
    key(&mut a, KeyCode::Char('l'));
    key(&mut a, KeyCode::Char('j'));
    key(&mut a, KeyCode::Enter);
    let s = screen(&mut a, 120, 30);
    assert!(s.contains("Links in bridge-red"), "{s}");
    assert!(s.contains("veth-red-br (bridge-host)"), "{s}");
}

#[test]
fn tiny_terminal_does_not_panic() {
    let mut a = app("demo-cluster.json");
    for (w, h) in [(1, 1), (10, 3), (40, 5), (300, 100)] {
        let _ = screen(&mut a, w, h);
    }
}

#[test]
fn changes_since_start_are_marked_and_the_last_update_flashes() {
    let mut a = app("demo-bridge.json");
    select(&mut a, "bridge-red");
    // A live update arrives: veth-red went down and got a second address.
    let mut next = a.snapshot.clone().expect("snapshot");
    let red = next
        .namespaces
        .iter_mut()
        .find(|n| n.name == "bridge-red")
        .expect("red");
    let link = red
        .links
        .iter_mut()
        .find(|l| l.name == "veth-red")
        .expect("veth-red");
    link.flags.remove(LinkFlag::Up);
    link.oper_state = OperState::Down;
    let mut extra = red
        .addresses
        .iter()
        .find(|a| a.ifname == "veth-red" && a.address.is_ipv4())
        .expect("veth-red address")
        .clone();
    extra.address = "192.168.15.99".parse().expect("ip");
    red.addresses.push(extra);
    a.handle(Msg::Snapshot(Box::new(next)));

    // The update's rows flash (that is a style, not text); nothing is marked yet.
    let (marked, flashing) = a.row_mark(
        "bridge-red",
        netlens::model::diff::ObjectKind::Link,
        "veth-red",
    );
    assert!(flashing && !marked);
    let s = screen(&mut a, 150, 20);
    assert!(!s.contains("*2"), "{s}");

    // `c` marks everything changed since the first snapshot, in the list and in the rows.
    key(&mut a, KeyCode::Char('c'));
    let s = screen(&mut a, 150, 20);
    assert!(s.contains("*bridge-red"), "{s}");
    let row = |name: &str| {
        s.lines()
            .find(|l| l.contains(&format!(" {name} ")))
            .unwrap_or("")
            .to_string()
    };
    assert!(row("veth-red").contains("*2 "), "{s}");
    assert!(!row("lo").contains("*1"), "{s}");
    assert!(s.contains("changes since the baseline"), "{s}");
    key(&mut a, KeyCode::Char('2'));
    let s = screen(&mut a, 150, 20);
    assert!(
        s.contains("*veth-red") && s.contains("192.168.15.99/24"),
        "{s}"
    );
    key(&mut a, KeyCode::Char('c'));
    assert!(!screen(&mut a, 150, 20).contains("*bridge-red"));
}

#[test]
fn firewall_rows_show_hit_counters_and_new_rules_are_marked() {
    let mut a = app("demo-bridge.json");
    select(&mut a, "bridge-host");
    let mut next = a.snapshot.clone().expect("snapshot");
    let host = next
        .namespaces
        .iter_mut()
        .find(|n| n.name == "bridge-host")
        .expect("bridge-host");
    let fw = host.firewall.as_mut().expect("firewall");
    let nat = fw
        .iptables
        .iter_mut()
        .find(|t| t.name == "nat")
        .expect("nat table");
    let post = nat
        .chains
        .iter_mut()
        .find(|c| c.name == "POSTROUTING")
        .expect("POSTROUTING");
    // The masquerade rule matched more traffic (counters only: not a change), and a rule came.
    post.rules[0].raw = post.rules[0].raw.replace("[3:208]", "[56789:12345678]");
    post.rules[0].packets = Some(56789);
    post.rules[0].bytes = Some(12345678);
    let mut added = post.rules[0].clone();
    added.raw = "[0:0] -A POSTROUTING -s 10.77.0.0/16 -j SNAT --to-source 192.168.1.2".into();
    added.packets = Some(0);
    post.rules.push(added);
    a.handle(Msg::Snapshot(Box::new(next)));
    key(&mut a, KeyCode::Char('5'));
    key(&mut a, KeyCode::Char('c'));
    let s = screen(&mut a, 150, 20);
    let row = |needle: &str| {
        s.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no row with {needle}:\n{s}"))
            .to_string()
    };
    let masq = row("-s 192.168.15.0/24 -j MASQUERADE");
    assert!(masq.contains(" 57K ") && masq.contains(" 12M "), "{masq}");
    assert!(
        !masq.contains("*nat"),
        "counters alone are not a change: {masq}"
    );
    assert!(!masq.contains("-A POSTROUTING"), "{masq}");
    assert!(row("-s 10.77.0.0/16 -j SNAT").contains("*nat"), "{s}");
}
