//! The shell conventions of the command line: completions and the man page generated from the
//! clap definition, colour only where it belongs, exit status 2 for every bad input, and the
//! TUI-only options refused before a command.

use crate::common;

use std::process::{Command, Output, Stdio};

use common::world::{in_world, netlens_bin};

const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo-bridge.json");

fn netlens(args: &[&str]) -> Output {
    Command::new(netlens_bin())
        .args(args)
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .output()
        .expect("run netlens")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The subcommands, from the definition the binary is built from.
fn subcommands() -> Vec<String> {
    netlens::cli::args::command()
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect()
}

#[test]
fn completions_name_every_subcommand_and_bash_accepts_its_script() {
    let subs = subcommands();
    assert!(subs.iter().any(|s| s == "fix") && subs.iter().any(|s| s == "man"));
    for shell in ["bash", "zsh", "fish"] {
        let out = netlens(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let script = stdout(&out);
        for sub in &subs {
            assert!(script.contains(sub.as_str()), "{shell} script lacks {sub}");
        }
        if shell == "bash" {
            let path =
                std::env::temp_dir().join(format!("netlens-compl-{}.bash", std::process::id()));
            std::fs::write(&path, &script).expect("write script");
            let check = Command::new("bash")
                .arg("-n")
                .arg(&path)
                .output()
                .expect("bash -n");
            let _ = std::fs::remove_file(&path);
            assert!(
                check.status.success(),
                "{}",
                String::from_utf8_lossy(&check.stderr)
            );
        }
    }
    // An unknown shell is bad input.
    assert_eq!(netlens(&["completions", "tcsh"]).status.code(), Some(2));
}

#[test]
fn man_page_has_name_synopsis_and_every_subcommand() {
    let out = netlens(&["man"]);
    assert_eq!(out.status.code(), Some(0));
    let page = stdout(&out);
    assert!(
        page.contains(".TH netlens 1"),
        "{}",
        &page[..200.min(page.len())]
    );
    assert!(page.contains(".SH NAME") && page.contains(".SH SYNOPSIS"));
    for sub in subcommands() {
        let heading = format!(".SH \"NETLENS {}\"", sub.to_uppercase());
        assert!(page.contains(&heading), "no section {heading}");
    }
    // Options of a subcommand are there too, roff-escaped.
    assert!(page.contains("\\-\\-dry\\-run"), "fix --dry-run missing");
    // Nothing in it starts a roff request by accident: every line is a request we wrote or
    // text not starting with a dot.
    for line in page.lines().filter(|l| l.starts_with('.')) {
        let req: String = line
            .chars()
            .skip(1)
            .take_while(|c| c.is_ascii_alphabetic())
            .collect();
        assert!(
            [
                "TH", "SH", "SS", "PP", "TP", "IP", "RS", "RE", "ie", "el", "br", "B", "I", "ds",
                "nf", "fi"
            ]
            .contains(&req.as_str()),
            "stray request: {line}"
        );
    }
}

const ESC: u8 = 0x1b;

#[test]
fn colour_only_when_asked_or_on_a_terminal() {
    let doctor = ["doctor", "--snapshot", DEMO];
    let with = |extra: &[&str], no_color: bool| {
        let mut c = Command::new(netlens_bin());
        c.args(doctor)
            .args(extra)
            .stdin(Stdio::null())
            .env_remove("NO_COLOR");
        if no_color {
            c.env("NO_COLOR", "1");
        }
        c.output().expect("run")
    };
    // Piped: plain, whatever the default.
    assert!(!with(&[], false).stdout.contains(&ESC));
    assert!(with(&["--color", "always"], false).stdout.contains(&ESC));
    // `always` is explicit: it wins over NO_COLOR; `auto` does not.
    assert!(with(&["--color", "always"], true).stdout.contains(&ESC));
    assert!(!with(&["--color", "never"], false).stdout.contains(&ESC));
    // The option is global: before the command too.
    let out = netlens(&["--color", "always", "doctor", "--snapshot", DEMO]);
    assert!(out.stdout.contains(&ESC));
    // JSON is never painted.
    let out = with(&["--json", "--color", "always"], false);
    assert!(!out.stdout.contains(&ESC));
    serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("valid JSON");
    // Colour changes nothing but colour.
    let plain = stdout(&with(&[], false));
    let painted = stdout(&with(&["--color", "always"], false));
    assert_eq!(strip(&painted), plain);
}

/// On a terminal (`script` gives the command a pty), `auto` paints unless NO_COLOR is set.
#[test]
fn auto_colour_follows_the_terminal_and_no_color() {
    let cmd = format!("{} doctor --snapshot {DEMO}", netlens_bin().display());
    let run = |no_color: Option<&str>| {
        let mut c = Command::new("script");
        c.args(["-qec", &cmd, "/dev/null"])
            .stdin(Stdio::null())
            .env_remove("NO_COLOR");
        if let Some(v) = no_color {
            c.env("NO_COLOR", v);
        }
        c.output().expect("script (util-linux)")
    };
    let tty = run(None);
    assert!(tty.stdout.contains(&ESC), "{}", stdout(&tty));
    assert!(!run(Some("1")).stdout.contains(&ESC));
    // An empty NO_COLOR does not count (no-color.org).
    assert!(run(Some("")).stdout.contains(&ESC));
}

fn strip(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Every bad input is exit 2 with one line on stderr, before anything runs; a problem found
/// is exit 1. Run against the world's own namespaces.
#[test]
fn exit_codes() {
    in_world("cli_conventions::exit_codes", || {
        let missing = "/run/no-such-file.json";
        let table: &[(&[&str], i32)] = &[
            (&["snapshot", "--ns", "no-such-ns"], 2),
            (&["doctor", "--ns", "no-such-ns"], 2),
            (&["doctor", "--snapshot", missing], 2),
            (&["doctor", "--snapshot", DEMO, "--ns", "no-such-ns"], 2),
            (&["doctor", "--before", missing], 2),
            (&["diff", missing, DEMO], 2),
            (&["path", "--from", "no-such-ns", "10.0.0.1"], 2),
            (&["path", "--from", "host", "not-an-ip"], 2),
            (
                &["path", "--from", "host", "10.0.0.1", "--proto", "sctp"],
                2,
            ),
            (&["trace", "--from", "host", "10.0.0.1", "--wait", "0"], 2),
            (&["dns", "bad..name"], 2),
            (&["dns", "example.org", "--type", "NOPE"], 2),
            (&["dns", "example.org", "--ns", "no-such-ns"], 2),
            (&["ports", "--role", "etcd"], 2),
            (&["ports", "--peer", "node2.example"], 2),
            (&["ports", "--ns", "no-such-ns"], 2),
            (&["lab", "up", "no-such-lab"], 2),
            (&["lab", "break", "--list", "no-such-lab"], 2),
            (&["apply", missing], 2),
            (&["fix", "no-such-finding:x"], 2),
            (&["undo", "no-such-plan"], 2),
            (&["capture", "--ns", "no-such-ns", "-i", "lo"], 2),
            (&["--color", "sometimes"], 2),
            (&["--snapshot", DEMO, "doctor"], 2),
            (&["completions", "tcsh"], 2),
            (&["no-such-command"], 2),
            // Ran and found a problem: 1 (the world has no route to anywhere).
            (&["path", "--from", "host", "10.9.9.9"], 1),
            // Fine input: 0.
            (&["doctor", "--snapshot", DEMO], 0),
            (&["lab", "break", "--list"], 0),
        ];
        let mut wrong = Vec::new();
        for (args, want) in table {
            let out = netlens(args);
            let err = String::from_utf8_lossy(&out.stderr);
            if out.status.code() != Some(*want) {
                wrong.push(format!(
                    "netlens {}: {:?} (want {want}): {err}",
                    args.join(" "),
                    out.status.code()
                ));
            }
            if *want == 2
                && !args.contains(&"--color")
                && args[0] != "completions"
                && args[0] != "no-such-command"
                && args[0] != "--snapshot"
            {
                // One clear line, no panic.
                assert!(!err.contains("panicked"), "{args:?}: {err}");
                assert!(!err.trim().is_empty(), "{args:?}: no message");
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    });
}

/// Not root where root is needed is bad input too (exit 2), with the reason.
#[test]
fn not_root_is_exit_2() {
    in_world("cli_conventions::not_root_is_exit_2", || {
        for args in [&["lab", "up", "bridge"][..], &["lab", "status"][..]] {
            let out = Command::new("setpriv")
                .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
                .arg(netlens_bin())
                .args(args)
                .stdin(Stdio::null())
                .output()
                .expect("setpriv");
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
            assert!(err.contains("needs root"), "{err}");
        }
    });
}

/// `lab status` without a scenario lists every scenario (none built here: all absent).
#[test]
fn lab_status_without_a_scenario_shows_them_all() {
    in_world(
        "cli_conventions::lab_status_without_a_scenario_shows_them_all",
        || {
            let out = netlens(&["lab", "status"]);
            let text = stdout(&out);
            assert_eq!(out.status.code(), Some(0), "{text}");
            for s in ["router", "bridge", "cluster"] {
                assert!(text.contains(&format!("lab {s}: absent")), "{text}");
            }
            let out = netlens(&["lab", "status", "--json"]);
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
            assert_eq!(v.as_array().map(Vec::len), Some(3), "{v:#}");
        },
    );
}
