//! `/`: search the whole node — namespace and process names, interfaces, MACs, addresses (an
//! IP also inside a prefix), routes, neighbours, listening ports. While typing, the hits are
//! listed over the tables (namespace · where · what matched) and the namespace list narrows to
//! the namespaces with a hit; ↑↓ choose a hit, Enter goes there (namespace, tab and row) and
//! keeps the list narrowed, Esc cancels. What matches is `matching.rs`, the list `view.rs`.

mod matching;
#[cfg(test)]
mod tests;
pub mod view;

pub use matching::{search_terms, Hit, What};

use crate::ui::app::{App, Focus};
use crate::ui::effect::Effect;
use crate::ui::keymap::{Action, Binding};
use crate::ui::strings;

pub const KEYS: Binding = Binding {
    keys: "/",
    what: "search names, processes, links, IPs (also in a subnet), MACs, ports",
    map: &[(crossterm::event::KeyCode::Char('/'), Action::StartFilter)],
};

/// The hits of the query in `App::filter`, kept until the query or the snapshot changes.
#[derive(Debug, Default)]
pub struct Search {
    pub hits: Vec<Hit>,
    /// Per namespace of the snapshot (same index): whether it has a hit.
    pub ns_hit: Vec<bool>,
    /// The highlighted hit.
    pub selected: usize,
    /// Reused buffers: the lowercased query, and the text of a value being matched.
    lower: String,
    buf: String,
}

impl Search {
    /// Finds the hits of `query` in `snap` again, reusing the buffers.
    pub fn refresh(&mut self, query: &str, snap: Option<&crate::model::Snapshot>) {
        self.hits.clear();
        self.lower.clear();
        self.lower
            .extend(query.chars().flat_map(char::to_lowercase));
        match snap {
            Some(snap) => {
                let q = matching::Query::new(&self.lower);
                matching::find(snap, &q, &mut self.hits, &mut self.ns_hit, &mut self.buf);
            }
            None => self.ns_hit.clear(),
        }
        self.selected = self.selected.min(self.hits.len().saturating_sub(1));
    }

    /// How many namespaces have a hit.
    pub fn namespaces(&self) -> usize {
        self.ns_hit.iter().filter(|&&h| h).count()
    }
}

/// Keys while the search is open: text edits the query, ↑↓ (and pages) choose a hit, Enter
/// goes there, Esc cancels. `None`: not the search's key.
pub fn update(app: &mut App, action: &Action) -> Option<Vec<Effect>> {
    let n = app.search.hits.len();
    let page = app.page.max(1);
    let sel = app.search.selected;
    app.search.selected = match action {
        Action::Up | Action::PrevTab => sel.saturating_sub(1),
        Action::Down | Action::NextTab => (sel + 1).min(n.saturating_sub(1)),
        Action::PageUp => sel.saturating_sub(page),
        Action::PageDown => (sel + page).min(n.saturating_sub(1)),
        Action::FilterChar(_) | Action::FilterBackspace => {
            edit(app, action);
            return Some(Vec::new());
        }
        Action::FilterDone => {
            app.filtering = false;
            jump(app);
            return Some(Vec::new());
        }
        Action::FilterCancel => {
            app.filtering = false;
            app.filter.clear();
            app.ns_selected = 0;
            app.reset_rows();
            return Some(Vec::new());
        }
        _ => return None,
    };
    follow(app);
    Some(Vec::new())
}

/// The list on the left shows where the highlighted hit is.
fn follow(app: &mut App) {
    let Some(hit) = app.search.hits.get(app.search.selected) else {
        return;
    };
    let name = app.snapshot.as_ref().and_then(|s| s.namespaces.get(hit.ns));
    let Some(name) = name.map(|n| n.name.clone()) else {
        return;
    };
    if let Some(i) = app.visible_namespaces().iter().position(|n| n.name == name) {
        if i != app.ns_selected {
            app.ns_selected = i;
            app.reset_rows();
        }
    }
}

/// `/`: the search opens on the query kept from last time (its hits still listed).
pub fn start(app: &mut App) {
    app.filtering = true;
    app.focus = Focus::Namespaces;
    app.search.selected = 0;
}

fn edit(app: &mut App, action: &Action) {
    match action {
        Action::FilterChar(c) => app.filter.push(*c),
        _ => {
            app.filter.pop();
        }
    }
    app.search.selected = 0;
    app.search.refresh(&app.filter, app.snapshot.as_ref());
    app.ns_selected = 0;
    app.reset_rows();
    follow(app);
}

/// Enter: the highlighted hit's namespace selected in the narrowed list, its tab shown and
/// its row selected (a name or process hit keeps the tab). No hit: the query stays and the
/// list stays narrowed (to nothing, which says so).
fn jump(app: &mut App) {
    let Some(hit) = app.search.hits.get(app.search.selected).copied() else {
        return;
    };
    let Some(name) = app
        .snapshot
        .as_ref()
        .and_then(|s| s.namespaces.get(hit.ns))
        .map(|n| n.name.clone())
    else {
        return;
    };
    if let Some(i) = app.visible_namespaces().iter().position(|n| n.name == name) {
        app.ns_selected = i;
    }
    if let Some(tab) = hit.tab() {
        app.go_tab(&Action::GoTab(tab.index()));
        app.page = app.areas.page(tab);
        app.row_selected = hit.row().min(app.row_count().saturating_sub(1));
        app.keep_row_visible();
        app.focus = Focus::Details;
    } else {
        app.reset_rows();
    }
    app.status = strings::search_kept(app.search.hits.len(), app.search.namespaces());
}
