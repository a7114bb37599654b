//! Asking the person at the terminal, for the commands that change a network.

use std::io::{BufRead, IsTerminal, Write};
use std::os::fd::AsFd;
use std::time::Duration;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

pub fn stdin_is_tty() -> bool {
    std::io::stdin().is_terminal()
}

/// Prints `question [y/N] ` and reads one line; only `y`/`yes` is yes.
pub fn yes_no(question: &str) -> bool {
    print!("{question} [y/N] ");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() {
        return false;
    }
    matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// Prints `question` and waits up to `within` for a line; true only for `yes`. A silent
/// terminal (the SSH session this change just cut) answers no.
pub fn yes_within(question: &str, within: Duration) -> bool {
    print!("{question} ");
    let _ = std::io::stdout().flush();
    let stdin = std::io::stdin();
    let ms = u16::try_from(within.as_millis()).unwrap_or(u16::MAX);
    let mut fds = [PollFd::new(stdin.as_fd(), PollFlags::POLLIN)];
    match poll(&mut fds, PollTimeout::from(ms)) {
        Ok(n) if n > 0 => {
            let mut line = String::new();
            stdin.lock().read_line(&mut line).is_ok() && line.trim().eq_ignore_ascii_case("yes")
        }
        _ => {
            println!();
            false
        }
    }
}
