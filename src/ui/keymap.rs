//! Keys and mouse events to actions, in one table that is also the help overlay (`?`): a key
//! is bound by writing it on its help line, so the help cannot drift from the bindings. The
//! app never looks at raw key codes.
use crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEventKind,
};

use super::components::{actions, capture, search};
use super::tabs::Tab;

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
    /// Hides or shows the namespace list.
    ToggleSidebar,
    /// Marks on what changed since the baseline.
    ToggleChanges,
    /// Neighbour-cache changes among the marks, or not.
    ToggleNeighborChanges,
    /// The menu of changes to the selected namespace or link.
    Actions,
    /// Capture tab: stop the capture / set its filter.
    StopCapture,
    CaptureFilter,
    /// Where does a packet from the selected namespace go?
    PathForm,
    /// DNS tab: resolve a name as glibc would in the selected namespace.
    Resolve,
    /// Esc: closes an overlay, else clears the filter, else focuses the namespace list; never
    /// quits.
    Back,
    Quit,
    Click {
        column: u16,
        row: u16,
    },
    ScrollUp,
    ScrollDown,
    /// The terminal's size: where the panes are follows from it (see `layout.rs`).
    Resize {
        width: u16,
        height: u16,
    },
}

/// One line of the help overlay and the keys it describes.
#[derive(Debug)]
pub struct Binding {
    /// The keys as the help shows them.
    pub keys: &'static str,
    pub what: &'static str,
    /// What each key does (the mouse is not a key: see [`action_for`]).
    pub map: &'static [(KeyCode, Action)],
}

use KeyCode::Char;

const MOVE: Binding = Binding {
    keys: "↑ ↓  k j",
    what: "move in the focused pane; in a popup, scroll it",
    map: &[
        (KeyCode::Up, Action::Up),
        (Char('k'), Action::Up),
        (KeyCode::Down, Action::Down),
        (Char('j'), Action::Down),
    ],
};
const FOCUS: Binding = Binding {
    keys: "← →  h l",
    what: "focus namespaces / details",
    map: &[
        (KeyCode::Left, Action::FocusNamespaces),
        (Char('h'), Action::FocusNamespaces),
        (KeyCode::Right, Action::FocusDetails),
        (Char('l'), Action::FocusDetails),
    ],
};
const PAGE: Binding = Binding {
    keys: "PgUp PgDn  g G",
    what: "page up / down, first / last (also in a popup)",
    map: &[
        (KeyCode::PageUp, Action::PageUp),
        (KeyCode::PageDown, Action::PageDown),
        (KeyCode::Home, Action::First),
        (Char('g'), Action::First),
        (KeyCode::End, Action::Last),
        (Char('G'), Action::Last),
    ],
};
const TABS: Binding = Binding {
    keys: "Tab  Shift-Tab",
    what: "next / previous tab",
    map: &[
        (KeyCode::Tab, Action::NextTab),
        (KeyCode::BackTab, Action::PrevTab),
    ],
};
const JUMP: Binding = Binding {
    keys: "1 … 9  0",
    what: "jump to a tab (Links … Problems, Capture)",
    map: &[
        (Char('1'), Action::GoTab(0)),
        (Char('2'), Action::GoTab(1)),
        (Char('3'), Action::GoTab(2)),
        (Char('4'), Action::GoTab(3)),
        (Char('5'), Action::GoTab(4)),
        (Char('6'), Action::GoTab(5)),
        (Char('7'), Action::GoTab(6)),
        (Char('8'), Action::GoTab(7)),
        (Char('9'), Action::GoTab(8)),
        (Char('0'), Action::GoTab(Tab::Capture.index())),
    ],
};
const NODE_TABS: Binding = Binding {
    keys: "t  p  w  K",
    what: "topology / problems of the whole node / capture / Kubernetes ports",
    map: &[
        (Char('t'), Action::GoTab(Tab::Topology.index())),
        (Char('p'), Action::GoTab(Tab::Problems.index())),
        (Char('w'), Action::GoTab(Tab::Capture.index())),
        (Char('K'), Action::GoTab(Tab::Ports.index())),
    ],
};
const PATH: Binding = Binding {
    keys: "T",
    what: "path of a packet from the selected namespace (and a live probe)",
    map: &[(Char('T'), Action::PathForm)],
};
const RESOLVE: Binding = Binding {
    keys: "R",
    what: "DNS tab: resolve a name as glibc would here, every step and query",
    map: &[(Char('R'), Action::Resolve)],
};
const OPEN: Binding = Binding {
    keys: "Enter",
    what: "details of the row; Topology: expand or open; Problems: explain and fix; Capture: start on a link, or a packet's layers",
    map: &[(KeyCode::Enter, Action::Open)],
};
const REFRESH: Binding = Binding {
    keys: "r",
    what: "read the host again (live mode)",
    map: &[(Char('r'), Action::Refresh)],
};
const SAVE: Binding = Binding {
    keys: "s",
    what: "save the snapshot (asks where; the status line says the whole path)",
    map: &[(Char('s'), Action::Save)],
};
const CHANGES: Binding = Binding {
    keys: "c  C",
    what: "c: * on what changed since the start or --since; C: ARP/NDP churn too",
    map: &[
        (Char('c'), Action::ToggleChanges),
        (Char('C'), Action::ToggleNeighborChanges),
    ],
};
const SIDEBAR: Binding = Binding {
    keys: "b",
    what: "hide / show the namespace list (the tables get the whole width)",
    map: &[(Char('b'), Action::ToggleSidebar)],
};
const MOUSE: Binding = Binding {
    keys: "mouse",
    what: "click selects a namespace, row or tab; wheel scrolls (a popup too)",
    map: &[],
};
const HELP: Binding = Binding {
    keys: "?",
    what: "this help",
    map: &[(Char('?'), Action::Help)],
};
const QUIT: Binding = Binding {
    keys: "q  Esc",
    what: "quit (Esc only closes and goes back)",
    map: &[(Char('q'), Action::Quit), (KeyCode::Esc, Action::Back)],
};

/// Every binding, in the order the help lists them; the components own their lines.
pub const KEYMAP: &[&Binding] = &[
    &MOVE,
    &FOCUS,
    &PAGE,
    &TABS,
    &JUMP,
    &NODE_TABS,
    &PATH,
    &capture::KEYS,
    &RESOLVE,
    &actions::KEYS,
    &search::KEYS,
    &OPEN,
    &REFRESH,
    &SAVE,
    &CHANGES,
    &SIDEBAR,
    &MOUSE,
    &HELP,
    &QUIT,
];

/// (keys, what they do): the help overlay's lines.
pub fn help_lines() -> impl Iterator<Item = (&'static str, &'static str)> {
    KEYMAP.iter().map(|b| (b.keys, b.what))
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
        Event::Resize(width, height) => Some(Action::Resize {
            width: *width,
            height: *height,
        }),
        _ => None,
    }
}

fn key(k: &KeyEvent, text: bool) -> Option<Action> {
    if k.modifiers.contains(KeyModifiers::CONTROL) && k.code == Char('c') {
        return Some(Action::Quit);
    }
    if text {
        return text_key(k.code);
    }
    KEYMAP
        .iter()
        .flat_map(|b| b.map.iter())
        .find(|(code, _)| *code == k.code)
        .map(|(_, action)| action.clone())
}

/// Keys while typing: the form, menu or question says what they do on its own lines.
fn text_key(code: KeyCode) -> Option<Action> {
    match code {
        KeyCode::Enter => Some(Action::FilterDone),
        KeyCode::Esc => Some(Action::FilterCancel),
        KeyCode::Backspace => Some(Action::FilterBackspace),
        Char(c) => Some(Action::FilterChar(c)),
        KeyCode::Up => Some(Action::Up),
        KeyCode::Down => Some(Action::Down),
        // A report's text scrolls by the page too.
        KeyCode::PageUp => Some(Action::PageUp),
        KeyCode::PageDown => Some(Action::PageDown),
        KeyCode::Home => Some(Action::First),
        KeyCode::End => Some(Action::Last),
        KeyCode::Tab => Some(Action::NextTab),
        KeyCode::BackTab => Some(Action::PrevTab),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode, text: bool) -> Option<Action> {
        action_for(&Event::Key(KeyEvent::new(code, KeyModifiers::NONE)), text)
    }

    #[test]
    fn every_key_is_bound_once_and_every_line_has_a_key() {
        let mut seen = std::collections::HashSet::new();
        for b in KEYMAP {
            assert!(
                !b.map.is_empty() || b.keys == "mouse",
                "{} binds nothing",
                b.keys
            );
            for (code, _) in b.map {
                assert!(seen.insert(*code), "{code:?} bound twice");
            }
        }
    }

    #[test]
    fn the_help_has_a_line_for_every_key_of_the_app() {
        let lines: Vec<(&str, &str)> = help_lines().collect();
        for keys in ["/", "c  C", "s", "a", "q  Esc"] {
            assert!(
                lines.iter().any(|(k, _)| *k == keys),
                "{keys} missing from ?"
            );
        }
        assert_eq!(press(Char('C'), false), Some(Action::ToggleNeighborChanges));
    }

    #[test]
    fn keys_map_as_before() {
        assert_eq!(press(Char('j'), false), Some(Action::Down));
        assert_eq!(press(Char('3'), false), Some(Action::GoTab(2)));
        assert_eq!(
            press(Char('0'), false),
            Some(Action::GoTab(Tab::Capture.index()))
        );
        assert_eq!(
            press(Char('K'), false),
            Some(Action::GoTab(Tab::Ports.index()))
        );
        assert_eq!(press(KeyCode::Esc, false), Some(Action::Back));
        assert_eq!(press(Char('z'), false), None);
        // While typing, letters are text and Esc cancels.
        assert_eq!(press(Char('q'), true), Some(Action::FilterChar('q')));
        assert_eq!(press(KeyCode::Esc, true), Some(Action::FilterCancel));
        let ctrl_c = KeyEvent::new(Char('c'), KeyModifiers::CONTROL);
        assert_eq!(action_for(&Event::Key(ctrl_c), true), Some(Action::Quit));
        assert_eq!(
            action_for(&Event::Resize(80, 24), false),
            Some(Action::Resize {
                width: 80,
                height: 24
            })
        );
    }
}
