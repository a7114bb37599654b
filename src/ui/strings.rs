//! The TUI's fixed texts and status lines, so wording is reviewed in one place. What is not
//! here, honestly: the help lines live beside their keys in `keymap.rs` (one table, so `?`
//! cannot drift from the bindings); the change forms' labels, hints and answer errors live in
//! their tables in `components/actions/{change,steps,form}.rs`; and pane titles built from
//! data (counts, names) are formatted by the view that draws them.

pub const TITLE_NAMESPACES: &str = " namespaces ";
pub const LOADING: &str = "reading every namespace…";
pub const REREADING: &str = "reading the host again…";
pub const NO_PROBLEMS: &str = "the doctor finds nothing wrong on this node";
pub const NO_MATCH: &str = "no namespace matches the search (Esc clears it)";
pub const SEARCH_KEYS: &str = " ↑↓ choose · Enter go there · Esc cancel ";
pub const SEARCH_HINT: &str =
    "type a namespace, pod or process name, an interface, an IP (also one inside a subnet), a MAC or a port";
pub const SEARCH_NONE: &str = "nothing on this node matches";
/// Esc at the top level: it does not quit (two Esc to close a popup must not end a session).
pub const ESC_DOES_NOT_QUIT: &str = "q quits (Esc only closes and goes back)";
pub const HELP_TITLE: &str = " keys (? or Esc to close) ";

// A saved snapshot (`--snapshot FILE`) is read-only: what each key says instead.
pub const FILE_NO_REFRESH: &str = "a saved snapshot cannot be refreshed";
pub const FILE_NO_CHANGES: &str = "a saved snapshot is read-only";
pub const FILE_NO_QUERIES: &str =
    "a saved snapshot cannot send queries: use netlens dns on the node";
pub const FILE_NO_PROBES: &str =
    "a saved snapshot cannot send packets: use netlens path on the node";
pub const FILE_NO_PACKETS: &str = "a saved snapshot has no packets: capture on the node";
pub const FILE_NO_FIX: &str =
    "a saved snapshot is read-only: fix it on the node with `netlens fix`";

// Plans and findings.
pub const APPLYING: &str = "applying the plan…";
pub const CONFIRM_PLAN: &str =
    "y apply (all or nothing, journaled: netlens undo reverts it) · n or Esc cancel";
pub const NO_AUTO_FIX: &str = "no automatic fix: the explanation says what to look at";
pub const ESC_CLOSES: &str = "Esc closes";
pub const FORM_KEYS: &str = "Tab/↑↓ field · Enter show the plan · Esc cancel";
pub const FORM_KEYS_GO: &str = "Tab/↑↓ field · Enter go · Esc cancel";
pub const NO_SNAPSHOT_YET: &str = "no snapshot yet";

pub fn changes_marked(changes: usize, removed: usize) -> String {
    format!(
        "{} since the baseline marked with * ({} not shown as rows: see `netlens diff`; C adds neighbour-cache changes)",
        count(changes, "change", "changes"),
        count(removed, "removal", "removals")
    )
}

pub fn neighbor_marks(on: bool, changes: usize) -> String {
    let what = if on {
        "neighbour-cache (ARP/NDP) changes are marked too"
    } else {
        "neighbour-cache (ARP/NDP) changes are not marked"
    };
    format!(
        "{what} · {} since the baseline",
        count(changes, "change", "changes")
    )
}

pub fn applied(id: &str, changed: usize, unchanged: usize) -> String {
    format!(
        "applied plan {id} ({changed} changed, {unchanged} already so) · undo: netlens undo {id}"
    )
}

pub fn not_applied(e: &dyn std::fmt::Display) -> String {
    format!("plan not applied: {e}")
}

pub fn saved(path: &str) -> String {
    format!("saved {path}")
}

pub fn saving(path: &str) -> String {
    format!("saving {path}…")
}

pub fn not_saved(name: &str, e: &dyn std::fmt::Display) -> String {
    format!("cannot save {name}: {e}")
}

pub fn working_out_path(dst: &dyn std::fmt::Display) -> String {
    format!("working out the path to {dst}…")
}

pub fn resolving(name: &str, ns: &str) -> String {
    format!("resolving {name} in {ns}…")
}

/// `N` with its noun, singular or plural: `1 hit`, `2 hits`.
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

pub fn hits(hits: usize, namespaces: usize) -> String {
    format!(
        "{} in {}",
        count(hits, "hit", "hits"),
        count(namespaces, "namespace", "namespaces")
    )
}

/// After Enter on a search hit: the list stays narrowed to the namespaces with a hit.
pub fn search_kept(hits: usize, namespaces: usize) -> String {
    format!(
        "search: {} · the list shows those namespaces · Esc clears",
        self::hits(hits, namespaces)
    )
}
