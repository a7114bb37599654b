//! Popups sized to the terminal and scrolled: never wider or taller than the frame (a margin
//! stays around them), their text wrapped at word boundaries, and when it does not fit,
//! ↑ ↓ PgUp PgDn g G and the wheel move it, with "lines a–b of n" in the border. The
//! geometry is worked out from the frame the last resize saw, so a key's scroll and the
//! drawing agree.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::Overlay;
use crate::ui::app::App;
use crate::ui::keymap::Action;

/// Columns left free on either side of a popup, and rows above and below.
const MARGIN_X: u16 = 2;
const MARGIN_Y: u16 = 1;

/// Where a popup `w` wide and `h` high goes: centred, shrunk to leave the margin.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w
        .min(area.width.saturating_sub(2 * MARGIN_X))
        .max(1)
        .min(area.width);
    let h = h
        .min(area.height.saturating_sub(2 * MARGIN_Y))
        .max(1)
        .min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// Rows `lines` take wrapped inside a bordered box `width` wide.
fn wrapped_rows(lines: &[Line], width: u16) -> usize {
    Paragraph::new(lines.to_vec())
        .wrap(Wrap { trim: false })
        .line_count(width.saturating_sub(2).max(1))
}

/// A box for `lines` at most `want` columns wide, as high as their wrapped text (plus the
/// borders), within the frame's margin.
pub fn sized(frame: Rect, want: u16, lines: &[Line]) -> Rect {
    let w = centered(frame, want, 1).width;
    let rows = wrapped_rows(lines, w) as u16;
    centered(frame, w, rows.saturating_add(2))
}

/// The width a popup asks for: its widest line and the borders, at least `least`.
pub fn natural_width(lines: &[Line], least: u16) -> u16 {
    let widest = lines.iter().map(Line::width).max().unwrap_or(0);
    (widest as u16).saturating_add(2).max(least)
}

/// The text width inside a popup that asks for `want` columns on the last frame.
pub fn inner_width(app: &App, want: u16) -> usize {
    usize::from(centered(app.areas.frame, want, 1).width.saturating_sub(2))
}

/// `head` then `body` wrapped at word boundaries to `width`, its further lines indented to
/// where the body starts (the help's and the details' second column stays a column).
pub fn hanging(head: Span<'static>, body: &str, style: Style, width: usize) -> Vec<Line<'static>> {
    let indent = head.width();
    if width < indent + 12 {
        // Too narrow for two columns: the paragraph's own wrapping does it.
        return vec![Line::from(vec![
            head,
            Span::styled(body.to_string(), style),
        ])];
    }
    let mut out = Vec::new();
    let mut head = Some(head);
    for row in wrap_words(body, width - indent) {
        let first = head.take().unwrap_or_else(|| Span::raw(" ".repeat(indent)));
        out.push(Line::from(vec![first, Span::styled(row, style)]));
    }
    out
}

/// `s` in rows of at most `width` columns, broken between words (a word longer than a row
/// is broken where the row ends).
fn wrap_words(s: &str, width: usize) -> Vec<String> {
    let mut rows = vec![String::new()];
    for word in s.split(' ') {
        let row = rows.last_mut().expect("a row");
        let sep = usize::from(!row.is_empty());
        if row.width() + sep + word.width() <= width {
            if sep == 1 {
                row.push(' ');
            }
            row.push_str(word);
            continue;
        }
        // On a row of its own, broken where it is longer than one.
        if rows.last().is_some_and(String::is_empty) {
            rows.pop();
        }
        let mut cur = String::new();
        for ch in word.chars() {
            if !cur.is_empty() && cur.width() + ch.width().unwrap_or(0) > width {
                rows.push(std::mem::take(&mut cur));
            }
            cur.push(ch);
        }
        rows.push(cur);
    }
    rows
}

/// Where a scrolled popup of `lines` goes, how many rows its text takes and how many show.
fn geometry(frame: Rect, want: u16, lines: &[Line]) -> (Rect, usize, usize) {
    let area = sized(frame, want, lines);
    let total = wrapped_rows(lines, area.width);
    (area, total, area.height.saturating_sub(2) as usize)
}

/// Draws `lines` in a box titled `title`, scrolled to `app.popup_scroll`; a hint in the
/// lower border says which lines show when they do not all fit.
pub fn draw_scrolled(f: &mut Frame, app: &App, title: String, lines: Vec<Line>, want: u16) {
    let (area, total, shown) = geometry(f.area(), want, &lines);
    let top = app.popup_scroll.min(total.saturating_sub(shown));
    let mut block = Block::new().borders(Borders::ALL).title(title);
    if total > shown {
        let last = (top + shown).min(total);
        block = block.title_bottom(format!(
            " lines {}–{last} of {total} · ↑↓ PgUp PgDn g G ",
            top + 1
        ));
    }
    f.render_widget(Clear, area);
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((top.min(usize::from(u16::MAX)) as u16, 0))
            .block(block),
        area,
    );
}

/// Moves the open popup's text for a scrolling key; whether the key was one. Forms and the
/// menu keep ↑ ↓ for their fields.
pub fn scroll(app: &mut App, action: &Action) -> bool {
    let scrolls = matches!(
        app.overlay,
        Overlay::Help | Overlay::Detail(..) | Overlay::Plan { .. }
    );
    if !scrolls {
        return false;
    }
    let Some((want, lines)) = super::view::scrolled_lines(app) else {
        return false;
    };
    let (_, total, shown) = geometry(app.areas.frame, want, &lines);
    let max = total.saturating_sub(shown);
    let page = shown.saturating_sub(1).max(1);
    let now = app.popup_scroll.min(max);
    app.popup_scroll = match action {
        Action::Up | Action::ScrollUp => now.saturating_sub(1),
        Action::Down | Action::ScrollDown => (now + 1).min(max),
        Action::PageUp => now.saturating_sub(page),
        Action::PageDown => (now + page).min(max),
        Action::First | Action::FilterChar('g') => 0,
        Action::Last | Action::FilterChar('G') => max,
        _ => return false,
    };
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_wrap_whole_and_long_words_break() {
        assert_eq!(
            wrap_words("then the plan to confirm", 12),
            ["then the", "plan to", "confirm"]
        );
        assert_eq!(wrap_words("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        let lines = hanging(Span::raw("key  "), "one two three four", Style::new(), 17);
        let text: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        assert_eq!(text, ["key  one two", "     three four"]);
    }
}
