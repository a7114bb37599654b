//! `/` over the whole node, drawn into a TestBackend: the hits listed while typing (namespace ·
//! where · what), the namespace list narrowed to them, and Enter landing on the namespace, tab
//! and row of the chosen hit. Pictures at 80×24, 120×40 and 200×60 (insta).

use crate::common;

use common::tui::{app, key, screen};
use crossterm::event::KeyCode;
use netlens::ui::app::{App, Focus};
use netlens::ui::tabs::Tab;

const SIZES: [(u16, u16); 3] = [(80, 24), (120, 40), (200, 60)];

fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        key(app, KeyCode::Char(c));
    }
}

fn selected_ns(a: &App) -> String {
    a.selected_namespace()
        .map(|n| n.name.clone())
        .unwrap_or_default()
}

#[test]
fn an_address_inside_a_subnet_lists_its_holders_and_enter_goes_to_the_row() {
    let mut a = app("demo-bridge.json");
    key(&mut a, KeyCode::Char('/'));
    typed(&mut a, "192.168.1.77");
    let s = screen(&mut a, 120, 40);
    // Everything on the LAN's subnet, with what matched.
    assert!(
        s.contains("bridge-host · Addresses · 192.168.1.2/24 on eth0"),
        "{s}"
    );
    assert!(
        s.contains("bridge-lan · Addresses · 192.168.1.1/24 on lan0"),
        "{s}"
    );
    assert!(
        s.contains("bridge-lanhost · Routes · 192.168.1.0/24 dev eth0"),
        "{s}"
    );
    assert!(s.contains("hits in 3 namespaces"), "{s}");
    assert!(!s.contains("bridge-red ("), "the list is narrowed:\n{s}");
    // Down to the LAN router's route, Enter: its Routes tab, that row.
    let i = a
        .search
        .hits
        .iter()
        .position(|h| {
            let ns = &a.snapshot.as_ref().expect("snapshot").namespaces[h.ns];
            ns.name == "bridge-lan" && h.tab() == Some(Tab::Routes)
        })
        .expect("a route of bridge-lan");
    for _ in 0..i {
        key(&mut a, KeyCode::Down);
    }
    key(&mut a, KeyCode::Enter);
    assert_eq!(selected_ns(&a), "bridge-lan");
    assert_eq!((a.tab, a.focus), (Tab::Routes, Focus::Details));
    let s = screen(&mut a, 200, 40);
    let row = s
        .lines()
        .find(|l| l.contains("192.168.1.0/24"))
        .unwrap_or_else(|| panic!("no route row:\n{s}"));
    assert!(row.contains("lan0"), "{s}");
    assert_eq!(a.row_selected, 2, "{s}");
    assert!(s.contains("Esc clears"), "{s}");
}

#[test]
fn a_mac_or_an_interface_jumps_to_the_links_row() {
    let mut a = app("demo-bridge.json");
    key(&mut a, KeyCode::Char('/'));
    typed(&mut a, "DEDF902A");
    key(&mut a, KeyCode::Enter);
    assert_eq!(selected_ns(&a), "bridge-lanhost");
    assert_eq!((a.tab, a.row_selected), (Tab::Links, 1));
    key(&mut a, KeyCode::Esc);
    key(&mut a, KeyCode::Char('/'));
    typed(&mut a, "to-lanhost");
    key(&mut a, KeyCode::Enter);
    assert_eq!(selected_ns(&a), "bridge-lan");
    assert_eq!((a.tab, a.row_selected), (Tab::Links, 3));
    // Esc after a jump gives the whole list back, still on that namespace.
    key(&mut a, KeyCode::Esc);
    assert_eq!(a.visible_namespaces().len(), 7);
    assert_eq!(selected_ns(&a), "bridge-lan");
    assert!(!a.quit);
}

#[test]
fn search_pictures() {
    for (w, h) in SIZES {
        let mut a = app("demo-bridge.json");
        key(&mut a, KeyCode::Char('/'));
        let s = screen(&mut a, w, h);
        assert!(s.contains("search /"), "{s}");
        insta::assert_snapshot!(format!("search_empty_{w}x{h}"), s);
        typed(&mut a, "192.168.15");
        key(&mut a, KeyCode::Down);
        insta::assert_snapshot!(format!("search_hits_{w}x{h}"), screen(&mut a, w, h));
        typed(&mut a, "9.9");
        let s = screen(&mut a, w, h);
        assert!(s.contains("nothing on this node matches"), "{s}");
        insta::assert_snapshot!(format!("search_none_{w}x{h}"), s);
    }
}
