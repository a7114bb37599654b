//! Drawing the popups over the main view: help, details, the change menu, forms and plans.
//! Reads the app state, writes the frame; nothing here does I/O.

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::{popup, ActionKind, Form, Overlay};
use crate::ui::app::App;
use crate::ui::keymap::help_lines;
use crate::ui::strings;
use crate::ui::view::esc;

/// The open popup, if any, over the rest.
pub fn draw(f: &mut Frame, app: &App) {
    match &app.overlay {
        Overlay::None => {}
        Overlay::Menu(i) => draw_menu(f, app, *i),
        Overlay::Form(form) => draw_form(f, app, form),
        Overlay::Help | Overlay::Detail(..) | Overlay::Plan { .. } => {
            if let Some((title, want, lines)) = scrolled(app) {
                popup::draw_scrolled(f, app, title, lines, want);
            }
        }
    }
}

/// The text of a popup that scrolls (help, details, a plan or report): its title, the width
/// it asks for, and its lines.
fn scrolled(app: &App) -> Option<(String, u16, Vec<Line<'static>>)> {
    match &app.overlay {
        // Sized to their unwrapped lines, then wrapped to the room there is.
        Overlay::Help => {
            let want = popup::natural_width(&help(app, usize::MAX), 40);
            let lines = help(app, popup::inner_width(app, want));
            Some((strings::HELP_TITLE.into(), want, lines))
        }
        Overlay::Detail(title, fields) => {
            let want = popup::natural_width(&detail(app, fields, usize::MAX), 40);
            let lines = detail(app, fields, popup::inner_width(app, want));
            Some((esc(title), want, lines))
        }
        Overlay::Plan { title, text, plan } => {
            let can_apply = plan.is_some();
            // Reports were made for 100 columns; wider lines (a trace) get the room there is.
            let want = popup::natural_width(&plan_lines(app, text, can_apply, usize::MAX), 100);
            let lines = plan_lines(app, text, can_apply, popup::inner_width(app, want));
            Some((esc(title), want, lines))
        }
        _ => None,
    }
}

/// The width asked for and the lines of the open popup that scrolls, for its keys.
pub(super) fn scrolled_lines(app: &App) -> Option<(u16, Vec<Line<'static>>)> {
    scrolled(app).map(|(_, want, lines)| (want, lines))
}

fn draw_menu(f: &mut Frame, app: &App, selected: usize) {
    let ns = app
        .selected_namespace()
        .map(|n| n.name.clone())
        .unwrap_or_default();
    let lines: Vec<Line> = ActionKind::ALL
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let line = Line::from(vec![
                Span::styled(format!(" {}  ", k.key()), app.theme.header()),
                Span::raw(k.label()),
            ]);
            if i == selected {
                line.style(app.theme.selected())
            } else {
                line
            }
        })
        .collect();
    let area = popup::centered(f.area(), 60, lines.len() as u16 + 2);
    f.render_widget(Clear, area);
    let block = Block::new()
        .borders(Borders::ALL)
        .title(format!(" change {} (key or Enter; Esc closes) ", esc(&ns)));
    f.render_widget(Paragraph::new(lines).block(block), area);
}

/// Room for a value on a form's line (76 wide, less borders, label and cursor).
const FORM_VALUE_WIDTH: usize = 56;

/// The end of `value`, where typing happens, in at most `width` characters: a long value
/// (a pasted filter) must not wrap over the form's error and help lines.
fn tail(value: &str, width: usize) -> String {
    let n = value.chars().count();
    if n <= width {
        return value.to_string();
    }
    let rest: String = value.chars().skip(n - (width - 1)).collect();
    format!("…{rest}")
}

fn draw_form(f: &mut Frame, app: &App, form: &Form) {
    let mut lines: Vec<Line> = Vec::new();
    for (i, fl) in form.fields.iter().enumerate() {
        let cursor = if i == form.focus { "▏" } else { "" };
        let mut line = Line::from(vec![
            Span::styled(format!("{:<16}", fl.label), app.theme.header()),
            Span::raw(format!(
                "{}{cursor}",
                tail(&esc(&fl.value), FORM_VALUE_WIDTH)
            )),
        ]);
        if i == form.focus {
            line = line.style(app.theme.related());
        }
        lines.push(line);
        lines.push(Line::from(Span::styled(
            format!("{:16}{}", "", fl.hint),
            app.theme.dim(),
        )));
    }
    lines.push(Line::raw(""));
    if let Some(e) = &form.error {
        lines.push(Line::from(Span::styled(
            format!("! {}", esc(&e.to_string())),
            app.theme.warn(),
        )));
    }
    lines.push(Line::from(Span::styled(form.kind.keys(), app.theme.dim())));
    // As high as the wrapped text: a long error is read whole.
    let area = popup::sized(f.area(), 76, &lines);
    f.render_widget(Clear, area);
    let block = Block::new()
        .borders(Borders::ALL)
        .title(form.kind.title(&esc(&form.ns)));
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block),
        area,
    );
}

/// A plan's or report's lines wrapped to `width`, an indented line's next rows under its
/// text (a shell command stays a block).
fn plan_lines(app: &App, text: &[String], can_apply: bool, width: usize) -> Vec<Line<'static>> {
    let mut lines: Vec<Line> = text
        .iter()
        .flat_map(|t| {
            // Reports (path, dns) arrive escaped already; findings' titles do not.
            let t = crate::text::sanitize_line(t).into_owned();
            let style = if t.starts_with("     ") {
                // Shell commands, already quoted ($'…' for control characters).
                app.theme.header()
            } else {
                Style::new()
            };
            let body = t.trim_start_matches(' ');
            let indent = (t.len() - body.len()).min(width / 2);
            popup::hanging(Span::raw(" ".repeat(indent)), body, style, width)
        })
        .collect();
    if !can_apply {
        lines.push(Line::from(Span::styled(
            strings::ESC_CLOSES,
            app.theme.dim(),
        )));
    }
    lines
}

/// The help's lines wrapped to `width`: keys, then what they do.
fn help(app: &App, width: usize) -> Vec<Line<'static>> {
    help_lines()
        .flat_map(|(k, what)| {
            popup::hanging(
                Span::styled(format!("{k:<16}"), app.theme.header()),
                what,
                Style::new(),
                width,
            )
        })
        .collect()
}

/// A row's fields wrapped to `width`: name, then value.
fn detail(app: &App, fields: &[(String, String)], width: usize) -> Vec<Line<'static>> {
    fields
        .iter()
        .flat_map(|(k, v)| {
            popup::hanging(
                Span::styled(format!("{k:<10} "), app.theme.header()),
                &esc(v),
                Style::new(),
                width,
            )
        })
        .collect()
}
