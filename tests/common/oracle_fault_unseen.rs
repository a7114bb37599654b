//! Fault kinds the oracle added after its first ten, for faults a tester would try next:
//! route types that drop (`blackhole`/`unreachable`/`prohibit`), policy rules, bridge port
//! flags (isolated, STP state, learning/flood), a wrong permanent neighbour, and DROPs in the
//! raw and mangle tables. Each is placed on the way of a host's traffic (its own namespace or
//! a router on its chain), so at least one probed pair crosses it.

use super::oracle_fault::Fault;
use super::topo_gen::{exec_in, Host, Rng, Topology, INET_SERVER, PORT};

/// The kinds this file injects, in the order they follow the first ten in `KINDS`.
pub const UNSEEN: &[&str] = &[
    "blackhole-route",
    "policy-rule",
    "port-isolated",
    "port-blocking",
    "neigh-wrong",
    "mangle-drop",
    "raw-drop",
];

pub fn rule_words(kind: &str) -> &'static [&'static str] {
    match kind {
        "blackhole-route" => &["blackhole", "unreachable", "prohibit", "route"],
        "policy-rule" => &["rule", "policy", "route"],
        "port-isolated" => &["isolated", "port", "bridge"],
        "port-blocking" => &["port", "bridge", "stp", "learning", "flood"],
        "neigh-wrong" => &["neigh"],
        "mangle-drop" => &["mangle", "drop", "mark", "forward", "blocked"],
        "raw-drop" => &["raw", "drop", "blocked"],
        _ => &[],
    }
}

fn ip(ns: &str, parts: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ["ip", "-n", ns].iter().map(|s| s.to_string()).collect();
    v.extend(parts.iter().map(|s| s.to_string()));
    v
}

fn fault(kind: &'static str, ns: &str, object: &str, commands: Vec<Vec<String>>) -> Fault {
    Fault {
        kind,
        ns: ns.into(),
        object: object.into(),
        commands,
    }
}

/// A namespace that routes `h`'s traffic: the host itself or a router on its chain.
fn on_the_way<'a>(t: &Topology, h: &'a Host, rng: &mut Rng) -> &'a str {
    let places: Vec<&String> = h.chain.iter().filter(|n| !t.switches.contains(n)).collect();
    places[rng.below(places.len())]
}

/// A destination `h` probes that is not on its own segment: the internet server or another
/// host's address.
fn far_dst(t: &Topology, h: &Host, rng: &mut Rng) -> String {
    let prefix = |a: &str| a.rsplit_once('.').map_or("", |x| x.0).to_string();
    let others: Vec<&Host> = t
        .hosts
        .iter()
        .filter(|o| prefix(&o.addr) != prefix(&h.addr))
        .collect();
    if others.is_empty() || rng.chance(1, 2) {
        INET_SERVER.into()
    } else {
        others[rng.below(others.len())].addr.clone()
    }
}

/// The /25 holding `addr` (every address the generator uses is below .128): more specific
/// than any route the topology has, so it never collides with one.
fn slash25(addr: &str) -> String {
    let net = addr.rsplit_once('.').map_or("0.0.0", |x| x.0);
    format!("{net}.0/25")
}

pub fn inject(kind: &'static str, t: &Topology, rng: &mut Rng) -> Option<Fault> {
    let h = rng.pick(&t.hosts).clone();
    match kind {
        "blackhole-route" => Some(blackhole(kind, t, &h, rng)),
        "policy-rule" => Some(policy(kind, t, &h, rng)),
        "port-isolated" => isolated(kind, t, rng),
        "port-blocking" => blocking(kind, t, rng),
        "neigh-wrong" => Some(neigh(kind, t, &h, rng)),
        "mangle-drop" | "raw-drop" => Some(table_drop(kind, t, &h, rng)),
        other => panic!("unknown fault kind {other:?}"),
    }
}

fn blackhole(kind: &'static str, t: &Topology, h: &Host, rng: &mut Rng) -> Fault {
    let ty = *rng.pick(&["blackhole", "unreachable", "prohibit"]);
    if rng.chance(1, 3) {
        // The default route itself turned into one that drops.
        let defaults: Vec<&(String, String)> =
            t.routes.iter().filter(|(_, d)| d == "default").collect();
        let (ns, _) = defaults[rng.below(defaults.len())];
        let cmd = ip(ns, &["route", "replace", ty, "default"]);
        return fault(kind, ns, &format!("{ty} default"), vec![cmd]);
    }
    let ns = on_the_way(t, h, rng);
    let dst = slash25(&far_dst(t, h, rng));
    let cmd = ip(ns, &["route", "add", ty, &dst]);
    fault(kind, ns, &dst, vec![cmd])
}

fn policy(kind: &'static str, t: &Topology, h: &Host, rng: &mut Rng) -> Fault {
    let ns = on_the_way(t, h, rng);
    let from = if ns == h.ns {
        h.addr.clone()
    } else {
        slash25(&h.addr)
    };
    let dst = slash25(&far_dst(t, h, rng));
    let rule = |sel: &str, x: &str, action: &[&str]| {
        let mut v = vec!["rule", "add", sel, x];
        v.extend(action);
        ip(ns, &v)
    };
    let variant = match rng.below(5) {
        // A router with no LAN bridge (one in the middle of a chain) has no address to spare
        // for a gateway nobody holds: a rule that drops instead.
        v if v >= 3 && ns != h.ns && router_link(t, ns).is_none() => 1,
        v => v,
    };
    let (object, cmds) = match variant {
        0 => {
            let ty = *rng.pick(&["blackhole", "unreachable"]);
            let table = ip(ns, &["route", "add", ty, "default", "table", "100"]);
            let r = rule("from", &from, &["lookup", "100"]);
            (format!("from {from} lookup 100"), vec![table, r])
        }
        1 => {
            let ty = *rng.pick(&["prohibit", "blackhole", "unreachable"]);
            (format!("to {dst} {ty}"), vec![rule("to", &dst, &[ty])])
        }
        2 => {
            // An empty table: the lookup falls through to the next rule, nothing breaks.
            let r = rule("to", &dst, &["lookup", "100"]);
            (format!("to {dst} lookup 100"), vec![r])
        }
        _ => {
            // A table whose default route points at a gateway nobody holds.
            let (dev, gw) = if ns == h.ns {
                ("eth0".to_string(), wrong_neighbour(&h.gw))
            } else {
                let (dev, gw) = router_link(t, ns).expect("checked above");
                (dev, wrong_neighbour(&gw))
            };
            let table = ip(
                ns,
                &[
                    "route", "add", "default", "via", &gw, "dev", &dev, "table", "100",
                ],
            );
            let r = rule("to", &dst, &["lookup", "100"]);
            (format!("to {dst} lookup 100"), vec![table, r])
        }
    };
    fault(kind, ns, &object, cmds)
}

/// An address on the /24 of `addr` that nobody in the topology holds.
fn wrong_neighbour(addr: &str) -> String {
    let net = addr.rsplit_once('.').map_or("0.0.0", |x| x.0);
    format!("{net}.99")
}

/// A link of router `ns` with a subnet that has an address to spare, and an address on it:
/// `r0` → `up0` towards `inet`; a router holding a LAN bridge → `br0` and its own 10.i.0.1
/// (`ri`, or `rib`/`ric` at the end of a chain: `i` is the digits after `r`). Transits are
/// /30 or /31 with no spare address, so a router with only transits has none.
fn router_link(t: &Topology, ns: &str) -> Option<(String, String)> {
    if ns == "r0" {
        return Some(("up0".into(), "198.51.100.1".into()));
    }
    if !t.bridge_ports.iter().any(|(n, b, _)| n == ns && b == "br0") {
        return None;
    }
    let i: String = ns
        .trim_start_matches('r')
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    Some(("br0".into(), format!("10.{i}.0.1")))
}

fn isolated(kind: &'static str, t: &Topology, rng: &mut Rng) -> Option<Fault> {
    // Bridges with at least two ports: isolation bites between two isolated ports only.
    let mut bridges: Vec<(&str, &str)> = t
        .bridge_ports
        .iter()
        .map(|(ns, br, _)| (ns.as_str(), br.as_str()))
        .collect();
    bridges.dedup();
    bridges.retain(|(ns, br)| {
        t.bridge_ports
            .iter()
            .filter(|(n, b, _)| n == ns && b == br)
            .count()
            >= 2
    });
    if bridges.is_empty() {
        return None;
    }
    let (ns, br) = bridges[rng.below(bridges.len())];
    let mut ports: Vec<&str> = t
        .bridge_ports
        .iter()
        .filter(|(n, b, _)| n == ns && b == br)
        .map(|(_, _, p)| p.as_str())
        .collect();
    // Two of them, or every one.
    if rng.chance(1, 2) {
        let a = ports.swap_remove(rng.below(ports.len()));
        let b = ports.swap_remove(rng.below(ports.len()));
        ports = vec![a, b];
    }
    let cmds = ports
        .iter()
        .map(|p| exec_in(ns, &["bridge", "link", "set", "dev", p, "isolated", "on"]))
        .collect();
    Some(fault(kind, ns, ports[0], cmds))
}

fn blocking(kind: &'static str, t: &Topology, rng: &mut Rng) -> Option<Fault> {
    if t.bridge_ports.is_empty() {
        return None;
    }
    let (ns, _, port) = rng.pick(&t.bridge_ports);
    if rng.chance(1, 2) {
        let cmd = ["bridge", "link", "set", "dev", port, "state", "0"];
        return Some(fault(kind, ns, port, vec![exec_in(ns, &cmd)]));
    }
    // Neither learning nor flooding bites once the entry the bridge learnt for the host
    // ages out (300 s); bouncing the port flushes it now, the state the fault settles in.
    let cmd = [
        "bridge", "link", "set", "dev", port, "learning", "off", "flood", "off",
    ];
    let bounce = |state: &str| {
        let v = ["ip", "-n", ns, "link", "set", port, state];
        v.iter().map(|s| s.to_string()).collect::<Vec<String>>()
    };
    let cmds = vec![exec_in(ns, &cmd), bounce("down"), bounce("up")];
    Some(fault(kind, ns, port, cmds))
}

fn neigh(kind: &'static str, t: &Topology, h: &Host, rng: &mut Rng) -> Fault {
    let mac = "02:00:00:00:00:99";
    if rng.chance(1, 2) {
        // The host's entry for its gateway.
        let cmd = ip(
            &h.ns,
            &[
                "neigh",
                "replace",
                &h.gw,
                "lladdr",
                mac,
                "nud",
                "permanent",
                "dev",
                "eth0",
            ],
        );
        return fault(kind, &h.ns, &h.gw, vec![cmd]);
    }
    // The gateway's entry for the host, on the link that holds the gateway's address.
    let r = h
        .chain
        .iter()
        .find(|n| t.routers.contains(n))
        .expect("router");
    let i = h.gw.split('.').nth(1).unwrap_or("0");
    let dev = if r != "r0" {
        "br0".to_string()
    } else if t
        .bridge_ports
        .iter()
        .any(|(n, b, _)| n == "r0" && *b == format!("br{i}"))
    {
        format!("br{i}")
    } else {
        format!("l{i}")
    };
    let cmd = ip(
        r,
        &[
            "neigh",
            "replace",
            &h.addr,
            "lladdr",
            mac,
            "nud",
            "permanent",
            "dev",
            &dev,
        ],
    );
    fault(kind, r, &h.addr, vec![cmd])
}

fn table_drop(kind: &'static str, t: &Topology, h: &Host, rng: &mut Rng) -> Fault {
    let ns = on_the_way(t, h, rng);
    let local = ns == h.ns;
    let table = if kind == "raw-drop" { "raw" } else { "mangle" };
    let mut matches: Vec<String> = vec!["-s".into(), h.addr.clone()];
    match rng.below(3) {
        0 => matches.extend(["-p".into(), "icmp".into()]),
        1 => matches.extend(["-p", "tcp", "--dport", &PORT.to_string()].map(String::from)),
        _ => {}
    }
    let ipt = |tbl: &str, chain: &str, tail: &[&str]| {
        let mut v = vec!["iptables", "-t", tbl, "-A", chain];
        v.extend(matches.iter().map(String::as_str));
        v.extend(tail);
        exec_in(ns, &v)
    };
    if table == "mangle" && !local && rng.chance(1, 3) {
        // Marked in mangle, dropped by the mark in filter FORWARD.
        let mark = ipt("mangle", "PREROUTING", &["-j", "MARK", "--set-mark", "0x7"]);
        let drop = exec_in(
            ns,
            &[
                "iptables", "-A", "FORWARD", "-m", "mark", "--mark", "0x7", "-j", "DROP",
            ],
        );
        return fault(
            kind,
            ns,
            "mangle MARK 0x7, FORWARD mark DROP",
            vec![mark, drop],
        );
    }
    let chain = if local {
        "OUTPUT"
    } else if table == "raw" {
        "PREROUTING"
    } else {
        *rng.pick(&["PREROUTING", "FORWARD", "POSTROUTING"])
    };
    let cmd = ipt(table, chain, &["-j", "DROP"]);
    fault(kind, ns, &format!("{table} {chain} DROP"), vec![cmd])
}
