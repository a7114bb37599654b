//! End to end: the real binary in tmux, inside a throwaway namespace world with a lab topology.
//! A link set down behind netlens' back must show within a second with no key press (netlink
//! events), `?` opens the help, `q` exits 0 and leaves the terminal in cooked mode.

use crate::common;

use std::time::{Duration, Instant};

use common::tmux::{tmux, wait_for};
use common::world::{in_world, netlens_bin, sh};

/// The Links table line of `name` (the detail pane is right of the namespace list).
fn link_row<'a>(s: &'a str, name: &str) -> Option<&'a str> {
    s.lines().find(|l| {
        l.split('│')
            .nth(3)
            .is_some_and(|c| c.split_whitespace().nth(1) == Some(name))
    })
}

#[test]
fn live_tui_in_tmux() {
    in_world("tui_e2e::live_tui_in_tmux", || {
        sh(&[netlens_bin().to_str().expect("path"), "lab", "up", "router"]);
        let cmd = format!(
            "{}; echo EXIT=$?; stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e echo; sleep 60",
            netlens_bin().display()
        );
        tmux(&["new-session", "-d", "-x", "150", "-y", "30", &cmd]);
        let (s, ok) = wait_for(Duration::from_secs(10), |s| s.contains("router-c ("));
        assert!(ok, "namespaces never listed:\n{s}");
        for ns in ["host (", "router-a (", "router-b (", "router-c ("] {
            assert!(s.contains(ns), "{ns} missing:\n{s}");
        }
        // Select router-b (host, router-a, router-b).
        tmux(&["send-keys", "j", "j"]);
        let (s, ok) = wait_for(Duration::from_secs(2), |s| {
            s.contains("router-b · Links")
                && link_row(s, "eth1").is_some_and(|r| r.contains(" UP "))
        });
        assert!(ok, "router-b eth1 not shown UP:\n{s}");

        // Behind netlens' back; no key is pressed after this. The link itself, not a peer: the
        // kernel delays a peer's carrier change by up to a second on its own (linkwatch).
        let changed_at = Instant::now();
        sh(&["ip", "-n", "router-b", "link", "set", "eth1", "down"]);
        let (s, ok) = wait_for(Duration::from_secs(1), |s| {
            link_row(s, "eth1").is_some_and(|r| r.contains("DOWN"))
        });
        assert!(ok, "link going down not shown within 1 s:\n{s}");
        eprintln!("change visible after {:?}", changed_at.elapsed());

        // The Topology tab draws router-b as a box (it joins A and C) with eth1 marked down,
        // and follows the kernel live too.
        tmux(&["send-keys", "t"]);
        let eth1_line = |s: &str| {
            s.lines()
                .find(|l| l.contains("eth1") && l.contains("══"))
                .map(str::to_string)
        };
        let (s, ok) = wait_for(Duration::from_secs(2), |s| {
            s.contains("┌─ router-b") && eth1_line(s).is_some_and(|l| l.contains("admin-down"))
        });
        assert!(ok, "topology without router-b's eth1 down:\n{s}");
        sh(&["ip", "-n", "router-b", "link", "set", "eth1", "up"]);
        let (s, ok) = wait_for(Duration::from_secs(3), |s| {
            eth1_line(s).is_some_and(|l| !l.contains("admin-down"))
        });
        assert!(ok, "topology did not follow eth1 coming back up:\n{s}");

        tmux(&["send-keys", "?"]);
        let (s, ok) = wait_for(Duration::from_secs(2), |s| {
            s.contains("keys (? or Esc to close)")
        });
        assert!(ok, "help did not open:\n{s}");
        tmux(&["send-keys", "Escape"]);
        let (s, ok) = wait_for(Duration::from_secs(2), |s| !s.contains("keys (? or Esc"));
        assert!(ok, "help did not close:\n{s}");
        // Esc at the top level does not quit (two Esc to close a popup must not end a
        // session); the status line says how to quit.
        tmux(&["send-keys", "Escape"]);
        let (s, ok) = wait_for(Duration::from_secs(2), |s| s.contains("q quits"));
        assert!(
            ok && !s.contains("EXIT="),
            "Esc at the top level quit, or said nothing:\n{s}"
        );

        tmux(&["send-keys", "q"]);
        let (s, ok) = wait_for(Duration::from_secs(3), |s| s.contains("EXIT="));
        assert!(ok, "netlens did not exit:\n{s}");
        assert!(s.contains("EXIT=0"), "{s}");
        // The terminal is back in cooked mode with echo (raw mode would print -icanon -echo).
        // stty prints a moment after the EXIT line: wait for its answer, either way.
        let (s, _) = wait_for(Duration::from_secs(2), |s| {
            s.lines().any(|l| l.trim().ends_with("icanon"))
                && s.lines().any(|l| l.trim().ends_with("echo"))
        });
        let lines: Vec<&str> = s.lines().map(str::trim).collect();
        assert!(
            lines.contains(&"icanon") && lines.contains(&"echo"),
            "terminal left raw:\n{s}"
        );
        let _ = tmux(&["kill-server"]);
    });
}

/// Repair in place: the doctor's finding on a broken lab, fixed from the TUI with Enter and
/// `y`; the kernel then has the change, a ping across the gateway works, and the journal has
/// the plan, so `netlens undo` takes it back.
#[test]
fn fix_a_finding_from_the_tui() {
    in_world("tui_e2e::fix_a_finding_from_the_tui", || {
        let bin = netlens_bin();
        let bin = bin.to_str().expect("path");
        sh(&[bin, "lab", "up", "bridge"]);
        sh(&[bin, "lab", "break", "bridge", "forwarding-off"]);
        let ping = || {
            common::world::try_sh(&[
                "ip",
                "netns",
                "exec",
                "bridge-red",
                "ping",
                "-c1",
                "-W1",
                "192.168.1.3",
            ])
            .status
            .success()
        };
        assert!(!ping(), "the fault is real");
        let cmd = format!("NETLENS_STATE_DIR=/run/netlens-state {bin}; echo EXIT=$?; sleep 60");
        tmux(&["new-session", "-d", "-x", "160", "-y", "40", &cmd]);
        let (s, ok) = wait_for(Duration::from_secs(10), |s| s.contains("! bridge-host"));
        assert!(ok, "bridge-host not marked:\n{s}");
        tmux(&["send-keys", "p", "l"]);
        let (s, ok) = wait_for(Duration::from_secs(2), |s| {
            s.contains("forwarding-off:bridge-host")
        });
        assert!(ok, "finding not listed:\n{s}");
        tmux(&["send-keys", "Enter"]);
        let (s, ok) = wait_for(Duration::from_secs(2), |s| {
            s.contains("sysctl -w net.ipv4.ip_forward=1") && s.contains("y apply")
        });
        assert!(ok, "fix not shown:\n{s}");
        tmux(&["send-keys", "y"]);
        let (s, ok) = wait_for(Duration::from_secs(5), |s| {
            s.contains("applied plan") && !s.contains("! bridge-host")
        });
        assert!(ok, "not applied, or still marked:\n{s}");
        assert_eq!(
            sh(&[
                "ip",
                "netns",
                "exec",
                "bridge-host",
                "cat",
                "/proc/sys/net/ipv4/ip_forward"
            ])
            .trim(),
            "1"
        );
        assert!(
            ping(),
            "red reaches the LAN host through the repaired gateway"
        );
        tmux(&["send-keys", "q"]);
        let (s, ok) = wait_for(Duration::from_secs(3), |s| s.contains("EXIT=0"));
        assert!(ok, "{s}");
        let _ = tmux(&["kill-server"]);
        // The plan is in the journal: undo brings the fault back.
        let out = std::process::Command::new(bin)
            .args(["undo", "--yes"])
            .env("NETLENS_STATE_DIR", "/run/netlens-state")
            .output()
            .expect("undo");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!ping(), "undo took the fix back");
    });
}

/// The Capture tab captures live on a link picked in the real TUI, and `T` works out a path.
#[test]
fn capture_and_path_in_the_tui() {
    in_world("tui_e2e::capture_and_path_in_the_tui", || {
        let bin = netlens_bin();
        let bin = bin.to_str().expect("path");
        sh(&[bin, "lab", "up", "bridge"]);
        let cmd = format!("{bin}; echo EXIT=$?; sleep 60");
        tmux(&["new-session", "-d", "-x", "160", "-y", "40", &cmd]);
        let (s, ok) = wait_for(Duration::from_secs(10), |s| s.contains("bridge-red ("));
        assert!(ok, "{s}");
        // Only bridge-red in the list, then its Capture tab, then its second link.
        tmux(&[
            "send-keys",
            "/",
            "bridge-red",
            "Enter",
            "w",
            "l",
            "j",
            "Enter",
        ]);
        let (s, ok) = wait_for(Duration::from_secs(3), |s| {
            s.contains("capturing on veth-red in bridge-red")
        });
        assert!(ok, "capture did not start:\n{s}");
        sh(&[
            "ip",
            "netns",
            "exec",
            "bridge-red",
            "ping",
            "-c",
            "2",
            "-i",
            "0.2",
            "192.168.1.3",
        ]);
        let (s, ok) = wait_for(Duration::from_secs(3), |s| {
            s.contains("IP 192.168.15.1 > 192.168.1.3: ICMP echo request")
                && s.contains("IP 192.168.1.3 > 192.168.15.1: ICMP echo reply")
        });
        assert!(ok, "packets not shown:\n{s}");
        tmux(&["send-keys", "x"]);
        let (s, ok) = wait_for(Duration::from_secs(3), |s| {
            s.contains("stopped on veth-red")
        });
        assert!(ok, "{s}");
        tmux(&["send-keys", "T", "8.8.8.8", "Enter"]);
        let (s, ok) = wait_for(Duration::from_secs(5), |s| s.contains("the path delivers"));
        assert!(ok, "no path:\n{s}");
        assert!(s.contains("MASQUERADE 192.168.15.1 → 192.168.1.2"), "{s}");
        // Esc and q sent at once reach the program as Alt-q: one, then the other.
        tmux(&["send-keys", "Escape"]);
        let (s, ok) = wait_for(Duration::from_secs(2), |s| !s.contains("the path delivers"));
        assert!(ok, "{s}");
        tmux(&["send-keys", "q"]);
        let (s, ok) = wait_for(Duration::from_secs(3), |s| s.contains("EXIT=0"));
        assert!(ok, "{s}");
        let _ = tmux(&["kill-server"]);
    });
}

/// `/` in the real TUI: an address inside a subnet lists its holders, an interface jumps to its
/// namespace; a form refuses a peer namespace that does not exist and keeps what was typed; Esc
/// backs out of all of it without quitting.
#[test]
fn search_a_refused_form_and_esc_in_tmux() {
    in_world("tui_e2e::search_a_refused_form_and_esc_in_tmux", || {
        let bin = netlens_bin();
        let bin = bin.to_str().expect("path");
        sh(&[bin, "lab", "up", "bridge"]);
        let cmd = format!("NETLENS_STATE_DIR=/run/netlens-state {bin}; echo EXIT=$?; sleep 60");
        tmux(&["new-session", "-d", "-x", "120", "-y", "40", &cmd]);
        let (s, ok) = wait_for(Duration::from_secs(10), |s| s.contains("bridge-red ("));
        assert!(ok, "{s}");
        tmux(&["send-keys", "/", "192.168.1.77"]);
        let (s, ok) = wait_for(Duration::from_secs(2), |s| {
            s.contains("bridge-lanhost · Addresses · 192.168.1.3/24 on eth0")
                && s.contains("bridge-lan · Addresses · 192.168.1.1/24 on lan0")
        });
        assert!(ok, "the subnet's holders not listed:\n{s}");
        assert!(
            !s.contains("bridge-red ("),
            "the list is not narrowed:\n{s}"
        );
        // Esc cancels: the whole list is back.
        tmux(&["send-keys", "Escape"]);
        let (s, ok) = wait_for(Duration::from_secs(2), |s| {
            s.contains("bridge-red (") && !s.contains("search /")
        });
        assert!(ok, "{s}");
        // An interface: Enter lands on its namespace's Links tab.
        tmux(&["send-keys", "/", "to-inet"]);
        let (s, ok) = wait_for(Duration::from_secs(2), |s| {
            s.contains("bridge-lan · Links · to-inet")
        });
        assert!(ok, "{s}");
        tmux(&["send-keys", "Enter"]);
        let (s, ok) = wait_for(Duration::from_secs(2), |s| {
            s.contains("bridge-lan · Links") && s.contains("1 hit in 1 namespace")
        });
        assert!(ok, "Enter did not go to the hit:\n{s}");
        // A veth to a namespace that does not exist: refused in the form, nothing lost.
        tmux(&["send-keys", "a", "v", "veth-x", "Tab", "nope", "Enter"]);
        let (s, ok) = wait_for(Duration::from_secs(2), |s| {
            s.contains("no namespace nope on this node")
        });
        assert!(ok, "bad peer namespace not refused:\n{s}");
        assert!(s.contains("veth-x") && s.contains("nope"), "{s}");
        assert!(
            !sh(&["ip", "-n", "bridge-lan", "link"]).contains("veth-x"),
            "nothing was made"
        );
        // Esc closes the form, Esc clears the search, Esc never quits.
        tmux(&["send-keys", "Escape"]);
        let (s, ok) = wait_for(Duration::from_secs(2), |s| !s.contains("peer namespace"));
        assert!(ok, "{s}");
        tmux(&["send-keys", "Escape"]);
        let (s, ok) = wait_for(Duration::from_secs(2), |s| s.contains("bridge-red ("));
        assert!(ok, "{s}");
        // The jump focused the table: one Esc back to the list, then the top level. Sent
        // apart: two Esc at once reach the program as one Alt-Esc.
        tmux(&["send-keys", "Escape"]);
        std::thread::sleep(Duration::from_millis(300));
        tmux(&["send-keys", "Escape"]);
        let (s, ok) = wait_for(Duration::from_secs(2), |s| s.contains("q quits"));
        assert!(ok && !s.contains("EXIT="), "{s}");
        tmux(&["send-keys", "q"]);
        let (s, ok) = wait_for(Duration::from_secs(3), |s| s.contains("EXIT=0"));
        assert!(ok, "{s}");
        let _ = tmux(&["kill-server"]);
    });
}
