//! tmux on a socket of this world's own, so nothing of the machine's tmux is touched and two
//! worlds never share a server. The server lives in the world's PID namespace and dies with
//! it, but `/tmp` (where tmux keeps its sockets) is shared by every world running at once —
//! tests of one binary run in parallel, and other checkouts may run the same tests — so a
//! fixed name let one test's `kill-server` end another's session ("server exited
//! unexpectedly"). The name is made unique by the clock and the pid.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::world::{sh, try_sh};

/// This world's tmux socket name.
pub fn socket() -> &'static str {
    static SOCKET: OnceLock<String> = OnceLock::new();
    SOCKET.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        format!("netlens-test-{}-{nanos}", std::process::id())
    })
}

/// Runs `tmux -L SOCKET ARGS…` and returns its stdout (panics on failure, as `sh` does).
///
/// Starting a server can fail with "server exited unexpectedly" before anything of netlens
/// runs (the pane's command ends in `sleep 60`, so nothing in it stops the server): seen twice
/// in about forty CI runs, on loaded machines, never reproduced alone. Only that start is tried
/// again, at most twice, and each retry is printed; any other failure panics at once.
pub fn tmux(args: &[&str]) -> String {
    let mut argv = vec!["tmux", "-L", socket()];
    argv.extend_from_slice(args);
    if args.first() == Some(&"new-session") {
        for attempt in 1..3 {
            let out = try_sh(&argv);
            let err = String::from_utf8_lossy(&out.stderr);
            if !err.contains("server exited unexpectedly") {
                assert!(out.status.success(), "`{}` failed: {err}", argv.join(" "));
                return String::from_utf8_lossy(&out.stdout).into_owned();
            }
            eprintln!(
                "tmux new-session, attempt {attempt}: {}; trying again",
                err.trim()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    sh(&argv)
}

/// The pane's text now.
pub fn screen() -> String {
    tmux(&["capture-pane", "-p"])
}

/// Waits up to `limit` for `pred(screen)`; returns the last screen and whether it held.
pub fn wait_for(limit: Duration, pred: impl Fn(&str) -> bool) -> (String, bool) {
    let start = Instant::now();
    loop {
        let s = screen();
        if pred(&s) {
            return (s, true);
        }
        if start.elapsed() > limit {
            return (s, false);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
