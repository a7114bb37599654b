//! Escaping for terminal output.
//!
//! netlens prints names and file contents that a container or a local user chose: interface
//! and namespace names, process names, resolv.conf lines, iptables comments. Printed raw, an
//! ESC starts a terminal control sequence (clear the screen, retitle the window, fake a line),
//! a newline fabricates a whole line of output, and a bidi override reorders what the reader
//! sees. [`escape`] makes such a string inert and visible:
//!
//! - C0 controls and DEL: `\n`, `\r`, `\t` (a tab is harmless to the terminal but breaks the
//!   columns, and it is never part of a name: escaped like the rest), others as `\x1b`;
//! - C1 controls (U+0080–U+009F), bidi marks, embeddings, overrides and isolates (U+061C,
//!   U+200E/F, U+202A–U+202E, U+2066–U+2069) and the line/paragraph separators U+2028/9:
//!   `\u{202e}`;
//! - a backslash is doubled only when what follows it would otherwise read as one of these
//!   escapes (`\\`, `\x`, `\u`, `\n`, `\r`, `\t`, or a character that is itself escaped), so
//!   `C:\dir` and iptables' `\"` stay as they are while the output still decodes to exactly
//!   one input (the property tests check this with a decoder).
//!
//! Clean strings, nearly all of them, are returned borrowed. JSON output does not use this:
//! it keeps the raw value; serde_json escapes C0 controls itself and [`json_safe`] writes DEL,
//! C1 and bidi characters as `\u` escapes too. docs/terminal-output.md lists where each
//! function is used.
//!
//! [`sanitize_output`] is the backstop applied to a whole rendered report: it neutralises any
//! control character but the newline, for values a renderer forgot to escape. It does not
//! double backslashes (the renderer's escapes must survive it), so it is safe, not injective.

use std::borrow::Cow;
use std::fmt::Write;

/// True for characters that must never reach a terminal raw.
pub fn is_unsafe_char(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}'
        | '\u{7f}'..='\u{9f}'
        | '\u{61c}'
        // Zero-width and direction marks: they hide or reorder what a terminal shows.
        | '\u{200b}'..='\u{200f}'
        | '\u{2028}'..='\u{202e}'
        | '\u{2060}'..='\u{2069}'
        | '\u{feff}')
}

/// Letters that follow a backslash in an escape this module writes.
fn starts_escape(c: char) -> bool {
    matches!(c, '\\' | 'x' | 'u' | 'n' | 'r' | 't')
}

fn needs_work(s: &str) -> bool {
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if is_unsafe_char(c) {
            return true;
        }
        if c == '\\' {
            if let Some(&n) = chars.peek() {
                if starts_escape(n) || is_unsafe_char(n) {
                    return true;
                }
            }
        }
    }
    false
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) < 0x80 => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

/// `s` made safe and unambiguous for a terminal (see the module documentation).
pub fn escape(s: &str) -> Cow<'_, str> {
    if !needs_work(s) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if is_unsafe_char(c) {
            push_escaped(&mut out, c);
        } else if c == '\\'
            && chars
                .peek()
                .is_some_and(|&n| starts_escape(n) || is_unsafe_char(n))
        {
            out.push_str("\\\\");
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// [`escape`] as an owned `String`: error messages that quote a file (serde names the
/// variant or field it met, a path is whatever the user typed) stay one inert line.
pub fn escape_owned(s: &str) -> String {
    escape(s).into_owned()
}

/// A whole rendered text with every unsafe character but `\n` escaped, backslashes untouched:
/// the last line of defence before stdout/stderr.
pub fn sanitize_output(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c != '\n' && is_unsafe_char(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c != '\n' && is_unsafe_char(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// One line of text that may already hold this module's escapes (a rendered report shown
/// again, a quoted shell command): every unsafe character, newline included, escaped, and
/// backslashes left alone so existing escapes are not doubled. Safe, not injective.
pub fn sanitize_line(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe_char(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// JSON text made safe for a terminal without changing its value: serde_json escapes C0
/// controls itself but writes C1 controls and bidi characters raw; those become `\u202e`
/// escapes (they can only occur inside strings, so this never touches the structure).
pub fn json_safe(s: &str) -> Cow<'_, str> {
    // Most output is printable ASCII: a byte scan settles it (a snapshot of a kube-proxy node
    // is megabytes, and the char-by-char test was a tenth of its CPU).
    if s.bytes().all(|b| (0x20..0x7f).contains(&b) || b == b'\n') {
        return Cow::Borrowed(s);
    }
    if !s.chars().any(|c| c != '\n' && is_unsafe_char(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c != '\n' && is_unsafe_char(c) {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Any displayable value, escaped with [`escape`] when displayed: `format!("{}", Esc(&name))`.
pub struct Esc<T>(pub T);

impl<T: std::fmt::Display> std::fmt::Display for Esc<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.0.to_string();
        // `pad` keeps width/alignment specifiers (`{:<15}`) working for table columns.
        f.pad(&escape(&s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The inverse of `escape`, to prove it is unambiguous.
    pub(super) fn unescape(s: &str) -> Option<String> {
        let mut out = String::new();
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.peek().copied() {
                Some('\\') => {
                    chars.next();
                    out.push('\\');
                }
                Some('n') => {
                    chars.next();
                    out.push('\n');
                }
                Some('r') => {
                    chars.next();
                    out.push('\r');
                }
                Some('t') => {
                    chars.next();
                    out.push('\t');
                }
                Some('x') => {
                    chars.next();
                    let h: String = chars.by_ref().take(2).collect();
                    out.push(char::from_u32(u32::from_str_radix(&h, 16).ok()?)?);
                }
                Some('u') => {
                    chars.next();
                    if chars.next() != Some('{') {
                        return None;
                    }
                    let h: String = chars.by_ref().take_while(|&c| c != '}').collect();
                    out.push(char::from_u32(u32::from_str_radix(&h, 16).ok()?)?);
                }
                _ => out.push('\\'),
            }
        }
        Some(out)
    }

    #[test]
    fn clean_text_is_borrowed() {
        for s in [
            "eth0",
            "",
            "name: \\\"podman\\\"",
            "C:\\dir",
            "ünïcødé ⇄ ═",
            "a\\",
        ] {
            assert!(matches!(escape(s), Cow::Borrowed(_)), "{s:?}");
        }
    }

    #[test]
    fn controls_and_bidi_are_escaped() {
        assert_eq!(escape("e\u{1b}[2J"), "e\\x1b[2J");
        assert_eq!(
            escape("a\nb\r\tc\u{7}\u{8}\u{7f}"),
            "a\\nb\\r\\tc\\x07\\x08\\x7f"
        );
        assert_eq!(escape("x\u{9b}31m"), "x\\u{9b}31m");
        assert_eq!(escape("abc\u{202e}fed\u{2066}"), "abc\\u{202e}fed\\u{2066}");
    }

    #[test]
    fn backslashes_doubled_only_where_ambiguous() {
        assert_eq!(escape("\\x1b"), "\\\\x1b");
        assert_eq!(escape("\\\u{1b}"), "\\\\\\x1b");
        assert_eq!(escape("\\\\"), "\\\\\\");
        assert_eq!(unescape(&escape("\\\\")).as_deref(), Some("\\\\"));
        assert_eq!(escape("a\\\"b"), "a\\\"b");
    }

    #[test]
    fn display_wrapper_pads() {
        assert_eq!(format!("[{:<6}]", Esc("a\u{1b}")), "[a\\x1b ]");
        assert_eq!(format!("[{:<4}]", Esc("ab")), "[ab  ]");
    }

    #[test]
    fn json_stays_json_with_the_same_value() {
        let v = serde_json::json!({"name": "x\u{1b}[31m\u{9b}\u{202e}\n"});
        let text = serde_json::to_string_pretty(&v).unwrap();
        let safe = json_safe(&text);
        assert!(
            !safe.chars().any(|c| c != '\n' && is_unsafe_char(c)),
            "{safe}"
        );
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn json_safe_fast_path_is_the_slow_one() {
        assert!(matches!(json_safe("{\n  \"a\": 1\n}"), Cow::Borrowed(_)));
        assert!(matches!(json_safe("é ü"), Cow::Borrowed(_)));
        for (raw, want) in [
            ("a\tb", "a\\u0009b"),
            ("a\u{7f}", "a\\u007f"),
            ("\u{202e}x", "\\u202ex"),
        ] {
            assert_eq!(json_safe(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn sanitize_keeps_newlines_and_backslashes() {
        assert_eq!(sanitize_output("a\nb\u{1b}c\\x"), "a\nb\\x1bc\\x");
        assert!(matches!(sanitize_output("a\nb"), Cow::Borrowed(_)));
    }
}

#[cfg(test)]
mod props {
    use super::tests::unescape;
    use super::*;
    use proptest::prelude::*;

    fn nasty() -> impl Strategy<Value = String> {
        let ch = prop_oneof![
            any::<char>(),
            prop::sample::select(vec![
                '\\', 'x', 'u', 'n', 'r', 't', '{', '}', '1', 'b', '\u{1b}', '\n', '\r', '\t',
                '\u{7f}', '\u{85}', '\u{9b}', '\u{202e}', '\u{2066}', '\u{200f}', '"',
            ]),
        ];
        prop::collection::vec(ch, 0..24).prop_map(|v| v.into_iter().collect())
    }

    proptest! {
        #[test]
        fn escaped_text_has_no_unsafe_char(s in nasty()) {
            let e = escape(&s);
            prop_assert!(!e.chars().any(is_unsafe_char), "{:?} -> {:?}", s, e);
            let l = sanitize_line(&s);
            prop_assert!(!l.chars().any(is_unsafe_char));
            let o = sanitize_output(&s);
            prop_assert!(!o.chars().any(|c| c != '\n' && is_unsafe_char(c)));
        }

        #[test]
        fn escaping_is_unambiguous(s in nasty()) {
            prop_assert_eq!(unescape(&escape(&s)), Some(s.clone()));
        }

        #[test]
        fn clean_text_is_unchanged(s in "[a-zA-Z0-9 ./:\\-_\"]{0,30}") {
            prop_assert_eq!(escape(&s), s.as_str());
        }
    }
}
