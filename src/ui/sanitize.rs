//! The TUI's last line of defence against terminal injection: before a frame is flushed, any
//! cell whose symbol holds a control, C1 or bidi character (a string a view did not escape) is
//! replaced by `�`. ratatui 0.30 drops an ESC or a newline from a span (leaving the rest of the
//! sequence, `[2J`, as text), but a block title or a list item keeps C1 controls and bidi
//! overrides (see the test); the views escape names themselves so they read as `\x1b[2J`.

use ratatui::buffer::Buffer;

use crate::text::escape::is_unsafe_char;

pub fn sanitize_buffer(buf: &mut Buffer) {
    for cell in &mut buf.content {
        if cell.symbol().chars().any(is_unsafe_char) {
            cell.set_symbol("\u{fffd}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;
    use ratatui::style::Style;

    #[test]
    fn no_cell_keeps_an_unsafe_character() {
        let area = Rect::new(0, 0, 30, 5);
        let mut buf = Buffer::empty(area);
        // Measured with ratatui 0.30: set_string and Paragraph drop these characters, a block
        // title and a list item keep bidi and C1 characters.
        buf.set_string(0, 0, "a\u{1b}[2Jb\u{202e}c\u{9b}d\u{7}", Style::new());
        ratatui::widgets::Widget::render(
            ratatui::widgets::Block::bordered().title("x\u{202e}y\u{9b}z"),
            Rect::new(0, 1, 30, 3),
            &mut buf,
        );
        ratatui::widgets::Widget::render(
            ratatui::widgets::List::new(["li\u{202e}x\u{85}"]),
            Rect::new(0, 4, 30, 1),
            &mut buf,
        );
        let before: String = buf.content.iter().map(|c| c.symbol()).collect();
        assert!(
            before.chars().any(is_unsafe_char),
            "ratatui now filters: {before:?}"
        );
        sanitize_buffer(&mut buf);
        let after: String = buf.content.iter().map(|c| c.symbol()).collect();
        assert!(!after.chars().any(is_unsafe_char), "{after:?}");
        assert!(after.starts_with("a[2J"), "{after:?}");
    }
}
