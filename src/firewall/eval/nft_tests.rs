//! Native nft chains in the one evaluator, on a real `nft -j` dump: statements, sets,
//! jumps and marks, priorities among the iptables tables, NAT, "cannot judge", old
//! snapshots, loops.

use std::net::IpAddr;

use super::*;
use crate::firewall::{iptables_save, nft_json, XtSource};

const LAB: &str =
    include_str!("../../../tests/samples/nftables/netlens-lab_nat_forward_input.nft-j.json");

/// The lab dump, with the iptables-nft `ip nat` table read from iptables-save as the
/// collector does (so the nft copy of it is not walked a second time).
fn lab(extra_xt: &str) -> Firewall {
    let (nft, w) = nft_json::parse(LAB);
    assert!(w.is_empty(), "{w:?}");
    let xt = format!(
        "*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -s 10.1.0.0/16 -j MASQUERADE\nCOMMIT\n{extra_xt}"
    );
    let (iptables, e) = iptables_save::parse(&xt, IpFamily::V4, XtSource::Nft);
    assert!(e.is_empty(), "{e:?}");
    Firewall {
        backends: Vec::new(),
        iptables,
        nft,
        errors: Vec::new(),
    }
}

fn pkt(proto: &str, src: &str, dst: &str, port: Option<u16>, iif: &str, oif: &str) -> Pkt {
    let name = |s: &str| (!s.is_empty()).then(|| s.to_string());
    Pkt {
        src: src.parse().unwrap(),
        dst: dst.parse().unwrap(),
        proto: proto.into(),
        dport: port,
        iif: name(iif),
        oif: name(oif),
        ct: "NEW",
        mark: 0,
    }
}

fn nobody(_: IpAddr) -> bool {
    false
}

fn at(fw: &Firewall, tables: &[&str], chain: &str, p: &Pkt) -> Decision {
    decide_at(fw, tables, chain, p, &nobody)
}

#[test]
fn forward_chain_sets_ranges_and_policy() {
    let fw = lab("");
    let web = pkt("tcp", "10.5.0.2", "10.6.0.2", Some(1500), "la", "lb");
    assert_eq!(at(&fw, FORWARD, "FORWARD", &web).verdict, Verdict::Accept);
    // Excluded destination: the named set @allowed = { 10.0.0.1 } decides.
    let excl = pkt("tcp", "10.5.0.2", "10.9.1.1", Some(80), "la", "lb");
    assert_eq!(
        at(&fw, FORWARD, "FORWARD", &excl).verdict,
        Verdict::Drop {
            by: "nft inet lab fwdc policy drop".into()
        }
    );
    let allowed = pkt("tcp", "10.0.0.1", "10.9.1.1", Some(80), "lb", "la");
    assert_eq!(
        at(&fw, FORWARD, "FORWARD", &allowed).verdict,
        Verdict::Accept
    );
    // A set the snapshot does not hold (an old snapshot): cannot judge, and which rule.
    let mut old = lab("");
    old.nft.iter_mut().for_each(|t| t.named.clear());
    let d = at(&old, FORWARD, "FORWARD", &excl);
    match &d.verdict {
        Verdict::CannotJudge { by, .. } => assert!(by.contains("@allowed"), "{by}"),
        v => panic!("{v:?}"),
    }
    assert!(matches!(d.assumed, Verdict::Drop { .. }));
    // ICMP is accepted either way the named set goes.
    let ping = pkt("icmp", "10.5.0.2", "10.9.1.1", None, "la", "lb");
    assert_eq!(at(&fw, FORWARD, "FORWARD", &ping).verdict, Verdict::Accept);
    let mut reply = pkt("tcp", "10.9.1.1", "10.5.0.2", Some(22), "lb", "la");
    reply.ct = "ESTABLISHED";
    assert_eq!(at(&fw, FORWARD, "FORWARD", &reply).verdict, Verdict::Accept);
}

#[test]
fn jump_return_and_marks() {
    let fw = lab("");
    let mut p = pkt("icmp", "10.5.0.2", "10.6.0.2", None, "la", "lb");
    p.mark = 0x13;
    let d = at(&fw, FORWARD, "FORWARD", &p);
    assert_eq!(d.verdict, Verdict::Accept);
    assert_eq!(d.mark, Some(0x20), "subc set the mark and returned");
    p.mark = 0x3;
    assert_eq!(at(&fw, FORWARD, "FORWARD", &p).mark, Some(0x3));
}

#[test]
fn input_drop_reject_and_families() {
    let fw = lab("");
    let ssh = pkt("tcp", "10.5.0.2", "10.6.0.1", Some(22), "la", "");
    assert_eq!(
        at(&fw, INPUT, "INPUT", &ssh).verdict,
        Verdict::Drop {
            by: "nft inet lab inc: tcp dport 22 drop".into()
        }
    );
    let dns = pkt("udp", "10.5.0.2", "10.6.0.1", Some(53), "la", "");
    assert!(at(&fw, INPUT, "INPUT", &dns).drops());
    // `ip protocol tcp accept` comes before `th dport 9 drop`; udp/9 reaches the drop.
    let tcp9 = pkt("tcp", "10.5.0.2", "10.6.0.1", Some(9), "la", "");
    assert_eq!(at(&fw, INPUT, "INPUT", &tcp9).verdict, Verdict::Accept);
    // The inet chain sees IPv6 too; the ip-family labnat table does not.
    let v6 = pkt("tcp", "fd00::2", "fd00::1", Some(22), "la", "");
    assert!(at(&fw, INPUT, "INPUT", &v6).drops());
    let v6nat = pkt("tcp", "fd00::2", "fd00::1", Some(8080), "la", "");
    assert_eq!(
        at(&fw, PREROUTING, "PREROUTING", &v6nat).verdict,
        Verdict::Accept
    );
}

#[test]
fn nft_nat_and_iptables_nat_together() {
    let fw = lab("");
    let dnat = pkt("tcp", "10.5.0.2", "10.5.0.1", Some(8080), "la", "");
    match at(&fw, PREROUTING, "PREROUTING", &dnat).verdict {
        Verdict::Nat { target, to, by } => {
            assert_eq!(
                (target.as_str(), to.as_deref()),
                ("DNAT", Some("10.6.0.2:80"))
            );
            assert!(by.starts_with("nft ip labnat pre:"), "{by}");
        }
        v => panic!("{v:?}"),
    }
    // Replies skip nat chains.
    let mut reply = dnat.clone();
    reply.ct = "ESTABLISHED";
    assert_eq!(
        at(&fw, &["raw", "mangle"], "PREROUTING", &reply).verdict,
        Verdict::Accept
    );
    let out = pkt("tcp", "10.5.0.2", "198.51.100.1", Some(443), "la", "lb");
    assert!(matches!(
        at(&fw, POSTROUTING, "POSTROUTING", &out).verdict,
        Verdict::Nat { ref target, ref by, .. } if target == "MASQUERADE" && by.starts_with("nft ")
    ));
    // iptables-nft's own table is walked from iptables-save, not from its nft copy (whose
    // `xt` target would be unmodeled).
    let other = pkt("tcp", "10.1.0.2", "198.51.100.1", Some(443), "la", "lb");
    match at(&fw, POSTROUTING, "POSTROUTING", &other).verdict {
        Verdict::Nat { target, by, .. } => {
            assert_eq!(target, "MASQUERADE");
            assert!(by.starts_with("nat POSTROUTING"), "{by}");
        }
        v => panic!("{v:?}"),
    }
}

#[test]
fn iptables_accept_does_not_override_an_nft_drop() {
    let fw = lab("*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD -j ACCEPT\nCOMMIT\n");
    let p = pkt("tcp", "10.6.0.2", "10.5.0.2", Some(22), "lb", "la");
    // The named set rule: cannot judge, and the policy drop is what is assumed.
    let d = at(&fw, FORWARD, "FORWARD", &p);
    assert!(matches!(d.assumed, Verdict::Drop { .. }), "{d:?}");
    // And an iptables DROP before an nft accept ends the packet as well.
    let fw = lab("*mangle\n:FORWARD ACCEPT [0:0]\n-A FORWARD -s 10.5.0.2 -j DROP\nCOMMIT\n");
    let web = pkt("tcp", "10.5.0.2", "10.6.0.2", Some(80), "la", "lb");
    assert!(at(&fw, FORWARD, "FORWARD", &web).drops());
}

#[test]
fn output_is_split_at_priority_zero() {
    let text = r#"{"nftables":[
{"chain":{"family":"inet","table":"t","name":"early","type":"filter","hook":"output","prio":-200,"policy":"accept"}},
{"chain":{"family":"inet","table":"t","name":"late","type":"filter","hook":"output","prio":10,"policy":"drop"}}]}"#;
    let (nft, _) = nft_json::parse(text);
    let fw = Firewall {
        nft,
        ..Firewall::default()
    };
    let p = pkt("tcp", "10.0.0.1", "10.0.0.2", Some(80), "", "eth0");
    assert_eq!(at(&fw, OUTPUT_PRE, "OUTPUT", &p).verdict, Verdict::Accept);
    assert!(at(&fw, OUTPUT_FILTER, "OUTPUT", &p).drops());
}

#[test]
fn old_snapshots_and_goto_loops_cannot_be_judged() {
    let text = r#"{"nftables":[
{"chain":{"family":"inet","table":"t","name":"f","type":"filter","hook":"forward","prio":0,"policy":"accept"}},
{"chain":{"family":"inet","table":"t","name":"a"}},
{"chain":{"family":"inet","table":"t","name":"b"}},
{"rule":{"family":"inet","table":"t","chain":"f","expr":[{"goto":{"target":"a"}}]}},
{"rule":{"family":"inet","table":"t","chain":"a","expr":[{"goto":{"target":"b"}}]}},
{"rule":{"family":"inet","table":"t","chain":"b","expr":[{"goto":{"target":"a"}}]}}]}"#;
    let (nft, _) = nft_json::parse(text);
    let fw = Firewall {
        nft,
        ..Firewall::default()
    };
    let p = pkt("tcp", "10.0.0.1", "10.0.0.2", Some(80), "x", "y");
    assert!(matches!(
        at(&fw, FORWARD, "FORWARD", &p).verdict,
        Verdict::CannotJudge { .. }
    ));
    // A rule from a snapshot saved before statements were typed: its drop may or may not
    // apply, so the walk cannot judge (it does not guess from the summary).
    let mut fw = lab("");
    for t in &mut fw.nft {
        for c in &mut t.chains {
            for r in &mut c.rules {
                r.stmts = None;
            }
        }
    }
    let ssh = pkt("tcp", "10.5.0.2", "10.6.0.1", Some(22), "la", "");
    assert!(matches!(
        at(&fw, INPUT, "INPUT", &ssh).verdict,
        Verdict::CannotJudge { .. }
    ));
}

/// firewalld-style zone dispatch with verdict maps (captured from nft 1.0.6).
#[test]
fn verdict_maps() {
    let text = r#"{"nftables":[
{"chain":{"family":"inet","table":"fw","name":"zone_a"}},
{"chain":{"family":"inet","table":"fw","name":"fwdc","type":"filter","hook":"forward","prio":0,"policy":"drop"}},
{"rule":{"family":"inet","table":"fw","chain":"zone_a","expr":[{"accept":null}]}},
{"rule":{"family":"inet","table":"fw","chain":"fwdc","expr":[{"vmap":{"key":{"meta":{"key":"iifname"}},"data":{"set":[["la",{"jump":{"target":"zone_a"}}],["lb",{"drop":null}],["lc*",{"accept":null}]]}}}]}},
{"rule":{"family":"inet","table":"fw","chain":"fwdc","expr":[{"vmap":{"key":{"payload":{"protocol":"tcp","field":"dport"}},"data":{"set":[[22,{"drop":null}],[{"range":[1000,2000]},{"accept":null}]]}}}]}},
{"rule":{"family":"inet","table":"fw","chain":"fwdc","expr":[{"vmap":{"key":{"payload":{"protocol":"tcp","field":"sport"}},"data":{"set":[[22,{"drop":null}]]}}}]}}]}"#;
    let (nft, w) = nft_json::parse(text);
    assert!(w.is_empty(), "{w:?}");
    let fw = Firewall {
        nft,
        ..Firewall::default()
    };
    let via = |iif: &str, port: u16| {
        at(
            &fw,
            FORWARD,
            "FORWARD",
            &pkt("tcp", "10.0.0.1", "10.1.0.1", Some(port), iif, "lx"),
        )
    };
    assert_eq!(
        via("la", 80).verdict,
        Verdict::Accept,
        "jump to zone_a, accepted there"
    );
    assert_eq!(via("lc7", 80).verdict, Verdict::Accept, "wildcard entry");
    assert!(via("lb", 80).drops());
    // No entry for ld: the next rule's port map decides, then the sport map cannot be judged.
    assert!(via("ld", 22).drops());
    assert_eq!(via("ld", 1500).verdict, Verdict::Accept);
    assert!(matches!(via("ld", 80).verdict, Verdict::CannotJudge { .. }));
    // ICMP: no map matches (the tcp keys do not load), the policy drops.
    let icmp = pkt("icmp", "10.0.0.1", "10.1.0.1", None, "ld", "lx");
    assert!(at(&fw, FORWARD, "FORWARD", &icmp).drops());
}

/// Docker 29's nftables mode dispatches through named verdict maps (`iifname vmap @…`).
#[test]
fn named_verdict_map() {
    let text = r#"{"nftables":[
{"map":{"family":"ip","table":"docker-bridges","name":"filter-forward-in-jumps","type":"ifname","map":"verdict","elem":[["docker0",{"jump":{"target":"in__docker0"}}]]}},
{"chain":{"family":"ip","table":"docker-bridges","name":"in__docker0"}},
{"chain":{"family":"ip","table":"docker-bridges","name":"fwd","type":"filter","hook":"forward","prio":0,"policy":"drop"}},
{"rule":{"family":"ip","table":"docker-bridges","chain":"in__docker0","expr":[{"match":{"op":"==","left":{"payload":{"protocol":"tcp","field":"dport"}},"right":80}},{"accept":null}]}},
{"rule":{"family":"ip","table":"docker-bridges","chain":"fwd","expr":[{"vmap":{"key":{"meta":{"key":"oifname"}},"data":"@filter-forward-in-jumps"}}]}}]}"#;
    let (nft, w) = nft_json::parse(text);
    assert!(w.is_empty(), "{w:?}");
    let fw = Firewall {
        nft,
        ..Firewall::default()
    };
    let to = |port| {
        pkt(
            "tcp",
            "192.0.2.1",
            "172.17.0.2",
            Some(port),
            "eth0",
            "docker0",
        )
    };
    assert_eq!(
        at(&fw, FORWARD, "FORWARD", &to(80)).verdict,
        Verdict::Accept
    );
    assert!(at(&fw, FORWARD, "FORWARD", &to(22)).drops());
}
