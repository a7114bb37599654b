//! Error messages about a file quote the file: serde names the unknown variant or field it
//! met, and a path is whatever the user typed. A newline or a terminal escape in there would
//! split the one error line or reach the terminal raw, so messages pass through [`one_line`].

/// `text` with control and bidirectional-format characters written as escapes (`\n`, `\x1b`,
/// `\u{202e}`); everything else, non-ASCII letters included, unchanged.
pub fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x100 && c.is_control() => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() || is_format(c) => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

/// Zero-width and direction-changing characters, which reorder or hide what a terminal shows.
fn is_format(c: char) -> bool {
    matches!(c as u32, 0x200b..=0x200f | 0x2028..=0x202e | 0x2060..=0x2069 | 0xfeff)
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn controls_are_escaped_and_letters_kept() {
        assert_eq!(
            one_line("a\nb\u{1b}[2J\tç\u{202e}"),
            "a\\nb\\x1b[2J\\tç\\u{202e}"
        );
        assert_eq!(one_line("\u{9b}"), "\\x9b");
    }
}
