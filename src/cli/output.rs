//! Writing a command's report to stdout, and progress notes on stderr.
//!
//! [`print_report`]: the text made terminal-safe (JSON keeps its values), painted when colour
//! is on (never JSON), written and flushed; a closed pipe (`| head`) is not an error.
//!
//! [`Progress`]: one line on stderr saying what netlens is waiting for, overwritten in place
//! and cleared when the wait is over, so the report on stdout is never mixed with it. Shown
//! when stderr is a terminal, or when `NETLENS_PROGRESS` asks (`env::Settings::progress`).

use std::io::{IsTerminal, Write};
use std::sync::mpsc;
use std::time::Duration;

use crate::report::color::{self, Kind};

/// Writes a report (see the module doc).
pub fn print_report(text: &str, json: bool, kind: Kind) -> std::io::Result<()> {
    let text = crate::text::terminal_safe(text, json);
    let text = if json {
        text
    } else {
        color::paint_if_enabled(kind, &text).into_owned().into()
    };
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e),
        _ => Ok(()),
    }
}

/// Where progress notes go, decided once per command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// stderr is not a terminal and nothing asked: no notes.
    Off,
    /// A terminal: one line, rewritten in place and cleared after.
    Line,
    /// Asked for (`NETLENS_PROGRESS=always`) but not a terminal: whole lines, none cleared.
    Lines,
}

impl Progress {
    /// From the settings and whether stderr is a terminal.
    pub fn current() -> Progress {
        Self::choose(
            crate::env::current().progress,
            std::io::stderr().is_terminal(),
        )
    }

    pub fn choose(forced: Option<bool>, terminal: bool) -> Progress {
        match (forced, terminal) {
            (Some(false), _) | (None, false) => Progress::Off,
            (_, true) => Progress::Line,
            (Some(true), false) => Progress::Lines,
        }
    }

    /// Shows `what` (escaped: it may name a namespace or a server from a container's file).
    pub fn say(self, what: &str) {
        let what = crate::text::escape(what);
        let mut err = std::io::stderr().lock();
        let _ = match self {
            Progress::Off => Ok(()),
            Progress::Line => write!(err, "\r\x1b[K{what}"),
            Progress::Lines => writeln!(err, "{what}"),
        };
        let _ = err.flush();
    }

    /// Clears what [`say`](Self::say) left on a terminal line.
    pub fn clear(self) {
        if self == Progress::Line {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[K");
            let _ = err.flush();
        }
    }

    /// Runs `work`, saying `what` only if it takes more than a second (most reads are much
    /// faster, and a note that flashes by is noise).
    pub fn slow<T>(self, what: &str, work: impl FnOnce() -> T) -> T {
        if self == Progress::Off {
            return work();
        }
        let (done, wait) = mpsc::channel::<()>();
        std::thread::scope(|scope| {
            let note = scope.spawn(move || {
                let shown = wait.recv_timeout(Duration::from_secs(1)).is_err();
                if shown {
                    self.say(what);
                    let _ = wait.recv();
                    self.clear();
                }
            });
            let out = work();
            drop(done);
            let _ = note.join();
            out
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_only_on_a_terminal_unless_asked() {
        assert_eq!(Progress::choose(None, false), Progress::Off);
        assert_eq!(Progress::choose(None, true), Progress::Line);
        assert_eq!(Progress::choose(Some(true), false), Progress::Lines);
        assert_eq!(Progress::choose(Some(false), true), Progress::Off);
    }

    #[test]
    fn slow_work_returns_its_value() {
        assert_eq!(Progress::Lines.slow("quick", || 7), 7);
        assert_eq!(Progress::Off.slow("quick", || 8), 8);
    }
}
