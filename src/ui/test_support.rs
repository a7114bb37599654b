//! For the components' unit tests: an app over a demo snapshot, and keys pressed on it.

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};

use super::app::{App, Source};
use super::effect::Effect;
use super::keymap::Action;
use super::Msg;
use crate::model::Snapshot;

/// `assets/NAME`, as saved by `netlens lab up` + `netlens snapshot --json`.
pub fn asset(name: &str) -> Snapshot {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets")
        .join(name);
    crate::saved::snapshot::load(&path).expect("demo snapshot")
}

/// A live app (changes allowed) over `snap`, laid out on a 150×30 terminal.
pub fn live(snap: Snapshot) -> App {
    let mut app = App::new(Source::Live, None);
    app.handle(Msg::Snapshot(Box::new(snap)));
    app.update(Action::Resize {
        width: 150,
        height: 30,
    });
    app
}

/// A read-only app over `snap`, as with `--snapshot`.
pub fn saved(snap: Snapshot) -> App {
    let mut app = App::new(Source::File("saved.json".into()), Some(snap));
    app.update(Action::Resize {
        width: 150,
        height: 30,
    });
    app
}

pub fn press(app: &mut App, code: KeyCode) -> Vec<Effect> {
    app.handle(Msg::Input(Event::Key(KeyEvent::new(
        code,
        KeyModifiers::NONE,
    ))))
}

pub fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        assert!(press(app, KeyCode::Char(c)).is_empty(), "typing {c:?}");
    }
}

pub fn select(app: &mut App, ns: &str) {
    app.ns_selected = app
        .visible_namespaces()
        .iter()
        .position(|n| n.name == ns)
        .expect("namespace");
}
