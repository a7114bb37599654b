//! The search's list of hits, drawn over the tab titles and tables while `/` is open: one
//! line per hit, `namespace · where · what matched`; only the lines on screen are formatted.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use crate::ui::app::App;
use crate::ui::strings;
use crate::ui::view::esc;

/// Below this width, the list of hits takes the whole width.
const WIDE_ENOUGH: u16 = 70;

/// Over the right of the screen (tab titles and table), while the search is open.
pub fn draw(f: &mut Frame, app: &App) {
    if !app.filtering {
        return;
    }
    let (tabs, table) = (app.areas.tabs, app.areas.table);
    let mut area = Rect::new(table.x, tabs.y, table.width, table.height + tabs.height);
    // A narrow terminal: the hits matter more than the narrowed list beside them.
    if area.width < WIDE_ENOUGH {
        area.width += area.x;
        area.x = 0;
    }
    if area.width < 4 || area.height < 3 {
        return;
    }
    let s = &app.search;
    let count = if app.filter.trim().is_empty() {
        String::new()
    } else {
        format!("· {} ", strings::hits(s.hits.len(), s.namespaces()))
    };
    let title = format!(" search /{}▏ {count}", esc(&app.filter));
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(app.theme.focus_border())
        .title(title)
        .title_bottom(Line::from(strings::SEARCH_KEYS).style(app.theme.dim()));
    let inner = block.inner(area);
    f.render_widget(Clear, area);
    let text = Paragraph::new(lines(app, inner.height as usize)).block(block);
    // Only the hint wraps: a hit is one line, so the highlight and scrolling stay exact.
    let text = if app.search.hits.is_empty() {
        text.wrap(Wrap { trim: true })
    } else {
        text
    };
    f.render_widget(text, area);
}

fn lines(app: &App, height: usize) -> Vec<Line<'static>> {
    let s = &app.search;
    if app.filter.trim().is_empty() {
        return vec![Line::from(Span::styled(
            strings::SEARCH_HINT,
            app.theme.dim(),
        ))];
    }
    let Some(snap) = &app.snapshot else {
        return vec![Line::raw(strings::LOADING)];
    };
    if s.hits.is_empty() {
        return vec![Line::from(Span::styled(
            strings::SEARCH_NONE,
            app.theme.warn(),
        ))];
    }
    // The highlighted hit stays on screen: the list scrolls under it.
    let first = s.selected.saturating_sub(height.saturating_sub(1));
    s.hits
        .iter()
        .enumerate()
        .skip(first)
        .take(height)
        .filter_map(|(i, hit)| Some((i, hit, snap.namespaces.get(hit.ns)?)))
        .map(|(i, hit, ns)| {
            let (place, what) = hit.describe(ns);
            let line = Line::from(vec![
                Span::styled(esc(&ns.name), app.theme.header()),
                Span::raw(" · "),
                Span::styled(place, app.theme.dim()),
                Span::raw(" · "),
                Span::raw(esc(&what)),
            ]);
            if i == s.selected {
                line.style(app.theme.selected())
            } else {
                line
            }
        })
        .collect()
}
