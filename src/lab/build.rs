//! Constructors that keep the scenario files readable as data. Address literals are parsed
//! here; `all_scenarios_are_valid` builds every scenario, so a typo fails the unit tests.

use super::Step;

pub fn ns(ns: &str) -> Step {
    Step::CreateNs { ns: ns.into() }
}

pub fn veth(a: &str, ns_a: &str, b: &str, ns_b: &str) -> Step {
    Step::AddVeth {
        a: a.into(),
        ns_a: ns_a.into(),
        b: b.into(),
        ns_b: ns_b.into(),
    }
}

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
        master: master.into(),
    }
}

pub fn addr(ns: &str, link: &str, cidr: &str) -> Step {
    Step::AddAddr {
        ns: ns.into(),
        link: link.into(),
        addr: cidr.parse().expect("scenario address literal"),
    }
}

pub fn link_up(ns: &str, link: &str) -> Step {
    Step::LinkUp {
        ns: ns.into(),
        link: link.into(),
    }
}

pub fn route(ns: &str, dst: &str, via: &str) -> Step {
    Step::AddRoute {
        ns: ns.into(),
        dst: dst.parse().expect("scenario route literal"),
        via: via.parse().expect("scenario gateway literal"),
    }
}

pub fn default_route(ns: &str, via: &str) -> Step {
    route(ns, "0.0.0.0/0", via)
}

pub fn ip_forward(ns: &str) -> Step {
    Step::Sysctl {
        ns: ns.into(),
        key: "net/ipv4/ip_forward".into(),
        value: "1".into(),
    }
}

pub fn iptables(ns: &str, table: &str, chain: &str, rule: &[&str]) -> Step {
    Step::IptablesRule {
        ns: ns.into(),
        table: table.into(),
        chain: chain.into(),
        rule: rule.iter().map(|s| s.to_string()).collect(),
    }
}

/// A namespace with its loopback up (needed to reach its own addresses, and for 8.8.8.8
/// on `lo` in the bridge scenario's "internet").
pub fn ns_with_lo(steps: &mut Vec<Step>, name: &str) {
    steps.push(ns(name));
    steps.push(link_up(name, "lo"));
}
