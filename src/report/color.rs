//! Colour for the text reports on a terminal: severities, link states, verdicts, listening or
//! not. Reports stay plain text (tests and pipes read them); the painter adds the colour
//! afterwards, line by line, from the shape of lines this module's renderers write — after
//! the text was made terminal-safe, so the only escape sequences in the output are its own.
//!
//! Whether to paint is decided once by `main` ([`set`]: `--color`, `NO_COLOR`, stdout a
//! terminal); JSON is never painted.

use std::sync::atomic::{AtomicBool, Ordering};

use anstyle::{AnsiColor, Style};

static ON: AtomicBool = AtomicBool::new(false);

/// Turns colour on or off for the rest of the process (`main`, from `--color`).
pub fn set(on: bool) {
    ON.store(on, Ordering::Relaxed);
}

/// Whether text output is coloured.
pub fn enabled() -> bool {
    ON.load(Ordering::Relaxed)
}

/// Which report a text is, so its lines are read by their shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Doctor,
    Snapshot,
    Path,
    Trace,
    Ports,
    Dns,
}

const RED: Style = AnsiColor::Red.on_default().bold();
const YELLOW: Style = AnsiColor::Yellow.on_default().bold();
const GREEN: Style = AnsiColor::Green.on_default();
const GREEN_BOLD: Style = AnsiColor::Green.on_default().bold();
const CYAN: Style = AnsiColor::Cyan.on_default().bold();
const DIM: Style = Style::new().dimmed();
const BOLD: Style = Style::new().bold();

fn paint(style: Style, s: &str) -> String {
    format!("{}{s}{}", style.render(), style.render_reset())
}

/// `text` painted when colour is on ([`enabled`]), else as it is.
pub fn paint_if_enabled(kind: Kind, text: &str) -> std::borrow::Cow<'_, str> {
    if enabled() {
        paint_report(kind, text).into()
    } else {
        text.into()
    }
}

/// `text` painted as a report of `kind`.
pub fn paint_report(kind: Kind, text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    let mut section = Section::None;
    for line in text.split_inclusive('\n') {
        let (body, nl) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        let painted = match kind {
            Kind::Doctor => doctor_line(body, &mut section),
            Kind::Snapshot => snapshot_line(body),
            Kind::Path | Kind::Trace => path_line(body),
            Kind::Ports => ports_line(body),
            Kind::Dns => dns_line(body),
        };
        out.push_str(&painted.unwrap_or_else(|| body.to_string()));
        out.push_str(nl);
    }
    out
}

/// The doctor's severity group the lines belong to.
#[derive(Clone, Copy)]
enum Section {
    None,
    Severity(Style),
}

fn doctor_line(l: &str, section: &mut Section) -> Option<String> {
    if let Some(rest) = l.strip_prefix("== ") {
        let style = match rest.split_whitespace().next() {
            Some("errors") => RED,
            Some("warnings") | Some("incomplete:") => YELLOW,
            _ => CYAN,
        };
        *section = Section::Severity(style);
        return Some(paint(style, l));
    }
    if l.starts_with("doctor: no problems") {
        return Some(paint(GREEN_BOLD, l));
    }
    if l.starts_with("doctor: ") {
        return Some(paint(BOLD, l));
    }
    if let Some(cmd) = l.strip_prefix("      $ ") {
        return Some(format!("      {}", paint(DIM, &format!("$ {cmd}"))));
    }
    if let Some(rest) = l.strip_prefix("  fix: ") {
        return Some(format!("  {} {rest}", paint(GREEN_BOLD, "fix:")));
    }
    if l.starts_with("  no automatic fix") || l.starts_with("  after this fix") {
        return Some(paint(YELLOW, l));
    }
    // A finding's title: the first line of each finding, flush left, ending with its [id].
    match section {
        Section::Severity(style) if !l.starts_with(' ') && l.ends_with(']') => {
            Some(paint(*style, l))
        }
        _ => None,
    }
}

fn snapshot_line(l: &str) -> Option<String> {
    if l.starts_with("== ") {
        return Some(paint(CYAN, l));
    }
    if l.trim_start().starts_with("! ") || l.starts_with("warning: ") {
        return Some(paint(YELLOW, l));
    }
    // A link: `    IDX NAME KIND STATE mtu N …`: the word before ` mtu ` is its state.
    let at = l.find(" mtu ")?;
    let head = l[..at].trim_end();
    let start = head.rfind(' ')? + 1;
    let state = &head[start..];
    let style = match state {
        "UP" | "UNKNOWN" => GREEN,
        "DOWN" | "LOWERLAYERDOWN" | "NOTPRESENT" | "DORMANT" => RED,
        _ => return None,
    };
    Some(format!(
        "{}{}{}",
        &l[..start],
        paint(style, state),
        &l[start + state.len()..]
    ))
}

fn path_line(l: &str) -> Option<String> {
    let t = l.trim_start();
    let style = if t.starts_with("✓ ") {
        GREEN
    } else if t.starts_with("✗ ") {
        RED
    } else if t.starts_with("fix: netlens fix")
        || matches!(l, "the path delivers" | "the reply came back")
    {
        GREEN_BOLD
    } else if l == "the path is broken" || l.starts_with("no reply") || l.starts_with("refused: ") {
        RED
    } else if t.starts_with("? ") {
        YELLOW
    } else {
        return None;
    };
    Some(paint(style, l))
}

fn ports_line(l: &str) -> Option<String> {
    if l.trim_start().starts_with("! ") || l.starts_with("ports: problems") {
        return Some(paint(RED, l));
    }
    if l.starts_with("ports: every required port") {
        return Some(paint(GREEN_BOLD, l));
    }
    if l.starts_with("PORT ") {
        return Some(paint(BOLD, l));
    }
    // A row: `PORT PROTO COMPONENT LISTEN …` with LISTEN at column 44 when the columns fit.
    let listen = l.get(44..50)?;
    let style = match listen.trim_end() {
        "yes" => GREEN,
        "no" => RED,
        _ => return None,
    };
    Some(format!("{}{}{}", &l[..44], paint(style, listen), &l[50..]))
}

fn dns_line(l: &str) -> Option<String> {
    if l.starts_with("RESOLVED") {
        return Some(paint(GREEN_BOLD, l));
    }
    if l.starts_with("NOT RESOLVED") {
        return Some(paint(RED, l));
    }
    for (word, style) in [
        (": timeout", YELLOW),
        (": refused", RED),
        (": unreachable", RED),
        (": NXDOMAIN", YELLOW),
        (": SERVFAIL", RED),
        (": REFUSED", RED),
    ] {
        if let Some(at) = l.find(word) {
            let (a, b) = l.split_at(at + 2);
            let w = &word[2..];
            return Some(format!("{a}{}{}", paint(style, w), &b[w.len()..]));
        }
    }
    None
}

#[cfg(test)]
#[path = "color_tests.rs"]
mod tests;
