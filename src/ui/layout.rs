//! Where things are on the screen, worked out from the terminal's size by `update` (an
//! `Action::Resize` before each frame). The views draw into these areas and the mouse and
//! paging read them, so drawing never writes to the app.

use ratatui::layout::{Constraint, Layout, Rect};

use super::tabs::Tab;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Areas {
    /// The namespace list on the left.
    pub namespaces: Rect,
    /// The row of tab titles.
    pub tabs: Rect,
    /// The table (or picture) under the tab titles.
    pub table: Rect,
    pub status: Rect,
    /// Each tab title's columns [start, end), for mouse clicks.
    pub tab_spans: Vec<(u16, u16)>,
}

impl Areas {
    pub fn new(frame: Rect) -> Self {
        let [main, status] =
            Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(frame);
        let [namespaces, right] =
            Layout::horizontal([Constraint::Length(34), Constraint::Min(20)]).areas(main);
        let [tabs, table] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(3)]).areas(right);
        // Where each title lands: ratatui's Tabs pads each title with one space on either side
        // and puts a one-column divider between them.
        let mut x = tabs.x;
        let tab_spans = Tab::ALL
            .iter()
            .map(|t| {
                let w = t.title().chars().count() as u16 + 2;
                let span = (x, x.saturating_add(w));
                x = x.saturating_add(w + 1);
                span
            })
            .collect();
        Areas {
            namespaces,
            tabs,
            table,
            status,
            tab_spans,
        }
    }

    /// Rows of `tab` that fit on screen: the table less its borders and header row (the
    /// topology picture has no header).
    pub fn page(&self, tab: Tab) -> usize {
        let chrome = if tab == Tab::Topology { 2 } else { 3 };
        self.table.height.saturating_sub(chrome) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panes_and_tab_titles_are_where_the_view_draws_them() {
        let a = Areas::new(Rect::new(0, 0, 150, 24));
        assert_eq!(a.namespaces, Rect::new(0, 0, 34, 23));
        assert_eq!(a.tabs, Rect::new(34, 0, 116, 1));
        assert_eq!(a.table, Rect::new(34, 1, 116, 22));
        assert_eq!(a.status, Rect::new(0, 23, 150, 1));
        // " Links " then a divider, then " Addresses ".
        assert_eq!(a.tab_spans[0], (34, 41));
        assert_eq!(a.tab_spans[1], (42, 53));
        assert_eq!(a.page(Tab::Links), 19);
        assert_eq!(a.page(Tab::Topology), 20);
    }
}
