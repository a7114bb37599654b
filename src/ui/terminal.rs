//! Taking the terminal over and giving it back, on every way out: a normal quit, an error,
//! and a panic on any thread. What is turned on here is turned off again: raw mode, the
//! alternate screen, mouse reporting, the hidden cursor.

use crossterm::cursor::Show;
use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;
use crossterm::terminal::LeaveAlternateScreen;

/// Exit status after a panic, as Rust's own for a panicking main thread.
const PANIC_EXIT: i32 = 101;

/// Raw mode, alternate screen and mouse reporting on; a panic hook that undoes them all.
pub fn enter() -> ratatui::DefaultTerminal {
    // ratatui::init installs a hook that leaves raw mode and the alternate screen before
    // printing, but knows nothing of mouse reporting or the cursor: wrap it.
    let terminal = ratatui::init();
    let _ = execute!(std::io::stdout(), EnableMouseCapture);
    let ratatui_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // Held until the process ends: the render loop, still running on the main thread
        // when another thread panics, must not draw (and hide the cursor) after this.
        let mut out = std::io::stdout().lock();
        restore_on(&mut out);
        ratatui_hook(info);
        // A panic on a worker thread would leave the render loop drawing on a terminal that
        // is no longer the TUI's: end the process, as a panic on the main thread would.
        std::process::exit(PANIC_EXIT);
    }));
    terminal
}

/// Everything [`enter`] turned on, off again, written to `out` (stdout, locked or not). Safe
/// to call more than once.
fn restore_on(out: &mut impl std::io::Write) {
    let _ = execute!(out, DisableMouseCapture, Show, LeaveAlternateScreen);
    let _ = crossterm::terminal::disable_raw_mode();
}

/// After a normal exit or an error: the terminal back, and panics reported as usual again.
pub fn leave() {
    restore_on(&mut std::io::stdout());
    ratatui::restore();
    let _ = std::panic::take_hook();
}
