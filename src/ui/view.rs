//! Drawing: reads the app state, writes the frame. Nothing here does I/O.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Block, Borders, Cell, List, ListItem, ListState, Paragraph, Row, Table, Tabs,
};
use ratatui::Frame;

use super::app::{status_text, App, Focus, Overlay, Source};
use super::popup_view::{draw_detail, draw_form, draw_help, draw_menu, draw_plan};
use super::strings;
use super::tabs::{self, Tab};
use crate::diagnose::Severity;
use crate::model::{Namespace, NamespaceKind, NsStatus};

/// A string from the kernel, a file or a container, escaped for display (see `text::escape`).
fn esc(s: &str) -> String {
    crate::text::escape(s).into_owned()
}

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
        Overlay::Menu(i) => draw_menu(f, app, *i),
        Overlay::Form(form) => draw_form(f, app, form),
        Overlay::Plan { title, text, plan } => draw_plan(f, app, title, text, plan.is_some()),
    }
    // Whatever a view forgot to escape never reaches the terminal raw.
    super::sanitize::sanitize_buffer(f.buffer_mut());
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
            .map(|p| format!(" {}", esc(&p.comm)))
            .unwrap_or_default(),
    };
    format!(
        "{}{kind} ({}l {}a)",
        esc(&ns.name),
        ns.links.len(),
        ns.addresses.len()
    )
}

/// `!` where the doctor found an error or warning, or the namespace could not be read whole.
fn ns_marker(app: &App, ns: &Namespace) -> &'static str {
    match ns.status {
        NsStatus::Ok if !app.ns_has_problem(&ns.name) => " ",
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
                ns_marker(app, ns)
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
    // Titles only (the keys 1…9, 0 are in the help): ten numbered titles would not fit 150
    // columns.
    let titles: Vec<&str> = Tab::ALL.iter().map(|t| t.title()).collect();
    let tabs_widget = Tabs::new(titles)
        .select(app.tab.index())
        .highlight_style(app.theme.selected());
    f.render_widget(tabs_widget, tabs_area);
    // Where each title landed, for mouse clicks: ratatui's Tabs pads each title with one
    // space on either side and puts a one-column divider between them.
    let mut x = tabs_area.x;
    app.tab_spans = Tab::ALL
        .iter()
        .map(|t| {
            let w = t.title().chars().count() as u16 + 2;
            let span = (x, x.saturating_add(w));
            x = x.saturating_add(w + 1);
            span
        })
        .collect();
    app.tabs_row = tabs_area.y;

    app.table_area = table_area;
    match app.tab {
        Tab::Topology => return draw_topology(f, app, table_area),
        Tab::Problems => return draw_problems(f, app, table_area),
        Tab::Capture => return draw_capture(f, app, table_area),
        _ => {}
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
    let title = format!(" {} · {} · {} rows ", esc(&ns.name), app.tab.title(), total);
    let block = border(app, focused, title);
    if let NsStatus::Gone | NsStatus::Inaccessible(_) = ns.status {
        let p = Paragraph::new(esc(&status_text(&ns.status)))
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

/// The doctor's findings for the whole node, most severe first.
fn draw_problems(f: &mut Frame, app: &mut App, area: Rect) {
    app.page = area.height.saturating_sub(3) as usize;
    let focused = app.focus == Focus::Details;
    let theme = app.theme;
    let n = app.findings.len();
    let errors = app
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let title =
        format!(" Problems · {errors} errors · {n} findings · Enter explains and offers the fix ");
    let block = border(app, focused, title);
    if n == 0 {
        let text = if app.snapshot.is_none() {
            strings::LOADING
        } else {
            strings::NO_PROBLEMS
        };
        f.render_widget(Paragraph::new(text).block(block), area);
        return;
    }
    let start = app.row_offset.min(n);
    let end = (start + app.page).min(n);
    let rows: Vec<Row> = app.findings[start..end]
        .iter()
        .enumerate()
        .map(|(i, fd)| {
            let mut style = match fd.severity {
                Severity::Error => theme.down(),
                Severity::Warning => theme.warn(),
                Severity::Info => theme.dim(),
            };
            if focused && start + i == app.row_selected {
                style = theme.selected();
            }
            Row::new([
                Cell::from(fd.severity.to_string()),
                Cell::from(esc(&fd.namespace)),
                Cell::from(esc(&format!("{} — {}", fd.id, fd.title))),
                Cell::from(if fd.fix.is_some() { "yes" } else { "" }),
            ])
            .style(style)
        })
        .collect();
    let widths = [
        Constraint::Length(8),
        Constraint::Length(18),
        Constraint::Min(30),
        Constraint::Length(4),
    ];
    let header =
        Row::new(Tab::Problems.header().iter().map(|h| Cell::from(*h))).style(theme.header());
    f.render_widget(Table::new(rows, widths).header(header).block(block), area);
}

/// The Capture tab: the capture on this namespace (packets, newest last, and its counters),
/// or its links to start one on.
fn draw_capture(f: &mut Frame, app: &mut App, area: Rect) {
    app.page = area.height.saturating_sub(3) as usize;
    let focused = app.focus == Focus::Details;
    let theme = app.theme;
    let Some(ns) = app.selected_namespace() else {
        return;
    };
    let ns_name = ns.name.clone();
    let start = app.row_offset;
    let (title, header, rows): (String, Vec<&str>, Vec<Vec<String>>) = match app.capture_shown() {
        Some(c) => {
            let state = if c.running { "capturing" } else { "stopped" };
            let title = format!(
                " {state} on {} in {} · {} · {} packets · {:.0}/s · kernel drops {} · not shown {} · x stop · f filter · Enter layers ",
                esc(&c.iface),
                esc(&c.ns),
                if c.filter.is_empty() { "all packets" } else { c.filter.as_str() },
                c.stats.matched,
                c.rate,
                c.stats.kernel_drops,
                c.stats.display_evicted,
            );
            let t0 = c.packets.front().map_or(0.0, |p| p.time);
            let rows = c
                .packets
                .iter()
                .skip(start)
                .take(app.page)
                .map(|p| {
                    vec![
                        p.number.to_string(),
                        format!("{:.6}", p.time - t0),
                        p.length.to_string(),
                        esc(&p.summary()),
                    ]
                })
                .collect();
            (title, Tab::Capture.header().to_vec(), rows)
        }
        None => {
            let title = format!(
                " Capture · {} · Enter captures on the selected link · f filter ({}) ",
                esc(&ns_name),
                if app.capture_filter.is_empty() {
                    "all packets"
                } else {
                    app.capture_filter.as_str()
                }
            );
            let rows = ns
                .links
                .iter()
                .skip(start)
                .take(app.page)
                .map(|l| {
                    vec![
                        l.index.to_string(),
                        esc(&l.name),
                        esc(&l.kind),
                        if tabs::link_is_down(l) {
                            "DOWN".into()
                        } else {
                            l.oper_state.clone()
                        },
                    ]
                })
                .collect();
            (title, vec!["#", "link", "kind", "state"], rows)
        }
    };
    let rows: Vec<Row> = rows
        .into_iter()
        .enumerate()
        .map(|(i, cells)| {
            let style = if focused && start + i == app.row_selected {
                theme.selected()
            } else {
                Style::new()
            };
            Row::new(cells.into_iter().map(Cell::from)).style(style)
        })
        .collect();
    let widths = [
        Constraint::Length(7),
        Constraint::Length(16),
        Constraint::Length(9),
        Constraint::Min(20),
    ];
    let header = Row::new(header.into_iter().map(Cell::from)).style(theme.header());
    let block = border(app, focused, title);
    f.render_widget(Table::new(rows, widths).header(header).block(block), area);
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
    let line = esc(&format!(
        " netlens · {host} · {source}{msg}{warn} · ? help · q quit"
    ));
    f.render_widget(Paragraph::new(line).style(app.theme.dim()), area);
}
