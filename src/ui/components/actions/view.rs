//! Drawing the popups over the main view: help, details, the change menu, forms and plans.
//! Reads the app state, writes the frame; nothing here does I/O.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::{ActionKind, Form, Overlay};
use crate::ui::app::App;
use crate::ui::keymap::help_lines;
use crate::ui::strings;
use crate::ui::view::esc;

/// The open popup, if any, over the rest.
pub fn draw(f: &mut Frame, app: &App) {
    match &app.overlay {
        Overlay::None => {}
        Overlay::Help => draw_help(f, app),
        Overlay::Detail(title, fields) => draw_detail(f, app, title, fields),
        Overlay::Menu(i) => draw_menu(f, app, *i),
        Overlay::Form(form) => draw_form(f, app, form),
        Overlay::Plan { title, text, plan } => draw_plan(f, app, title, text, plan.is_some()),
    }
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
    let area = centered(f.area(), 60, lines.len() as u16 + 2);
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
    let area = centered(
        f.area(),
        76,
        wrapped_height(&lines, 76.min(f.area().width)) + 2,
    );
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

/// Rows `lines` take wrapped inside a popup `width` wide (borders off): a refusal is shown
/// whole, never cut. Words wrap a little later than characters: one row spare when any wraps.
fn wrapped_height(lines: &[Line], width: u16) -> u16 {
    let inner = usize::from(width.saturating_sub(2)).max(1);
    let rows: usize = lines.iter().map(|l| l.width().max(1).div_ceil(inner)).sum();
    let spare = usize::from(rows > lines.len());
    u16::try_from(rows + spare).unwrap_or(u16::MAX)
}

fn draw_plan(f: &mut Frame, app: &App, title: &str, text: &[String], can_apply: bool) {
    let lines: Vec<Line> = text
        .iter()
        .map(|t| {
            if t.starts_with("     ") {
                // Shell commands, already quoted ($'…' for control characters).
                Line::from(Span::styled(
                    crate::text::sanitize_line(t).into_owned(),
                    app.theme.header(),
                ))
            } else {
                // Reports (path, dns) arrive escaped already; findings' titles do not.
                Line::raw(crate::text::sanitize_line(t).into_owned())
            }
        })
        .collect();
    let mut lines = lines;
    if !can_apply {
        lines.push(Line::from(Span::styled(
            strings::ESC_CLOSES,
            app.theme.dim(),
        )));
    }
    // Long explanations wrap: leave room for them.
    let area = centered(f.area(), 100, (lines.len() as u16 + 6).min(f.area().height));
    f.render_widget(Clear, area);
    let block = Block::new().borders(Borders::ALL).title(esc(title));
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block),
        area,
    );
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
    let lines: Vec<Line> = help_lines()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(format!("{k:<16}"), app.theme.header()),
                Span::raw(what),
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
                Span::raw(esc(v)),
            ])
        })
        .collect();
    let area = centered(f.area(), 90, lines.len() as u16 + 2);
    f.render_widget(Clear, area);
    let block = Block::new().borders(Borders::ALL).title(esc(title));
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block),
        area,
    );
}
