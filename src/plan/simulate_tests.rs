//! The simulator, step kind by step kind, on a snapshot collected from the bridge lab; and the
//! property that a step followed by its inverse (computed from the model as `inverse.rs`
//! computes it from the kernel) gives back the snapshot on every modelled field.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::simulate::{simulate, Simulated};
use super::step::{RouteSpec, Step};
use crate::model::{OperState, Route, Snapshot};

fn lab() -> Snapshot {
    serde_json::from_str(include_str!("../../assets/demo-bridge.json")).expect("asset parses")
}

fn done(snap: &Snapshot, steps: &[Step]) -> Snapshot {
    match simulate(snap, steps) {
        Simulated::Done(s) => *s,
        other => panic!("unexpected {other:?}"),
    }
}

fn routes<'a>(s: &'a Snapshot, ns: &str) -> Vec<&'a Route> {
    s.namespace(ns).unwrap().routes.iter().collect()
}

fn has_route(s: &Snapshot, ns: &str, table: u32, dst: &str) -> bool {
    routes(s, ns)
        .iter()
        .any(|r| r.table == table && r.dst == crate::model::RouteDst::parse(dst))
}

fn link<'a>(s: &'a Snapshot, ns: &str, name: &str) -> &'a crate::model::Link {
    let n = s.namespace(ns).unwrap();
    n.links.iter().find(|l| l.name == name).unwrap()
}

fn up(ns: &str, link: &str, up: bool) -> Step {
    Step::SetLinkUp {
        ns: ns.into(),
        link: link.into(),
        up,
    }
}

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

#[test]
fn link_down_flushes_its_routes_and_up_brings_back_only_the_connected_ones() {
    let s = lab();
    let down = done(&s, &[up("bridge-red", "veth-red", false)]);
    assert!(!link(&down, "bridge-red", "veth-red").is_up());
    assert!(routes(&down, "bridge-red")
        .iter()
        .all(|r| r.dev.as_deref() != Some("veth-red")));
    // The peer loses its carrier.
    assert_eq!(
        link(&down, "bridge-host", "veth-red-br").oper_state,
        OperState::LowerLayerDown
    );
    let again = done(&down, &[up("bridge-red", "veth-red", true)]);
    assert!(has_route(&again, "bridge-red", 254, "192.168.15.0/24"));
    assert!(has_route(&again, "bridge-red", 255, "192.168.15.1/32"));
    assert!(has_route(&again, "bridge-red", 255, "192.168.15.255/32"));
    assert!(!has_route(&again, "bridge-red", 254, "default"));
    assert_eq!(
        link(&again, "bridge-host", "veth-red-br").oper_state,
        OperState::Up
    );
}

#[test]
fn addresses_bring_and_take_their_routes() {
    let s = lab();
    let add = Step::AddAddress {
        ns: "bridge-red".into(),
        link: "veth-red".into(),
        addr: "10.9.8.7/24".parse().unwrap(),
    };
    let with = done(&s, &[add]);
    assert!(has_route(&with, "bridge-red", 254, "10.9.8.0/24"));
    assert!(has_route(&with, "bridge-red", 255, "10.9.8.7/32"));
    // The last IPv4 address leaving a link takes the static default route with it.
    let del = Step::DelAddress {
        ns: "bridge-red".into(),
        link: "veth-red".into(),
        addr: "192.168.15.1/24".parse().unwrap(),
    };
    let without = done(&s, &[del]);
    assert!(!has_route(&without, "bridge-red", 254, "default"));
    assert!(!has_route(&without, "bridge-red", 254, "192.168.15.0/24"));
}

#[test]
fn routes_are_added_on_the_gateways_link_or_refused() {
    let s = lab();
    let spec = |via: &str| RouteSpec {
        dst: "10.50.0.0/16".parse().unwrap(),
        via: Some(via.parse().unwrap()),
        dev: None,
        table: None,
        metric: None,
    };
    let add = Step::AddRoute {
        ns: "bridge-red".into(),
        route: spec("192.168.15.5"),
    };
    let with = done(&s, std::slice::from_ref(&add));
    let r = routes(&with, "bridge-red")
        .into_iter()
        .find(|r| r.dst == crate::model::RouteDst::parse("10.50.0.0/16"))
        .cloned()
        .unwrap();
    assert_eq!(r.dev.as_deref(), Some("veth-red"));
    let del = Step::DelRoute {
        ns: "bridge-red".into(),
        route: spec("192.168.15.5"),
    };
    assert_eq!(done(&with, &[del]), s);
    // Nobody on a subnet of bridge-red holds 10.99.0.1: the kernel says "Nexthop has invalid
    // gateway".
    let bad = Step::AddRoute {
        ns: "bridge-red".into(),
        route: spec("10.99.0.1"),
    };
    assert!(matches!(simulate(&s, &[bad]), Simulated::Refused(_)));
}

#[test]
fn links_bridges_masters_and_mtu() {
    let s = lab();
    let steps = vec![
        Step::AddBridge {
            ns: "bridge-host".into(),
            name: "br9".into(),
        },
        Step::AddVeth {
            ns: "bridge-host".into(),
            name: "v9".into(),
            peer_ns: "bridge-blue".into(),
            peer: "v9p".into(),
        },
        Step::SetMaster {
            ns: "bridge-host".into(),
            link: "veth-red-br".into(),
            master: Some("br9".into()),
        },
        Step::SetMtu {
            ns: "bridge-host".into(),
            link: "br9".into(),
            mtu: 1400,
        },
    ];
    let after = done(&s, &steps);
    assert_eq!(
        link(&after, "bridge-host", "br9").ports,
        vec!["veth-red-br"]
    );
    assert_eq!(link(&after, "bridge-host", "br9").mtu, 1400);
    assert!(!link(&after, "bridge-host", "v-net-0")
        .ports
        .contains(&"veth-red-br".to_string()));
    let peer = link(&after, "bridge-host", "v9").peer.clone().unwrap();
    assert_eq!(peer.namespace.as_deref(), Some("bridge-blue"));
    let gone = done(
        &after,
        &[Step::DeleteLink {
            ns: "bridge-blue".into(),
            name: "v9p".into(),
        }],
    );
    assert!(gone
        .namespace("bridge-host")
        .unwrap()
        .links
        .iter()
        .all(|l| l.name != "v9"));
}

#[test]
fn sysctls_the_model_records_and_none_other() {
    let s = lab();
    let set = |key: &str| Step::SetSysctl {
        ns: "bridge-host".into(),
        key: key.into(),
        value: "0".into(),
        persist: false,
    };
    let after = done(&s, &[set("net/ipv4/ip_forward")]);
    assert_eq!(
        after.namespace("bridge-host").unwrap().sysctls.ip_forward,
        Some(0)
    );
    let rp = done(&s, &[set("net/ipv4/conf/eth0/rp_filter")]);
    let n = rp.namespace("bridge-host").unwrap();
    assert_eq!(n.sysctls.rp_filter.get("eth0"), Some(&0));
    assert!(matches!(
        simulate(&s, &[set("net/ipv4/tcp_syncookies")]),
        Simulated::Unknown(_)
    ));
}

fn chain_raw(s: &Snapshot, ns: &str, table: &str, chain: &str) -> Vec<String> {
    let fw = s.namespace(ns).unwrap().firewall.as_ref().unwrap();
    fw.iptables
        .iter()
        .filter(|t| t.name == table)
        .flat_map(|t| &t.chains)
        .filter(|c| c.name == chain)
        .flat_map(|c| c.rules.iter().map(|r| r.raw.clone()))
        .collect()
}

#[test]
fn an_added_rule_reads_as_iptables_save_prints_it() {
    let s = lab();
    let add = Step::AddIptablesRule {
        ns: "bridge-red".into(),
        table: "nat".into(),
        chain: "POSTROUTING".into(),
        rule: words("-m comment --comment netlens -p tcp --dport 80 -s 10.1.0.0/24 -j MASQUERADE"),
    };
    let after = done(&s, std::slice::from_ref(&add));
    assert_eq!(
        chain_raw(&after, "bridge-red", "nat", "POSTROUTING"),
        vec!["-A POSTROUTING -s 10.1.0.0/24 -p tcp -m tcp -m comment --comment netlens --dport 80 -j MASQUERADE"]
    );
    let Step::AddIptablesRule {
        ns,
        table,
        chain,
        rule,
    } = add
    else {
        unreachable!()
    };
    let del = Step::DelIptablesRule {
        ns,
        table,
        chain,
        rule,
    };
    assert!(chain_raw(&done(&after, &[del]), "bridge-red", "nat", "POSTROUTING").is_empty());
}

#[test]
fn a_delete_written_differently_from_the_rule_changes_nothing() {
    let mut s = lab();
    let line = r#"-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \"podman\" id: \"0b1a\"" -m multiport --dports 8080 -j CNI-DN-1"#;
    let text =
        format!("*nat\n:PREROUTING ACCEPT [0:0]\n:CNI-HOSTPORT-DNAT - [0:0]\n{line}\nCOMMIT\n");
    let (tables, _) = crate::firewall::iptables_save::parse(
        &text,
        crate::firewall::IpFamily::V4,
        crate::firewall::XtSource::Nft,
    );
    let ns = s
        .namespaces
        .iter_mut()
        .find(|n| n.name == "bridge-host")
        .unwrap();
    ns.firewall.as_mut().unwrap().iptables = tables;
    let del = |rule: Vec<String>| Step::DelIptablesRule {
        ns: "bridge-host".into(),
        table: "nat".into(),
        chain: "CNI-HOSTPORT-DNAT".into(),
        rule,
    };
    // Split toggling on every quote, as the old stale-NAT fix did.
    let naive: Vec<String> = line
        .split_whitespace()
        .skip(2)
        .map(|w| w.trim_matches('"').to_string())
        .collect();
    assert_eq!(done(&s, &[del(naive)]), s);
    let exact = crate::firewall::iptables_save::rule_words(line)[2..].to_vec();
    assert!(chain_raw(
        &done(&s, &[del(exact)]),
        "bridge-host",
        "nat",
        "CNI-HOSTPORT-DNAT"
    )
    .is_empty());
}

#[test]
fn resolver_files_are_parsed_as_written() {
    let s = lab();
    let path = "/etc/netns/bridge-red/resolv.conf";
    let w = Step::WriteFile {
        ns: "bridge-red".into(),
        path: path.into(),
        content: Some("nameserver 192.0.2.53\n".into()),
        pid_start: None,
    };
    let after = done(&s, &[w]);
    let dns = after.namespace("bridge-red").unwrap().dns.clone().unwrap();
    assert_eq!(dns.resolv_conf.path, path);
    let parsed = dns.resolv_conf.parsed.unwrap();
    assert_eq!(parsed.nameservers[0].text, "192.0.2.53");
}

#[test]
fn steps_the_model_cannot_hold_are_unknown_never_guessed() {
    let s = lab();
    for step in [
        Step::MoveLink {
            ns: "bridge-host".into(),
            name: "eth0".into(),
            to_ns: "not-read".into(),
        },
        Step::ReleaseIpamLease {
            dir: "/var/lib/cni/networks/x".into(),
            ip: "10.0.0.2".parse().unwrap(),
            container_id: None,
        },
        up("nowhere", "eth0", true),
    ] {
        assert!(matches!(simulate(&s, &[step]), Simulated::Unknown(_)));
    }
    // A link that is not there is the kernel's "Cannot find device", not a guess.
    let missing = up("bridge-red", "no-such-link", true);
    assert!(matches!(simulate(&s, &[missing]), Simulated::Refused(_)));
}

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
