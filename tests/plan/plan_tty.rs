//! `netlens apply` at a terminal (tmux inside a throwaway world): it asks y/N before changing
//! anything, and with --confirm-within it asks to keep the change and rolls back when nobody
//! answers in time.

use crate::common;

use std::time::{Duration, Instant};

use common::plan::{assert_same, private_state, snap};
use common::tmux::tmux;
use common::world::{in_world, netlens_bin, sh};

fn wait_for(limit: Duration, needle: &str) -> String {
    let start = Instant::now();
    loop {
        let s = tmux(&["capture-pane", "-p"]);
        if s.contains(needle) {
            return s;
        }
        assert!(start.elapsed() < limit, "never saw {needle:?}:\n{s}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Starts `netlens apply FILE --confirm-within 2` in a fresh tmux session and waits for the
/// y/N question.
fn start(file: &str, first: bool) {
    if !first {
        tmux(&["kill-session"]);
    }
    let cmd = format!(
        "NETLENS_STATE_DIR={} {} apply {file} --confirm-within 2; echo EXIT=$?; sleep 60",
        std::env::var("NETLENS_STATE_DIR").unwrap(),
        netlens_bin().display()
    );
    tmux(&["new-session", "-d", "-x", "200", "-y", "40", &cmd]);
    wait_for(Duration::from_secs(10), "[y/N]");
}

#[test]
fn terminal_asks_before_and_after() {
    in_world("plan_tty::terminal_asks_before_and_after", || {
        let state = private_state();
        sh(&["ip", "netns", "add", "red"]);
        let file = state.path().join("p.json");
        std::fs::write(
            &file,
            r#"{"steps": [{"step": "add_bridge", "ns": "red", "name": "br0"}]}"#,
        )
        .unwrap();
        let file = file.display().to_string();
        let before = snap();

        // No: nothing changes.
        start(&file, true);
        tmux(&["send-keys", "n", "Enter"]);
        let s = wait_for(Duration::from_secs(5), "EXIT=");
        assert!(s.contains("nothing changed") && s.contains("EXIT=1"), "{s}");
        assert_same("declined", &before, &snap());

        // Yes, then silence: rolled back when the time is up.
        start(&file, false);
        tmux(&["send-keys", "y", "Enter"]);
        wait_for(Duration::from_secs(5), "Keep this change?");
        let s = wait_for(Duration::from_secs(6), "EXIT=");
        assert!(s.contains("rolled back") && s.contains("EXIT=1"), "{s}");
        assert_same("not confirmed", &before, &snap());

        // Yes, then yes: it stays, also after the deadline.
        start(&file, false);
        tmux(&["send-keys", "y", "Enter"]);
        wait_for(Duration::from_secs(5), "Keep this change?");
        tmux(&["send-keys", "yes", "Enter"]);
        let s = wait_for(Duration::from_secs(5), "EXIT=");
        assert!(s.contains("confirmed") && s.contains("EXIT=0"), "{s}");
        std::thread::sleep(Duration::from_millis(2500));
        let links = sh(&["ip", "-n", "red", "-o", "link", "show", "br0"]);
        assert!(links.contains("br0"), "{links}");
        let _ = tmux(&["kill-server"]);
    });
}
