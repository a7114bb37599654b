//! Helpers for TUI rendering tests: an app over a snapshot without colour, keys, and the
//! screen as text (ratatui's TestBackend).

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use netlens::model::Snapshot;
use netlens::ui::app::{App, Source};
use netlens::ui::effect::Effect;
use netlens::ui::{load_snapshot_file, view, Msg};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

/// A saved lab snapshot from `assets/`.
pub fn asset(name: &str) -> Snapshot {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("assets")
        .join(name);
    load_snapshot_file(&path).expect("demo snapshot")
}

/// The TUI over `snap`, read-only as with `--snapshot LABEL`, colours off.
pub fn app_over(label: &str, snap: Snapshot) -> App {
    let mut app = App::new(Source::File(label.into()), Some(snap));
    app.theme.color = false;
    app
}

/// The TUI over `assets/NAME`.
pub fn app(name: &str) -> App {
    app_over(name, asset(name))
}

/// Presses `code`; what the app asks the loop to do for it.
pub fn key(app: &mut App, code: KeyCode) -> Vec<Effect> {
    app.handle(Msg::Input(Event::Key(KeyEvent::new(
        code,
        KeyModifiers::NONE,
    ))))
}

/// One frame of `w`×`h`, as the backend's text (each line quoted).
pub fn screen(app: &mut App, w: u16, h: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    terminal.draw(|f| view::draw(f, app)).expect("draw");
    terminal.backend().to_string()
}
