//! Where things are on the screen, worked out from the terminal's size by `update` (an
//! `Action::Resize` before each frame). The views draw into these areas and the mouse and
//! paging read them, so drawing never writes to the app.

use ratatui::layout::{Constraint, Layout, Rect};

use super::tabs::Tab;

/// What the layout depends on besides the terminal's size.
#[derive(Debug, Clone, Copy)]
pub struct LayoutInput {
    /// The tab shown: the tab bar keeps it (and its number) in view.
    pub tab: Tab,
    /// Whether the namespace list is shown (`b` hides it so the tables get the width).
    pub sidebar: bool,
    /// Lines the status line needs at this width (see `view::status_lines`): a long one
    /// takes up to three.
    pub status_lines: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Areas {
    /// The whole terminal (popups are sized to it).
    pub frame: Rect,
    /// The namespace list on the left (zero-wide when hidden).
    pub namespaces: Rect,
    /// The row of tab titles.
    pub tabs: Rect,
    /// The table (or picture) under the tab titles.
    pub table: Rect,
    pub status: Rect,
    /// Each tab's title columns [start, end), for mouse clicks and for drawing; a tab that
    /// does not fit has an empty span.
    pub tab_spans: Vec<(u16, u16)>,
    /// Whether tabs are left out before / after the ones shown (`‹` / `›` are drawn).
    pub tab_more: (bool, bool),
}

/// Lines the status takes at most: beyond that the rest of a message is cut.
const STATUS_MAX_LINES: usize = 3;

/// The namespace list's width: 34 columns from 120 up; narrower terminals give it less
/// (24 at 80) so the tables keep their key columns.
pub fn sidebar_width(width: u16) -> u16 {
    if width >= 120 {
        34
    } else {
        (width * 3 / 10).clamp(12, 34)
    }
}

impl Areas {
    pub fn new(frame: Rect, input: &LayoutInput) -> Self {
        let status_lines = input.status_lines.clamp(1, STATUS_MAX_LINES);
        // A long status never takes the last rows of a tiny terminal.
        let status_lines = (status_lines as u16).min(frame.height.saturating_sub(4).max(1));
        let [main, status] =
            Layout::vertical([Constraint::Min(3), Constraint::Length(status_lines)]).areas(frame);
        let side = if input.sidebar {
            sidebar_width(frame.width)
        } else {
            0
        };
        let [namespaces, right] =
            Layout::horizontal([Constraint::Length(side), Constraint::Min(0)]).areas(main);
        let [tabs, table] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(3)]).areas(right);
        let (tab_spans, tab_more) = tab_bar(tabs, input.tab);
        Areas {
            frame,
            namespaces,
            tabs,
            table,
            status,
            tab_spans,
            tab_more,
        }
    }

    /// Rows of `tab` that fit on screen: the table less its borders and header row (the
    /// topology picture has no header).
    pub fn page(&self, tab: Tab) -> usize {
        let chrome = if tab == Tab::Topology { 2 } else { 3 };
        self.table.height.saturating_sub(chrome) as usize
    }
}

/// Columns of a tab's title as drawn: ` 1 Links `.
fn label_width(t: Tab) -> u16 {
    t.label().chars().count() as u16
}

/// Which titles the bar shows in `area`: all of them when they fit, else a window around
/// `active` (grown to the right first, then to the left) with `‹`/`›` where titles are left
/// out; the active title is always there, cut only if it alone is wider than the bar.
/// Titles are separated by a one-column divider.
fn tab_bar(area: Rect, active: Tab) -> (Vec<(u16, u16)>, (bool, bool)) {
    let n = Tab::ALL.len();
    let fits = |lo: usize, hi: usize| {
        let marks = u16::from(lo > 0) + u16::from(hi + 1 < n);
        let titles: u16 = Tab::ALL[lo..=hi].iter().map(|t| label_width(*t)).sum();
        marks + titles + (hi - lo) as u16 <= area.width
    };
    let (mut lo, mut hi) = (active.index(), active.index());
    loop {
        let mut grew = false;
        if hi + 1 < n && fits(lo, hi + 1) {
            hi += 1;
            grew = true;
        }
        if lo > 0 && fits(lo - 1, hi) {
            lo -= 1;
            grew = true;
        }
        if !grew {
            break;
        }
    }
    let more = (lo > 0, hi + 1 < n);
    let end = area.x.saturating_add(area.width);
    let mut x = area.x + u16::from(more.0);
    let spans = Tab::ALL
        .iter()
        .enumerate()
        .map(|(i, t)| {
            if i < lo || i > hi {
                return (0, 0);
            }
            let a = x.min(end);
            // Room for `›` after the last one shown, when there are more.
            let room = end.saturating_sub(u16::from(more.1 && i == hi));
            let b = x.saturating_add(label_width(*t)).min(room).max(a);
            x = b.saturating_add(1);
            (a, b)
        })
        .collect();
    (spans, more)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(w: u16, h: u16, tab: Tab, sidebar: bool) -> Areas {
        let input = LayoutInput {
            tab,
            sidebar,
            status_lines: 1,
        };
        Areas::new(Rect::new(0, 0, w, h), &input)
    }

    #[test]
    fn panes_and_tab_titles_are_where_the_view_draws_them() {
        let a = at(150, 24, Tab::Links, true);
        assert_eq!(a.namespaces, Rect::new(0, 0, 34, 23));
        assert_eq!(a.tabs, Rect::new(34, 0, 116, 1));
        assert_eq!(a.table, Rect::new(34, 1, 116, 22));
        assert_eq!(a.status, Rect::new(0, 23, 150, 1));
        // " 1 Links " then a divider, then " 2 Addresses ".
        assert_eq!(a.tab_spans[0], (34, 43));
        assert_eq!(a.tab_spans[1], (44, 57));
        assert_eq!(a.page(Tab::Links), 19);
        assert_eq!(a.page(Tab::Topology), 20);
    }

    #[test]
    fn the_sidebar_narrows_and_hides() {
        assert_eq!(at(80, 24, Tab::Links, true).namespaces.width, 24);
        assert_eq!(at(120, 40, Tab::Links, true).namespaces.width, 34);
        let hidden = at(80, 24, Tab::Links, false);
        assert_eq!(hidden.namespaces.width, 0);
        assert_eq!(hidden.table, Rect::new(0, 1, 80, 22));
    }

    #[test]
    fn the_active_tab_is_always_on_the_bar() {
        for w in [30, 60, 80, 120, 200] {
            for t in Tab::ALL {
                let a = at(w, 24, t, true);
                let (s, e) = a.tab_spans[t.index()];
                assert!(
                    e > s && e <= a.tabs.x + a.tabs.width,
                    "{t:?} at {w}: {s}..{e}"
                );
                let shown: Vec<_> = a.tab_spans.iter().filter(|(s, e)| e > s).collect();
                // Titles never overlap.
                for pair in shown.windows(2) {
                    assert!(pair[0].1 < pair[1].0, "{t:?} at {w}: {shown:?}");
                }
            }
        }
        let wide = at(200, 60, Tab::Ports, true);
        assert_eq!(wide.tab_more, (false, false));
        let narrow = at(80, 24, Tab::Ports, true);
        assert!(narrow.tab_more.0 && !narrow.tab_more.1);
    }

    #[test]
    fn a_long_status_takes_up_to_three_lines() {
        let input = |status_lines| LayoutInput {
            tab: Tab::Links,
            sidebar: true,
            status_lines,
        };
        let frame = Rect::new(0, 0, 80, 24);
        assert_eq!(Areas::new(frame, &input(1)).status.height, 1);
        assert_eq!(Areas::new(frame, &input(2)).status.height, 2);
        assert_eq!(Areas::new(frame, &input(9)).status.height, 3);
        assert_eq!(
            Areas::new(Rect::new(0, 0, 80, 5), &input(9)).status.height,
            1
        );
    }
}
