//! Real traffic and the CLI's verdicts on it, for tests that check `path`, `trace` and the
//! doctor against the kernel: a ping, a TCP connect, a listener, a lab fault, any command's
//! `--json` output, `path --json` and its broken hop, `doctor --json`'s findings.

use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::Duration;

use serde_json::Value;

use super::snap::netlens;
use super::world::{netlens_bin, sh, try_sh};

pub fn ping_ok(ns: &str, dst: &str) -> bool {
    try_sh(&["ip", "netns", "exec", ns, "ping", "-c1", "-W1", dst])
        .status
        .success()
}

/// A real TCP connect from `ns` to `dst:port` (2 s at most).
pub fn connect_ok(ns: &str, dst: &str, port: u16) -> bool {
    let to = format!("TCP:{dst}:{port},connect-timeout=2");
    try_sh(&["ip", "netns", "exec", ns, "socat", "-T2", "/dev/null", &to])
        .status
        .success()
}

/// A listener process, stopped and reaped when dropped.
pub struct Listener(Child);

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A TCP listener on `port` in `ns`, answering every connection.
pub fn listen(ns: &str, port: u16) -> Listener {
    let l = format!("TCP-LISTEN:{port},fork,reuseaddr");
    let child = Command::new("ip")
        .args(["netns", "exec", ns, "socat", &l, "SYSTEM:true"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("socat");
    for _ in 0..50 {
        let ss = sh(&["ip", "netns", "exec", ns, "ss", "-Hltn"]);
        if ss.contains(&format!(":{port} ")) {
            break;
        }
        sleep(Duration::from_millis(100));
    }
    Listener(child)
}

/// `netlens SUB --json ARGS...` (any exit status): its exit code, the JSON it printed (`Null`
/// when there is none) and its stderr.
pub fn json_run(sub: &str, args: &[&str]) -> (i32, Value, String) {
    let mut argv = vec![sub, "--json"];
    argv.extend_from_slice(args);
    let out = netlens(&argv);
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code().unwrap_or(-1), v, err)
}

pub fn path(args: &[&str]) -> (i32, Value) {
    let (code, v, _) = json_run("path", args);
    (code, v)
}

/// `netlens lab break SCENARIO FAULT` succeeds.
pub fn lab_break(scenario: &str, fault: &str) {
    let bin = netlens_bin();
    sh(&[
        bin.to_str().expect("netlens path"),
        "lab",
        "break",
        scenario,
        fault,
    ]);
}

pub fn broken_cause(v: &Value) -> String {
    v["legs"]
        .as_array()
        .and_then(|l| l.iter().find(|l| l["outcome"]["outcome"] == "broken"))
        .map(|l| format!("{} {}", l["outcome"]["namespace"], l["outcome"]["cause"]))
        .unwrap_or_default()
}

pub fn doctor() -> Vec<Value> {
    let out = netlens(&["doctor", "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).expect("doctor JSON");
    v["findings"].as_array().cloned().unwrap_or_default()
}
