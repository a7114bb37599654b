//! `netlens ports` in a throwaway world whose own root namespace is made to look like a
//! control-plane node: socat listening on 10250 (all addresses), 6443 (loopback only) and
//! 10256 (dropped by INPUT from the peer subnet), kube-proxy's nat KUBE-NODEPORTS chain with
//! one NodePort. A second namespace `nodeb`, joined by a veth on 100.72.9.0/24, plays another
//! node for `--peer`/`--from`. Names and subnets are unlike the lab's.

use crate::common;

use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::world::{in_world, netlens_bin, sh};
use serde_json::Value;

const NODE_IP: &str = "100.72.9.1";
const PEER_IP: &str = "100.72.9.2";

/// Kills the listeners when the test ends, even on a failed assertion.
struct Listeners(Vec<Child>);

impl Drop for Listeners {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn socat(netns: Option<&str>, listen: &str) -> Child {
    let mut argv: Vec<&str> = Vec::new();
    if let Some(ns) = netns {
        argv.extend(["ip", "netns", "exec", ns]);
    }
    argv.extend(["socat", listen, "SYSTEM:true"]);
    Command::new(argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("socat")
}

fn wait_for(addr: &str) {
    let addr: SocketAddr = addr.parse().expect("addr");
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {addr}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn node() -> Listeners {
    sh(&["ip", "netns", "add", "nodeb"]);
    sh(&["ip", "-n", "nodeb", "link", "set", "lo", "up"]);
    sh(&[
        "ip", "link", "add", "uplk0", "type", "veth", "peer", "name", "eth9", "netns", "nodeb",
    ]);
    sh(&["ip", "addr", "add", "100.72.9.1/24", "dev", "uplk0"]);
    sh(&[
        "ip",
        "-n",
        "nodeb",
        "addr",
        "add",
        "100.72.9.2/24",
        "dev",
        "eth9",
    ]);
    sh(&["ip", "link", "set", "uplk0", "up"]);
    sh(&["ip", "-n", "nodeb", "link", "set", "eth9", "up"]);
    sh(&[
        "iptables",
        "-A",
        "INPUT",
        "-s",
        "100.72.9.0/24",
        "-p",
        "tcp",
        "--dport",
        "10256",
        "-j",
        "DROP",
    ]);
    sh(&["iptables", "-t", "nat", "-N", "KUBE-NODEPORTS"]);
    sh(&["iptables", "-t", "nat", "-N", "KUBE-EXT-CART"]);
    sh(&[
        "iptables",
        "-t",
        "nat",
        "-A",
        "KUBE-NODEPORTS",
        "-p",
        "tcp",
        "-m",
        "comment",
        "--comment",
        "shop/cart:http",
        "-m",
        "tcp",
        "--dport",
        "31080",
        "-j",
        "KUBE-EXT-CART",
    ]);
    let l = Listeners(vec![
        socat(None, "TCP-LISTEN:10250,bind=0.0.0.0,fork,reuseaddr"),
        socat(None, "TCP-LISTEN:6443,bind=127.0.0.1,fork,reuseaddr"),
        socat(None, "TCP-LISTEN:10256,bind=0.0.0.0,fork,reuseaddr"),
        socat(Some("nodeb"), "TCP-LISTEN:10250,fork,reuseaddr"),
    ]);
    wait_for("127.0.0.1:10250");
    wait_for("127.0.0.1:6443");
    wait_for("127.0.0.1:10256");
    wait_for(&format!("{PEER_IP}:10250"));
    l
}

/// Runs `netlens ports ARGS`; (exit code, stdout as JSON or Null, stderr).
fn ports(args: &[&str]) -> (i32, Value, String) {
    let out = Command::new(netlens_bin())
        .arg("ports")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("netlens ports");
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap_or(-1),
        v,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn row<'a>(v: &'a Value, port: u64, proto: &str) -> &'a Value {
    v["ports"]
        .as_array()
        .and_then(|ps| {
            ps.iter()
                .find(|p| p["port"] == port && p["protocol"] == proto)
        })
        .unwrap_or_else(|| panic!("no row {proto}/{port}: {v:#}"))
}

fn peer_result(p: &Value, port: u64) -> String {
    p["peers"]
        .as_array()
        .and_then(|ps| ps.iter().find(|r| r["port"] == port))
        .map(|r| r["result"].as_str().unwrap_or("").to_string())
        .unwrap_or_else(|| panic!("no peer result for {port}: {p:#}"))
}

#[test]
fn ports_on_a_world_that_looks_like_a_node() {
    in_world("ports::ports_on_a_world_that_looks_like_a_node", || {
        let _l = node();
        let (code, v, err) = ports(&["--json"]);
        assert_eq!(code, 1, "{err}\n{v:#}");
        assert_eq!(v["role"], "control-plane", "{v:#}");
        assert_eq!(v["role_detected"], true);
        assert!(v["role_reason"].as_str().unwrap_or("").contains("6443"));
        assert_eq!(v["kube_proxy"], "iptables");
        assert!(v["identity"]["hostname"].is_string());
        assert!(v["identity"]["macs"].is_array());

        let kubelet = row(&v, 10250, "tcp");
        assert_eq!(kubelet["listening"], true);
        assert_eq!(kubelet["process"]["name"], "socat");
        assert!(kubelet["process"]["pid"].as_u64().unwrap_or(0) > 0);
        assert_eq!(kubelet["address"], "0.0.0.0");
        assert_eq!(kubelet["end_port"], Value::Null);
        assert_eq!(kubelet["input"]["verdict"], "accept");
        assert_eq!(kubelet["problems"].as_array().map(Vec::len), Some(0));

        let api = row(&v, 6443, "tcp");
        assert_eq!(api["address"], "127.0.0.1");
        assert_eq!(api["loopback_only"], true);
        assert!(
            api["problems"][0]
                .as_str()
                .unwrap_or("")
                .contains("bound to 127.0.0.1:6443 only"),
            "{api:#}"
        );

        let proxy = row(&v, 10256, "tcp");
        assert_eq!(proxy["input"]["verdict"], "drop", "{proxy:#}");
        assert_eq!(proxy["input"]["from"], PEER_IP);
        assert_eq!(proxy["input"]["iif"], "uplk0");
        assert_eq!(
            proxy["input"]["rule"],
            "filter INPUT: -A INPUT -s 100.72.9.0/24 -p tcp -m tcp --dport 10256 -j DROP"
        );

        let np = row(&v, 30000, "tcp");
        assert_eq!(np["end_port"], 32767);
        assert_eq!(np["nodeports"][0]["port"], 31080, "{np:#}");
        assert_eq!(np["nodeports"][0]["service"], "shop/cart:http");
        assert_eq!(np["nodeports"][0]["listening"], false);

        // The doctor agrees, and names the same two problems.
        let out = Command::new(netlens_bin())
            .args(["doctor", "--json"])
            .output()
            .expect("doctor");
        let d: Value = serde_json::from_slice(&out.stdout).expect("doctor json");
        let ids: Vec<&str> = d["findings"]
            .as_array()
            .map(|f| f.iter().filter_map(|f| f["id"].as_str()).collect())
            .unwrap_or_default();
        assert!(ids.contains(&"k8s-port-loopback:host:tcp/6443"), "{ids:?}");
        assert!(ids.contains(&"k8s-port-blocked:host:tcp/10256"), "{ids:?}");
        assert!(ids.contains(&"k8s-port-missing:host:tcp/10259"), "{ids:?}");

        // Text output says the same in one table.
        let out = Command::new(netlens_bin())
            .args(["ports", "--role", "worker"])
            .output()
            .expect("ports text");
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{text}");
        assert!(text.contains("role worker (given with --role)"), "{text}");
        assert!(!text.contains("given: given"), "{text}");
        assert!(text.contains("NodePort tcp/31080 shop/cart:http"), "{text}");
        assert!(!text.contains("6443"), "{text}");
    });
}

#[test]
fn ports_connects_to_peers_from_here_and_from_a_namespace() {
    in_world(
        "ports::ports_connects_to_peers_from_here_and_from_a_namespace",
        || {
            let _l = node();
            // From nodeb to this node: the kubelet answers, the loopback-only API server refuses,
            // and INPUT's drop of 10256 leaves the SYN unanswered.
            let start = Instant::now();
            let (code, v, err) = ports(&[
                "--json",
                "--peer",
                NODE_IP,
                "--from",
                "nodeb",
                "--timeout-ms",
                "300",
            ]);
            assert!(start.elapsed() < Duration::from_secs(10));
            assert_eq!(code, 1, "{err}\n{v:#}");
            assert_eq!(v["probed_from"], "nodeb");
            assert_eq!(peer_result(row(&v, 10250, "tcp"), 10250), "connected");
            assert_eq!(peer_result(row(&v, 6443, "tcp"), 6443), "refused");
            let proxy = row(&v, 10256, "tcp");
            assert_eq!(peer_result(proxy, 10256), "timeout", "{proxy:#}");
            let ms = proxy["peers"][0]["ms"].as_u64().unwrap_or(0);
            assert!((250..2000).contains(&ms), "{ms} ms");
            assert_eq!(proxy["peers"][0]["addr"], NODE_IP);
            // Self-only ports are not probed; NodePorts are, on the ones in use.
            assert_eq!(
                row(&v, 10259, "tcp")["peers"].as_array().map(Vec::len),
                Some(0)
            );
            assert_eq!(peer_result(row(&v, 30000, "tcp"), 31080), "refused");

            // From here to nodeb as a worker: its kubelet listens, its kube-proxy does not.
            let (code, v, err) = ports(&["--json", "--role", "worker", "--peer", PEER_IP]);
            assert_eq!(code, 1, "{err}\n{v:#}");
            assert_eq!(v["role_detected"], false);
            assert!(v.get("probed_from").is_none(), "{v:#}");
            assert_eq!(peer_result(row(&v, 10250, "tcp"), 10250), "connected");
            assert_eq!(peer_result(row(&v, 10256, "tcp"), 10256), "refused");

            // In text, a failed connect is said once (as the row's problem), not twice.
            let out = Command::new(netlens_bin())
                .args(["ports", "--role", "worker", "--peer", PEER_IP])
                .output()
                .expect("ports text");
            let text = String::from_utf8_lossy(&out.stdout);
            let refused = format!("{PEER_IP}:10256");
            let said = text.lines().filter(|l| l.contains(&refused)).count();
            assert_eq!(said, 1, "{text}");
            assert!(
                text.contains(&format!("peer {PEER_IP}:10250: connected")),
                "{text}"
            );
        },
    );
}

#[test]
fn ports_refuses_bad_input() {
    in_world("ports::ports_refuses_bad_input", || {
        sh(&["ip", "netns", "add", "nodeb"]);
        for (args, says) in [
            (vec!["--role", "etcd"], "unknown role"),
            (vec!["--peer", "nodeb.example"], "not an IP address"),
            (vec!["--peer", "10.0.0.300"], "not an IP address"),
            (
                vec!["--peer", "100.72.9.2", "--from", "nowhere"],
                "no namespace",
            ),
            (vec!["--ns", "nowhere"], "no namespace"),
            (vec!["--from", "nodeb"], "--from needs"),
        ] {
            let (code, _, err) = ports(&args);
            assert_eq!(code, 2, "{args:?}: {err}");
            assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
            assert!(err.contains(says), "{args:?}: {err}");
        }
        // A namespace named with --ns is checked instead of the host's: nothing Kubernetes
        // there, so every required port is missing.
        let (code, v, err) = ports(&["--json", "--ns", "nodeb"]);
        assert_eq!(code, 1, "{err}");
        assert_eq!(v["namespace"], "nodeb");
        assert_eq!(v["kubernetes"], Value::Null);
    });
}
