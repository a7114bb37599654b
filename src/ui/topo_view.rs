//! The Topology tab's behaviour: the picture built when the tab is shown, following the
//! namespace chosen on the left, and Enter on a line (expand a group, or open a namespace).

use super::app::{App, Focus};
use super::tabs::Tab;
use super::topo;

impl App {
    /// Builds the topology picture if its tab is shown and it is missing.
    pub(super) fn ensure_topo(&mut self) {
        if self.tab != Tab::Topology || self.topo.is_some() {
            return;
        }
        if let Some(snap) = &self.snapshot {
            self.topo = Some(topo::layout(snap, &self.topo_expanded));
        }
    }

    /// In the Topology tab, brings the selected namespace's first line into view.
    pub(super) fn topo_follow_namespace(&mut self) {
        let Some(name) = self.selected_namespace().map(|n| n.name.clone()) else {
            return;
        };
        let hit = self
            .topo
            .as_ref()
            .and_then(|t| t.iter().position(|l| l.ns.as_deref() == Some(&name)));
        if let Some(i) = hit {
            self.row_selected = i;
            self.keep_row_visible();
        }
    }

    /// Enter on a line of the picture: expand/collapse its group, or open its namespace.
    pub(super) fn topo_enter(&mut self) {
        let Some(line) = self.topo.as_ref().and_then(|t| t.get(self.row_selected)) else {
            return;
        };
        if let Some(key) = line.toggle.clone() {
            if !self.topo_expanded.remove(&key) {
                self.topo_expanded.insert(key);
            }
            self.topo = None;
            self.ensure_topo();
            self.row_selected = self.row_selected.min(self.row_count().saturating_sub(1));
            self.keep_row_visible();
        } else if let Some(name) = line.ns.clone() {
            // Clear a filter that hides it, then show its links.
            if !self.visible_namespaces().iter().any(|n| n.name == name) {
                self.filter.clear();
            }
            if let Some(i) = self
                .visible_namespaces()
                .iter()
                .position(|n| n.name == name)
            {
                self.ns_selected = i;
            }
            self.tab = Tab::Links;
            self.focus = Focus::Details;
            self.reset_rows();
        }
    }
}
