//! Every user-facing string of the TUI, so wording is reviewed in one place.

pub const TITLE_NAMESPACES: &str = " namespaces ";
pub const LOADING: &str = "reading every namespace…";
pub const HELP_TITLE: &str = " keys (? or Esc to close) ";

/// (keys, what they do) — the help overlay lists exactly these.
pub const HELP: &[(&str, &str)] = &[
    ("↑ ↓  k j", "move in the focused pane"),
    ("← →  h l", "focus namespaces / details"),
    ("PgUp PgDn  g G", "page up / down, first / last"),
    ("Tab  Shift-Tab", "next / previous tab"),
    ("1 … 8", "jump to a tab"),
    ("t", "topology of the whole node"),
    ("/", "filter namespaces by name (Enter keeps, Esc clears)"),
    (
        "Enter",
        "details of the selected row; in Topology: expand a group, or open a namespace",
    ),
    ("r", "read the host again (live mode)"),
    (
        "s",
        "save the snapshot to a JSON file in the current directory",
    ),
    (
        "mouse",
        "click selects a namespace, row or tab; wheel scrolls",
    ),
    ("?", "this help"),
    ("q  Esc", "quit (Esc closes an overlay first)"),
];
