//! The change, path, lookup, capture-filter and save forms, drawn into a TestBackend at
//! 80×24, 120×40 and 200×60 (insta), and a form refusing a bad answer as it is typed while
//! keeping everything typed.

use crate::common;

use common::tui::{asset, key, screen};
use crossterm::event::KeyCode;
use netlens::model::Snapshot;
use netlens::ui::app::{App, Source};
use netlens::ui::components::actions::{ActionKind, Overlay};
use netlens::ui::Msg;

const SIZES: [(u16, u16); 3] = [(80, 24), (120, 40), (200, 60)];

/// A live app over `snap` with `ns` selected and the Links tab's row `row` focused.
fn live_on(snap: Snapshot, ns: &str, row: usize) -> App {
    let mut a = App::new(Source::Live, None);
    a.theme.color = false;
    a.handle(Msg::Snapshot(Box::new(snap)));
    a.ns_selected = a
        .visible_namespaces()
        .iter()
        .position(|n| n.name == ns)
        .expect("namespace");
    key(&mut a, KeyCode::Char('l'));
    for _ in 0..row {
        key(&mut a, KeyCode::Char('j'));
    }
    a
}

fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        key(app, KeyCode::Char(c));
    }
}

fn values(a: &App) -> Vec<String> {
    match &a.overlay {
        Overlay::Form(f) => f.values(),
        other => panic!("no form: {other:?}"),
    }
}

#[test]
fn a_bad_peer_namespace_is_refused_as_typed_and_nothing_is_lost() {
    let mut a = live_on(asset("demo-bridge.json"), "bridge-red", 1);
    key(&mut a, KeyCode::Char('a'));
    key(&mut a, KeyCode::Char('v'));
    typed(&mut a, "veth-x");
    key(&mut a, KeyCode::Tab);
    typed(&mut a, "bridge-blu");
    let s = screen(&mut a, 80, 24);
    assert!(s.contains("no namespace bridge-blu"), "{s}");
    // Submitted anyway: still the form, as typed, the whole error on screen.
    assert!(key(&mut a, KeyCode::Enter).is_empty());
    assert_eq!(values(&a), ["veth-x", "bridge-blu", "eth0"]);
    let s = screen(&mut a, 80, 24);
    // Wrapped, whole: the suggestion at its end is on screen.
    assert!(
        s.contains("did you mean") && s.contains("bridge-blue?)"),
        "the error is cut:\n{s}"
    );
    insta::assert_snapshot!("form_veth_refused_80x24", s);
    typed(&mut a, "e");
    key(&mut a, KeyCode::Enter);
    let s = screen(&mut a, 120, 40);
    assert!(
        s.contains("ip -n bridge-red link add veth-x type veth peer name eth0 netns bridge-blue"),
        "{s}"
    );
}

#[test]
fn a_route_does_not_take_lo_and_its_gateway_must_be_reachable() {
    // `lo` is the selected link: the form used to offer it as the route's device.
    let mut a = live_on(asset("demo-bridge.json"), "bridge-blue", 0);
    key(&mut a, KeyCode::Char('a'));
    key(&mut a, KeyCode::Char('r'));
    assert_eq!(values(&a), ["default", "", ""]);
    key(&mut a, KeyCode::Down);
    typed(&mut a, "10.1.1.1");
    let s = screen(&mut a, 120, 40);
    assert!(s.contains("10.1.1.1 is in no connected subnet"), "{s}");
    key(&mut a, KeyCode::Enter);
    assert_eq!(values(&a), ["default", "10.1.1.1", ""]);
    for _ in 0.."10.1.1.1".len() {
        key(&mut a, KeyCode::Backspace);
    }
    typed(&mut a, "192.168.15.5");
    assert_eq!(values(&a)[2], "veth-blue");
    key(&mut a, KeyCode::Enter);
    let s = screen(&mut a, 120, 40);
    assert!(
        s.contains("ip -n bridge-blue route add default via 192.168.15.5 dev veth-blue"),
        "{s}"
    );
}

#[test]
fn form_pictures() {
    for (w, h) in SIZES {
        for kind in ActionKind::ALL {
            let mut a = live_on(asset("demo-bridge.json"), "bridge-red", 1);
            key(&mut a, KeyCode::Char('a'));
            key(&mut a, KeyCode::Char(kind.key()));
            let s = screen(&mut a, w, h);
            assert!(s.contains(kind.label()) || w < 100, "{s}");
            let name = format!("{kind:?}").to_lowercase();
            insta::assert_snapshot!(format!("form_{name}_{w}x{h}"), s);
        }
        let mut a = live_on(asset("demo-bridge.json"), "bridge-red", 1);
        key(&mut a, KeyCode::Char('T'));
        insta::assert_snapshot!(format!("form_path_{w}x{h}"), screen(&mut a, w, h));
        key(&mut a, KeyCode::Esc);
        key(&mut a, KeyCode::Char('6'));
        key(&mut a, KeyCode::Char('R'));
        insta::assert_snapshot!(format!("form_resolve_{w}x{h}"), screen(&mut a, w, h));
        key(&mut a, KeyCode::Esc);
        key(&mut a, KeyCode::Char('w'));
        key(&mut a, KeyCode::Char('f'));
        insta::assert_snapshot!(format!("form_capture_filter_{w}x{h}"), screen(&mut a, w, h));
        key(&mut a, KeyCode::Esc);
        a.save_dir = "/var/lib/netlens/snapshots".into();
        key(&mut a, KeyCode::Char('s'));
        let s = screen(&mut a, w, h);
        assert!(s.contains("netlens-snapshot-"), "{s}");
        insta::assert_snapshot!(format!("form_save_{w}x{h}"), s);
    }
}
