//! Drawing: the namespace list, the tab titles, the current tab's view (its component draws
//! it), the status line and the open popup. Views read `&App` only; where the panes are was
//! worked out by `update` from the frame's size (see `layout.rs`). Nothing here does I/O.

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, List, ListItem, ListState, Paragraph, Wrap};
use ratatui::Frame;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

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

/// A namespace's line in the list: what runs in it first (`c3 (podman)`, `default/web
/// (pod)`), else its name and, for one held only by a process, the process; then its counts.
/// The kernel name and ids are in its details (Enter).
fn ns_label(ns: &Namespace) -> String {
    format!("{} {}", ns_who(ns), ns_counts(ns))
}

/// What the list calls a namespace, without its counts.
fn ns_who(ns: &Namespace) -> String {
    match (&ns.workload, ns.kind) {
        (Some(w), _) => format!("{} ({})", esc(&w.display_name()), esc(w.what())),
        (None, NamespaceKind::Process) => match ns.processes.first() {
            Some(p) => format!("{} {}", esc(&ns.name), esc(&p.comm)),
            None => esc(&ns.name),
        },
        (None, NamespaceKind::Host | NamespaceKind::Named) => esc(&ns.name),
    }
}

fn ns_counts(ns: &Namespace) -> String {
    format!("({}l {}a)", ns.links.len(), ns.addresses.len())
}

/// The label in `room` columns. The name is what tells namespaces apart (`cluster-n1-pod1`
/// from `cluster-n2-pod1`), so the counts — also in each tab's title — give way first; a name
/// still too long is cut in its middle, keeping its start and its end (where generated names
/// differ).
fn ns_label_in(ns: &Namespace, room: usize) -> String {
    let full = ns_label(ns);
    if full.width() <= room {
        return full;
    }
    cut_middle(&ns_who(ns), room)
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

/// `s` in at most `width` columns: whole if it fits, else its start and its end with `…`
/// between (a third before, the rest after).
pub(crate) fn cut_middle(s: &str, width: usize) -> String {
    if s.width() <= width {
        return s.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let room = width - 1;
    let head_room = room / 3;
    let mut head = String::new();
    for ch in s.chars() {
        if head.width() + ch.width().unwrap_or(0) > head_room {
            break;
        }
        head.push(ch);
    }
    let tail_room = room - head.width();
    let mut tail: Vec<char> = Vec::new();
    let mut used = 0;
    for ch in s.chars().rev() {
        let w = ch.width().unwrap_or(0);
        if used + w > tail_room {
            break;
        }
        used += w;
        tail.push(ch);
    }
    tail.reverse();
    format!("{head}…{}", tail.into_iter().collect::<String>())
}

fn draw_namespaces(f: &mut Frame, app: &App) {
    if app.areas.namespaces.width == 0 {
        return;
    }
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
    let inner = usize::from(app.areas.namespaces.width.saturating_sub(2));
    // Only the rows that fit are built: a node's thousand namespaces each looked through
    // every finding for their `!` on every frame. The window is the one the list would
    // scroll to from the top (the selected row last when it is below the fold).
    let shown = app.visible_namespaces();
    let height = usize::from(app.areas.namespaces.height.saturating_sub(2)).max(1);
    let start = app.ns_list_start().min(shown.len());
    let items: Vec<ListItem> = shown[start..]
        .iter()
        .take(height)
        .map(|ns| {
            let (problem, changed) = ns_marker(app, ns);
            let room = inner.saturating_sub(problem.width() + changed.width());
            ListItem::new(Line::from(vec![
                Span::styled(problem, theme.warn()),
                Span::styled(changed, theme.flash()),
                Span::raw(ns_label_in(ns, room)),
            ]))
        })
        .collect();
    let mut state = ListState::default().with_selected(Some(app.ns_selected - start));
    let list = List::new(items)
        .block(block)
        .highlight_style(theme.selected());
    f.render_stateful_widget(list, app.areas.namespaces, &mut state);
}

fn draw_details(f: &mut Frame, app: &App) {
    draw_tab_bar(f, app);
    let area = app.areas.table;
    match app.tab {
        Tab::Topology => topology::draw(f, app, area),
        Tab::Problems => problems::draw(f, app, area),
        Tab::Capture => capture::draw(f, app, area),
        _ => details::draw(f, app, area),
    }
}

/// The tab titles where `layout.rs` placed them (the mouse reads the same spans): each with
/// its key, the active one highlighted, `‹`/`›` where titles are left out.
fn draw_tab_bar(f: &mut Frame, app: &App) {
    let areas = &app.areas;
    let mut spans = Vec::new();
    let mut x = areas.tabs.x;
    let pad = |spans: &mut Vec<Span<'static>>, x: &mut u16, to: u16, fill: &'static str| {
        if to > *x {
            spans.push(Span::raw(fill.repeat(usize::from(to - *x))));
            *x = to;
        }
    };
    if areas.tab_more.0 {
        spans.push(Span::styled("‹", app.theme.dim()));
        x += 1;
    }
    for (t, &(a, b)) in Tab::ALL.iter().zip(&areas.tab_spans) {
        if b <= a {
            continue;
        }
        // The divider between two titles.
        pad(&mut spans, &mut x, a, "│");
        let label: String = t.label().chars().take(usize::from(b - a)).collect();
        let style = if *t == app.tab {
            app.theme.selected()
        } else {
            Style::new()
        };
        spans.push(Span::styled(label, style));
        x = b;
    }
    if areas.tab_more.1 {
        spans.push(Span::styled("›", app.theme.dim()));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), areas.tabs);
}

/// The status line's text: where the data is from, the last message, the first warning.
pub fn status_line(app: &App) -> String {
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
    esc(&format!(
        " netlens · {host} · {source}{msg}{warn} · ? help · q quit"
    ))
}

/// Lines the status line takes wrapped at `width` (the layout gives it up to three).
pub fn status_lines(app: &App, width: u16) -> usize {
    Paragraph::new(status_line(app))
        .wrap(Wrap { trim: false })
        .line_count(width)
}

/// The status, wrapped over the lines the layout gave it (a long message is read whole).
fn draw_status(f: &mut Frame, app: &App) {
    f.render_widget(
        Paragraph::new(status_line(app))
            .wrap(Wrap { trim: false })
            .style(app.theme.dim()),
        app.areas.status,
    );
}

#[cfg(test)]
mod ns_label_tests {
    use super::ns_label;
    use crate::model::{Namespace, NamespaceKind, ProcessRef, Runtime, Workload, WorkloadKind};

    fn ns(kind: NamespaceKind, workload: Option<Workload>) -> Namespace {
        let mut ns = Namespace::new("netns-317be69c-c827-307f-4077-1".into(), kind, 9);
        ns.processes.push(ProcessRef {
            pid: 42,
            comm: "sleep".into(),
            container_id: None,
        });
        ns.workload = workload;
        ns
    }

    fn workload(kind: WorkloadKind, pod_ns: Option<&str>, name: &str) -> Option<Workload> {
        Some(Workload {
            kind,
            runtime: Runtime::Podman,
            name: name.into(),
            pod_namespace: pod_ns.map(Into::into),
            id: "31".repeat(32),
        })
    }

    #[test]
    fn the_workload_comes_first_and_the_kernel_name_only_without_one() {
        let c3 = ns(
            NamespaceKind::Named,
            workload(WorkloadKind::Container, None, "c3"),
        );
        assert_eq!(ns_label(&c3), "c3 (podman) (0l 0a)");
        let web = ns(
            NamespaceKind::Process,
            workload(WorkloadKind::Pod, Some("default"), "web"),
        );
        assert_eq!(ns_label(&web), "default/web (pod) (0l 0a)");
        let plain = ns(NamespaceKind::Named, None);
        assert_eq!(ns_label(&plain), "netns-317be69c-c827-307f-4077-1 (0l 0a)");
        let mut held = ns(NamespaceKind::Process, None);
        held.name = "pid:42".into();
        assert_eq!(ns_label(&held), "pid:42 sleep (0l 0a)");
        // Narrow, the counts give way before the name; then the name's middle.
        assert_eq!(
            super::ns_label_in(&plain, 40),
            "netns-317be69c-c827-307f-4077-1 (0l 0a)"
        );
        assert_eq!(
            super::ns_label_in(&plain, 31),
            "netns-317be69c-c827-307f-4077-1"
        );
        assert_eq!(super::ns_label_in(&plain, 12), "net…f-4077-1");
    }

    /// A name from a saved snapshot (not checked as the collector checks it) is escaped.
    #[test]
    fn a_hostile_name_is_escaped() {
        let evil = ns(
            NamespaceKind::Named,
            workload(WorkloadKind::Container, None, "c3\u{1b}[2J\nx"),
        );
        let label = ns_label(&evil);
        assert!(!label.chars().any(char::is_control), "{label:?}");
        assert!(label.starts_with("c3"), "{label:?}");
    }
}

#[cfg(test)]
mod ns_list_tests {
    use ratatui::backend::TestBackend;
    use ratatui::layout::Rect;
    use ratatui::widgets::{List, ListItem, ListState};
    use ratatui::Terminal;

    use super::{draw_namespaces, ns_label_in, ns_marker};
    use crate::diagnose::node_fixture::{node_snapshot, NodeShape};
    use crate::ui::keymap::Action;
    use crate::ui::test_support::live;

    /// The namespace pane as text.
    fn pane(area: Rect, draw: impl FnOnce(&mut ratatui::Frame)) -> Vec<String> {
        let mut t = Terminal::new(TestBackend::new(area.x + area.width, area.y + area.height))
            .expect("terminal");
        let frame = t.draw(draw).expect("draw");
        let buf = frame.buffer;
        (area.y..area.y + area.height)
            .map(|y| {
                (area.x..area.x + area.width)
                    .map(|x| buf[(x, y)].symbol())
                    .collect()
            })
            .collect()
    }

    /// Building only the rows that fit shows what ratatui shows scrolling the whole list
    /// (the oracle: every row built, a fresh state), wherever the selection is; and a
    /// click lands on the namespace drawn on the clicked line.
    #[test]
    fn the_windowed_list_is_the_whole_list_scrolled() {
        let mut app = live(node_snapshot(NodeShape::pods(300)));
        let area = app.areas.namespaces;
        let n = app.visible_namespaces().len();
        assert!(n > 300 && usize::from(area.height) < 100, "{n} in {area:?}");
        for sel in [0, 1, 25, 26, 27, 150, n - 2, n - 1] {
            app.ns_selected = sel;
            let got = pane(area, |f| draw_namespaces(f, &app));
            let want = pane(area, |f| {
                let inner = usize::from(area.width.saturating_sub(2));
                let items: Vec<ListItem> = app
                    .visible_namespaces()
                    .iter()
                    .map(|ns| {
                        let (p, c) = ns_marker(&app, ns);
                        ListItem::new(format!("{p}{c}{}", ns_label_in(ns, inner - 2)))
                    })
                    .collect();
                let block = super::border(&app, true, super::strings::TITLE_NAMESPACES.into());
                let mut state = ListState::default().with_selected(Some(sel));
                let list = List::new(items)
                    .block(block)
                    .highlight_style(app.theme.selected());
                f.render_stateful_widget(list, area, &mut state);
            });
            assert_eq!(got, want, "selected {sel}");
            // A click on the third line of rows selects the namespace drawn there.
            let row = area.y + 1 + 2;
            let drawn = got[usize::from(row - area.y)].trim_matches(['│', ' ', '!', '*']);
            app.update(Action::Click {
                column: area.x + 2,
                row,
            });
            let picked = app.visible_namespaces()[app.ns_selected];
            let label = ns_label_in(picked, usize::from(area.width) - 4);
            assert!(
                drawn.starts_with(label.trim()),
                "{drawn:?} vs {label:?} (selected {sel})"
            );
        }
    }
}
