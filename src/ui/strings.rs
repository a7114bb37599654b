//! Every user-facing string of the TUI, so wording is reviewed in one place.

pub const TITLE_NAMESPACES: &str = " namespaces ";
pub const LOADING: &str = "reading every namespace…";
pub const REREADING: &str = "reading the host again…";
pub const NO_PROBLEMS: &str = "the doctor finds nothing wrong on this node";
pub const HELP_TITLE: &str = " keys (? or Esc to close) ";

/// (keys, what they do) — the help overlay lists exactly these.
pub const HELP: &[(&str, &str)] = &[
    ("↑ ↓  k j", "move in the focused pane"),
    ("← →  h l", "focus namespaces / details"),
    ("PgUp PgDn  g G", "page up / down, first / last"),
    ("Tab  Shift-Tab", "next / previous tab"),
    ("1 … 9  0", "jump to a tab (Links … Problems, Capture)"),
    ("t  p  w  K", "topology / problems of the whole node / capture / Kubernetes ports"),
    ("T", "path of a packet from the selected namespace (and a live probe)"),
    ("x  f", "Capture tab: stop the capture / its filter"),
    ("R", "DNS tab: resolve a name as glibc would here, every step and query"),
    (
        "a",
        "change the selected namespace or link (a form, then the plan to confirm)",
    ),
    ("/", "filter namespaces by name (Enter keeps, Esc clears)"),
    (
        "Enter",
        "details of the row; Topology: expand or open; Problems: explain and fix; Capture: start on a link, or a packet's layers",
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
