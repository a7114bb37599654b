//! `netlens dns` against a real DNS server: dnsmasq inside a namespace of a hand-built
//! topology (a bridge in the world's root namespace, a server namespace and client
//! namespaces with their own `/etc/netns/NAME/` files on a private copy of /etc). Names and
//! subnets are none of the lab's. The steps netlens reports are checked against what glibc
//! really sends (`getent ahosts` in the same namespace, seen in dnsmasq's query log).

use crate::common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::world::{in_world, netlens_bin, sh, try_sh};
use serde_json::Value;

const SERVER: &str = "10.213.7.53";
/// Held by the server namespace, but its DNS port drops everything: a dead nameserver.
const DEAD: &str = "10.213.7.54";

fn private_etc() {
    sh(&["mkdir", "-p", "/run/etc-copy"]);
    sh(&["cp", "-a", "/etc/.", "/run/etc-copy/"]);
    sh(&["mount", "--bind", "/run/etc-copy", "/etc"]);
}

fn netns_file(ns: &str, file: &str, text: &str) {
    let dir = Path::new("/etc/netns").join(ns);
    std::fs::create_dir_all(&dir).expect("etc/netns dir");
    std::fs::write(dir.join(file), text).expect("write netns file");
}

/// A namespace with one veth onto bridge `dnsbr0` at `cidr`.
fn attach(ns: &str, cidr: &str, idx: usize) {
    let host_end = format!("dv{idx}");
    sh(&["ip", "netns", "add", ns]);
    sh(&[
        "ip", "link", "add", &host_end, "type", "veth", "peer", "name", "eth0", "netns", ns,
    ]);
    sh(&["ip", "link", "set", &host_end, "master", "dnsbr0", "up"]);
    sh(&["ip", "-n", ns, "addr", "add", cidr, "dev", "eth0"]);
    sh(&["ip", "-n", ns, "link", "set", "eth0", "up"]);
    sh(&["ip", "-n", ns, "link", "set", "lo", "up"]);
}

struct Dnsmasq(Child);

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        // Our own child, by its pid.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_dnsmasq(dir: &Path) -> Dnsmasq {
    let pid = dir.join("dnsmasq.pid");
    let log = dir.join("queries.log");
    let child = Command::new("ip")
        .args([
            "netns",
            "exec",
            "dns-srv",
            "dnsmasq",
            "--keep-in-foreground",
            "--no-resolv",
            "--no-hosts",
        ])
        .arg(format!("--pid-file={}", pid.display()))
        .arg(format!("--log-facility={}", log.display()))
        .args([
            "--user=root",
            "--log-queries",
            "--bind-interfaces",
            &format!("--listen-address={SERVER}"),
            // Names under these zones that are not defined get NXDOMAIN; anything else is
            // REFUSED (dnsmasq has no upstream).
            "--local=/corp.zz/",
            "--local=/lab-b.zz/",
            "--address=/app.corp.zz/10.213.7.80",
            "--host-record=db.lab-b.zz,10.213.7.81",
            "--host-record=pinned.corp.zz,10.213.7.91",
        ])
        .stdin(Stdio::null())
        .spawn()
        .expect("start dnsmasq");
    let d = Dnsmasq(child);
    // Wait until it answers.
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        let ok = try_sh(&[
            "ip",
            "netns",
            "exec",
            "dns-srv",
            "ss",
            "-uln",
            &format!("src {SERVER}:53"),
        ]);
        if String::from_utf8_lossy(&ok.stdout).contains(&format!("{SERVER}:53")) {
            return d;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("dnsmasq did not start listening");
}

fn build(dir: &Path) -> Dnsmasq {
    private_etc();
    sh(&["ip", "link", "add", "dnsbr0", "type", "bridge"]);
    sh(&["ip", "link", "set", "dnsbr0", "up"]);
    attach("dns-srv", &format!("{SERVER}/24"), 0);
    sh(&[
        "ip",
        "-n",
        "dns-srv",
        "addr",
        "add",
        &format!("{DEAD}/24"),
        "dev",
        "eth0",
    ]);
    sh(&[
        "ip", "netns", "exec", "dns-srv", "iptables", "-A", "INPUT", "-d", DEAD, "-j", "DROP",
    ]);
    attach("app-1", "10.213.7.10/24", 1);
    attach("app-2", "10.213.7.11/24", 2);
    attach("app-3", "10.213.7.12/24", 3);

    let resolv = format!(
        "search corp.zz lab-b.zz\nnameserver {SERVER}\noptions ndots:2 timeout:1 attempts:1\n"
    );
    netns_file("app-1", "resolv.conf", &resolv);
    netns_file(
        "app-1",
        "nsswitch.conf",
        "passwd: files\nhosts: files dns\n",
    );
    netns_file(
        "app-1",
        "hosts",
        "127.0.0.1 localhost\n10.213.7.90 pinned.corp.zz pinned\n",
    );

    netns_file("app-2", "resolv.conf", &resolv);
    netns_file(
        "app-2",
        "nsswitch.conf",
        "hosts: files [NOTFOUND=return] dns\n",
    );
    netns_file("app-2", "hosts", "127.0.0.1 localhost\n");

    netns_file(
        "app-3",
        "resolv.conf",
        &format!("nameserver {SERVER}\nnameserver {DEAD}\noptions timeout:1 attempts:1\n"),
    );
    netns_file("app-3", "nsswitch.conf", "hosts: files dns\n");
    netns_file("app-3", "hosts", "127.0.0.1 localhost\n");
    start_dnsmasq(dir)
}

/// `netlens dns ARGS --json`: (exit code, JSON, stderr).
fn dns_json(args: &[&str]) -> (i32, Value, String) {
    let out = Command::new(netlens_bin())
        .arg("dns")
        .args(args)
        .arg("--json")
        .output()
        .expect("run netlens dns");
    let code = out.status.code().unwrap_or(-1);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let v = if code == 2 {
        Value::Null
    } else {
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "dns JSON: {e}: {}{stderr}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    };
    (code, v, stderr)
}

fn step<'a>(v: &'a Value, source: &str) -> Option<&'a Value> {
    v["steps"]
        .as_array()?
        .iter()
        .find(|s| s["source"] == source)
}

fn tried(v: &Value) -> Vec<(String, String)> {
    step(v, "dns")
        .and_then(|s| s["dns"]["candidates"].as_array())
        .map(|c| {
            c.iter()
                .filter(|c| c["tried"] == true)
                .map(|c| {
                    (
                        c["name"].as_str().unwrap_or("").to_string(),
                        c["result"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// What dnsmasq logged for `client`, once the log holds `want` names (it writes its log from
/// its event loop, a moment after answering) or a second has passed.
fn logged(log: &Path, client: &str, want: usize) -> Vec<String> {
    let until = Instant::now() + Duration::from_secs(1);
    loop {
        let got = logged_names(log, client);
        if got.len() >= want || Instant::now() > until {
            return got;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Names dnsmasq logged as asked by `client` (in order, one per name).
fn logged_names(log: &Path, client: &str) -> Vec<String> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        // "... query[A] db.corp.zz from 10.213.7.10"
        let Some(rest) = line.split("query[").nth(1) else {
            continue;
        };
        let words: Vec<&str> = rest.split_whitespace().collect();
        if words.len() >= 4 && words[3] == client {
            let name = format!("{}.", words[1]);
            if out.last() != Some(&name) {
                out.push(name);
            }
        }
    }
    out
}

#[test]
fn dns_explains_glibc_steps() {
    in_world("dns::dns_explains_glibc_steps", || {
        let dir = tempfile::tempdir().expect("tempdir");
        let _server = build(dir.path());
        let log = dir.path().join("queries.log");
        let start = Instant::now();

        short_name_follows_glibc_order(&log);
        enough_dots_tries_as_is_first(&log);
        hosts_hit_stops_before_dns();
        notfound_return_stops_after_files(&log);
        dead_nameserver_and_the_cap();

        // Bad input: one line on stderr, exit 2.
        for args in [
            vec!["db", "--ns", "no-such-ns"],
            vec!["bad..name", "--ns", "app-1"],
            vec!["db", "--ns", "app-1", "--type", "NOPE"],
        ] {
            let (code, _, err) = dns_json(&args);
            assert_eq!(code, 2, "{args:?}");
            assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        }
        println!("dns world checks took {:?}", start.elapsed());
    });
}

/// A short name: NXDOMAIN in the first search domain, answered in the second, in
/// glibc's order — the same names glibc itself asks.
fn short_name_follows_glibc_order(log: &Path) {
    let (code, v, err) = dns_json(&["db", "--ns", "app-1"]);
    assert_eq!(code, 0, "{err}{v:#}");
    assert_eq!(v["answered_by"], "dns");
    assert_eq!(v["addresses"][0], "10.213.7.81");
    assert_eq!(step(&v, "files").expect("files")["status"], "notfound");
    let t = tried(&v);
    assert_eq!(
        t,
        vec![
            ("db.corp.zz.".to_string(), "NXDOMAIN".to_string()),
            ("db.lab-b.zz.".into(), "answered".into())
        ],
        "{v:#}"
    );
    let q = &step(&v, "dns").expect("dns")["dns"]["candidates"][0]["queries"][0];
    for key in [
        "name",
        "qtype",
        "server",
        "attempt",
        "transport",
        "wait_ms",
        "result",
        "answers",
        "ms",
    ] {
        assert!(q.get(key).is_some(), "query lacks {key}: {q:#}");
    }
    assert_eq!(q["server"], SERVER);
    assert!(q["ms"].as_f64().is_some_and(|ms| ms < 1000.0), "{q:#}");
    for key in [
        "namespace",
        "name",
        "qtype",
        "files",
        "plan",
        "steps",
        "resolved",
        "tools_differ",
        "capped",
        "total_ms",
    ] {
        assert!(v.get(key).is_some(), "report lacks {key}");
    }
    assert!(v["files"]["resolv_conf"]
        .as_str()
        .is_some_and(|p| p.contains("/etc/netns/app-1/")));
    // glibc, asked the same in the same namespace, sends the same names.
    std::fs::write(log, "").expect("truncate log");
    let g = try_sh(&["ip", "netns", "exec", "app-1", "getent", "ahosts", "db"]);
    assert!(
        String::from_utf8_lossy(&g.stdout).contains("10.213.7.81"),
        "getent: {g:?}"
    );
    let ours: Vec<String> = t.iter().map(|(n, _)| n.clone()).collect();
    assert_eq!(
        logged(log, "10.213.7.10", ours.len()),
        ours,
        "glibc's own queries"
    );
}

/// Enough dots (ndots 2): as is first (refused: outside the server's zones), then the
/// search list, NXDOMAIN in each.
fn enough_dots_tries_as_is_first(log: &Path) {
    let (code, v, _) = dns_json(&["a.b.nowhere", "--ns", "app-1", "--type", "A"]);
    assert_eq!(code, 1, "{v:#}");
    let names: Vec<String> = tried(&v).into_iter().map(|(n, _)| n).collect();
    std::fs::write(log, "").expect("truncate log");
    let _ = try_sh(&[
        "ip",
        "netns",
        "exec",
        "app-1",
        "getent",
        "ahostsv4",
        "a.b.nowhere",
    ]);
    assert_eq!(
        names,
        vec![
            "a.b.nowhere.",
            "a.b.nowhere.corp.zz.",
            "a.b.nowhere.lab-b.zz."
        ],
        "{v:#}"
    );
    assert_eq!(
        logged(log, "10.213.7.10", names.len()),
        names,
        "glibc's own queries"
    );
}

/// A hosts hit stops before DNS; netlens then asks DNS, which says something else.
fn hosts_hit_stops_before_dns() {
    let (code, v, _) = dns_json(&["pinned", "--ns", "app-1"]);
    assert_eq!(code, 0);
    assert_eq!(v["answered_by"], "files");
    assert_eq!(v["steps"].as_array().map(Vec::len), Some(1), "{v:#}");
    assert_eq!(v["steps"][0]["action"], "return");
    assert_eq!(v["addresses"][0], "10.213.7.90");
    assert_eq!(
        v["dns_behind_hosts"]["addresses"][0], "10.213.7.91",
        "{v:#}"
    );
    assert!(
        v["notes"]
            .as_array()
            .expect("notes")
            .iter()
            .any(|n| n.as_str().is_some_and(|n| n.contains("shadows DNS"))),
        "{v:#}"
    );
    let text = Command::new(netlens_bin())
        .args(["dns", "pinned", "--ns", "app-1"])
        .output()
        .expect("text");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("1. files: SUCCESS → return") && text.contains("not consulted: dns"),
        "{text}"
    );
    assert!(text.contains("dig"), "{text}");
}

/// [NOTFOUND=return] after files: DNS is never asked, and the name does not resolve
/// although DNS has it.
fn notfound_return_stops_after_files(log: &Path) {
    std::fs::write(log, "").expect("truncate log");
    let (code, v, _) = dns_json(&["app", "--ns", "app-2"]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(v["steps"].as_array().map(Vec::len), Some(1));
    assert_eq!(v["steps"][0]["action"], "return");
    std::thread::sleep(Duration::from_millis(200));
    assert!(logged_names(log, "10.213.7.11").is_empty());
    // …while the same name in app-1 resolves through the search list.
    let (code, v, _) = dns_json(&["app", "--ns", "app-1"]);
    assert_eq!((code, &v["addresses"][0]), (0, &Value::from("10.213.7.80")));
}

/// A dead second nameserver: the first refuses a name outside its zones, the second
/// stays silent for the whole (1 << 1) / 2 = 1 s glibc gives it.
fn dead_nameserver_and_the_cap() {
    let (code, v, _) = dns_json(&["outside.example.", "--ns", "app-3", "--type", "A"]);
    assert_eq!(code, 1, "{v:#}");
    let qs = step(&v, "dns").expect("dns")["dns"]["candidates"][0]["queries"]
        .as_array()
        .cloned()
        .expect("queries");
    assert_eq!(qs[0]["server"], SERVER);
    assert_eq!(qs[0]["result"], "REFUSED", "{v:#}");
    assert_eq!(qs[1]["server"], DEAD);
    assert_eq!(qs[1]["result"], "timeout");
    assert_eq!(qs[1]["wait_ms"], 1000);
    let ms = qs[1]["ms"].as_f64().expect("ms");
    assert!((900.0..1500.0).contains(&ms), "timeout took {ms} ms");
    assert_eq!(step(&v, "dns").expect("dns")["status"], "unavail");

    // netlens' cap cuts the wait short and says so.
    let t0 = Instant::now();
    let (code, v, _) = dns_json(&["outside.example.", "--ns", "app-3", "--max-time", "1"]);
    assert_eq!(code, 1);
    assert_eq!(v["capped"], true, "{v:#}");
    assert!(
        t0.elapsed() < Duration::from_millis(1800),
        "{:?}",
        t0.elapsed()
    );

    let text = Command::new(netlens_bin())
        .args(["dns", "db", "--ns", "app-1"])
        .output()
        .expect("text");
    println!("{}", String::from_utf8_lossy(&text.stdout));

    // While it waits for the dead server, it says so on stderr: asked for here
    // (NETLENS_PROGRESS=always, stderr being a pipe), never on stdout.
    let out = Command::new(netlens_bin())
        .args(["dns", "outside.example.", "--ns", "app-3", "--type", "A"])
        .env("NETLENS_PROGRESS", "always")
        .output()
        .expect("dns with progress");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "waiting for {DEAD}:53 (timeout 1 s, attempt 1 of 1)…"
        )),
        "{err}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("waiting for"));
    // Not a terminal and not asked: nothing.
    let out = Command::new(netlens_bin())
        .args(["dns", "outside.example.", "--ns", "app-3", "--type", "A"])
        .env_remove("NETLENS_PROGRESS")
        .output()
        .expect("dns without progress");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("waiting for"));
}
