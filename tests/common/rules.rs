//! Helpers for the per-rule doctor tests (`tests/doctor/doctor_rules.rs`): build small topologies with
//! plain `ip`, probe them with real traffic, run the real `netlens doctor --json` and check one
//! finding, its severity and its object, then `fix` and `undo` with a private state directory.
//! The builders (namespaces, veths, addresses, routes, sysctls, a port-forward) serve the
//! `path` and `trace` tests' own worlds too.
//!
//! Everything here is meant to be called inside a world (see `world.rs`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::world::{netlens_bin, sh, try_sh};

/// `ip netns add NAME` with `lo` up.
pub fn netns(name: &str) {
    sh(&["ip", "netns", "add", name]);
    sh(&["ip", "-n", name, "link", "set", "lo", "up"]);
}

/// A veth pair `a` in `ns_a` and `b` in `ns_b`, both up.
pub fn veth(ns_a: &str, a: &str, ns_b: &str, b: &str) {
    sh(&[
        "ip", "-n", ns_a, "link", "add", a, "type", "veth", "peer", "name", b, "netns", ns_b,
    ]);
    sh(&["ip", "-n", ns_a, "link", "set", a, "up"]);
    sh(&["ip", "-n", ns_b, "link", "set", b, "up"]);
}

/// `ip -n NS addr add CIDR dev DEV`.
pub fn addr(ns: &str, cidr: &str, dev: &str) {
    sh(&["ip", "-n", ns, "addr", "add", cidr, "dev", dev]);
}

/// `ip -n NS route add ARGS...`.
pub fn route(ns: &str, args: &[&str]) {
    let mut argv = vec!["ip", "-n", ns, "route", "add"];
    argv.extend_from_slice(args);
    sh(&argv);
}

/// `sysctl -w KEY=VALUE` inside `ns`.
pub fn sysctl(ns: &str, key: &str, value: &str) {
    sh(&[
        "ip",
        "netns",
        "exec",
        ns,
        "sysctl",
        "-qw",
        &format!("{key}={value}"),
    ]);
}

/// `iptables RULE` inside `ns`, the rule written as on the command line (split on spaces).
pub fn iptables(ns: &str, rule: &str) {
    let mut argv = vec!["ip", "netns", "exec", ns, "iptables"];
    argv.extend(rule.split_whitespace());
    sh(&argv);
}

/// `ns` forwards IPv4 and DNATs TCP for `dst:port` to `to` (`ADDR:PORT`): a node's port-forward.
pub fn port_forward(ns: &str, dst: &str, port: u16, to: &str) {
    sysctl(ns, "net.ipv4.ip_forward", "1");
    iptables(
        ns,
        &format!(
            "-t nat -A PREROUTING -d {dst} -p tcp --dport {port} -j DNAT --to-destination {to}"
        ),
    );
}

/// One ICMP echo (`size` bytes of payload with DF set, if given) from `ns` to `dst` answered.
pub fn ping_ok(ns: &str, dst: &str, size: Option<u32>) -> bool {
    let size = size.map(|s| s.to_string());
    let mut argv = vec!["ip", "netns", "exec", ns, "ping", "-n", "-c1", "-W1"];
    if let Some(s) = &size {
        argv.extend(["-M", "do", "-s", s]);
    }
    argv.push(dst);
    try_sh(&argv).status.success()
}

/// A TCP connection from `ns` to `dst:port` completes within two seconds.
pub fn tcp_ok(ns: &str, dst: &str, port: u16) -> bool {
    let target = format!("TCP:{dst}:{port},connect-timeout=2");
    let out = try_sh(&[
        "ip",
        "netns",
        "exec",
        ns,
        "timeout",
        "4",
        "socat",
        "-u",
        "/dev/null",
        &target,
    ]);
    out.status.success()
}

/// A child process killed (by its own pid) when dropped.
pub struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `argv` inside `ns` (`HOST`: the world's own namespace), in the background; waits until
/// `ss ss_args` there lists `needle`.
fn serve(ns: &str, argv: &[&str], ss_args: &[&str], needle: &str) -> Guard {
    let in_ns = |argv: &[&str]| -> Vec<String> {
        let prefix: &[&str] = if ns == HOST {
            &[]
        } else {
            &["ip", "netns", "exec", ns]
        };
        prefix.iter().chain(argv).map(|a| a.to_string()).collect()
    };
    let full = in_ns(argv);
    let child = Command::new(&full[0])
        .args(&full[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start {argv:?} in {ns}: {e}"));
    let guard = Guard(child);
    let until = Instant::now() + Duration::from_secs(5);
    let mut ss = vec!["ss", "-Hn"];
    ss.extend_from_slice(ss_args);
    let ss = in_ns(&ss);
    let ss: Vec<&str> = ss.iter().map(String::as_str).collect();
    while Instant::now() < until {
        if String::from_utf8_lossy(&try_sh(&ss).stdout).contains(needle) {
            return guard;
        }
        std::thread::sleep(Duration::from_millis(30));
    }
    panic!("{argv:?} in {ns} did not start listening on {needle}");
}

/// The world's own namespace, for [`dnsmasq`] and [`tcp_listener`] (netlens calls it `host`).
pub const HOST: &str = "host";

/// A TCP listener on `port` in `ns` that accepts any number of connections.
pub fn tcp_listener(ns: &str, port: u16) -> Guard {
    let listen = format!("TCP-LISTEN:{port},fork,reuseaddr");
    serve(
        ns,
        &["socat", "-u", &listen, "OPEN:/dev/null"],
        &["-tl"],
        &format!(":{port}"),
    )
}

/// dnsmasq in `ns` answering on `listen`, logging queries to `log`; `extra` are its zone
/// options (it has no upstream: anything else is REFUSED).
pub fn dnsmasq(ns: &str, listen: &str, log: &Path, extra: &[&str]) -> Guard {
    let log_arg = format!("--log-facility={}", log.display());
    let pid_arg = format!("--pid-file={}", log.with_extension("pid").display());
    let listen_arg = format!("--listen-address={listen}");
    let mut argv = vec![
        "dnsmasq",
        "--keep-in-foreground",
        "--no-resolv",
        "--no-hosts",
        "--user=root",
        "--log-queries",
        "--bind-interfaces",
        &listen_arg,
        &log_arg,
        &pid_arg,
    ];
    argv.extend_from_slice(extra);
    serve(ns, &argv, &["-ul"], &format!("{listen}:53"))
}

/// Names dnsmasq logged as queried (`query[TYPE] NAME from ...`), in order, waiting up to a
/// second for at least `want` (it writes its log a moment after answering).
pub fn logged_queries(log: &Path, want: usize) -> Vec<String> {
    let until = Instant::now() + Duration::from_secs(1);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let got: Vec<String> = text
            .lines()
            .filter_map(|l| l.split("query[").nth(1))
            .map(|rest| {
                rest.split_whitespace()
                    .take(2)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        if got.len() >= want || Instant::now() > until {
            return got;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Writes `/etc/netns/NS/FILE` (call `private_etc_netns` first).
pub fn netns_file(ns: &str, file: &str, text: &str) -> PathBuf {
    let path = Path::new("/etc/netns").join(ns).join(file);
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    path
}

/// `getent hosts NAME` inside `ns`: the first address, or `None`.
pub fn getent(ns: &str, name: &str) -> Option<String> {
    let out = try_sh(&["ip", "netns", "exec", ns, "getent", "hosts", name]);
    if !out.status.success() {
        return None;
    }
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .map(str::to_string)
}

/// Runs netlens with the state directories `plan::private_state()` set in the environment.
pub fn netlens(args: &[&str]) -> Output {
    Command::new(netlens_bin())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run netlens {args:?}: {e}"))
}

/// `netlens doctor --json`: (exit code, findings).
pub fn doctor() -> (i32, Vec<Value>) {
    let out = netlens(&["doctor", "--json"]);
    let code = out.status.code().unwrap_or(-1);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "doctor panicked: {stderr}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "doctor exit {code}, JSON: {e}: {}{stderr}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    (code, v["findings"].as_array().cloned().unwrap_or_default())
}

/// The findings of `rule`.
pub fn of_rule<'a>(findings: &'a [Value], rule: &str) -> Vec<&'a Value> {
    findings.iter().filter(|f| f["rule"] == rule).collect()
}

/// Error and warning findings of any rule but `rule`, as "id (severity)".
pub fn unrelated(findings: &[Value], rule: &str) -> Vec<String> {
    findings
        .iter()
        .filter(|f| f["rule"] != rule && (f["severity"] == "error" || f["severity"] == "warning"))
        .map(|f| format!("{} ({})", f["id"].as_str().unwrap_or(""), f["severity"]))
        .collect()
}

/// The doctor reports one finding of `rule` per `(namespace, object kind, object name)` in
/// `expected` — in that namespace, of `severity`, naming that object — and nothing unrelated
/// at error or warning level. Returns them in the order of `expected`.
pub fn expect_findings(rule: &str, severity: &str, expected: &[(&str, &str, &str)]) -> Vec<Value> {
    let (code, findings) = doctor();
    let mine = of_rule(&findings, rule);
    assert_eq!(
        mine.len(),
        expected.len(),
        "{} {rule} finding(s) expected: {findings:#?}",
        expected.len()
    );
    let mut out = Vec::new();
    for &(ns, kind, name) in expected {
        let names = |f: &&&Value| {
            f["namespace"] == ns
                && f["objects"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|o| o["kind"] == kind && o["namespace"] == ns && o["name"] == name)
        };
        let f = mine
            .iter()
            .find(names)
            .unwrap_or_else(|| panic!("no {rule} in {ns} naming {kind} {name:?}: {mine:#?}"));
        assert_eq!(f["severity"], severity, "{f:#}");
        out.push((*f).clone());
    }
    let others = unrelated(&findings, rule);
    assert!(
        others.is_empty(),
        "unrelated findings {others:?}: {findings:#?}"
    );
    // Only errors and warnings make the doctor exit 1.
    let want = if severity == "info" { 0 } else { 1 };
    assert_eq!(code, want, "doctor exit code with {rule} ({severity})");
    out
}

/// [`expect_findings`] for a single finding.
pub fn expect_finding(rule: &str, severity: &str, ns: &str, object: (&str, &str)) -> Value {
    expect_findings(rule, severity, &[(ns, object.0, object.1)]).remove(0)
}

/// The doctor reports nothing of `rule` and nothing else at error or warning level.
pub fn expect_clean_of(rule: &str) {
    let (_, findings) = doctor();
    assert!(
        of_rule(&findings, rule).is_empty(),
        "false {rule}: {findings:#?}"
    );
    let others = unrelated(&findings, rule);
    assert!(
        others.is_empty(),
        "unexpected findings {others:?}: {findings:#?}"
    );
}

/// `netlens fix ID --yes` succeeds.
pub fn fix(id: &str) {
    let out = netlens(&["fix", id, "--yes"]);
    assert!(
        out.status.success(),
        "fix {id}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `netlens undo --yes` succeeds.
pub fn undo() {
    let out = netlens(&["undo", "--yes"]);
    assert!(
        out.status.success(),
        "undo: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
