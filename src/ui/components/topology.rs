//! The Topology tab: its state (the picture of the current snapshot with the doctor's
//! findings on it, built when the tab is shown, and the groups the user expanded), its keys
//! (Enter on a line expands a group or opens a namespace; `c` redraws the change marks), how
//! it follows the namespace chosen on the left, and its view (lines too wide end in `…`; the
//! marks come first on every line, so no width cuts them off).

use std::collections::HashSet;

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::diagnose::Severity;
use crate::ui::app::{App, Focus};
use crate::ui::effect::Effect;
use crate::ui::keymap::Action;
use crate::ui::strings;
use crate::ui::tabs::Tab;
use crate::ui::topo::{self, TopoLine};
use crate::ui::view::border;

#[derive(Debug, Default)]
pub struct TopologyTab {
    /// The picture of the current snapshot; built when the tab is shown and dropped when a
    /// new snapshot arrives.
    pub lines: Option<Vec<TopoLine>>,
    /// Collapsed groups of the picture the user expanded.
    pub expanded: HashSet<String>,
}

/// Builds the picture if its tab is shown and it is missing: with the doctor's findings
/// and, while change marks are on, the namespaces changed since the baseline.
pub fn ensure(app: &mut App) {
    if app.tab != Tab::Topology || app.topology.lines.is_some() {
        return;
    }
    let Some(snap) = &app.snapshot else {
        return;
    };
    let changed: HashSet<String> = snap
        .namespaces
        .iter()
        .filter(|n| app.ns_changed(&n.name))
        .map(|n| n.name.clone())
        .collect();
    let notes = topo::Notes {
        findings: &app.findings,
        changed: &changed,
    };
    let lines = topo::layout_marked(snap, notes, &app.topology.expanded);
    app.topology.lines = Some(lines);
}

/// Draws the picture again (the groups expanded, the marks on or off), keeping the
/// selected line in range.
fn rebuild(app: &mut App) {
    app.topology.lines = None;
    ensure(app);
    app.row_selected = app.row_selected.min(app.row_count().saturating_sub(1));
    app.keep_row_visible();
}

/// The Topology tab's keys; `None` for an action that is not its own.
pub fn update(app: &mut App, action: &Action) -> Option<Vec<Effect>> {
    match action {
        Action::Open if app.focus == Focus::Details => {
            enter(app);
            Some(Vec::new())
        }
        // The picture keeps a namespace that changed out of its folds: `c` redraws it.
        Action::ToggleChanges => {
            app.status = app.marks.toggle(app.snapshot.as_ref());
            rebuild(app);
            Some(Vec::new())
        }
        _ => None,
    }
}

/// Brings the selected namespace's first line into view.
pub fn follow_namespace(app: &mut App) {
    let Some(name) = app.selected_namespace().map(|n| n.name.clone()) else {
        return;
    };
    let hit = app
        .topology
        .lines
        .as_ref()
        .and_then(|t| t.iter().position(|l| l.ns.as_deref() == Some(&name)));
    if let Some(i) = hit {
        app.row_selected = i;
        app.keep_row_visible();
    }
}

/// Enter on a line of the picture: expand/collapse its group, or open its namespace.
fn enter(app: &mut App) {
    let Some(line) = app
        .topology
        .lines
        .as_ref()
        .and_then(|t| t.get(app.row_selected))
    else {
        return;
    };
    if let Some(key) = line.toggle.clone() {
        let t = &mut app.topology;
        if !t.expanded.remove(&key) {
            t.expanded.insert(key);
        }
        rebuild(app);
    } else if let Some(name) = line.ns.clone() {
        open_namespace(app, &name);
    }
}

/// Shows namespace `name`'s links, clearing a filter that hides it.
fn open_namespace(app: &mut App, name: &str) {
    if !app.visible_namespaces().iter().any(|n| n.name == name) {
        app.filter.clear();
    }
    if let Some(i) = app.visible_namespaces().iter().position(|n| n.name == name) {
        app.ns_selected = i;
    }
    app.tab = Tab::Links;
    app.focus = Focus::Details;
    app.reset_rows();
}

/// The picture of the whole node; only the lines on screen become widgets.
pub fn draw(f: &mut Frame, app: &App, area: Rect) {
    let focused = app.focus == Focus::Details;
    let theme = app.theme;
    let Some(lines) = &app.topology.lines else {
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
        " Topology · {namespaces} namespaces{} · line {}/{} ",
        problem_count(app),
        (app.row_selected + 1).min(lines.len()),
        lines.len()
    );
    let selected_ns = app.selected_namespace().map(|n| n.name.as_str());
    let start = app.row_offset.min(lines.len());
    let end = (start + app.page).min(lines.len());
    let room = usize::from(area.width.saturating_sub(2));
    let shown: Vec<Line> = lines[start..end]
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let spans: Vec<Span> = topo::fit(l, room)
                .into_iter()
                .map(|s| Span::styled(s.0, theme.tone(s.1)))
                .collect();
            let mut line = Line::from(spans);
            if focused && start + i == app.row_selected {
                line = line.style(theme.selected());
            } else if !focused && l.ns.is_some() && l.ns.as_deref() == selected_ns {
                line = line.style(theme.related());
            }
            line
        })
        .collect();
    // The selected line's findings in full, where the legend is: a narrow terminal cuts the
    // end of the line, where they are written.
    let selected = lines.get(app.row_selected).filter(|_| focused);
    let bottom = match selected.and_then(|l| l.note.as_ref()) {
        Some(note) => Line::from(vec![
            Span::raw(" "),
            Span::styled(note.0.clone(), theme.tone(note.1)),
            Span::raw(" "),
        ]),
        None => legend(app),
    };
    let block = border(app, focused, title).title_bottom(bottom);
    f.render_widget(Paragraph::new(shown).block(block), area);
}

/// ` · 1 error, 2 warnings` for the title; empty on a healthy node.
fn problem_count(app: &App) -> String {
    let count = |s: Severity| app.findings.iter().filter(|f| f.severity == s).count();
    let mut parts = Vec::new();
    for (s, word) in [(Severity::Error, "error"), (Severity::Warning, "warning")] {
        match count(s) {
            0 => {}
            1 => parts.push(format!("1 {word}")),
            n => parts.push(format!("{n} {word}s")),
        }
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" · {}", parts.join(", "))
    }
}

/// What the marks in the first two columns mean.
fn legend(app: &App) -> Line<'static> {
    let theme = app.theme;
    let mark = |s: Severity, tone: topo::Tone, word: &str| {
        vec![
            Span::styled(topo::severity_mark(s), theme.tone(tone)),
            Span::raw(format!(" {word}  ")),
        ]
    };
    let mut spans = vec![Span::raw(" ")];
    spans.extend(mark(Severity::Error, topo::Tone::Error, "error"));
    spans.extend(mark(Severity::Warning, topo::Tone::Warn, "warning"));
    spans.extend(mark(Severity::Info, topo::Tone::Info, "info"));
    spans.push(Span::styled("*", theme.tone(topo::Tone::Changed)));
    spans.push(Span::raw(" changed (c)  ◂ the finding (Problems tab) "));
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::test_support::{asset, press, saved};
    use crossterm::event::KeyCode;

    #[test]
    fn the_picture_is_built_when_shown_and_enter_opens_a_namespace() {
        let mut a = saved(asset("demo-bridge.json"));
        assert!(
            a.topology.lines.is_none(),
            "not built before the tab is shown"
        );
        assert!(press(&mut a, KeyCode::Char('t')).is_empty());
        let lines = a.topology.lines.clone().expect("built");
        let red = lines
            .iter()
            .position(|l| l.ns.as_deref() == Some("bridge-red") && l.toggle.is_none())
            .expect("a line of bridge-red");
        press(&mut a, KeyCode::Char('l'));
        for _ in 0..red {
            press(&mut a, KeyCode::Char('j'));
        }
        assert!(press(&mut a, KeyCode::Enter).is_empty());
        assert_eq!(a.tab, Tab::Links);
        assert_eq!(a.focus, Focus::Details);
        assert_eq!(
            a.selected_namespace().map(|n| n.name.as_str()),
            Some("bridge-red")
        );
    }

    #[test]
    fn choosing_a_namespace_on_the_left_follows_it_in_the_picture() {
        let mut a = saved(asset("demo-bridge.json"));
        press(&mut a, KeyCode::Char('t'));
        press(&mut a, KeyCode::Char('G'));
        let name = a.selected_namespace().expect("ns").name.clone();
        let line = &a.topology.lines.as_ref().expect("picture")[a.row_selected];
        assert_eq!(line.ns.as_deref(), Some(name.as_str()));
    }
}
