//! The compiled tables answer as the text they were compiled from: each rule's parsed matches
//! against the text reading the walk used before (`net_has`, `ports_have`, the protocol
//! lowered per match), over seeded random packets on the node fixture's kube-proxy rules and
//! random match texts; the options read one by one against reading them all; and chains
//! found by name as a linear search found them.

use std::net::{IpAddr, Ipv4Addr};

use super::compiled::{CRule, Compiled};
use super::matches::{matches, net_has, ports_have, Ctx};
use super::{decide_at, Pkt, FORWARD, POSTROUTING, PREROUTING};
use crate::diagnose::node_fixture::{node_snapshot, NodeShape};
use crate::firewall::{Cond, Firewall, XtRule};

use crate::test_rng::Rng;

/// The fixed matches as the walk read them before they were compiled.
fn text_fixed(r: &XtRule, pkt: &Pkt) -> bool {
    let cond = |c: &Option<Cond>, test: &dyn Fn(&str) -> bool| match c {
        None => true,
        Some(c) => test(&c.value) != c.negated,
    };
    let proto = |v: &str| {
        let v = v.to_ascii_lowercase();
        v == "all"
            || v == "0"
            || v == pkt.proto
            || (pkt.proto == "icmp" && v == "1")
            || (pkt.proto == "tcp" && v == "6")
            || (pkt.proto == "udp" && v == "17")
    };
    cond(&r.source, &|v| net_has(v, pkt.src))
        && cond(&r.destination, &|v| net_has(v, pkt.dst))
        && cond(&r.protocol, &proto)
        && cond(&r.dport, &|v| pkt.dport.is_some_and(|p| ports_have(v, p)))
}

fn host_firewall() -> Firewall {
    let snap = node_snapshot(NodeShape::pods(20));
    snap.namespaces
        .iter()
        .filter_map(|ns| ns.firewall.clone())
        .max_by_key(|fw| fw.xt_rules().count())
        .expect("the host has rules")
}

/// An address a rule of `fw` names (or a random one), so matches are hit as well as missed.
fn addr(rng: &mut Rng, named: &[IpAddr]) -> IpAddr {
    if rng.below(4) == 0 || named.is_empty() {
        IpAddr::V4(Ipv4Addr::from(
            0x0a00_0000 | (rng.next() as u32 & 0x00ff_ffff),
        ))
    } else {
        named[rng.below(named.len())]
    }
}

fn random_pkt(rng: &mut Rng, named: &[IpAddr], ports: &[u16]) -> Pkt {
    Pkt {
        src: addr(rng, named),
        dst: addr(rng, named),
        proto: ["tcp", "udp", "icmp"][rng.below(3)].into(),
        dport: Some(ports[rng.below(ports.len())]),
        iif: Some(["cni0", "eth0", "veth1"][rng.below(3)].into()),
        oif: None,
        ct: ["NEW", "ESTABLISHED"][rng.below(2)],
        mark: [0, 0x4000, 0x8000][rng.below(3)],
    }
}

#[test]
fn compiled_rules_match_as_their_text() {
    let fw = host_firewall();
    let mut named = Vec::new();
    let mut ports = vec![1, 53, 443];
    for r in fw.xt_rules() {
        for c in [&r.rule.source, &r.rule.destination].into_iter().flatten() {
            if let Some(a) = c.value.split('/').next().and_then(|a| a.parse().ok()) {
                named.push(a);
            }
        }
        if let Some(p) = r.rule.dport.as_ref().and_then(|c| c.value.parse().ok()) {
            ports.push(p);
        }
    }
    let local = |ip: IpAddr| ip == IpAddr::V4(Ipv4Addr::new(192, 168, 1, 10));
    let mut rng = Rng(0x5eed_d0c7);
    let rules: Vec<&XtRule> = fw.xt_rules().map(|r| r.rule).collect();
    let mut hits = 0;
    for _ in 0..20_000 {
        let pkt = random_pkt(&mut rng, &named, &ports);
        let cx = Ctx {
            mark: Some(pkt.mark),
            ctmark: Some(0),
            is_local: &local,
            rec: None,
        };
        let r = rules[rng.below(rules.len())];
        // The reference reads every option one by one (the compiled rule skips those it
        // holds parsed, and `--comment`s).
        let every = CRule {
            rest: (0..r.matches.len()).collect::<Vec<_>>().into(),
            ..CRule::default()
        };
        let want = matches(r, &every, &pkt, &cx).map(|b| b && text_fixed(r, &pkt));
        let got = matches(r, &compile_one(r), &pkt, &cx);
        assert_eq!(got, want, "{} for {pkt:?}", r.raw);
        hits += usize::from(got == Ok(true));
    }
    assert!(hits > 100, "the packets hit too few rules to tell ({hits})");
}

fn compile_one(r: &XtRule) -> CRule {
    super::compiled::compile_rule(r)
}

#[test]
fn parsed_addresses_and_ports_read_as_the_text() {
    let mut rng = Rng(42);
    let pieces = [
        "10.0.0.0/8",
        "10.0.0.1",
        "10.0.0.1/32",
        "fe80::/10",
        "bogus",
        "::1",
        "0.0.0.0/0",
    ];
    let port_pieces = ["80", "80:90", ":90", "8000:", "x", "443", "1:65535"];
    for _ in 0..5000 {
        let n = 1 + rng.below(3);
        let v: Vec<&str> = (0..n).map(|_| pieces[rng.below(pieces.len())]).collect();
        let v = v.join(",");
        let ip: IpAddr = ["10.1.2.3", "10.0.0.1", "192.168.0.1", "fe80::1", "::1"][rng.below(5)]
            .parse()
            .unwrap();
        let c = super::compiled::nets(&v);
        assert_eq!(
            super::compiled::nets_have(&c, ip),
            net_has(&v, ip),
            "{v} {ip}"
        );
        let p: Vec<&str> = (0..n)
            .map(|_| port_pieces[rng.below(port_pieces.len())])
            .collect();
        let p = p.join(",");
        let port = [80, 85, 90, 443, 8000, 1, 65535][rng.below(7)];
        let r = super::compiled::ports(&p);
        assert_eq!(
            super::compiled::ranges_have(&r, port),
            ports_have(&p, port),
            "{p} {port}"
        );
    }
}

/// One compiled firewall walked many times decides as a fresh compile per walk (the cache
/// keeps no state from one walk to the next), at every hook the doctor walks.
#[test]
fn a_reused_compile_decides_as_a_fresh_one() {
    let fw = host_firewall();
    let c = Compiled::new(&fw);
    let mut rng = Rng(7);
    let named: Vec<IpAddr> = fw
        .xt_rules()
        .filter_map(|r| {
            r.rule
                .destination
                .as_ref()?
                .value
                .split('/')
                .next()?
                .parse()
                .ok()
        })
        .collect();
    let local = |ip: IpAddr| ip == IpAddr::V4(Ipv4Addr::new(192, 168, 1, 10));
    for _ in 0..300 {
        let mut pkt = random_pkt(&mut rng, &named, &[53, 80, 443]);
        pkt.oif = Some("eth0".into());
        for (tables, chain) in [
            (PREROUTING, "PREROUTING"),
            (FORWARD, "FORWARD"),
            (POSTROUTING, "POSTROUTING"),
        ] {
            assert_eq!(
                c.decide_at(&fw, tables, chain, &pkt, &local),
                decide_at(&fw, tables, chain, &pkt, &local),
                "{chain} {pkt:?}"
            );
        }
    }
}

#[test]
fn chains_are_found_as_a_linear_search_found_them() {
    let fw = host_firewall();
    let c = Compiled::new(&fw);
    for (i, t) in fw.iptables.iter().enumerate() {
        let ct = c.table(&fw, i);
        for ch in &t.chains {
            assert_eq!(
                ct.chain(&ch.name),
                t.chains.iter().position(|x| x.name == ch.name)
            );
        }
        assert_eq!(ct.chain("NO-SUCH-CHAIN"), None);
    }
}

/// Remembered decisions are the walk's, for senders that share a class (pods of one subnet)
/// and senders a rule names (kube-proxy's `-s ENDPOINT/32 -j KUBE-MARK-MASQ`).
#[test]
fn remembered_decisions_are_the_walks() {
    let fw = host_firewall();
    let c = Compiled::new(&fw);
    let mut rng = Rng(99);
    let named: Vec<IpAddr> = fw
        .xt_rules()
        .filter_map(|r| {
            r.rule
                .source
                .as_ref()?
                .value
                .split('/')
                .next()?
                .parse()
                .ok()
        })
        .collect();
    let local = |ip: IpAddr| ip == IpAddr::V4(Ipv4Addr::new(192, 168, 1, 10));
    for _ in 0..600 {
        let mut pkt = random_pkt(&mut rng, &named, &[53, 80, 443]);
        pkt.oif = Some("eth0".into());
        for (tables, chain) in [
            (PREROUTING, "PREROUTING"),
            (FORWARD, "FORWARD"),
            (POSTROUTING, "POSTROUTING"),
        ] {
            assert_eq!(
                *c.decide_remembered(&fw, tables, chain, &pkt, &local),
                decide_at(&fw, tables, chain, &pkt, &local),
                "{chain} {pkt:?}"
            );
        }
    }
}

/// `is_parsed` (a `match`) answers as the list it stands for, for every option of the
/// fixture's rules, every listed name, and near misses of each (a letter more or less, case).
#[test]
fn parsed_options_are_the_list() {
    use super::matches::{is_parsed, PARSED};
    let fw = host_firewall();
    let mut names: Vec<String> = fw
        .xt_rules()
        .flat_map(|r| r.rule.matches.iter().map(|m| m.option.clone()))
        .collect();
    for p in PARSED {
        names.extend([
            p.to_string(),
            format!("{p}x"),
            p[..p.len() - 1].to_string(),
            p.to_uppercase(),
            format!("-{p}"),
        ]);
    }
    names.extend(["", "-", "--", "-m", "--match", "--ctstate", "--mark"].map(String::from));
    for n in &names {
        assert_eq!(is_parsed(n), PARSED.contains(&n.as_str()), "{n:?}");
    }
}

/// A verdict's rule text is the rule without its counters, as `strip_xt_counters` makes it,
/// whether or not the plain-text shortcut applies: seeded random lines of rule words,
/// counters (`[1:2]`, `-c 3 4`), a `-c` that is not one, runs of spaces and tabs.
#[test]
fn rule_text_is_the_rule_without_counters() {
    use crate::model::diff::strip_xt_counters;
    let words = [
        "-A",
        "POSTROUTING",
        "-s",
        "10.0.0.1/32",
        "-c",
        "12",
        "345",
        "-j",
        "MASQUERADE",
        "--comment",
        "\"a b\"",
        "x-c",
        "-cx",
        "[0:0]",
        "[7:9]",
    ];
    let gaps = [" ", " ", " ", "  ", "\t", " \t "];
    let mut rng = Rng(0x7e47);
    for _ in 0..5000 {
        let mut raw = String::new();
        if rng.below(4) == 0 {
            raw.push_str([" ", "\t", "[3:4] ", "[5:6]"][rng.below(4)]);
        }
        for i in 0..rng.below(9) {
            if i > 0 {
                raw.push_str(gaps[rng.below(gaps.len())]);
            }
            raw.push_str(words[rng.below(words.len())]);
        }
        if rng.below(4) == 0 {
            raw.push_str([" ", "\n", "\t"][rng.below(3)]);
        }
        let r = XtRule {
            raw: raw.clone(),
            ..XtRule::default()
        };
        assert_eq!(super::rule_text(&r), strip_xt_counters(&raw), "{raw:?}");
    }
}
