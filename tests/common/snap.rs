//! Helpers for snapshot tests: run the `netlens` binary, parse its JSON, look things up with
//! messages that say what was missing, and ask iproute2 for independent facts (MACs).
//!
//! Everything here is meant to be called inside a world (see `world.rs`).

use std::process::{Command, Output, Stdio};

use netlens::model::{Link, LinkKind, Namespace, Snapshot};

use super::world::{netlens_bin, sh};

/// Runs `netlens ARGS...` and returns its raw output (any exit status).
pub fn netlens(args: &[&str]) -> Output {
    Command::new(netlens_bin())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run netlens {args:?}: {e}"))
}

/// Runs `netlens snapshot --json ARGS...`, asserts it exits 0 with nothing on stderr, and parses
/// the output into the model (which proves the JSON matches the schema's types).
pub fn snapshot_json(args: &[&str]) -> Snapshot {
    let mut argv = vec!["snapshot", "--json"];
    argv.extend_from_slice(args);
    let out = netlens(&argv);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "netlens {argv:?} exited {}: {stderr}",
        out.status
    );
    assert!(
        !stderr.contains("panicked"),
        "netlens {argv:?} panicked: {stderr}"
    );
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("netlens {argv:?}: output is not a Snapshot: {e}\n{stdout}"))
}

/// Runs `netlens snapshot ARGS...` (text) and returns stdout; asserts exit 0.
pub fn snapshot_text(args: &[&str]) -> String {
    let mut argv = vec!["snapshot"];
    argv.extend_from_slice(args);
    let out = netlens(&argv);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "netlens {argv:?} exited {}: {stderr}",
        out.status
    );
    String::from_utf8(out.stdout).expect("text output is UTF-8")
}

/// The lines of the text output's `== topology` section, trimmed, in order.
pub fn topology_lines(text: &str) -> Vec<String> {
    let mut lines = text.lines();
    if !lines.any(|l| l == "== topology") {
        return Vec::new();
    }
    lines
        .take_while(|l| !l.starts_with("=="))
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

/// The namespace called `name`; panics listing the namespaces that exist.
pub fn ns<'a>(snap: &'a Snapshot, name: &str) -> &'a Namespace {
    snap.namespace(name).unwrap_or_else(|| {
        let names: Vec<&str> = snap.namespaces.iter().map(|n| n.name.as_str()).collect();
        panic!("no namespace {name:?} in the snapshot; have {names:?}")
    })
}

/// Link `name` of namespace `ns_name`; panics listing the links that exist.
pub fn link<'a>(snap: &'a Snapshot, ns_name: &str, name: &str) -> &'a Link {
    let n = ns(snap, ns_name);
    n.link(name).unwrap_or_else(|| {
        let names: Vec<&str> = n.links.iter().map(|l| l.name.as_str()).collect();
        panic!("no link {name:?} in namespace {ns_name:?}; have {names:?}")
    })
}

/// Sorted link names of a namespace.
pub fn link_names(snap: &Snapshot, ns_name: &str) -> Vec<String> {
    let mut v: Vec<String> = ns(snap, ns_name)
        .links
        .iter()
        .map(|l| l.name.clone())
        .collect();
    v.sort();
    v
}

/// `(namespace, name)` of a veth's peer as netlens reports it.
pub fn peer_of(snap: &Snapshot, ns_name: &str, name: &str) -> (Option<String>, Option<String>) {
    let l = link(snap, ns_name, name);
    let p = l
        .peer
        .as_ref()
        .unwrap_or_else(|| panic!("{ns_name}/{name} has no peer: {l:#?}"));
    (p.namespace.clone(), p.name.clone())
}

/// Asserts that `a` (in `ns_a`) and `b` (in `ns_b`) name each other as veth peers, with the right
/// interface indexes.
pub fn assert_veth_pair(snap: &Snapshot, ns_a: &str, a: &str, ns_b: &str, b: &str) {
    let la = link(snap, ns_a, a);
    let lb = link(snap, ns_b, b);
    assert_eq!(la.kind, LinkKind::Veth, "{ns_a}/{a}");
    assert_eq!(lb.kind, LinkKind::Veth, "{ns_b}/{b}");
    let pa = la
        .peer
        .as_ref()
        .unwrap_or_else(|| panic!("{ns_a}/{a}: no peer"));
    let pb = lb
        .peer
        .as_ref()
        .unwrap_or_else(|| panic!("{ns_b}/{b}: no peer"));
    assert_eq!(
        (pa.namespace.as_deref(), pa.name.as_deref(), pa.ifindex),
        (Some(ns_b), Some(b), lb.index),
        "peer of {ns_a}/{a}"
    );
    assert_eq!(
        (pb.namespace.as_deref(), pb.name.as_deref(), pb.ifindex),
        (Some(ns_a), Some(a), la.index),
        "peer of {ns_b}/{b}"
    );
}

/// `(ifname, "addr/len", scope)` of every IPv4 address of a namespace, sorted.
pub fn v4_addresses(snap: &Snapshot, ns_name: &str) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = ns(snap, ns_name)
        .addresses
        .iter()
        .filter(|a| a.address.is_ipv4())
        .map(|a| (a.ifname.clone(), a.cidr(), a.scope.to_string()))
        .collect();
    v.sort();
    v
}

/// `(ifname, "addr/len")` of every IPv6 address of a namespace, sorted.
pub fn v6_addresses(snap: &Snapshot, ns_name: &str) -> Vec<(String, String)> {
    let mut v: Vec<_> = ns(snap, ns_name)
        .addresses
        .iter()
        .filter(|a| a.address.is_ipv6())
        .map(|a| (a.ifname.clone(), a.cidr()))
        .collect();
    v.sort();
    v
}

/// The same as [`v6_addresses`], asked of iproute2 (`ip -6 -j addr`) in namespace `ip_ns`
/// (`None` for the world's root).
pub fn v6_addresses_from_ip(ip_ns: Option<&str>) -> Vec<(String, String)> {
    let json = ip_json(ip_ns, &["-6", "addr", "show"]);
    let mut v = Vec::new();
    for link in json.as_array().expect("ip -j addr: array") {
        let ifname = link["ifname"].as_str().unwrap_or_default().to_string();
        for a in link["addr_info"].as_array().into_iter().flatten() {
            v.push((
                ifname.clone(),
                format!(
                    "{}/{}",
                    a["local"].as_str().unwrap_or_default(),
                    a["prefixlen"]
                ),
            ));
        }
    }
    v.sort();
    v
}

/// Routes of a namespace in table `table` and family `inet`/`inet6`, each rendered compactly as
/// `dst [via GW] [dev DEV] proto P scope S [src SRC] [kind K] [metric M]`, sorted.
pub fn routes(snap: &Snapshot, ns_name: &str, family: &str, table: u32) -> Vec<String> {
    let mut v: Vec<String> = ns(snap, ns_name)
        .routes
        .iter()
        .filter(|r| r.family.as_str() == family && r.table == table)
        .map(|r| {
            let mut s = r.dst.to_string();
            if r.kind != netlens::model::RouteKind::Unicast {
                s = format!("{} {s}", r.kind);
            }
            if let Some(g) = r.gateway {
                s += &format!(" via {g}");
            }
            if let Some(d) = &r.dev {
                s += &format!(" dev {d}");
            }
            s += &format!(" proto {} scope {}", r.protocol, r.scope);
            if let Some(p) = r.prefsrc {
                s += &format!(" src {p}");
            }
            if let Some(m) = r.metric {
                s += &format!(" metric {m}");
            }
            s
        })
        .collect();
    v.sort();
    v
}

/// `ip [-n NS] -j ARGS...` parsed.
pub fn ip_json(ip_ns: Option<&str>, args: &[&str]) -> serde_json::Value {
    let mut argv = vec!["ip"];
    if let Some(n) = ip_ns {
        argv.extend(["-n", n]);
    }
    argv.push("-j");
    argv.extend_from_slice(args);
    let out = sh(&argv);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{argv:?}: bad JSON {e}: {out}"))
}

/// MAC address of `ifname` in `ip_ns` (`None`: the world's root), as iproute2 reports it.
pub fn mac_from_ip(ip_ns: Option<&str>, ifname: &str) -> String {
    let v = ip_json(ip_ns, &["link", "show", "dev", ifname]);
    v[0]["address"]
        .as_str()
        .unwrap_or_else(|| panic!("no address for {ifname}: {v}"))
        .to_string()
}

/// Runs `argv` inside named namespace `ns` (`ip netns exec`).
pub fn ns_sh(ns_name: &str, argv: &[&str]) -> String {
    let mut full = vec!["ip", "netns", "exec", ns_name];
    full.extend_from_slice(argv);
    sh(&full)
}

/// One ICMP echo from named namespace `ns` to `dst`; panics if it gets no reply.
pub fn ping(ns_name: &str, dst: &str) {
    ns_sh(ns_name, &["ping", "-c1", "-W2", dst]);
}

/// Every veth of the snapshot has a resolved peer that points back at it.
pub fn assert_all_veths_paired(snap: &Snapshot) {
    for ns in &snap.namespaces {
        for l in ns.links.iter().filter(|l| l.kind == LinkKind::Veth) {
            let p = l
                .peer
                .as_ref()
                .unwrap_or_else(|| panic!("{}/{}: veth without peer", ns.name, l.name));
            let (pns, pname) = (
                p.namespace.as_deref().unwrap_or_else(|| {
                    panic!("{}/{}: peer namespace unknown: {p:?}", ns.name, l.name)
                }),
                p.name
                    .as_deref()
                    .unwrap_or_else(|| panic!("{}/{}: peer name unknown: {p:?}", ns.name, l.name)),
            );
            assert_veth_pair(snap, &ns.name, &l.name, pns, pname);
        }
    }
}
