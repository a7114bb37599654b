use super::*;
use crate::ui::test_support::{asset, live, press, saved};
use crossterm::event::KeyCode;

#[test]
fn refresh_save_and_kernel_changes_are_effects_in_live_mode_only() {
    let mut a = live(asset("demo-bridge.json"));
    assert!(matches!(
        &press(&mut a, KeyCode::Char('r'))[..],
        [Effect::Reread(t)] if t.full && t.asked
    ));
    assert_eq!(a.status, strings::REREADING);
    let mut touched = crate::collect::touched::Touched::default();
    touched.add(7, crate::collect::touched::Kinds::ROUTES);
    assert!(matches!(
        &a.handle(Msg::Changed(touched))[..],
        [Effect::Reread(t)] if !t.full && t.namespaces.len() == 1
    ));
    // The snapshot answers "reading…".
    a.handle(Msg::Snapshot(Box::new(asset("demo-bridge.json"))));
    assert!(a.status.is_empty());

    let mut ro = saved(asset("demo-bridge.json"));
    assert!(press(&mut ro, KeyCode::Char('r')).is_empty());
    assert_eq!(ro.status, strings::FILE_NO_REFRESH);
    assert!(ro
        .handle(Msg::Changed(crate::collect::touched::Touched::full()))
        .is_empty());
}

#[test]
fn s_asks_where_with_a_default_then_saves_there() {
    // A saved snapshot can still be saved elsewhere.
    let mut a = saved(asset("demo-bridge.json"));
    a.save_dir = PathBuf::from("/var/lib/netlens/snapshots");
    assert!(press(&mut a, KeyCode::Char('s')).is_empty());
    let Overlay::Form(form) = &a.overlay else {
        panic!("{:?}", a.overlay)
    };
    let default = form.values().concat();
    assert!(
        default.starts_with("/var/lib/netlens/snapshots/netlens-snapshot-20")
            && default.ends_with("Z.json"),
        "{default}"
    );
    // Emptied, it is refused in the form; typed, it is where the snapshot goes.
    for _ in 0..default.chars().count() {
        press(&mut a, KeyCode::Backspace);
    }
    assert!(press(&mut a, KeyCode::Enter).is_empty());
    assert!(matches!(&a.overlay, Overlay::Form(f) if f.error.is_some()));
    crate::ui::test_support::typed(&mut a, "/tmp/x.json");
    let fx = press(&mut a, KeyCode::Enter);
    assert!(
        matches!(&fx[..], [Effect::Save { path, .. }] if path == std::path::Path::new("/tmp/x.json")),
        "{fx:?}"
    );
    assert_eq!(a.status, "saving /tmp/x.json…");
}

#[test]
fn a_resize_lays_out_the_panes_and_a_click_uses_them() {
    let mut a = saved(asset("demo-bridge.json"));
    assert_eq!(a.page, a.areas.page(Tab::Links));
    let (x, _) = a.areas.tab_spans[Tab::Routes.index()];
    a.update(Action::Click {
        column: x + 1,
        row: a.areas.tabs.y,
    });
    assert_eq!(a.tab, Tab::Routes);
    // The third namespace of the list (one line of border above).
    let list = a.areas.namespaces;
    a.update(Action::Click {
        column: list.x + 2,
        row: list.y + 3,
    });
    assert_eq!((a.focus, a.ns_selected), (Focus::Namespaces, 2));
}

#[test]
fn esc_closes_a_popup_clears_the_filter_and_never_quits() {
    let mut a = saved(asset("demo-bridge.json"));
    press(&mut a, KeyCode::Char('?'));
    assert_eq!(a.overlay, Overlay::Help);
    press(&mut a, KeyCode::Esc);
    assert_eq!(a.overlay, Overlay::None);
    press(&mut a, KeyCode::Char('/'));
    press(&mut a, KeyCode::Char('r'));
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.filter, "r");
    press(&mut a, KeyCode::Esc);
    assert!(a.filter.is_empty() && !a.quit);
    a.focus = Focus::Details;
    press(&mut a, KeyCode::Esc);
    assert_eq!(a.focus, Focus::Namespaces);
    assert!(!a.quit);
    press(&mut a, KeyCode::Esc);
    press(&mut a, KeyCode::Esc);
    assert!(!a.quit, "Esc at the top level must not quit");
    assert_eq!(a.status, strings::ESC_DOES_NOT_QUIT);
    press(&mut a, KeyCode::Char('q'));
    assert!(a.quit);
}

#[test]
fn c_toggles_the_marks_and_says_how_many() {
    let mut a = saved(asset("demo-bridge.json"));
    press(&mut a, KeyCode::Char('c'));
    assert!(a.marks.show);
    assert!(
        a.status.starts_with("0 changes since the baseline"),
        "{}",
        a.status
    );
    press(&mut a, KeyCode::Char('c'));
    assert!(!a.marks.show && a.status.is_empty());
}
