//! Constructors that keep the scenario files readable as data: each returns one
//! [`plan::Step`](Step), so a scenario is a plan the plan engine runs. Address literals are
//! parsed here; `all_scenarios_are_valid` builds every scenario, so a typo fails the unit
//! tests.

use ipnet::IpNet;

use crate::plan::{RouteSpec, Step};

fn cidr(literal: &str) -> IpNet {
    literal.parse().expect("scenario address literal")
}

pub fn ns(ns: &str) -> Step {
    Step::CreateNs { name: ns.into() }
}

/// A veth pair, end `a` in `ns_a` and end `b` in `ns_b` (both created down).
pub fn veth(a: &str, ns_a: &str, b: &str, ns_b: &str) -> Step {
    Step::AddVeth {
        ns: ns_a.into(),
        name: a.into(),
        peer_ns: ns_b.into(),
        peer: b.into(),
    }
}

/// A bridge, created down: scenarios follow it with [`link_up`].
pub fn bridge(ns: &str, name: &str) -> Step {
    Step::AddBridge {
        ns: ns.into(),
        name: name.into(),
    }
}

pub fn master(ns: &str, link: &str, master: &str) -> Step {
    Step::SetMaster {
        ns: ns.into(),
        link: link.into(),
        master: Some(master.into()),
    }
}

pub fn addr(ns: &str, link: &str, literal: &str) -> Step {
    Step::AddAddress {
        ns: ns.into(),
        link: link.into(),
        addr: cidr(literal),
    }
}

pub fn link_up(ns: &str, link: &str) -> Step {
    Step::SetLinkUp {
        ns: ns.into(),
        link: link.into(),
        up: true,
    }
}

pub fn route(ns: &str, dst: &str, via: &str) -> Step {
    Step::AddRoute {
        ns: ns.into(),
        route: RouteSpec {
            dst: cidr(dst),
            via: Some(via.parse().expect("scenario gateway literal")),
            dev: None,
            table: None,
            metric: None,
        },
    }
}

pub fn default_route(ns: &str, via: &str) -> Step {
    route(ns, "0.0.0.0/0", via)
}

pub fn ip_forward(ns: &str) -> Step {
    Step::SetSysctl {
        ns: ns.into(),
        key: "net/ipv4/ip_forward".into(),
        value: "1".into(),
        persist: false,
    }
}

fn words(rule: &[&str]) -> Vec<String> {
    rule.iter().map(|s| s.to_string()).collect()
}

/// `iptables -t TABLE -A CHAIN RULE…`, added unless an identical rule exists.
pub fn iptables(ns: &str, table: &str, chain: &str, rule: &[&str]) -> Step {
    Step::AddIptablesRule {
        ns: ns.into(),
        table: table.into(),
        chain: chain.into(),
        rule: words(rule),
    }
}

/// A port forward (a DNAT rule) as the first rule of `chain`. Netlens' fixes never add a
/// DNAT, so `add_iptables_rule` refuses one; `insert_iptables_rule`, the step that puts back a
/// removed DNAT, takes it. In the lab's fresh namespace the chain is empty, so inserting
/// first is appending.
pub fn port_forward(ns: &str, chain: &str, rule: &[&str]) -> Step {
    Step::InsertIptablesRule {
        ns: ns.into(),
        table: "nat".into(),
        chain: chain.into(),
        position: 1,
        rule: words(rule),
    }
}

/// A namespace with its loopback up (needed to reach its own addresses, and for 8.8.8.8
/// on `lo` in the bridge scenario's "internet").
pub fn ns_with_lo(steps: &mut Vec<Step>, name: &str) {
    steps.push(ns(name));
    steps.push(link_up(name, "lo"));
}
