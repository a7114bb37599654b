//! Terminal injection (issue 10, item 13): names and file contents chosen by a container or a
//! local user must never reach the terminal raw. A world with a hostile namespace name, link
//! names with ESC/BEL/bidi, a process whose comm holds escapes, a container resolv.conf with
//! escapes and an iptables comment with ESC and a newline; every text output must show them
//! escaped, the JSON must keep them raw, and the comment must not fabricate a rule.

use crate::common;

use std::process::{Child, Command, Output, Stdio};

use common::snap::{netlens, snapshot_json};
use common::tui::{app_over, asset, key, screen};
use common::world::{in_world, sh};
use crossterm::event::KeyCode;
use netlens::model::Snapshot;
use netlens::text::escape::{escape, is_unsafe_char};

/// A named namespace: ESC + colour, a newline, a bidi override.
const NS: &str = "x\u{1b}[31mred\nline\u{202e}";
/// Link names the kernel accepts: ESC, BEL + OSC title, bidi override (≤ 15 bytes).
const LINK: &str = "e\u{1b}[2J";
const PEER: &str = "h\u{7}\u{1b}]0;t";
const BIDI_LINK: &str = "b\u{202e}r";
/// A process name (comm, ≤ 15 bytes) with an escape sequence and a newline.
const COMM: &str = "c\u{1b}[1m\nz";
const COMMENT: &str = "a\u{1b}[31m\n-A INPUT -j ACCEPT";
const PODMAN_COMMENT: &str = r#"name: "podman" id: "0b1a""#;
const SEARCH: &str = "ev\u{1b}[2Jil.example";

/// No character that a terminal would interpret, except the output's own line breaks.
fn assert_inert(what: &str, text: &str) {
    if let Some((i, c)) = text
        .char_indices()
        .find(|&(_, c)| c != '\n' && is_unsafe_char(c))
    {
        let from = text[..i].char_indices().rev().nth(60).map_or(0, |(j, _)| j);
        panic!(
            "{what}: raw {c:?} at byte {i}: …{}…\nwhole output:\n{}",
            escape(&text[from..i]),
            escape(text)
        );
    }
}

fn assert_shows(what: &str, text: &str, raw: &str) {
    let want = escape(raw);
    assert!(
        text.contains(want.as_ref()),
        "{what}: {want} not shown:\n{}",
        escape(text)
    );
}

fn outputs(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Kills and reaps the hostile process when the test body ends, passing or not.
struct Reap(Child);
impl Drop for Reap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The world: `NS` with a veth `LINK` whose peer `PEER` is in the world's own ("host")
/// namespace, a bridge `BIDI_LINK`, iptables rules with hostile comments in the host, and a
/// process-held namespace whose process has comm `COMM` and sees a hostile resolv.conf.
fn hostile_world(dir: &std::path::Path) -> Reap {
    sh(&["ip", "netns", "add", NS]);
    sh(&[
        "ip", "link", "add", LINK, "type", "veth", "peer", "name", PEER,
    ]);
    sh(&["ip", "link", "set", LINK, "netns", NS]);
    sh(&["ip", "link", "add", BIDI_LINK, "type", "bridge"]);
    sh(&[
        "iptables",
        "-A",
        "INPUT",
        "-m",
        "comment",
        "--comment",
        COMMENT,
        "-j",
        "DROP",
    ]);
    sh(&[
        "iptables",
        "-A",
        "INPUT",
        "-m",
        "comment",
        "--comment",
        PODMAN_COMMENT,
        "-j",
        "ACCEPT",
    ]);
    sh(&["iptables", "-A", "INPUT", "-s", "10.0.0.0/8", "-j", "DROP"]);

    let resolv = dir.join("resolv.conf");
    std::fs::write(
        &resolv,
        format!("nameserver 10.0.0.1\nsearch {SEARCH}\noptions ndots:2\nbogus\u{9b}31m \u{1b}]0;x\u{7} line\n"),
    )
    .unwrap();
    let comm = dir.join("comm");
    std::fs::write(&comm, COMM).unwrap();
    // The shell keeps running (no exec), so its comm stays the one written.
    let script = format!(
        "mount --bind {} /etc/resolv.conf && c=$(cat {}) && printf %s \"$c\" > /proc/$$/comm && echo ready && while :; do sleep 1; done",
        resolv.display(),
        comm.display()
    );
    let mut child = Command::new("unshare")
        .args(["--net", "--mount", "--", "sh", "-c", &script])
        .stdout(Stdio::piped())
        .spawn()
        .expect("unshare");
    let mut line = String::new();
    use std::io::BufRead;
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready", "the hostile process did not start");
    Reap(child)
}

#[test]
fn hostile_names_are_escaped_in_every_text_output() {
    in_world(
        "escape::hostile_names_are_escaped_in_every_text_output",
        || {
            let dir = tempfile::tempdir().unwrap();
            let _holder = hostile_world(dir.path());

            // JSON keeps the raw values (serde_json escapes them as \u001b, \n).
            let snap = snapshot_json(&[]);
            assert!(
                snap.namespaces.iter().any(|n| n.name == NS),
                "{NS:?} missing"
            );
            let comm_ns = snap
                .namespaces
                .iter()
                .find(|n| n.processes.iter().any(|p| p.comm.starts_with('c')))
                .expect("the hostile process's namespace");
            let comm = comm_ns
                .processes
                .iter()
                .find(|p| p.comm.starts_with('c'))
                .unwrap()
                .comm
                .clone();
            assert!(comm.contains('\u{1b}'), "comm {comm:?}");

            let out = netlens(&["snapshot"]);
            let (text, err) = outputs(&out);
            assert!(out.status.success(), "snapshot: {err}");
            assert_inert("snapshot", &text);
            assert_inert("snapshot stderr", &err);
            for shown in [NS, LINK, PEER, BIDI_LINK, comm.as_str(), SEARCH] {
                assert_shows("snapshot", &text, shown);
            }
            // The comment's second line is part of the rule, not a rule of its own.
            assert!(
                !text
                    .lines()
                    .any(|l| l.trim_start().starts_with("-A INPUT -j ACCEPT")),
                "a rule was fabricated from a comment:\n{}",
                escape(&text)
            );

            rules_are_the_kernels(&snap);

            // A bad --ns argument is echoed escaped.
            let out = netlens(&["snapshot", "--ns", "nope\u{1b}[2J"]);
            let (o, e) = outputs(&out);
            assert_eq!(out.status.code(), Some(2), "{e}");
            assert_inert("snapshot --ns stderr", &e);
            assert_inert("snapshot --ns stdout", &o);

            let out = netlens(&["doctor"]);
            let (o, e) = outputs(&out);
            assert!(matches!(out.status.code(), Some(0 | 1)), "doctor: {e}");
            assert_inert("doctor", &o);
            assert_inert("doctor stderr", &e);

            // diff between two saved snapshots, one more hostile link in the second.
            let a = dir.path().join("a.json");
            let b = dir.path().join("b.json");
            std::fs::write(&a, netlens(&["snapshot", "--json"]).stdout).unwrap();
            sh(&["ip", "link", "add", "n\u{1b}[5m\u{9b}", "type", "bridge"]);
            std::fs::write(&b, netlens(&["snapshot", "--json"]).stdout).unwrap();
            let out = netlens(&["diff", a.to_str().unwrap(), b.to_str().unwrap()]);
            let (o, e) = outputs(&out);
            assert_eq!(out.status.code(), Some(1), "diff: {e}");
            assert_inert("diff", &o);
            assert_shows("diff", &o, "n\u{1b}[5m\u{9b}");

            let out = netlens(&["path", "--from", NS, "10.9.9.9"]);
            let (o, e) = outputs(&out);
            assert!(matches!(out.status.code(), Some(0 | 1)), "path: {o}{e}");
            assert_inert("path", &o);
            assert_inert("path stderr", &e);
            assert_shows("path", &o, NS);

            // A plan naming the hostile link: the preview is inert and its shell command quotes the
            // name so a shell gets the same bytes back.
            let plan = dir.path().join("p.json");
            let body = serde_json::json!({"id": "p-esc", "title": "t\u{1b}]0;pwn\u{7}", "steps": [
                {"step": "set_link_up", "ns": NS, "link": LINK, "up": true}
            ]});
            std::fs::write(&plan, body.to_string()).unwrap();
            let out = netlens(&["apply", "--dry-run", plan.to_str().unwrap()]);
            let (o, e) = outputs(&out);
            assert_eq!(out.status.code(), Some(0), "apply --dry-run: {o}{e}");
            assert_inert("apply --dry-run", &o);
            assert_inert("apply --dry-run stderr", &e);
            let cmd = o
                .lines()
                .find(|l| l.contains("link set"))
                .unwrap_or_else(|| panic!("no command in {}", escape(&o)));
            let words = shell_words(cmd.trim());
            assert!(words.contains(&LINK.to_string()), "{cmd} -> {words:?}");
            assert!(words.contains(&NS.to_string()), "{cmd} -> {words:?}");
        },
    );
}

/// The rules are exactly the kernel's, comments intact.
fn rules_are_the_kernels(snap: &Snapshot) {
    let host = snap
        .namespaces
        .iter()
        .find(|n| n.name == "host")
        .expect("host");
    let fw = host.firewall.as_ref().expect("host firewall");
    let input: Vec<_> = fw
        .iptables
        .iter()
        .filter(|t| t.name == "filter")
        .flat_map(|t| t.chains.iter().filter(|c| c.name == "INPUT"))
        .flat_map(|c| c.rules.iter())
        .collect();
    let listed = sh(&["iptables", "-L", "INPUT", "-n", "--line-numbers"]);
    let kernel = listed
        .lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_digit()))
        .count();
    assert_eq!(input.len(), kernel, "rules: {input:#?}");
    assert_eq!(input.len(), 3);
    assert_eq!(input[0].comment.as_deref(), Some(COMMENT));
    assert_eq!(input[1].comment.as_deref(), Some(PODMAN_COMMENT));
}

/// What bash makes of a previewed command line: echo each word as a NUL-terminated string.
fn shell_words(cmd: &str) -> Vec<String> {
    let out = Command::new("bash")
        .args(["-c", &format!("printf '%s\\0' {cmd}")])
        .output()
        .expect("bash");
    String::from_utf8_lossy(&out.stdout)
        .split('\0')
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// The TUI over a snapshot full of hostile strings: no frame holds a raw control character.
#[test]
fn tui_frames_hold_no_control_characters() {
    let mut snap = asset("demo-bridge.json");
    for ns in &mut snap.namespaces {
        if ns.name == "bridge-host" {
            ns.name = format!("bridge-host{NS}");
            for l in &mut ns.links {
                l.name = format!("{}{LINK}", l.name);
                l.ports = l.ports.iter().map(|p| format!("{p}{PEER}")).collect();
            }
            for a in &mut ns.addresses {
                a.ifname = format!("{}{LINK}", a.ifname);
            }
            if let Some(fw) = &mut ns.firewall {
                for t in &mut fw.iptables {
                    for c in &mut t.chains {
                        for r in &mut c.rules {
                            r.raw = format!("{} -m comment --comment \"{COMMENT}\"", r.raw);
                            r.comment = Some(COMMENT.into());
                        }
                    }
                }
            }
            if let Some(dns) = &mut ns.dns {
                dns.resolv_conf.raw = Some(format!("search {SEARCH}\nnameserver 10.0.0.1\n"));
                dns.resolv_conf.path = format!("/proc/1/root/etc/{LINK}");
            }
            for s in &mut ns.sockets {
                for p in &mut s.processes {
                    p.comm = COMM.into();
                }
            }
        }
        for p in &mut ns.processes {
            p.comm = COMM.into();
        }
    }
    let mut a = app_over("hostile\u{1b}[2J", snap);
    let i = a
        .visible_namespaces()
        .iter()
        .position(|n| n.name.starts_with("bridge-host"))
        .expect("bridge-host");
    a.ns_selected = i;
    for k in ['1', '2', '3', '4', '5', '6', '7', '8', '9', '0', 'K'] {
        key(&mut a, KeyCode::Char(k));
        let s = screen(&mut a, 160, 40);
        assert_inert(&format!("TUI tab {k}"), &s);
        if k == '1' {
            // Shown escaped, not silently stripped (ratatui drops a bare ESC but keeps `[2J`).
            assert_shows("TUI links", &s, &format!("eth0{LINK}"));
        }
        if k == '8' {
            // The topology sizes its boxes by the escaped names.
            assert_shows("TUI topology", &s, &format!("bridge-host{NS}"));
        }
    }
}

/// `netlens cni` over a hostile config dir and `netlens dns` in a namespace whose
/// /etc/netns resolv.conf holds escapes: both reports stay inert.
#[test]
fn cni_and_dns_reports_are_inert() {
    in_world("escape::cni_and_dns_reports_are_inert", || {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("net.d");
        let data = dir.path().join("data");
        let bin = dir.path().join("bin");
        for d in [&conf, &data, &bin] {
            std::fs::create_dir(d).unwrap();
        }
        let net = "n\u{1b}]0;pwn\u{7}";
        std::fs::write(
            conf.join("10-x\u{1b}[2J.conflist"),
            serde_json::json!({"cniVersion": "1.0.0", "name": net,
                "plugins": [{"type": "b\u{1b}[5m\u{202e}", "ipam": {"type": "host-local",
                    "ranges": [[{"subnet": "10.99.0.0/24"}]]}}]})
            .to_string(),
        )
        .unwrap();
        std::fs::create_dir(data.join(net)).unwrap();
        std::fs::write(data.join(net).join("10.99.0.7"), "id\u{1b}[31m\neth0").unwrap();
        let out = netlens(&[
            "cni",
            "--conf-dir",
            conf.to_str().unwrap(),
            "--bin-dir",
            bin.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
        ]);
        let (o, e) = outputs(&out);
        assert!(matches!(out.status.code(), Some(0 | 1)), "cni: {o}{e}");
        assert_inert("cni", &o);
        assert_inert("cni stderr", &e);
        assert_shows("cni", &o, net);

        // `/etc/netns/NAME/resolv.conf` on a private copy of /etc (as tests/dns/dns.rs does): the
        // machine's /etc is never touched.
        sh(&["mkdir", "-p", "/run/etc-copy"]);
        sh(&["cp", "-a", "/etc/.", "/run/etc-copy/"]);
        sh(&["mount", "--bind", "/run/etc-copy", "/etc"]);
        sh(&["ip", "netns", "add", "evil"]);
        std::fs::create_dir_all("/etc/netns/evil").unwrap();
        std::fs::write(
            "/etc/netns/evil/resolv.conf",
            format!("nameserver 127.0.0.1\nsearch {SEARCH}\noptions timeout:1 attempts:1\n"),
        )
        .unwrap();
        let out = netlens(&["dns", "web", "--ns", "evil", "--max-time", "2"]);
        let (o, e) = outputs(&out);
        assert!(matches!(out.status.code(), Some(0 | 1)), "dns: {o}{e}");
        assert_inert("dns", &o);
        assert_inert("dns stderr", &e);
        assert_shows("dns", &o, SEARCH);
    });
}
