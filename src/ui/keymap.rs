//! Keys and mouse events to actions. The app never looks at raw key codes.
use crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEventKind,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Up,
    Down,
    PageUp,
    PageDown,
    First,
    Last,
    FocusNamespaces,
    FocusDetails,
    NextTab,
    PrevTab,
    GoTab(usize),
    StartFilter,
    FilterChar(char),
    FilterBackspace,
    FilterDone,
    FilterCancel,
    Open,
    Refresh,
    Save,
    Help,
    /// Marks on what changed since the baseline.
    ToggleChanges,
    /// The menu of changes to the selected namespace or link.
    Actions,
    /// Capture tab: stop the capture / set its filter.
    StopCapture,
    CaptureFilter,
    /// Where does a packet from the selected namespace go?
    PathForm,
    /// DNS tab: resolve a name as glibc would in the selected namespace.
    Resolve,
    /// Esc: closes an overlay, else quits.
    Back,
    Quit,
    Click {
        column: u16,
        row: u16,
    },
    ScrollUp,
    ScrollDown,
    Resize,
}

/// Maps a terminal event to an action; `text` is true while typing goes somewhere (the `/`
/// filter, a form, a menu or a y/N question): then letters are text, not commands.
pub fn action_for(ev: &Event, text: bool) -> Option<Action> {
    match ev {
        Event::Key(k) if k.kind != KeyEventKind::Release => key(k, text),
        Event::Mouse(m) => match m.kind {
            MouseEventKind::Down(MouseButton::Left) => Some(Action::Click {
                column: m.column,
                row: m.row,
            }),
            MouseEventKind::ScrollUp => Some(Action::ScrollUp),
            MouseEventKind::ScrollDown => Some(Action::ScrollDown),
            _ => None,
        },
        Event::Resize(..) => Some(Action::Resize),
        _ => None,
    }
}

fn key(k: &KeyEvent, text: bool) -> Option<Action> {
    if k.modifiers.contains(KeyModifiers::CONTROL) && k.code == KeyCode::Char('c') {
        return Some(Action::Quit);
    }
    if text {
        return match k.code {
            KeyCode::Enter => Some(Action::FilterDone),
            KeyCode::Esc => Some(Action::FilterCancel),
            KeyCode::Backspace => Some(Action::FilterBackspace),
            KeyCode::Char(c) => Some(Action::FilterChar(c)),
            KeyCode::Up => Some(Action::Up),
            KeyCode::Down => Some(Action::Down),
            KeyCode::Tab => Some(Action::NextTab),
            KeyCode::BackTab => Some(Action::PrevTab),
            _ => None,
        };
    }
    Some(match k.code {
        KeyCode::Up | KeyCode::Char('k') => Action::Up,
        KeyCode::Down | KeyCode::Char('j') => Action::Down,
        KeyCode::PageUp => Action::PageUp,
        KeyCode::PageDown => Action::PageDown,
        KeyCode::Home | KeyCode::Char('g') => Action::First,
        KeyCode::End | KeyCode::Char('G') => Action::Last,
        KeyCode::Left | KeyCode::Char('h') => Action::FocusNamespaces,
        KeyCode::Right | KeyCode::Char('l') => Action::FocusDetails,
        KeyCode::Tab => Action::NextTab,
        KeyCode::BackTab => Action::PrevTab,
        KeyCode::Char(c @ '1'..='9') => Action::GoTab(c as usize - '1' as usize),
        KeyCode::Char('t') => Action::GoTab(super::tabs::Tab::Topology.index()),
        KeyCode::Char('p') => Action::GoTab(super::tabs::Tab::Problems.index()),
        KeyCode::Char('0') => Action::GoTab(super::tabs::Tab::Capture.index()),
        KeyCode::Char('w') => Action::GoTab(super::tabs::Tab::Capture.index()),
        KeyCode::Char('x') => Action::StopCapture,
        KeyCode::Char('f') => Action::CaptureFilter,
        KeyCode::Char('T') => Action::PathForm,
        KeyCode::Char('R') => Action::Resolve,
        KeyCode::Char('K') => Action::GoTab(super::tabs::Tab::Ports.index()),
        KeyCode::Char('a') => Action::Actions,
        KeyCode::Char('/') => Action::StartFilter,
        KeyCode::Enter => Action::Open,
        KeyCode::Char('r') => Action::Refresh,
        KeyCode::Char('s') => Action::Save,
        KeyCode::Char('?') => Action::Help,
        KeyCode::Char('c') => Action::ToggleChanges,
        KeyCode::Esc => Action::Back,
        KeyCode::Char('q') => Action::Quit,
        _ => return None,
    })
}
