//! No crash on any input (issue 10, item 12): a capture filter nested 10,000 deep is one
//! error line on the CLI and an error in the TUI's form, with the TUI still running; and a
//! panic on any TUI thread leaves the terminal as it was (main screen, cooked mode with echo,
//! mouse reporting off, cursor shown). The TUI runs for real in tmux, in a throwaway world.

use crate::common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::tmux::{tmux, wait_for};
use common::world::{in_world, netlens_bin};

fn deep_filter() -> String {
    format!("{}tcp{}", "(".repeat(10_000), ")".repeat(10_000))
}

#[test]
fn deep_filter_on_the_cli_is_one_error_line() {
    in_world(
        "capture_limits::deep_filter_on_the_cli_is_one_error_line",
        || {
            for filter in [deep_filter(), "(".repeat(12_000), "! ".repeat(10_000)] {
                let out = Command::new(netlens_bin())
                    .args(["capture", "-i", "lo", "-c", "1", &filter])
                    .stdin(Stdio::null())
                    .output()
                    .unwrap();
                let err = String::from_utf8_lossy(&out.stderr);
                assert_eq!(out.status.code(), Some(2), "{:?}: {err}", out.status);
                assert_eq!(err.trim_end().lines().count(), 1, "{err}");
                assert!(err.contains("nested too deeply"), "{err}");
            }
        },
    );
}

/// Starts the TUI in tmux (with `env` before it) and opens a capture on `lo` in the Capture
/// tab; returns the screen once it is capturing.
fn tui_capturing_on_lo(env: &str) -> String {
    let cmd = format!(
        "{env} {}; echo EXIT=$?; stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e echo; sleep 60",
        netlens_bin().display()
    );
    tmux(&["new-session", "-d", "-x", "150", "-y", "30", &cmd]);
    let (s, ok) = wait_for(Duration::from_secs(10), |s| s.contains("host ("));
    assert!(ok, "TUI did not start:\n{s}");
    tmux(&["send-keys", "w", "l", "Enter"]);
    let (s, ok) = wait_for(Duration::from_secs(5), |s| {
        s.contains("capturing") || s.contains("EXIT=")
    });
    assert!(ok, "no capture started:\n{s}");
    s
}

/// The terminal as netlens found it: `alternate_on mouse_any_flag cursor_flag` of the pane.
fn pane_modes() -> String {
    tmux(&[
        "display",
        "-p",
        "#{alternate_on} #{mouse_any_flag} #{cursor_flag}",
    ])
    .trim()
    .to_string()
}

#[test]
fn deep_filter_in_the_tui_is_an_error_and_it_keeps_running() {
    in_world(
        "capture_limits::deep_filter_in_the_tui_is_an_error_and_it_keeps_running",
        || {
            tui_capturing_on_lo("");
            tmux(&["send-keys", "f"]);
            let (s, ok) = wait_for(Duration::from_secs(2), |s| s.contains("capture filter"));
            assert!(ok, "filter form did not open:\n{s}");
            // tmux refuses one command this long, and a terminal's input queue holds 4 KiB: type
            // it in pieces, as fast as a paste but no faster than the TUI reads.
            let typed = format!("{}tcp", "(".repeat(10_000));
            for piece in typed.as_bytes().chunks(1_000) {
                tmux(&["send-keys", "-l", std::str::from_utf8(piece).unwrap()]);
                std::thread::sleep(Duration::from_millis(300));
            }
            tmux(&["send-keys", "Enter"]);
            let t0 = Instant::now();
            let (s, ok) = wait_for(Duration::from_secs(20), |s| {
                s.contains("nested too deeply") || s.contains("EXIT=")
            });
            eprintln!("error shown after {:?}", t0.elapsed());
            assert!(
                ok && !s.contains("EXIT="),
                "no error shown, or it died:\n{s}"
            );
            // Still alive: the form closes and the tab is there.
            tmux(&["send-keys", "Escape"]);
            let (s, ok) = wait_for(Duration::from_secs(3), |s| !s.contains("nested too deeply"));
            assert!(ok && !s.contains("EXIT="), "{s}");
            tmux(&["send-keys", "q"]);
            let (s, ok) = wait_for(Duration::from_secs(5), |s| s.contains("EXIT="));
            assert!(ok && s.contains("EXIT=0"), "{s}");
            let _ = tmux(&["kill-server"]);
        },
    );
}

/// A crash on the capture thread (a trigger of the `test-hooks` feature: there is no natural
/// one left) ends netlens with its message, and the terminal is fully restored.
fn crash_restores_the_terminal(trigger: &str, exit: &str, says: &str) {
    let s = tui_capturing_on_lo(&format!("NETLENS_TEST_PANIC={trigger}"));
    let (s, ok) = if s.contains("EXIT=") {
        (s, true)
    } else {
        wait_for(Duration::from_secs(5), |s| s.contains("EXIT="))
    };
    assert!(ok, "netlens kept running after the crash:\n{s}");
    let (s, _) = wait_for(Duration::from_secs(2), |s| {
        s.lines().any(|l| l.trim() == "echo")
    });
    assert!(s.contains(says), "crash message not shown:\n{s}");
    assert!(s.contains(&format!("EXIT={exit}")), "{s}");
    let lines: Vec<&str> = s.lines().map(str::trim).collect();
    assert!(
        lines.contains(&"icanon") && lines.contains(&"echo"),
        "terminal left raw:\n{s}"
    );
    assert_eq!(
        pane_modes(),
        "0 0 1",
        "alternate screen, mouse capture, cursor"
    );
    let _ = tmux(&["kill-server"]);
}

#[test]
fn panic_on_a_tui_thread_restores_the_terminal() {
    common::world::require_test_hooks();
    in_world(
        "capture_limits::panic_on_a_tui_thread_restores_the_terminal",
        || {
            crash_restores_the_terminal("capture", "101", "panicked");
        },
    );
}

/// An abort runs no panic hook (a stack overflow ends that way): the SIGABRT handler gives the
/// terminal back before the process dies of the signal.
#[test]
fn abort_on_a_tui_thread_restores_the_terminal() {
    common::world::require_test_hooks();
    in_world(
        "capture_limits::abort_on_a_tui_thread_restores_the_terminal",
        || {
            crash_restores_the_terminal("capture-abort", "134", "Aborted");
        },
    );
}
