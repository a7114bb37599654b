//! Faults for drills and tests: `netlens lab break SCENARIO FAULT` introduces one problem into a
//! built scenario, the kind `netlens doctor` knows. Pure data, like the scenarios: each fault is
//! a list of [`Breakage`]s in the scenario's own namespaces, the finding id the doctor should
//! report, and a ping that works while the lab is healthy and fails while the fault is in
//! place (when the fault cuts traffic).
//!
//! Repair is `netlens lab down` then `up`: the namespaces go, and with them every change.

use serde::Serialize;

/// One change that breaks something. Interface names refer to namespace `ns`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Breakage {
    /// Write `/proc/sys/<key>` (a net/ sysctl) inside `ns`.
    Sysctl {
        ns: String,
        key: String,
        value: String,
    },
    /// Delete the main-table route to `dst` (`0.0.0.0/0` for the default route).
    DelRoute {
        ns: String,
        dst: ipnet::Ipv4Net,
    },
    LinkDown {
        ns: String,
        link: String,
    },
    /// Take `link` off its bridge.
    NoMaster {
        ns: String,
        link: String,
    },
    DelAddr {
        ns: String,
        link: String,
        addr: ipnet::Ipv4Net,
    },
    AddAddr {
        ns: String,
        link: String,
        addr: ipnet::Ipv4Net,
    },
    SetMtu {
        ns: String,
        link: String,
        mtu: u32,
    },
    /// `iptables -w ARGS…` inside `ns` (argv, no shell).
    Iptables {
        ns: String,
        args: Vec<String>,
    },
    /// Write `/etc/netns/<ns>/<file>` (what `ip netns exec` and netlens show as the
    /// namespace's own file). The first line marks it as netlens', so `lab down` removes it.
    EtcFile {
        ns: String,
        file: String,
        text: String,
    },
}

impl Breakage {
    pub fn ns(&self) -> &str {
        match self {
            Breakage::Sysctl { ns, .. }
            | Breakage::DelRoute { ns, .. }
            | Breakage::LinkDown { ns, .. }
            | Breakage::NoMaster { ns, .. }
            | Breakage::DelAddr { ns, .. }
            | Breakage::AddAddr { ns, .. }
            | Breakage::SetMtu { ns, .. }
            | Breakage::Iptables { ns, .. }
            | Breakage::EtcFile { ns, .. } => ns,
        }
    }
}

impl std::fmt::Display for Breakage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Breakage::Sysctl { ns, key, value } => write!(f, "set {key}={value} in {ns}"),
            Breakage::DelRoute { ns, dst } => write!(f, "delete route {dst} in {ns}"),
            Breakage::LinkDown { ns, link } => write!(f, "set {link} down in {ns}"),
            Breakage::NoMaster { ns, link } => write!(f, "detach {link} from its bridge in {ns}"),
            Breakage::DelAddr { ns, link, addr } => {
                write!(f, "remove {addr} from {link} in {ns}")
            }
            Breakage::AddAddr { ns, link, addr } => write!(f, "add {addr} to {link} in {ns}"),
            Breakage::SetMtu { ns, link, mtu } => write!(f, "set mtu {mtu} on {link} in {ns}"),
            Breakage::Iptables { ns, args } => write!(f, "iptables {} in {ns}", args.join(" ")),
            Breakage::EtcFile { ns, file, .. } => write!(f, "write /etc/netns/{ns}/{file}"),
        }
    }
}

/// A ping from `ns` to `dst` (of `size` bytes with don't-fragment, when set) that succeeds on
/// the healthy lab and fails with the fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Probe {
    pub ns: String,
    pub dst: String,
    pub size: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fault {
    pub name: &'static str,
    pub what: &'static str,
    pub changes: Vec<Breakage>,
    /// The id of the finding `netlens doctor` reports for it.
    pub finding: String,
    pub probe: Option<Probe>,
}

/// Names of every fault some scenario has, in a stable order.
pub const FAULTS: &[&str] = &[
    "forwarding-off",
    "no-route",
    "no-default",
    "link-down",
    "peer-down",
    "detach-port",
    "bridge-no-addr",
    "no-masquerade",
    "forward-drop",
    "mtu-mismatch",
    "dup-ip",
    "stale-nat",
    "bad-nsswitch",
    "nameserver-unreachable",
];

/// First line of every file a fault writes; `lab down` removes only files starting with it.
pub const ETC_MARKER: &str = "# written by netlens lab break";

fn s(x: &str) -> String {
    x.to_string()
}

fn net(x: &str) -> ipnet::Ipv4Net {
    x.parse().expect("fault address literal")
}

fn probe(ns: &str, dst: &str) -> Option<Probe> {
    Some(Probe {
        ns: s(ns),
        dst: s(dst),
        size: None,
    })
}

/// 1472 bytes of ICMP payload make a 1500-byte packet: it passes a 1500 MTU, not a 1400 one.
fn big_probe(ns: &str, dst: &str) -> Option<Probe> {
    Some(Probe {
        ns: s(ns),
        dst: s(dst),
        size: Some(1472),
    })
}

fn fault(
    name: &'static str,
    what: &'static str,
    changes: Vec<Breakage>,
    finding: String,
    probe: Option<Probe>,
) -> Fault {
    Fault {
        name,
        what,
        changes,
        finding,
        probe,
    }
}

fn forwarding_off(ns: &str, probe: Option<Probe>) -> Fault {
    fault(
        "forwarding-off",
        "the gateway stops forwarding (ip_forward=0)",
        vec![Breakage::Sysctl {
            ns: s(ns),
            key: s("net/ipv4/ip_forward"),
            value: s("0"),
        }],
        format!("forwarding-off:{ns}"),
        probe,
    )
}

fn forward_drop(ns: &str, probe: Option<Probe>) -> Fault {
    fault(
        "forward-drop",
        "the gateway's FORWARD policy becomes DROP",
        vec![Breakage::Iptables {
            ns: s(ns),
            args: ["-P", "FORWARD", "DROP"].map(s).to_vec(),
        }],
        format!("forward-drop:{ns}"),
        probe,
    )
}

fn link_down(ns: &str, link: &str, finding: String, probe: Option<Probe>) -> Fault {
    fault(
        "link-down",
        "a link that carries addresses goes down",
        vec![Breakage::LinkDown {
            ns: s(ns),
            link: s(link),
        }],
        finding,
        probe,
    )
}

fn peer_down(ns: &str, link: &str, finding: String, probe: Option<Probe>) -> Fault {
    fault(
        "peer-down",
        "the bridge side of a namespace's veth goes down",
        vec![Breakage::LinkDown {
            ns: s(ns),
            link: s(link),
        }],
        finding,
        probe,
    )
}

fn detach(ns: &str, link: &str, probe: Option<Probe>) -> Fault {
    fault(
        "detach-port",
        "a veth port is taken off its bridge",
        vec![Breakage::NoMaster {
            ns: s(ns),
            link: s(link),
        }],
        format!("port-detached:{ns}:{link}"),
        probe,
    )
}

fn mtu(ns: &str, link: &str, probe: Option<Probe>) -> Fault {
    fault(
        "mtu-mismatch",
        "one end of a veth gets MTU 1400, the rest of its segment has 1500",
        vec![Breakage::SetMtu {
            ns: s(ns),
            link: s(link),
            mtu: 1400,
        }],
        format!("mtu-mismatch:{ns}:{link}"),
        probe,
    )
}

fn dup_ip(ns: &str, link: &str, addr: &str) -> Fault {
    let a = net(addr);
    fault(
        "dup-ip",
        "a second namespace on the segment takes an address already in use",
        vec![Breakage::AddAddr {
            ns: s(ns),
            link: s(link),
            addr: a,
        }],
        format!("dup-ip:{}", a.addr()),
        None,
    )
}

fn bad_nsswitch(ns: &str) -> Fault {
    fault(
        "bad-nsswitch",
        "the namespace gets an nsswitch.conf whose hosts: line skips dns",
        vec![Breakage::EtcFile {
            ns: s(ns),
            file: s("nsswitch.conf"),
            text: format!("{ETC_MARKER}\nhosts: files\n"),
        }],
        format!("nsswitch-hosts:{ns}"),
        None,
    )
}

/// 10.53.0.53 is outside every lab subnet, and the chosen namespace has no default route.
fn nameserver(ns: &str) -> Fault {
    fault(
        "nameserver-unreachable",
        "the namespace gets a resolv.conf whose nameserver it has no route to",
        vec![Breakage::EtcFile {
            ns: s(ns),
            file: s("resolv.conf"),
            text: format!("{ETC_MARKER}\nnameserver 10.53.0.53\n"),
        }],
        format!("nameserver-unreachable:{ns}:10.53.0.53"),
        None,
    )
}

fn del_route(
    name: &'static str,
    what: &'static str,
    ns: &str,
    dst: &str,
    finding: String,
    probe: Option<Probe>,
) -> Fault {
    fault(
        name,
        what,
        vec![Breakage::DelRoute {
            ns: s(ns),
            dst: net(dst),
        }],
        finding,
        probe,
    )
}

/// The faults scenario `scenario` supports (empty for an unknown scenario).
pub fn faults(scenario: &str) -> Vec<Fault> {
    match scenario {
        "router" => {
            let ac = || probe("router-a", "192.168.2.5");
            vec![
                forwarding_off("router-b", ac()),
                del_route(
                    "no-route",
                    "A loses its route to C's subnet",
                    "router-a",
                    "192.168.2.0/24",
                    s("no-route:router-a:192.168.2.0/24"),
                    ac(),
                ),
                link_down("router-b", "eth1", s("link-down:router-b:eth1"), ac()),
                forward_drop("router-b", ac()),
                mtu("router-a", "eth0", big_probe("router-b", "192.168.1.5")),
                dup_ip("router-a", "eth0", "192.168.1.6/24"),
                bad_nsswitch("router-a"),
                nameserver("router-a"),
            ]
        }
        "bridge" => {
            let out = || probe("bridge-red", "192.168.1.3");
            let over_bridge = || probe("bridge-blue", "192.168.15.1");
            vec![
                forwarding_off("bridge-host", out()),
                del_route(
                    "no-route",
                    "the LAN router loses its route to 8.8.8.8",
                    "bridge-lan",
                    "8.8.8.8/32",
                    s("no-route:bridge-lan:8.8.8.8/32"),
                    probe("bridge-red", "8.8.8.8"),
                ),
                del_route(
                    "no-default",
                    "red loses its default route",
                    "bridge-red",
                    "0.0.0.0/0",
                    s("no-default:bridge-red"),
                    out(),
                ),
                link_down(
                    "bridge-red",
                    "veth-red",
                    s("link-down:bridge-red:veth-red"),
                    over_bridge(),
                ),
                peer_down(
                    "bridge-host",
                    "veth-red-br",
                    s("peer-down:bridge-red:veth-red"),
                    over_bridge(),
                ),
                detach("bridge-host", "veth-red-br", over_bridge()),
                fault(
                    "bridge-no-addr",
                    "the bridge loses the gateway address of its namespaces",
                    vec![Breakage::DelAddr {
                        ns: s("bridge-host"),
                        link: s("v-net-0"),
                        addr: net("192.168.15.5/24"),
                    }],
                    s("bridge-no-addr:bridge-host:v-net-0"),
                    out(),
                ),
                fault(
                    "no-masquerade",
                    "the host's MASQUERADE rule for the bridge subnet is deleted",
                    vec![Breakage::Iptables {
                        ns: s("bridge-host"),
                        args: [
                            "-t",
                            "nat",
                            "-D",
                            "POSTROUTING",
                            "-s",
                            "192.168.15.0/24",
                            "-j",
                            "MASQUERADE",
                        ]
                        .map(s)
                        .to_vec(),
                    }],
                    s("no-masquerade:bridge-host:192.168.15.0/24"),
                    out(),
                ),
                forward_drop("bridge-host", out()),
                mtu(
                    "bridge-red",
                    "veth-red",
                    big_probe("bridge-blue", "192.168.15.1"),
                ),
                dup_ip("bridge-blue", "veth-blue", "192.168.15.1/24"),
                fault(
                    "stale-nat",
                    "a port forward to an address nobody holds is added",
                    vec![Breakage::Iptables {
                        ns: s("bridge-host"),
                        args: [
                            "-t",
                            "nat",
                            "-A",
                            "PREROUTING",
                            "-p",
                            "tcp",
                            "--dport",
                            "8080",
                            "-j",
                            "DNAT",
                            "--to-destination",
                            "192.168.15.99:8080",
                        ]
                        .map(s)
                        .to_vec(),
                    }],
                    s("stale-nat:bridge-host:192.168.15.99"),
                    None,
                ),
                bad_nsswitch("bridge-red"),
                nameserver("bridge-lan"),
            ]
        }
        "cluster" => {
            let cross = || probe("cluster-n1-pod1", "10.244.2.2");
            let local = || probe("cluster-n1-pod2", "10.244.1.2");
            vec![
                forwarding_off("cluster-node1", cross()),
                del_route(
                    "no-route",
                    "node1 loses its route to node2's pod subnet",
                    "cluster-node1",
                    "10.244.2.0/24",
                    s("no-route:cluster-node1:10.244.2.0/24"),
                    cross(),
                ),
                del_route(
                    "no-default",
                    "a pod loses its default route",
                    "cluster-n1-pod1",
                    "0.0.0.0/0",
                    s("no-default:cluster-n1-pod1"),
                    cross(),
                ),
                link_down(
                    "cluster-n1-pod1",
                    "eth0",
                    s("link-down:cluster-n1-pod1:eth0"),
                    local(),
                ),
                peer_down(
                    "cluster-node1",
                    "vethn1p1",
                    s("peer-down:cluster-n1-pod1:eth0"),
                    local(),
                ),
                detach("cluster-node1", "vethn1p1", local()),
                fault(
                    "bridge-no-addr",
                    "cni0 loses the pods' gateway address",
                    vec![Breakage::DelAddr {
                        ns: s("cluster-node1"),
                        link: s("cni0"),
                        addr: net("10.244.1.1/24"),
                    }],
                    s("bridge-no-addr:cluster-node1:cni0"),
                    cross(),
                ),
                forward_drop("cluster-node1", cross()),
                mtu(
                    "cluster-n1-pod1",
                    "eth0",
                    big_probe("cluster-n1-pod2", "10.244.1.2"),
                ),
                dup_ip("cluster-n1-pod2", "eth0", "10.244.1.2/24"),
                bad_nsswitch("cluster-n1-pod1"),
                nameserver("cluster-node1"),
            ]
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fault_stays_in_its_scenario_and_is_known() {
        for name in crate::lab::SCENARIOS {
            let scenario = crate::lab::scenario(name).unwrap();
            let owned = scenario.namespaces();
            let list = faults(name);
            assert!(list.len() >= 8, "{name}");
            for f in &list {
                assert!(FAULTS.contains(&f.name), "{}", f.name);
                for c in &f.changes {
                    assert!(owned.contains(&c.ns()), "{name} {}: {c}", f.name);
                }
                if let Some(p) = &f.probe {
                    assert!(owned.contains(&p.ns.as_str()));
                }
            }
            let mut names: Vec<_> = list.iter().map(|f| f.name).collect();
            names.dedup();
            assert_eq!(names.len(), list.len(), "{name}: duplicate fault");
        }
    }
}
