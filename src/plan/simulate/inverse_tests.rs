//! The property that a step followed by its inverse (computed from the model as `inverse.rs`
//! computes it from the kernel) gives back the snapshot on every modelled field.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::simulate;
use super::tests::{done, lab, link, routes, up, words};
use super::Simulated;
use crate::model::Snapshot;
use crate::plan::step::{RouteSpec, Step};

/// What the simulator models, in an order-free form: links, IPv4 addresses and routes,
/// sysctls, iptables rules, resolver files.
fn modelled(s: &Snapshot) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for n in &s.namespaces {
        let mut links: Vec<String> = n
            .links
            .iter()
            .map(|l| {
                let mut p = l.ports.clone();
                p.sort();
                format!(
                    "{} {} {} {:?} {p:?} {}",
                    l.name,
                    l.is_up(),
                    l.mtu,
                    l.master,
                    l.oper_state
                )
            })
            .collect();
        links.sort();
        let mut addrs: Vec<String> = n
            .addresses
            .iter()
            .filter(|a| a.address.is_ipv4())
            .map(|a| format!("{} {}", a.ifname, a.cidr()))
            .collect();
        addrs.sort();
        let mut rts: Vec<String> = n
            .routes
            .iter()
            .filter(|r| r.family == crate::model::RouteFamily::Inet)
            .map(|r| {
                format!(
                    "{} {} {:?} {:?} {} {} {}",
                    r.table, r.dst, r.gateway, r.dev, r.kind, r.scope, r.protocol
                )
            })
            .collect();
        rts.sort();
        let fw: Vec<String> = n
            .firewall
            .iter()
            .flat_map(|f| &f.iptables)
            .flat_map(|t| &t.chains)
            .flat_map(|c| c.rules.iter().map(|r| r.raw.clone()))
            .collect();
        m.insert(
            n.name.clone(),
            format!(
                "{links:?}\n{addrs:?}\n{rts:?}\n{:?}\n{fw:?}\n{:?}",
                n.sysctls, n.dns
            ),
        );
    }
    m
}

/// The inverse of `step` read from the model before it runs, as `inverse.rs` reads it from the
/// kernel: the old value, or for a link set down its routes to restore once it is up.
fn inverse_in(s: &Snapshot, step: &Step) -> Vec<Step> {
    match step {
        Step::SetMtu { ns, link: l, .. } => vec![Step::SetMtu {
            ns: ns.clone(),
            link: l.clone(),
            mtu: link(s, ns, l).mtu,
        }],
        Step::SetLinkUp {
            ns,
            link: l,
            up: false,
        } => {
            let mut inv = vec![up(ns, l, true)];
            for r in routes(s, ns) {
                if r.dev.as_deref() == Some(l.as_str())
                    && r.protocol != crate::model::RouteProtocol::Kernel
                    && r.table != 255
                    && r.family == crate::model::RouteFamily::Inet
                {
                    inv.push(Step::RestoreRoute {
                        ns: ns.clone(),
                        route: RouteSpec {
                            dst: if r.dst.is_default() {
                                "0.0.0.0/0".parse().unwrap()
                            } else {
                                r.dst.net().unwrap()
                            },
                            via: r.gateway,
                            dev: r.dev.clone(),
                            table: Some(r.table),
                            metric: r.metric,
                        },
                        protocol: if r.protocol == crate::model::RouteProtocol::Static {
                            4
                        } else {
                            3
                        },
                        scope: if r.scope == crate::model::RouteScope::Link {
                            253
                        } else {
                            0
                        },
                        kind: 1,
                        prefsrc: r.prefsrc,
                    });
                }
            }
            inv
        }
        Step::AddAddress { ns, link, addr } => vec![Step::DelAddress {
            ns: ns.clone(),
            link: link.clone(),
            addr: *addr,
        }],
        Step::AddRoute { ns, route } => vec![Step::DelRoute {
            ns: ns.clone(),
            route: route.clone(),
        }],
        Step::SetSysctl { ns, .. } => {
            let old = s.namespace(ns).unwrap().sysctls.ip_forward.unwrap_or(0);
            vec![Step::SetSysctl {
                ns: ns.clone(),
                key: "net/ipv4/ip_forward".into(),
                value: old.to_string(),
                persist: false,
            }]
        }
        Step::AddIptablesRule {
            ns,
            table,
            chain,
            rule,
        } => vec![Step::DelIptablesRule {
            ns: ns.clone(),
            table: table.clone(),
            chain: chain.clone(),
            rule: rule.clone(),
        }],
        Step::SetMaster { ns, link: l, .. } => vec![Step::SetMaster {
            ns: ns.clone(),
            link: l.clone(),
            master: link(s, ns, l).master.clone(),
        }],
        other => panic!("no inverse for {other}"),
    }
}

/// A random step on the bridge lab's own objects.
fn any_step() -> impl Strategy<Value = Step> {
    let nss = ["bridge-red", "bridge-host", "bridge-lan"];
    let ns = prop::sample::select(nss.to_vec()).prop_map(str::to_string);
    let link_of = |ns: &str| -> &'static str {
        match ns {
            "bridge-red" => "veth-red",
            "bridge-host" => "eth0",
            _ => "to-inet",
        }
    };
    (ns, 0u8..7, 1u8..250, 68u32..9000).prop_map(move |(ns, kind, b, mtu)| {
        let link = link_of(&ns).to_string();
        match kind {
            0 => Step::SetMtu { ns, link, mtu },
            1 => Step::SetLinkUp {
                ns,
                link,
                up: false,
            },
            2 => Step::AddAddress {
                ns,
                link,
                addr: format!("10.{b}.0.1/24").parse().unwrap(),
            },
            3 => Step::SetSysctl {
                ns,
                key: "net/ipv4/ip_forward".into(),
                value: (b % 2).to_string(),
                persist: false,
            },
            4 => Step::AddIptablesRule {
                ns,
                table: if b % 2 == 0 { "nat" } else { "filter" }.into(),
                chain: if b % 2 == 0 { "POSTROUTING" } else { "FORWARD" }.into(),
                rule: words(&format!(
                    "-s 10.{b}.0.0/16 -m comment --comment \"netlens {b}\" -j ACCEPT"
                )),
            },
            5 => Step::SetMaster {
                ns: "bridge-lan".into(),
                link: "to-host".into(),
                master: if b % 2 == 0 {
                    None
                } else {
                    Some("lan0".into())
                },
            },
            _ => {
                let (via, n) = match ns.as_str() {
                    "bridge-red" => ("192.168.15.5", "bridge-red"),
                    "bridge-host" => ("192.168.1.1", "bridge-host"),
                    _ => ("100.64.0.2", "bridge-lan"),
                };
                Step::AddRoute {
                    ns: n.into(),
                    route: RouteSpec {
                        dst: format!("172.{}.{b}.0/24", 16 + b % 16).parse().unwrap(),
                        via: via.parse().ok(),
                        dev: None,
                        table: None,
                        metric: None,
                    },
                }
            }
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn a_step_then_its_inverse_gives_back_the_snapshot(steps in prop::collection::vec(any_step(), 1..4)) {
        let s0 = lab();
        let mut s = s0.clone();
        let mut undo: Vec<Vec<Step>> = Vec::new();
        for step in &steps {
            // A step the kernel would refuse (a gateway on a link set down) is not applied.
            if let Simulated::Done(next) = simulate(&s, std::slice::from_ref(step)) {
                undo.push(inverse_in(&s, step));
                s = *next;
            }
        }
        for inv in undo.iter().rev() {
            s = done(&s, inv);
        }
        prop_assert_eq!(modelled(&s), modelled(&s0));
    }
}
