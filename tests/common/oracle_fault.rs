//! The faults the random-topology oracle injects into a [`Topology`]: at most one per
//! topology, chosen by kind (`NETLENS_ORACLE_FAULTS`) and placed at random, as argv commands.

use super::oracle_fault_unseen as unseen;
use super::topo_gen::{exec_in, words, Rng, Topology, PORT};

/// Every kind, in the order seeds cycle through them. `none` leaves the topology healthy.
pub const KINDS: &[&str] = &[
    "none",
    "forwarding-off",
    "route",
    "link-down",
    "port-detached",
    "forward-drop",
    "rp-filter",
    "netmask",
    "masquerade",
    "input-drop",
    "nft-forward-drop",
    "nft-input-drop",
    // Faults it had not seen (tests/common/oracle_fault_unseen.rs).
    "blackhole-route",
    "policy-rule",
    "port-isolated",
    "port-blocking",
    "neigh-wrong",
    "mangle-drop",
    "raw-drop",
];

#[derive(Debug, Clone)]
pub struct Fault {
    pub kind: &'static str,
    /// Where it is: the namespace the doctor must name.
    pub ns: String,
    /// What it is in that namespace (link, route destination, rule, sysctl); empty for `none`.
    pub object: String,
    pub commands: Vec<Vec<String>>,
}

/// Words one of which a finding's rule must contain to be about a fault of `kind` (matched
/// loosely, so a rule renamed or added by a fix still counts; an object named exactly like the
/// fault's counts too).
pub fn rule_words(kind: &str) -> &'static [&'static str] {
    match kind {
        "forwarding-off" => &["forwarding"],
        "route" => &["route", "default"],
        "link-down" => &["down"],
        "port-detached" => &["detached", "port"],
        "forward-drop" => &["forward"],
        "rp-filter" => &["rp-filter"],
        "netmask" => &["subnet", "mask"],
        "masquerade" => &["masquerade"],
        "input-drop" => &["input", "drop", "blocked", "port"],
        "nft-forward-drop" => &["forward"],
        "nft-input-drop" => &["input", "drop", "blocked", "port"],
        other => unseen::rule_words(other),
    }
}

impl Fault {
    pub fn none() -> Self {
        Fault {
            kind: "none",
            ns: String::new(),
            object: String::new(),
            commands: Vec::new(),
        }
    }
    pub fn describe(&self) -> String {
        if self.kind == "none" {
            "none (healthy)".into()
        } else {
            format!("{} in {} ({})", self.kind, self.ns, self.object)
        }
    }
}

fn argv(ns: &str, parts: &[&str]) -> Vec<String> {
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

/// A fault of `kind` placed at random in `t`; `None` when `t` offers no place for it (no
/// bridge port, no MASQUERADE…), and the caller picks again.
pub fn inject(kind: &'static str, t: &Topology, rng: &mut Rng) -> Option<Fault> {
    match kind {
        "none" => Some(Fault::none()),
        "forwarding-off" => {
            let r = rng.pick(&t.routers);
            Some(fault(
                kind,
                r,
                "net.ipv4.ip_forward",
                vec![exec_in(r, &["sysctl", "-qw", "net.ipv4.ip_forward=0"])],
            ))
        }
        "route" => {
            let (ns, dst) = rng.pick(&t.routes);
            Some(fault(kind, ns, dst, vec![argv(ns, &["route", "del", dst])]))
        }
        "link-down" => {
            let (ns, link) = rng.pick(&t.links);
            Some(fault(
                kind,
                ns,
                link,
                vec![argv(ns, &["link", "set", link, "down"])],
            ))
        }
        "port-detached" => {
            if t.ports.is_empty() {
                return None;
            }
            let (ns, port) = rng.pick(&t.ports);
            Some(fault(
                kind,
                ns,
                port,
                vec![argv(ns, &["link", "set", port, "nomaster"])],
            ))
        }
        "rp-filter" => {
            if t.asymmetric.is_empty() {
                return None;
            }
            // Either end of the asymmetric pair sees packets arrive where its route back
            // does not leave.
            let sub = rng.pick(&t.asymmetric).clone();
            let ns = if rng.chance(1, 2) { sub } else { "r0".into() };
            Some(fault(
                kind,
                &ns,
                "net.ipv4.conf.all.rp_filter",
                vec![exec_in(
                    &ns,
                    &["sysctl", "-qw", "net.ipv4.conf.all.rp_filter=1"],
                )],
            ))
        }
        "netmask" => {
            let h = rng.pick(&t.hosts);
            let len = *rng.pick(&[8u8, 16, 28]);
            let old = format!("{}/24", h.addr);
            let new = format!("{}/{len}", h.addr);
            // Re-adding the address leaves the default route as the kernel leaves it.
            Some(fault(
                kind,
                &h.ns,
                &new,
                vec![
                    argv(&h.ns, &["addr", "del", &old, "dev", "eth0"]),
                    argv(&h.ns, &["addr", "add", &new, "dev", "eth0"]),
                ],
            ))
        }
        "forward-drop" | "masquerade" | "input-drop" => firewall_fault(kind, t, rng),
        "nft-forward-drop" | "nft-input-drop" => nft_fault(kind, t, rng),
        k if unseen::UNSEEN.contains(&k) => unseen::inject(kind, t, rng),
        other => panic!("unknown fault kind {other:?}; known: {KINDS:?}"),
    }
}

/// The iptables faults: FORWARD policy DROP in a router or switch, r0's MASQUERADE deleted,
/// an INPUT drop of the listeners' port.
fn firewall_fault(kind: &'static str, t: &Topology, rng: &mut Rng) -> Option<Fault> {
    match kind {
        "forward-drop" => {
            // Routers, and switches too: with br_netfilter, bridged traffic crosses FORWARD.
            let mut places = t.routers.clone();
            places.extend(t.switches.iter().cloned());
            let ns = rng.pick(&places);
            Some(fault(
                kind,
                ns,
                "FORWARD policy DROP",
                vec![exec_in(ns, &["iptables", "-P", "FORWARD", "DROP"])],
            ))
        }
        "masquerade" => {
            if !t.masquerade {
                return None;
            }
            let delete = if t.nft_nat {
                "nft flush chain ip oraclenat post"
            } else {
                "iptables -t nat -D POSTROUTING -s 10.0.0.0/8 -o up0 -j MASQUERADE"
            };
            Some(fault(
                kind,
                "r0",
                "MASQUERADE",
                vec![exec_in("r0", &words(delete))],
            ))
        }
        "input-drop" => {
            let ns = rng.pick(&t.listeners);
            let port = PORT.to_string();
            Some(fault(
                kind,
                ns,
                "INPUT tcp dport DROP",
                vec![exec_in(
                    ns,
                    &[
                        "iptables", "-A", "INPUT", "-p", "tcp", "--dport", &port, "-j", "DROP",
                    ],
                )],
            ))
        }
        other => unreachable!("not an iptables fault: {other}"),
    }
}

/// Whether netlens is expected to repair a fault of `kind`: every kind here, drops in native
/// nftables chains too (an accept inserted into the chain; undo deletes it by its handle).
pub fn fixable(kind: &str) -> bool {
    KINDS.contains(&kind)
}

/// The same drops written in a native nftables table (`inet oracle`, a name iptables never
/// uses): a forward chain with policy drop in a router or switch (with br_netfilter, bridged
/// traffic passes the inet forward hook too), or an input chain dropping [`PORT`].
fn nft_fault(kind: &'static str, t: &Topology, rng: &mut Rng) -> Option<Fault> {
    let table = exec_in_nft(&["add", "table", "inet", "oracle"]);
    if kind == "nft-forward-drop" {
        let mut places = t.routers.clone();
        places.extend(t.switches.iter().cloned());
        let ns = rng.pick(&places);
        let chain = words(
            "add chain inet oracle fwdc { type filter hook forward priority 0 ; policy drop ; }",
        );
        let cmds = [table, exec_in_nft(&chain)];
        return Some(fault(
            kind,
            ns,
            "nft inet oracle fwdc policy drop",
            in_ns(ns, cmds),
        ));
    }
    let ns = rng.pick(&t.listeners);
    let port = PORT.to_string();
    let chain = words("add chain inet oracle inp { type filter hook input priority 0 ; }");
    let rule = [
        "add", "rule", "inet", "oracle", "inp", "tcp", "dport", &port, "drop",
    ];
    let cmds = [table, exec_in_nft(&chain), exec_in_nft(&rule)];
    Some(fault(
        kind,
        ns,
        "nft inet oracle inp tcp dport drop",
        in_ns(ns, cmds),
    ))
}

fn exec_in_nft(args: &[&str]) -> Vec<String> {
    std::iter::once("nft")
        .chain(args.iter().copied())
        .map(str::to_string)
        .collect()
}

fn in_ns<const N: usize>(ns: &str, cmds: [Vec<String>; N]) -> Vec<Vec<String>> {
    cmds.into_iter()
        .map(|c| exec_in(ns, &c.iter().map(String::as_str).collect::<Vec<_>>()))
        .collect()
}
