//! Drawing: the namespace list, the tab titles, the current tab's view (its component draws
//! it), the status line and the open popup. Views read `&App` only; where the panes are was
//! worked out by `update` from the frame's size (see `layout.rs`). Nothing here does I/O.

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, List, ListItem, ListState, Paragraph, Tabs};
use ratatui::Frame;

use super::app::{App, Focus, Source};
use super::components::{actions, capture, details, problems, search, topology};
use super::keymap::Action;
use super::strings;
use super::tabs::Tab;
use crate::model::{Namespace, NamespaceKind, NsStatus};

/// A string from the kernel, a file or a container, escaped for display (see `text::escape`).
pub(crate) fn esc(s: &str) -> String {
    crate::text::escape(s).into_owned()
}

/// One frame: the frame's size goes through `update` as a resize (it is an input like a
/// key: paging and the mouse need it), then everything is drawn from `&App`.
pub fn draw(f: &mut Frame, app: &mut App) {
    let area = f.area();
    app.update(Action::Resize {
        width: area.width,
        height: area.height,
    });
    render(f, app);
}

/// Draws the app into the areas its last resize worked out.
pub fn render(f: &mut Frame, app: &App) {
    draw_namespaces(f, app);
    draw_details(f, app);
    draw_status(f, app);
    search::view::draw(f, app);
    actions::view::draw(f, app);
    // Whatever a view forgot to escape never reaches the terminal raw.
    super::sanitize::sanitize_buffer(f.buffer_mut());
}

pub(crate) fn border(app: &App, focused: bool, title: String) -> Block<'static> {
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

/// The two marker columns, both shown at once: `!` where the doctor found an error or warning
/// or the namespace could not be read whole; `*` where something changed since the baseline
/// (marks on).
fn ns_marker(app: &App, ns: &Namespace) -> (&'static str, &'static str) {
    let problem = match ns.status {
        NsStatus::Ok if !app.ns_has_problem(&ns.name) => " ",
        _ => "!",
    };
    let changed = if app.ns_changed(&ns.name) { "*" } else { " " };
    (problem, changed)
}

fn draw_namespaces(f: &mut Frame, app: &App) {
    let title = if app.filtering || !app.filter.is_empty() {
        format!(
            " /{}{} ",
            esc(&app.filter),
            if app.filtering { "▏" } else { "" }
        )
    } else {
        strings::TITLE_NAMESPACES.to_string()
    };
    let block = border(app, app.focus == Focus::Namespaces, title);
    let theme = app.theme;
    let items: Vec<ListItem> = app
        .visible_namespaces()
        .iter()
        .map(|ns| {
            let (problem, changed) = ns_marker(app, ns);
            ListItem::new(Line::from(vec![
                Span::styled(problem, theme.warn()),
                Span::styled(changed, theme.flash()),
                Span::raw(ns_label(ns)),
            ]))
        })
        .collect();
    let mut state = ListState::default().with_selected(Some(app.ns_selected));
    let list = List::new(items)
        .block(block)
        .highlight_style(theme.selected());
    f.render_stateful_widget(list, app.areas.namespaces, &mut state);
}

fn draw_details(f: &mut Frame, app: &App) {
    // Titles only (the keys 1…9, 0 are in the help): ten numbered titles would not fit 150
    // columns.
    let titles: Vec<&str> = Tab::ALL.iter().map(|t| t.title()).collect();
    let tabs_widget = Tabs::new(titles)
        .select(app.tab.index())
        .highlight_style(app.theme.selected());
    f.render_widget(tabs_widget, app.areas.tabs);
    let area = app.areas.table;
    match app.tab {
        Tab::Topology => topology::draw(f, app, area),
        Tab::Problems => problems::draw(f, app, area),
        Tab::Capture => capture::draw(f, app, area),
        _ => details::draw(f, app, area),
    }
}

fn draw_status(f: &mut Frame, app: &App) {
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
    f.render_widget(
        Paragraph::new(line).style(app.theme.dim()),
        app.areas.status,
    );
}
