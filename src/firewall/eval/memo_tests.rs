//! The walk's shortcuts decide as the plain walk: jumping through runs of one-host rules
//! ([`super::compiled::Run`]) and remembering decisions by the source tests a walk reached
//! ([`super::memo`]). Seeded random rulesets with per-source chains (the bridge plugin's
//! `-s POD/32 -j CNI-…`), per-destination rules (kube-proxy's `-d VIP/32`), negated and
//! multi-address sources, rules that cannot be judged (`-m statistic`) and marks in between,
//! and random packets from the addresses they name: each decision is compared with a walk
//! of every rule one by one, not remembered.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};

use super::compiled::Compiled;
use super::{Pkt, FORWARD, POSTROUTING, PREROUTING};
use crate::firewall::{iptables_save, Backend, Firewall, IpFamily, XtSource};

use crate::test_rng::Rng;

/// One of 12 hosts (so rules and packets meet often).
fn host(rng: &mut Rng) -> String {
    format!("10.0.0.{}", rng.below(12) + 1)
}

/// A random rule's matches and target for chain `at`, jumping only to chains after it.
fn rule(rng: &mut Rng, at: usize, chains: usize, by_src: bool) -> String {
    let mut r = String::new();
    // Mostly one-host rules in a row (what runs are made of), the rest anything.
    let kind = rng.below(10);
    let me = if by_src { "-s" } else { "-d" };
    match kind {
        0..=5 => {
            let _ = write!(r, "{me} {}/32", host(rng));
        }
        6 => {
            let _ = write!(r, "! -s {}/32", host(rng));
        }
        7 => {
            let _ = write!(r, "-s {},{} -d 10.0.0.0/28", host(rng), host(rng));
        }
        8 => r.push_str("-m statistic --mode random --probability 0.5"),
        _ => r.push_str("-m mark --mark 0x1/0x1"),
    }
    if rng.below(4) == 0 {
        r.push_str(" -p tcp -m tcp --dport 80");
    }
    r.push_str(" -m comment --comment \"x\"");
    let target = match rng.below(9) {
        0 => "ACCEPT".to_string(),
        1 => "DROP".to_string(),
        2 => "RETURN".to_string(),
        3 => "MARK --set-xmark 0x1/0x1".to_string(),
        4 => "MASQUERADE".to_string(),
        _ if at + 1 < chains => format!("C{}", at + 1 + rng.below(chains - at - 1)),
        _ => "MASQUERADE".to_string(),
    };
    let _ = write!(r, " -j {target}");
    r
}

/// A random nat and filter table: the built-in chains and `C0..Cn` jump targets.
fn random_firewall(rng: &mut Rng) -> Firewall {
    let chains = 6;
    let mut text = String::new();
    for (table, builtins) in [
        ("nat", &["PREROUTING", "POSTROUTING"][..]),
        ("filter", &["FORWARD"][..]),
    ] {
        let _ = writeln!(text, "*{table}");
        for b in builtins {
            let policy = if rng.below(4) == 0 { "DROP" } else { "ACCEPT" };
            let _ = writeln!(text, ":{b} {policy} [0:0]");
        }
        for c in 0..chains {
            let _ = writeln!(text, ":C{c} - [0:0]");
        }
        let all = builtins.iter().map(|b| (b.to_string(), 0, 24));
        let user = (0..chains).map(|c| (format!("C{c}"), c, 1 + rng.below(12)));
        for (name, at, n) in all.chain(user).collect::<Vec<_>>() {
            let by_src = rng.below(2) == 0;
            for _ in 0..n {
                let _ = writeln!(text, "-A {name} {}", rule(rng, at, chains, by_src));
            }
        }
        text.push_str("COMMIT\n");
    }
    let (tables, errors) = iptables_save::parse(&text, IpFamily::V4, XtSource::Nft);
    assert!(errors.is_empty(), "{errors:?}\n{text}");
    Firewall {
        backends: vec![Backend::IptablesNft],
        iptables: tables,
        nft: Vec::new(),
        errors: Vec::new(),
    }
}

fn random_pkt(rng: &mut Rng) -> Pkt {
    let ip = |rng: &mut Rng| -> IpAddr { host(rng).parse().unwrap() };
    Pkt {
        src: ip(rng),
        dst: ip(rng),
        proto: ["tcp", "udp"][rng.below(2)].into(),
        dport: Some([80, 443][rng.below(2)]),
        iif: Some("cni0".into()),
        oif: Some("eth0".into()),
        ct: ["NEW", "ESTABLISHED"][rng.below(2)],
        mark: rng.below(2) as u32,
    }
}

const HOOKS: [(&[&str], &str); 3] = [
    (PREROUTING, "PREROUTING"),
    (FORWARD, "FORWARD"),
    (POSTROUTING, "POSTROUTING"),
];

/// Runs and the memo together decide as the plain walk, on 300 random rulesets.
#[test]
fn remembered_with_runs_is_the_plain_walk() {
    let local = |ip: IpAddr| ip == IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    let mut rng = Rng(0x0dd_ba11);
    let (mut hits, mut cannot) = (0, 0);
    for _ in 0..300 {
        let fw = random_firewall(&mut rng);
        let fast = Compiled::new(&fw);
        let plain = Compiled::without_runs(&fw);
        for _ in 0..60 {
            let pkt = random_pkt(&mut rng);
            for (tables, chain) in HOOKS {
                let want = plain.decide_at(&fw, tables, chain, &pkt, &local);
                let ran = fast.decide_at(&fw, tables, chain, &pkt, &local);
                assert_eq!(ran, want, "runs: {chain} {pkt:?}");
                let got = fast.decide_remembered(&fw, tables, chain, &pkt, &local);
                assert_eq!(*got, want, "memo: {chain} {pkt:?}");
                hits += usize::from(matches!(want.verdict, super::Verdict::Nat { .. }));
                cannot += usize::from(matches!(want.verdict, super::Verdict::CannotJudge { .. }));
            }
        }
    }
    // The rulesets decide in every way, so the comparison means something.
    assert!(
        hits > 1000 && cannot > 100,
        "nat {hits}, cannot judge {cannot}"
    );
}

/// On the node fixture (per-pod masquerade chains, kube-proxy's services), pods that differ
/// only in their own chain share the PREROUTING and FORWARD decisions, and every remembered
/// decision is the plain walk's.
#[test]
fn node_pods_share_what_their_chains_do_not_tell_apart() {
    use crate::diagnose::node_fixture::{node_snapshot, NodeShape};
    let shape = NodeShape::pods(40);
    let snap = node_snapshot(shape);
    let fw = snap
        .namespaces
        .iter()
        .filter_map(|ns| ns.firewall.clone())
        .max_by_key(|fw| fw.xt_rules().count())
        .expect("the host has rules");
    let fast = Compiled::new(&fw);
    let plain = Compiled::without_runs(&fw);
    let local = |_: IpAddr| false;
    // The first pod's FORWARD decision per destination: every later pod's is that one, shared
    // (not a copy, not a walk of its own).
    let mut first: Vec<std::sync::Arc<super::Decision>> = Vec::new();
    for i in 0..shape.pods {
        for (d, dst) in ["198.51.100.1", "10.96.0.10", "10.96.1.7"]
            .into_iter()
            .enumerate()
        {
            let pkt = Pkt {
                src: shape.pod_ip(i).into(),
                dst: dst.parse().unwrap(),
                proto: "tcp".into(),
                dport: Some(80),
                iif: Some("cni0".into()),
                oif: Some("eth0".into()),
                ct: "NEW",
                mark: 0,
            };
            for (tables, chain) in HOOKS {
                assert_eq!(
                    *fast.decide_remembered(&fw, tables, chain, &pkt, &local),
                    plain.decide_at(&fw, tables, chain, &pkt, &local),
                    "{chain} {pkt:?}"
                );
            }
            let fwd = fast.decide_remembered(&fw, FORWARD, "FORWARD", &pkt, &local);
            match first.get(d) {
                Some(f) => assert!(std::sync::Arc::ptr_eq(f, &fwd), "pod {i} to {dst}"),
                None => first.push(fwd),
            }
        }
    }
}
