//! Taking the terminal over and giving it back, on every way out: a normal quit, an error,
//! a panic on any thread, and an abort (a stack overflow, an allocation failure), which runs no
//! panic hook. What is turned on here is turned off again: raw mode, the alternate screen,
//! mouse reporting, the hidden cursor.

use std::sync::OnceLock;

use crossterm::cursor::Show;
use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;
use crossterm::terminal::LeaveAlternateScreen;

/// Exit status after a panic, as Rust's own for a panicking main thread.
const PANIC_EXIT: i32 = 101;

/// Raw mode, alternate screen and mouse reporting on; a panic hook that undoes them all.
pub fn enter() -> ratatui::DefaultTerminal {
    on_abort_restore();
    // ratatui::init installs a hook that leaves raw mode and the alternate screen before
    // printing, but knows nothing of mouse reporting or the cursor: wrap it.
    let terminal = ratatui::init();
    let _ = execute!(std::io::stdout(), EnableMouseCapture);
    let ratatui_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !ends_the_tui() {
            // A panic the code catches by design (the collector's per-namespace workers mark
            // that namespace unreadable and go on): the TUI keeps running, so leave the
            // terminal alone and print nothing over the screen.
            return;
        }
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

/// Prefix of the TUI's own threads: a panic on one of them, or on the main thread, ends the
/// TUI. Threads netlens joins or guards with catch_unwind have other names (or none).
const TUI_THREAD: &str = "netlens-tui-";

fn ends_the_tui() -> bool {
    let me = std::thread::current();
    let name = me.name().unwrap_or("");
    name == "main" || name.starts_with(TUI_THREAD) || name == "netlens-capture"
}

/// Starts one of the TUI's threads, named so that a panic on it ends the TUI with the
/// terminal restored.
pub fn spawn(what: &str, f: impl FnOnce() + Send + 'static) {
    let name = format!("{TUI_THREAD}{what}");
    if let Err(e) = std::thread::Builder::new().name(name).spawn(f) {
        // As std::thread::spawn would, but through the hook above.
        panic!("cannot start the TUI's {what} thread: {e}");
    }
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

/// The terminal's settings before raw mode, for the abort handler.
static COOKED: OnceLock<libc::termios> = OnceLock::new();

/// What [`restore_on`] writes, as bytes a signal handler can write: mouse reporting off
/// (crossterm's DisableMouseCapture), cursor shown, alternate screen left.
const RESTORE_BYTES: &[u8] =
    b"\x1b[?1006l\x1b[?1015l\x1b[?1003l\x1b[?1002l\x1b[?1000l\x1b[?25h\x1b[?1049l";

/// On SIGABRT — Rust aborts after reporting a stack overflow, an allocation failure or a panic
/// during a panic, without running the panic hook — give the terminal back, then die of the
/// signal as before (the handler is reset first, so the abort proceeds).
fn on_abort_restore() {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    // SAFETY: tcgetattr only fills the termios it is given.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    if unsafe { libc::tcgetattr(libc::STDIN_FILENO, &mut t) } == 0 {
        let _ = COOKED.set(t);
    }
    extern "C" fn handler(sig: libc::c_int) {
        // Only async-signal-safe calls: write, tcsetattr, raise.
        // SAFETY: the buffer is a static; the termios was saved before raw mode.
        unsafe {
            let _ = libc::write(
                libc::STDOUT_FILENO,
                RESTORE_BYTES.as_ptr().cast(),
                RESTORE_BYTES.len(),
            );
            if let Some(t) = COOKED.get() {
                let _ = libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, t);
            }
            libc::raise(sig);
        }
    }
    let act = SigAction::new(
        SigHandler::Handler(handler),
        SaFlags::SA_RESETHAND | SaFlags::SA_ONSTACK,
        SigSet::empty(),
    );
    // SAFETY: the handler only makes async-signal-safe calls.
    unsafe {
        let _ = sigaction(Signal::SIGABRT, &act);
    }
}
