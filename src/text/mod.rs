//! Text that reaches a terminal: counted nouns (`words`), natural order (`natural`), and escaping of strings from the kernel, from files or from a
//! container before they are printed (see `escape`).
pub mod escape;
pub mod natural;
pub mod words;

pub use escape::{escape, escape_owned, json_safe, sanitize_line, sanitize_output, Esc};
pub use natural::natural_cmp;
pub use words::{noun, plural, plural_of};

/// Text output built line by line: each line is escaped whole before its `\n`, so a newline or
/// an ESC inside any value it holds (a namespace name, a comment) stays inside that line.
pub trait PushLine {
    fn push_line(&mut self, line: &str);
}

impl PushLine for String {
    fn push_line(&mut self, line: &str) {
        self.push_str(&escape(line));
        self.push('\n');
    }
}

/// `put!(out, "fmt", args…)`: like `writeln!` into a `String`, with the line escaped
/// (see [`PushLine`]).
#[macro_export]
macro_rules! put {
    ($out:expr, $($arg:tt)*) => {{
        use $crate::text::PushLine as _;
        $out.push_line(&format!($($arg)*))
    }};
}

/// `outln!("fmt", args…)`: `println!` with the line escaped whole (one line of output, however
/// many newlines its values hold).
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {
        println!("{}", $crate::text::escape(&format!($($arg)*)))
    };
}

/// `errln!`: `eprintln!` with the line escaped whole, for messages naming untrusted values.
#[macro_export]
macro_rules! errln {
    ($($arg:tt)*) => {
        eprintln!("{}", $crate::text::escape(&format!($($arg)*)))
    };
}

/// A whole report about to be written to stdout: JSON made terminal-safe with the same value,
/// text through the newline-keeping backstop.
pub fn terminal_safe(text: &str, json: bool) -> std::borrow::Cow<'_, str> {
    if json {
        json_safe(text)
    } else {
        sanitize_output(text)
    }
}
