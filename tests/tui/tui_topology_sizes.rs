//! The Topology tab's pictures at 80×24, 120×40 and 200×60 (insta): the bridge and cluster
//! labs, and 70 namespaces on one bridge scrolled to the one with a problem. At every size
//! the marks stay in the first columns and lines too wide end in `…`.

use crate::common;
use crate::tui_topology_map::mass_node;
use common::tui::{app_over, asset, key, screen};
use crossterm::event::KeyCode;
use netlens::ui::tabs::Tab;

const SIZES: [(u16, u16); 3] = [(80, 24), (120, 40), (200, 60)];

#[test]
fn the_labs_at_three_sizes() {
    for (asset_name, shot) in [
        ("demo-bridge.json", "topology_bridge"),
        ("demo-cluster.json", "topology_cluster"),
    ] {
        for (w, h) in SIZES {
            let mut a = app_over("test.json", asset(asset_name));
            key(&mut a, KeyCode::Char('t'));
            assert_eq!(a.tab, Tab::Topology);
            insta::assert_snapshot!(format!("{shot}_{w}x{h}"), screen(&mut a, w, h));
        }
    }
}

#[test]
fn seventy_namespaces_at_three_sizes() {
    for (w, h) in SIZES {
        let mut a = app_over("mass.json", mass_node());
        key(&mut a, KeyCode::Char('t'));
        // Choosing svc-41 on the left scrolls the picture to it.
        let _ = screen(&mut a, w, h);
        while a.selected_namespace().map(|n| n.name.as_str()) != Some("svc-41") {
            key(&mut a, KeyCode::Char('j'));
        }
        let s = screen(&mut a, w, h);
        let odd = s.lines().find(|l| l.contains("svc-41 ") && l.contains('✗'));
        assert!(odd.is_some(), "svc-41 marked at {w}×{h}:\n{s}");
        insta::assert_snapshot!(format!("topology_mass_{w}x{h}"), s);
    }
}
