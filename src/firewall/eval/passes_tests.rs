//! [`super::passes_everything`] is what lets a caller skip the walks: seeded random firewalls
//! of empty tables (iptables and native nft, random hooks and policies) and random packets —
//! wherever it says a firewall passes everything, every walk at every hook accepts the
//! packet with its mark kept and nothing unsure; and a firewall with a drop policy or any
//! rule is never taken for empty.

use std::net::{IpAddr, Ipv4Addr};

use super::*;
use crate::firewall::{NftChain, NftTable, XtChain, XtSource, XtTable};
use crate::test_rng::Rng;

fn policy(rng: &mut Rng, accept: &'static str, drop: &'static str) -> Option<String> {
    match rng.below(6) {
        0 => None,
        1 => Some(drop.to_string()),
        _ => Some(accept.to_string()),
    }
}

fn random_firewall(rng: &mut Rng) -> Firewall {
    let mut fw = Firewall::default();
    for name in ["raw", "mangle", "nat", "filter"] {
        if rng.below(2) == 0 {
            continue;
        }
        let chains = ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"]
            .iter()
            .map(|c| XtChain {
                name: c.to_string(),
                policy: policy(rng, "ACCEPT", "DROP"),
                packets: 0,
                bytes: 0,
                rules: Vec::new(),
            })
            .collect();
        fw.iptables.push(XtTable {
            name: name.into(),
            family: IpFamily::V4,
            source: XtSource::Nft,
            chains,
        });
    }
    if rng.below(2) == 0 {
        let hooks = ["prerouting", "input", "forward", "postrouting"];
        fw.nft.push(NftTable {
            family: ["ip", "inet"][rng.below(2)].into(),
            name: "mine".into(),
            handle: Some(1),
            chains: vec![NftChain {
                name: "c".into(),
                handle: Some(2),
                hook: Some(hooks[rng.below(hooks.len())].into()),
                prio: Some([-150, 0, 100][rng.below(3)]),
                policy: policy(rng, "accept", "drop"),
                chain_type: Some("filter".into()),
                rules: Vec::new(),
            }],
            sets: Vec::new(),
            named: Vec::new(),
        });
    }
    fw
}

fn random_pkt(rng: &mut Rng) -> Pkt {
    let ip = |rng: &mut Rng| IpAddr::V4(Ipv4Addr::new(10, 0, 0, rng.below(4) as u8 + 1));
    Pkt {
        src: ip(rng),
        dst: ip(rng),
        proto: ["tcp", "udp", "icmp"][rng.below(3)].into(),
        dport: Some(80),
        iif: Some("eth0".into()),
        oif: Some("eth1".into()),
        ct: ["NEW", "ESTABLISHED"][rng.below(2)],
        mark: rng.below(3) as u32,
    }
}

#[test]
fn a_firewall_that_passes_everything_accepts_every_packet() {
    let hooks: [(&[&str], &str); 5] = [
        (PREROUTING, "PREROUTING"),
        (INPUT, "INPUT"),
        (FORWARD, "FORWARD"),
        (POSTROUTING, "POSTROUTING"),
        (OUTPUT_PRE, "OUTPUT"),
    ];
    let mut rng = Rng(0x5eed_0e11);
    let (mut empty, mut not) = (0, 0);
    for seed in 0..400 {
        let fw = random_firewall(&mut rng);
        let passes = passes_everything(&fw);
        let local = |ip: IpAddr| ip == IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        for _ in 0..8 {
            let pkt = random_pkt(&mut rng);
            for (tables, chain) in hooks {
                let d = decide_at(&fw, tables, chain, &pkt, &local);
                let untouched =
                    d.verdict == Verdict::Accept && d.mark == Some(pkt.mark) && d.unsure.is_empty();
                if passes {
                    assert!(untouched, "seed {seed}: {fw:?} {pkt:?} at {chain}: {d:?}");
                }
            }
        }
        if passes {
            empty += 1;
        } else {
            not += 1;
            // Only a drop policy makes one of these not empty.
            let xt = fw.iptables.iter().flat_map(|t| &t.chains);
            let nft = fw.nft.iter().flat_map(|t| &t.chains);
            let drop_policy = xt
                .map(|c| &c.policy)
                .chain(nft.map(|c| &c.policy))
                .any(|p| matches!(p.as_deref(), Some("DROP" | "drop")));
            assert!(drop_policy, "seed {seed}: {fw:?}");
        }
    }
    assert!(
        empty > 50 && not > 50,
        "both kinds drawn: {empty} empty, {not} not"
    );
}

/// One rule anywhere, even an ACCEPT, is not "empty": it could set a mark or be unjudgeable.
#[test]
fn any_rule_makes_a_firewall_not_empty() {
    let (iptables, e) = crate::firewall::iptables_save::parse(
        "*mangle\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j MARK --set-xmark 0x1/0x1\nCOMMIT\n",
        IpFamily::V4,
        XtSource::Nft,
    );
    assert!(e.is_empty());
    let fw = Firewall {
        iptables,
        ..Firewall::default()
    };
    assert!(!passes_everything(&fw));
}
