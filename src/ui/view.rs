//! Drawing: reads the app state, writes the frame. Nothing here does I/O.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Block, Borders, Cell, Clear, List, ListItem, ListState, Paragraph, Row, Table, Tabs, Wrap,
};
use ratatui::Frame;

use super::app::{status_text, App, Focus, Overlay, Source};
use super::strings;
use super::tabs::{self, Tab};
use crate::model::{Namespace, NamespaceKind, NsStatus};

pub fn draw(f: &mut Frame, app: &mut App) {
    let [main, status] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(f.area());
    let [left, right] =
        Layout::horizontal([Constraint::Length(34), Constraint::Min(20)]).areas(main);
    draw_namespaces(f, app, left);
    draw_details(f, app, right);
    draw_status(f, app, status);
    match &app.overlay {
        Overlay::None => {}
        Overlay::Help => draw_help(f, app),
        Overlay::Detail(title, fields) => draw_detail(f, app, title, fields),
    }
}

fn border(app: &App, focused: bool, title: String) -> Block<'static> {
    let style = if focused {
        app.theme.focus_border()
    } else {
        Style::new()
    };
    Block::new()
        .borders(Borders::ALL)
        .border_style(style)
        .title(title)
}

fn ns_label(ns: &Namespace) -> String {
    let kind = match ns.kind {
        NamespaceKind::Host => String::new(),
        NamespaceKind::Named => String::new(),
        NamespaceKind::Process => ns
            .processes
            .first()
            .map(|p| format!(" {}", p.comm))
            .unwrap_or_default(),
    };
    format!(
        "{}{kind} ({}l {}a)",
        ns.name,
        ns.links.len(),
        ns.addresses.len()
    )
}

/// Something an on-call engineer should look at (the doctor will refine this).
fn ns_marker(ns: &Namespace) -> &'static str {
    match ns.status {
        NsStatus::Ok => {
            let down = ns
                .links
                .iter()
                .any(|l| l.kind != "loopback" && tabs::link_is_down(l));
            if down {
                "!"
            } else {
                " "
            }
        }
        _ => "!",
    }
}

fn draw_namespaces(f: &mut Frame, app: &mut App, area: Rect) {
    app.ns_area = area;
    let title = if app.filtering || !app.filter.is_empty() {
        format!(" /{}{} ", app.filter, if app.filtering { "▏" } else { "" })
    } else {
        strings::TITLE_NAMESPACES.to_string()
    };
    let block = border(app, app.focus == Focus::Namespaces, title);
    let theme = app.theme;
    let items: Vec<ListItem> = app
        .visible_namespaces()
        .iter()
        .map(|ns| {
            let marker = if app.ns_changed(&ns.name) {
                "*"
            } else {
                ns_marker(ns)
            };
            let style = if marker == "!" {
                theme.warn()
            } else {
                Style::new()
            };
            ListItem::new(Line::from(vec![
                Span::styled(marker, style),
                Span::raw(ns_label(ns)),
            ]))
        })
        .collect();
    let mut state = ListState::default().with_selected(Some(app.ns_selected));
    let list = List::new(items)
        .block(block)
        .highlight_style(theme.selected());
    f.render_stateful_widget(list, area, &mut state);
}

fn draw_details(f: &mut Frame, app: &mut App, area: Rect) {
    let [tabs_area, table_area] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(3)]).areas(area);
    let titles: Vec<String> = Tab::ALL
        .iter()
        .enumerate()
        .map(|(i, t)| format!("{} {}", i + 1, t.title()))
        .collect();
    let tabs_widget = Tabs::new(titles)
        .select(app.tab.index())
        .highlight_style(app.theme.selected());
    f.render_widget(tabs_widget, tabs_area);
    // Where each title landed, for mouse clicks: ratatui's Tabs pads each title with one
    // space on either side and puts a one-column divider between them.
    let mut x = tabs_area.x;
    app.tab_spans = Tab::ALL
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let w = format!("{} {}", i + 1, t.title()).chars().count() as u16 + 2;
            let span = (x, x.saturating_add(w));
            x = x.saturating_add(w + 1);
            span
        })
        .collect();
    app.tabs_row = tabs_area.y;

    app.table_area = table_area;
    if app.tab == Tab::Topology {
        draw_topology(f, app, table_area);
        return;
    }
    // Borders (2) and the header row (1).
    app.page = table_area.height.saturating_sub(3) as usize;
    let focused = app.focus == Focus::Details;
    let Some(ns) = app.selected_namespace() else {
        let text = if app.snapshot.is_none() {
            strings::LOADING
        } else {
            "no namespace matches the filter"
        };
        f.render_widget(
            Paragraph::new(text).block(border(app, focused, String::new())),
            table_area,
        );
        return;
    };
    let total = tabs::row_count(ns, app.tab);
    let title = format!(" {} · {} · {} rows ", ns.name, app.tab.title(), total);
    let block = border(app, focused, title);
    if let NsStatus::Gone | NsStatus::Inaccessible(_) = ns.status {
        let p = Paragraph::new(status_text(&ns.status))
            .style(app.theme.warn())
            .block(block);
        f.render_widget(p, table_area);
        return;
    }
    // Only the rows on screen are formatted: a 10,000-route table costs one page.
    let start = app.row_offset.min(total);
    let end = (start + app.page).min(total);
    let theme = app.theme;
    let tab = app.tab;
    let keys = tabs::row_keys(ns, tab, start..end);
    let rows: Vec<Row> = tabs::rows(ns, tab, start..end)
        .into_iter()
        .enumerate()
        .map(|(i, mut cells)| {
            let mut row_style = Style::new();
            let (marked, flashing) = keys
                .get(i)
                .and_then(|k| k.as_ref())
                .map(|(kind, key)| app.row_mark(&ns.name, *kind, key))
                .unwrap_or((false, false));
            if marked {
                if let Some(first) = cells.first_mut() {
                    *first = format!("*{first}");
                }
            }
            if flashing {
                row_style = theme.flash();
            }
            if tab == Tab::Links
                && cells
                    .get(3)
                    .is_some_and(|s| s == "DOWN" || s == "LOWERLAYERDOWN")
            {
                row_style = theme.down();
            }
            if focused && start + i == app.row_selected {
                row_style = theme.selected();
            }
            Row::new(cells.into_iter().map(Cell::from)).style(row_style)
        })
        .collect();
    let widths: Vec<Constraint> = tab
        .widths()
        .iter()
        .enumerate()
        .map(|(i, w)| {
            if i + 1 == tab.widths().len() {
                Constraint::Min(*w)
            } else {
                Constraint::Length(*w)
            }
        })
        .collect();
    let header = Row::new(tab.header().iter().map(|h| Cell::from(*h))).style(theme.header());
    f.render_widget(
        Table::new(rows, widths).header(header).block(block),
        table_area,
    );
}

/// The picture of the whole node; only the lines on screen become widgets.
fn draw_topology(f: &mut Frame, app: &mut App, area: Rect) {
    // Borders only: the picture has no header row.
    app.page = area.height.saturating_sub(2) as usize;
    let focused = app.focus == Focus::Details;
    let theme = app.theme;
    let Some(lines) = &app.topo else {
        let text = if app.snapshot.is_none() {
            strings::LOADING
        } else {
            ""
        };
        f.render_widget(
            Paragraph::new(text).block(border(app, focused, String::new())),
            area,
        );
        return;
    };
    let namespaces = app.snapshot.as_ref().map_or(0, |s| s.namespaces.len());
    let title = format!(
        " Topology · {namespaces} namespaces · line {}/{} ",
        (app.row_selected + 1).min(lines.len()),
        lines.len()
    );
    let selected_ns = app.selected_namespace().map(|n| n.name.as_str());
    let start = app.row_offset.min(lines.len());
    let end = (start + app.page).min(lines.len());
    let shown: Vec<Line> = lines[start..end]
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let mut line = Line::from(
                l.segs
                    .iter()
                    .map(|seg| Span::styled(seg.0.clone(), theme.tone(seg.1)))
                    .collect::<Vec<_>>(),
            );
            if focused && start + i == app.row_selected {
                line = line.style(theme.selected());
            } else if !focused && l.ns.is_some() && l.ns.as_deref() == selected_ns {
                line = line.style(theme.related());
            }
            line
        })
        .collect();
    let block = border(app, focused, title);
    f.render_widget(Paragraph::new(shown).block(block), area);
}

fn draw_status(f: &mut Frame, app: &App, area: Rect) {
    let source = match &app.source {
        Source::Live => "live".to_string(),
        Source::File(p) => format!("snapshot {} (read-only)", p.display()),
    };
    let host = app
        .snapshot
        .as_ref()
        .map(|s| s.hostname.clone())
        .unwrap_or_default();
    let warn = app
        .snapshot
        .as_ref()
        .and_then(|s| s.warnings.first().cloned())
        .map(|w| format!(" · ! {w}"))
        .unwrap_or_default();
    let msg = if app.status.is_empty() {
        String::new()
    } else {
        format!(" · {}", app.status)
    };
    let line = format!(" netlens · {host} · {source}{msg}{warn} · ? help · q quit");
    f.render_widget(Paragraph::new(line).style(app.theme.dim()), area);
}

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

fn draw_help(f: &mut Frame, app: &App) {
    let lines: Vec<Line> = strings::HELP
        .iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(format!("{k:<16}"), app.theme.header()),
                Span::raw(*what),
            ])
        })
        .collect();
    let area = centered(f.area(), 84, lines.len() as u16 + 2);
    f.render_widget(Clear, area);
    let block = Block::new()
        .borders(Borders::ALL)
        .title(strings::HELP_TITLE);
    f.render_widget(Paragraph::new(lines).block(block), area);
}

fn draw_detail(f: &mut Frame, app: &App, title: &str, fields: &[(String, String)]) {
    let lines: Vec<Line> = fields
        .iter()
        .map(|(k, v)| {
            Line::from(vec![
                Span::styled(format!("{k:<10} "), app.theme.header()),
                Span::raw(v.clone()),
            ])
        })
        .collect();
    let area = centered(f.area(), 90, lines.len() as u16 + 2);
    f.render_widget(Clear, area);
    let block = Block::new().borders(Borders::ALL).title(title.to_string());
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block),
        area,
    );
}
