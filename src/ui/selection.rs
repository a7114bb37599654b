//! Where the user is: the namespace list (in natural order, narrowed by a `/` search), the
//! tab, the row, and moving between them with keys and the mouse.

use super::app::{App, Focus};
use super::components::{capture, topology};
use super::effect::Effect;
use super::keymap::Action;
use super::tabs::{self, Tab};
use crate::model::{Namespace, Snapshot};
use crate::text::natural_cmp;

/// The host first, then named namespaces, then those held only by processes, each group in
/// natural order of name (`svc-2` before `svc-10`): discovery lists them so already, and a
/// snapshot saved by an older netlens (or another tool) is listed the same way.
pub(crate) fn sort_namespaces(snap: &mut Snapshot) {
    let order = |a: &Namespace, b: &Namespace| {
        a.kind
            .cmp(&b.kind)
            .then_with(|| natural_cmp(&a.name, &b.name))
    };
    // A patch keeps the order but for namespaces that came or were renamed: one pass to
    // see that, instead of a sort's n log n comparisons of names per patch.
    if !snap.namespaces.is_sorted_by(|a, b| order(a, b).is_le()) {
        snap.namespaces.sort_by(order);
    }
}

impl App {
    /// Namespaces with a hit of the `/` search (all without one), in snapshot order.
    /// The first namespace the list shows: the list scrolls from the top just far enough
    /// to show the selected one (as ratatui's list from a fresh state). The view builds only
    /// the rows from here that fit, and a click counts from here.
    pub(crate) fn ns_list_start(&self) -> usize {
        let height = usize::from(self.areas.namespaces.height.saturating_sub(2)).max(1);
        self.ns_selected.saturating_sub(height - 1)
    }

    pub fn visible_namespaces(&self) -> Vec<&Namespace> {
        let Some(snap) = &self.snapshot else {
            return Vec::new();
        };
        let all = self.filter.is_empty();
        snap.namespaces
            .iter()
            .enumerate()
            .filter(|(i, _)| all || self.search.ns_hit.get(*i).copied().unwrap_or(false))
            .map(|(_, n)| n)
            .collect()
    }

    pub fn selected_namespace(&self) -> Option<&Namespace> {
        self.visible_namespaces().get(self.ns_selected).copied()
    }

    /// Rows of the current tab (lines of the picture, findings, packets or links to capture
    /// on, or the selected namespace's table).
    pub(crate) fn row_count(&self) -> usize {
        match self.tab {
            Tab::Topology => self.topology.lines.as_ref().map_or(0, Vec::len),
            Tab::Problems => self.findings.len(),
            Tab::Capture => match capture::shown(self) {
                Some(c) => c.packets.len(),
                None => self.selected_namespace().map_or(0, |n| n.links.len()),
            },
            _ => self
                .selected_namespace()
                .map(|ns| tabs::row_count(ns, self.tab))
                .unwrap_or(0),
        }
    }

    pub(crate) fn reset_rows(&mut self) {
        self.row_selected = 0;
        self.row_offset = 0;
    }

    pub(crate) fn move_by(&mut self, delta: isize) {
        match self.focus {
            Focus::Namespaces => {
                let n = self.visible_namespaces().len();
                let new = clamp_add(self.ns_selected, delta, n);
                if new != self.ns_selected {
                    self.ns_selected = new;
                    if self.tab == Tab::Topology {
                        topology::follow_namespace(self);
                    } else {
                        self.reset_rows();
                    }
                }
            }
            Focus::Details => {
                let n = self.row_count();
                self.row_selected = clamp_add(self.row_selected, delta, n);
                self.keep_row_visible();
            }
        }
    }

    pub(crate) fn keep_row_visible(&mut self) {
        let page = self.page.max(1);
        if self.row_selected < self.row_offset {
            self.row_offset = self.row_selected;
        } else if self.row_selected >= self.row_offset + page {
            self.row_offset = self.row_selected + 1 - page;
        }
    }

    /// Tab, Shift-Tab, a tab's number or letter.
    pub(crate) fn go_tab(&mut self, action: &Action) {
        let i = self.tab.index();
        let n = Tab::ALL.len();
        let next = match action {
            Action::NextTab => (i + 1) % n,
            Action::PrevTab => (i + n - 1) % n,
            Action::GoTab(t) => (*t).min(n - 1),
            _ => i,
        };
        self.tab = Tab::ALL[next];
        self.reset_rows();
        topology::ensure(self);
        if self.tab == Tab::Topology {
            topology::follow_namespace(self);
        }
    }

    /// A click selects a tab, a namespace or a row (where the last resize put them).
    pub(crate) fn click(&mut self, column: u16, row: u16) -> Vec<Effect> {
        let inside = |r: ratatui::layout::Rect| {
            column >= r.x && column < r.x + r.width && row >= r.y && row < r.y + r.height
        };
        let areas = &self.areas;
        if row == areas.tabs.y && !areas.tab_spans.is_empty() {
            if let Some(i) = areas
                .tab_spans
                .iter()
                .position(|&(a, b)| column >= a && column < b)
            {
                return self.update(Action::GoTab(i));
            }
        } else if inside(areas.namespaces) {
            self.focus = Focus::Namespaces;
            // One line of border at the top.
            let i = self.ns_list_start() + (row.saturating_sub(areas.namespaces.y + 1)) as usize;
            if i < self.visible_namespaces().len() && i != self.ns_selected {
                self.ns_selected = i;
                self.reset_rows();
            }
        } else if inside(areas.table) {
            self.focus = Focus::Details;
            // Border and header line (the picture has no header).
            let top = if self.tab == Tab::Topology { 1 } else { 2 };
            let i = self.row_offset + (row.saturating_sub(areas.table.y + top)) as usize;
            if i < self.row_count() {
                self.row_selected = i;
            }
        }
        Vec::new()
    }
}

fn clamp_add(v: usize, delta: isize, len: usize) -> usize {
    if len == 0 {
        return 0;
    }
    let v = v as isize + delta;
    v.clamp(0, len as isize - 1) as usize
}
