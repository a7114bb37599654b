//! Faults for drills and tests: `netlens lab break SCENARIO FAULT` introduces one problem into a
//! built scenario, the kind `netlens doctor` knows. Pure data, like the scenarios: each fault is
//! a list of plan steps in the scenario's own namespaces (the plan engine runs them, journaled,
//! so `netlens undo` repairs the drill), the finding id the doctor should report, and a ping
//! that works while the lab is healthy and fails while the fault is in place (when the fault
//! cuts traffic). The lists per scenario are in `fault_lists.rs`.
//!
//! Repair is `netlens undo` (the drill's plan), or `netlens lab down` then `up`.

use serde::Serialize;

use crate::plan::{RouteSpec, Step};

/// A ping from `ns` to `dst` (of `size` bytes with don't-fragment, when set) that succeeds on
/// the healthy lab and fails with the fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DrillProbe {
    pub ns: String,
    pub dst: String,
    pub size: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fault {
    pub name: &'static str,
    pub what: &'static str,
    /// The plan steps that break it, in order.
    pub changes: Vec<Step>,
    /// The id of the finding `netlens doctor` reports for it.
    pub finding: String,
    pub probe: Option<DrillProbe>,
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

pub(super) fn s(x: &str) -> String {
    x.to_string()
}

fn net(x: &str) -> ipnet::Ipv4Net {
    x.parse().expect("fault address literal")
}

pub(super) fn probe(ns: &str, dst: &str) -> Option<DrillProbe> {
    Some(DrillProbe {
        ns: s(ns),
        dst: s(dst),
        size: None,
    })
}

/// 1472 bytes of ICMP payload make a 1500-byte packet: it passes a 1500 MTU, not a 1400 one.
pub(super) fn big_probe(ns: &str, dst: &str) -> Option<DrillProbe> {
    Some(DrillProbe {
        ns: s(ns),
        dst: s(dst),
        size: Some(1472),
    })
}

pub(super) fn fault(
    name: &'static str,
    what: &'static str,
    changes: Vec<Step>,
    finding: String,
    probe: Option<DrillProbe>,
) -> Fault {
    Fault {
        name,
        what,
        changes,
        finding,
        probe,
    }
}

pub(super) fn forwarding_off(ns: &str, probe: Option<DrillProbe>) -> Fault {
    fault(
        "forwarding-off",
        "the gateway stops forwarding (ip_forward=0)",
        vec![Step::SetSysctl {
            ns: s(ns),
            key: s("net/ipv4/ip_forward"),
            value: s("0"),
            persist: false,
        }],
        format!("forwarding-off:{ns}"),
        probe,
    )
}

pub(super) fn forward_drop(ns: &str, probe: Option<DrillProbe>) -> Fault {
    fault(
        "forward-drop",
        "the gateway's FORWARD policy becomes DROP",
        vec![Step::SetIptablesPolicy {
            ns: s(ns),
            table: s("filter"),
            chain: s("FORWARD"),
            policy: s("DROP"),
        }],
        format!("forward-drop:{ns}"),
        probe,
    )
}

pub(super) fn link_down(ns: &str, link: &str, finding: String, probe: Option<DrillProbe>) -> Fault {
    fault(
        "link-down",
        "a link that carries addresses goes down",
        vec![Step::SetLinkUp {
            ns: s(ns),
            link: s(link),
            up: false,
        }],
        finding,
        probe,
    )
}

pub(super) fn peer_down(ns: &str, link: &str, finding: String, probe: Option<DrillProbe>) -> Fault {
    fault(
        "peer-down",
        "the bridge side of a namespace's veth goes down",
        vec![Step::SetLinkUp {
            ns: s(ns),
            link: s(link),
            up: false,
        }],
        finding,
        probe,
    )
}

pub(super) fn detach(ns: &str, link: &str, probe: Option<DrillProbe>) -> Fault {
    fault(
        "detach-port",
        "a veth port is taken off its bridge",
        vec![Step::SetMaster {
            ns: s(ns),
            link: s(link),
            master: None,
        }],
        format!("port-detached:{ns}:{link}"),
        probe,
    )
}

pub(super) fn mtu(ns: &str, link: &str, probe: Option<DrillProbe>) -> Fault {
    fault(
        "mtu-mismatch",
        "one end of a veth gets MTU 1400, the rest of its segment has 1500",
        vec![Step::SetMtu {
            ns: s(ns),
            link: s(link),
            mtu: 1400,
        }],
        format!("mtu-mismatch:{ns}:{link}"),
        probe,
    )
}

pub(super) fn dup_ip(ns: &str, link: &str, addr: &str) -> Fault {
    let a = net(addr);
    fault(
        "dup-ip",
        "a second namespace on the segment takes an address already in use",
        vec![Step::AddAddress {
            ns: s(ns),
            link: s(link),
            addr: a.into(),
        }],
        format!("dup-ip:{}", a.addr()),
        None,
    )
}

pub(super) fn bad_nsswitch(ns: &str) -> Fault {
    fault(
        "bad-nsswitch",
        "the namespace gets an nsswitch.conf whose hosts: line skips dns",
        vec![etc_file(ns, "nsswitch.conf", "hosts: files\n")],
        format!("nsswitch-hosts:{ns}"),
        None,
    )
}

/// 10.53.0.53 is outside every lab subnet, and the chosen namespace has no default route.
pub(super) fn nameserver(ns: &str) -> Fault {
    fault(
        "nameserver-unreachable",
        "the namespace gets a resolv.conf whose nameserver it has no route to",
        vec![etc_file(ns, "resolv.conf", "nameserver 10.53.0.53\n")],
        format!("nameserver-unreachable:{ns}:10.53.0.53"),
        None,
    )
}

pub(super) fn del_route(
    name: &'static str,
    what: &'static str,
    ns: &str,
    dst: &str,
    finding: String,
    probe: Option<DrillProbe>,
) -> Fault {
    fault(
        name,
        what,
        vec![Step::DelRoute {
            ns: s(ns),
            route: RouteSpec {
                dst: net(dst).into(),
                via: None,
                dev: None,
                table: None,
                metric: None,
            },
        }],
        finding,
        probe,
    )
}

/// `/etc/netns/<ns>/<file>` (what `ip netns exec` and netlens show as the namespace's own
/// file), whole. The first line marks it as netlens', so `lab down` removes it.
fn etc_file(ns: &str, file: &str, text: &str) -> Step {
    Step::WriteFile {
        ns: s(ns),
        path: format!("/etc/netns/{ns}/{file}"),
        content: Some(format!("{ETC_MARKER}\n{text}")),
        pid_start: None,
    }
}

pub(super) fn del_addr(ns: &str, link: &str, addr: &str) -> Step {
    Step::DelAddress {
        ns: s(ns),
        link: s(link),
        addr: net(addr).into(),
    }
}

/// The scenario's MASQUERADE rule for `subnet`, removed.
pub(super) fn del_masquerade(ns: &str, subnet: &str) -> Step {
    Step::DelIptablesRule {
        ns: s(ns),
        table: s("nat"),
        chain: s("POSTROUTING"),
        rule: ["-s", subnet, "-j", "MASQUERADE"].map(s).to_vec(),
    }
}

/// A port forward of tcp `port` to `to`, an address nobody holds. Inserted first in
/// PREROUTING: netlens' fixes never add a DNAT, so only the step that puts one back takes it.
pub(super) fn stale_dnat(ns: &str, port: &str, to: &str) -> Step {
    Step::InsertIptablesRule {
        ns: s(ns),
        table: s("nat"),
        chain: s("PREROUTING"),
        position: 1,
        rule: [
            "-p",
            "tcp",
            "--dport",
            port,
            "-j",
            "DNAT",
            "--to-destination",
            to,
        ]
        .map(s)
        .to_vec(),
    }
}
