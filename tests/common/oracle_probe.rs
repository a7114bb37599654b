//! The random-topology oracle's two sides of each question: what the kernel does (a real
//! `ping`, a real TCP connect to a listener the test runs) and what netlens says (`path`,
//! `doctor`, `fix`, `undo`, the real binary). Everything here runs inside a world.

use std::fs::File;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use nix::sched::{setns, CloneFlags};
use serde_json::Value;

use super::oracle_fault::{rule_words, Fault};
use super::topo_gen::{Rng, Topology, DNAT_PORT, INET_SERVER, PORT, R0_UPLINK};
use super::world::{netlens_bin, try_sh};

/// One question: from namespace `from` to `dst`, ICMP echo or a TCP connect to `port`.
#[derive(Debug, Clone)]
pub struct Pair {
    pub from: String,
    pub dst: String,
    pub port: Option<u16>,
    /// Namespaces the packet should cross (both ends included), to aim pairs at a fault.
    pub through: Vec<String>,
    /// The namespace that answers.
    pub to_ns: String,
}

impl Pair {
    pub fn label(&self) -> String {
        match self.port {
            Some(p) => format!("{} → {}:{p}/tcp", self.from, self.dst),
            None => format!("{} → {}/icmp", self.from, self.dst),
        }
    }
}

fn pair(from: &str, dst: &str, port: Option<u16>, through: Vec<String>, to: &str) -> Pair {
    Pair {
        from: from.into(),
        dst: dst.into(),
        port,
        through,
        to_ns: to.into(),
    }
}

/// Namespaces between two hosts: each one's chain up to the first namespace they share.
fn between(a: &[String], b: &[String]) -> Vec<String> {
    let ia = a.iter().position(|n| b.contains(n)).unwrap_or(a.len() - 1);
    let mut v: Vec<String> = a[..=ia].to_vec();
    v.extend(b.iter().take_while(|n| *n != &a[ia]).cloned());
    v
}

/// Every question worth asking of `t`.
pub fn candidates(t: &Topology) -> Vec<Pair> {
    let mut v = Vec::new();
    for h in &t.hosts {
        let mut out = h.chain.clone();
        out.push("inet".into());
        v.push(pair(&h.ns, INET_SERVER, None, out.clone(), "inet"));
        v.push(pair(&h.ns, INET_SERVER, Some(PORT), out, "inet"));
        // Up to the gateway's namespace, the first router on the way (switches cross).
        let to_gw = h.chain[1..]
            .iter()
            .position(|n| t.routers.contains(n))
            .map_or(h.chain.len(), |i| i + 2);
        let gw_ns = &h.chain[to_gw - 1];
        v.push(pair(&h.ns, &h.gw, None, h.chain[..to_gw].to_vec(), gw_ns));
        for o in t.hosts.iter().filter(|o| o.ns != h.ns) {
            let through = between(&h.chain, &o.chain);
            v.push(pair(&h.ns, &o.addr, None, through.clone(), &o.ns));
            v.push(pair(&h.ns, &o.addr, Some(PORT), through, &o.ns));
        }
        if !t.masquerade {
            let mut back = vec!["inet".to_string()];
            back.extend(h.chain.iter().rev().cloned());
            v.push(pair("inet", &h.addr, None, back, &h.ns));
        }
    }
    if let Some(h) = &t.dnat {
        let mut through = vec!["inet".to_string()];
        through.extend(h.chain.iter().rev().cloned());
        v.push(pair("inet", R0_UPLINK, Some(DNAT_PORT), through, &h.ns));
        for c in t.hosts.iter().filter(|_| t.dnat_inside) {
            let mut through = c.chain.clone();
            through.extend(h.chain.iter().rev().cloned());
            v.push(pair(&c.ns, R0_UPLINK, Some(DNAT_PORT), through, &h.ns));
        }
    }
    v
}

/// Whether `p` is where `fault` bites: crossing its namespace (an INPUT drop: TCP to it).
fn aimed_at(p: &Pair, fault: &Fault) -> bool {
    if matches!(fault.kind, "input-drop" | "nft-input-drop") {
        p.port.is_some() && p.to_ns == fault.ns
    } else {
        p.through.contains(&fault.ns)
    }
}

/// Up to `max` pairs: two thirds aimed at the fault (so it is tested where it bites), the
/// rest at random.
pub fn choose(mut cands: Vec<Pair>, fault: &Fault, rng: &mut Rng, max: usize) -> Vec<Pair> {
    let mut chosen = Vec::new();
    let aimed = (max * 2).div_ceil(3);
    while chosen.len() < aimed {
        let hits: Vec<usize> = (0..cands.len())
            .filter(|&i| aimed_at(&cands[i], fault))
            .collect();
        if hits.is_empty() {
            break;
        }
        chosen.push(cands.swap_remove(hits[rng.below(hits.len())]));
    }
    while chosen.len() < max && !cands.is_empty() {
        let i = rng.below(cands.len());
        chosen.push(cands.swap_remove(i));
    }
    chosen
}

/// Moves the calling thread into named namespace `ns` (a thread of its own: see FIELD-NOTES).
fn enter(ns: &str) {
    let f =
        File::open(format!("/run/netns/{ns}")).unwrap_or_else(|e| panic!("open netns {ns}: {e}"));
    setns(f, CloneFlags::CLONE_NEWNET).unwrap_or_else(|e| panic!("setns {ns}: {e}"));
}

/// TCP listeners on [`PORT`] in the topology's namespaces, each on a thread of its own that
/// accepts and closes; stopped (and their namespaces released) by [`Listeners::stop`].
pub struct Listeners {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Listeners {
    pub fn start(namespaces: &[String]) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        for ns in namespaces {
            let (ns, stop2) = (ns.clone(), stop.clone());
            let (tx, rx) = mpsc::channel();
            threads.push(thread::spawn(move || {
                enter(&ns);
                let l = TcpListener::bind(("0.0.0.0", PORT))
                    .unwrap_or_else(|e| panic!("listen in {ns}: {e}"));
                l.set_nonblocking(true).expect("nonblocking listener");
                tx.send(()).expect("listener ready");
                while !stop2.load(Ordering::Relaxed) {
                    match l.accept() {
                        Ok((s, _)) => drop(s),
                        Err(_) => thread::sleep(Duration::from_millis(10)),
                    }
                }
            }));
            rx.recv_timeout(Duration::from_secs(5))
                .expect("listener did not start");
        }
        Listeners { stop, threads }
    }
    pub fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            t.join().expect("listener thread");
        }
    }
}

/// What the kernel does: the echo is answered, or the connect completes.
pub fn reality(p: &Pair) -> bool {
    match p.port {
        None => try_sh(&[
            "ip", "netns", "exec", &p.from, "ping", "-n", "-q", "-c1", "-W1", &p.dst,
        ])
        .status
        .success(),
        Some(port) => {
            let (from, addr): (String, SocketAddr) = (
                p.from.clone(),
                format!("{}:{port}", p.dst).parse().expect("socket address"),
            );
            thread::spawn(move || {
                enter(&from);
                TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok()
            })
            .join()
            .expect("connect thread")
        }
    }
}

/// What `netlens path` says: (delivers, one line naming where and why it breaks).
pub fn path(p: &Pair) -> (Option<bool>, String) {
    let mut args = vec!["path", "--json", "--from", &p.from, &p.dst];
    let port = p.port.map(|n| n.to_string());
    if let Some(port) = &port {
        args.extend(["--proto", "tcp", "--port", port]);
    }
    let out = netlens(&args, None);
    let v: Value = match serde_json::from_slice(&out.stdout) {
        Ok(v) => v,
        Err(_) => {
            let err = String::from_utf8_lossy(&out.stderr);
            return (
                None,
                format!("exit {:?}: {}", out.status.code(), err.trim()),
            );
        }
    };
    let delivers = v["delivers"].as_bool();
    let mut why = Vec::new();
    for leg in v["legs"].as_array().into_iter().flatten() {
        let o = &leg["outcome"];
        if o["outcome"] == "broken" {
            why.push(format!(
                "{} broken in {}: {} (fix {})",
                leg["direction"].as_str().unwrap_or("?"),
                o["namespace"].as_str().unwrap_or("?"),
                o["cause"].as_str().unwrap_or("?"),
                o["finding"].as_str().unwrap_or("none")
            ));
        }
    }
    (delivers, why.join("; "))
}

/// Runs netlens with `state` (a private journal and sysctl.d directory) when given.
pub fn netlens(args: &[&str], state: Option<&str>) -> Output {
    let mut c = Command::new(netlens_bin());
    c.args(args).stdin(Stdio::null());
    if let Some(dir) = state {
        // netlens refuses a state directory whose parent is missing or not root's own.
        std::fs::create_dir_all(dir).expect("state directory parent");
        c.env("NETLENS_STATE_DIR", format!("{dir}/state"))
            .env("NETLENS_SYSCTL_DIR", format!("{dir}/sysctl.d"));
    }
    c.output()
        .unwrap_or_else(|e| panic!("cannot run netlens {args:?}: {e}"))
}

/// `netlens doctor --json`: (exit code, the error and warning findings).
pub fn doctor() -> (Option<i32>, Vec<Value>) {
    let out = netlens(&["doctor", "--json"], None);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    let findings = v["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["severity"] == "error" || f["severity"] == "warning")
        .cloned()
        .collect();
    (out.status.code(), findings)
}

/// Whether `f` names the fault: its namespace (the finding's own, or one of its objects'),
/// and the fault's kind (by its rule) or its very object.
pub fn names_fault(f: &Value, fault: &Fault) -> bool {
    let objects = f["objects"].as_array().cloned().unwrap_or_default();
    let in_ns = f["namespace"] == fault.ns.as_str()
        || objects.iter().any(|o| o["namespace"] == fault.ns.as_str());
    let rule = f["rule"].as_str().unwrap_or_default();
    let kind = rule_words(fault.kind).iter().any(|w| rule.contains(w))
        || objects.iter().any(|o| o["name"] == fault.object.as_str());
    in_ns && kind
}

/// `id (severity): title` of each finding, for messages.
pub fn ids(findings: &[Value]) -> String {
    let v: Vec<String> = findings
        .iter()
        .map(|f| {
            format!(
                "{} ({}): {}",
                f["id"].as_str().unwrap_or("?"),
                f["severity"].as_str().unwrap_or("?"),
                f["title"].as_str().unwrap_or("?")
            )
        })
        .collect();
    if v.is_empty() {
        "nothing".into()
    } else {
        v.join("; ")
    }
}
