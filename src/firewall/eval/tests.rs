//! The evaluator on rules as Docker, podman (netavark, CNI portmap), kube-proxy and people
//! write them: table order, marks, jumps and returns, and "cannot judge".

use std::net::IpAddr;

use super::matches::{iface, net_has, ports_have};
use super::*;
use crate::firewall::{iptables_save, XtSource};

fn fw(text: &str) -> Firewall {
    let (tables, errors) = iptables_save::parse(text, IpFamily::V4, XtSource::Nft);
    assert!(errors.is_empty(), "{errors:?}");
    Firewall {
        backends: Vec::new(),
        iptables: tables,
        nft: Vec::new(),
        errors: Vec::new(),
    }
}

fn pkt(src: &str, dst: &str, port: u16, iif: Option<&str>, oif: Option<&str>) -> Pkt {
    Pkt {
        src: src.parse().unwrap(),
        dst: dst.parse().unwrap(),
        proto: "tcp".into(),
        dport: Some(port),
        iif: iif.map(Into::into),
        oif: oif.map(Into::into),
        ct: "NEW",
        mark: 0,
    }
}

fn nobody(_: IpAddr) -> bool {
    false
}

fn is_nat(v: &Verdict, t: &str) -> bool {
    matches!(v, Verdict::Nat { target, .. } if target == t)
}

const DOCKERISH: &str = "*nat
:PREROUTING ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s 172.30.0.0/16 ! -o dkr0 -j MASQUERADE
-A DOCKER -i dkr0 -j RETURN
-A DOCKER ! -i dkr0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.30.0.2:80
COMMIT
*filter
:FORWARD DROP [0:0]
-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -i dkr0 ! -o dkr0 -j ACCEPT
-A FORWARD -m set --match-set allowed src -j ACCEPT
COMMIT
";

#[test]
fn docker_style_dnat_masquerade_and_forward() {
    let f = fw(DOCKERISH);
    let local = |ip: IpAddr| ip == "203.0.113.7".parse::<IpAddr>().unwrap();
    let d = decide(
        &f,
        "nat",
        "PREROUTING",
        &pkt("198.51.100.9", "203.0.113.7", 8080, Some("eth0"), None),
        &local,
    );
    assert_eq!(
        d.verdict,
        Verdict::Nat {
            target: "DNAT".into(),
            to: Some("172.30.0.2:80".into()),
            by: "nat DOCKER: -A DOCKER ! -i dkr0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.30.0.2:80".into()
        }
    );
    let other = pkt("198.51.100.9", "203.0.113.7", 22, Some("eth0"), None);
    assert_eq!(
        decide(&f, "nat", "PREROUTING", &other, &local).verdict,
        Verdict::Accept
    );
    let inside = pkt("172.30.0.5", "203.0.113.7", 8080, Some("dkr0"), None);
    assert_eq!(
        decide(&f, "nat", "PREROUTING", &inside, &local).verdict,
        Verdict::Accept
    );
    let out = pkt("172.30.0.2", "192.0.2.1", 443, Some("dkr0"), Some("eth0"));
    assert!(is_nat(
        &decide(&f, "nat", "POSTROUTING", &out, &local).verdict,
        "MASQUERADE"
    ));
    let across = pkt("172.30.0.2", "172.30.0.3", 443, Some("dkr0"), Some("dkr0"));
    assert_eq!(
        decide(&f, "nat", "POSTROUTING", &across, &local).verdict,
        Verdict::Accept
    );
    assert_eq!(
        decide(&f, "filter", "FORWARD", &out, &local).verdict,
        Verdict::Accept
    );
    // Into the bridge from eth0: the ipset rule decides between ACCEPT and the DROP policy,
    // and netlens does not read ipsets: it cannot judge, and says which rule.
    let d = decide(
        &f,
        "filter",
        "FORWARD",
        &pkt("198.51.100.9", "172.30.0.2", 80, Some("eth0"), Some("dkr0")),
        &local,
    );
    match &d.verdict {
        Verdict::CannotJudge { by, why } => {
            assert!(by.contains("--match-set allowed"), "{by}");
            assert!(why.contains("set"), "{why}");
        }
        v => panic!("{v:?}"),
    }
    // Taking the unjudged rule as not matching gives the policy: shown, not decided.
    assert!(matches!(d.assumed, Verdict::Drop { .. }));
    assert_eq!(d.unsure.len(), 1, "{:?}", d.unsure);
}

/// A rule that cannot be judged but whose outcome is the same either way does not matter.
#[test]
fn cannot_judge_only_when_it_changes_the_outcome() {
    let f = fw("*filter
:INPUT ACCEPT [0:0]
-A INPUT -m set --match-set friends src -j ACCEPT
-A INPUT -m recent --name x -j LOG
COMMIT
");
    let d = decide(
        &f,
        "filter",
        "INPUT",
        &pkt("10.0.0.1", "10.0.0.2", 22, Some("e"), None),
        &nobody,
    );
    assert_eq!(d.verdict, Verdict::Accept);
    assert_eq!(d.unsure.len(), 2);
}

#[test]
fn jumps_gotos_and_returns() {
    let f = fw("*filter
:FORWARD DROP [0:0]
:A - [0:0]
:B - [0:0]
:C - [0:0]
-A FORWARD -j A
-A FORWARD -s 10.0.0.0/8 -j ACCEPT
-A A -p udp -j RETURN
-A A -g B
-A A -j DROP
-A B -d 10.9.9.9 -j DROP
-A B -j C
-A C -j RETURN
COMMIT
");
    let t = |src: &str, dst: &str, proto: &str| {
        let mut p = pkt(src, dst, 53, Some("a"), Some("b"));
        p.proto = proto.into();
        decide(&f, "filter", "FORWARD", &p, &nobody).verdict
    };
    // udp returns from A, then the ACCEPT in FORWARD.
    assert_eq!(t("10.0.0.1", "10.1.1.1", "udp"), Verdict::Accept);
    // tcp: goto B; C returns into B; B ends, and a goto returns to FORWARD, not to A's DROP.
    assert_eq!(t("10.0.0.1", "10.1.1.1", "tcp"), Verdict::Accept);
    assert!(
        matches!(t("10.0.0.1", "10.9.9.9", "tcp"), Verdict::Drop { by } if by.contains("-A B -d 10.9.9.9"))
    );
    // Nothing accepts 192.168/16: the policy.
    assert!(
        matches!(t("192.168.0.1", "10.1.1.1", "tcp"), Verdict::Drop { by } if by == "filter FORWARD policy DROP")
    );
}

/// raw → mangle → nat at PREROUTING, and a DROP in raw or mangle ends the walk there.
#[test]
fn tables_in_kernel_order() {
    let f = fw("*nat
:PREROUTING ACCEPT [0:0]
-A PREROUTING -p tcp --dport 80 -j DNAT --to-destination 10.0.0.9:8080
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
-A PREROUTING -s 10.6.6.6 -j DROP
-A PREROUTING -s 10.5.5.5 -j MARK --set-xmark 0x10/0xff
COMMIT
*raw
:PREROUTING ACCEPT [0:0]
-A PREROUTING -s 10.7.7.7 -j DROP
COMMIT
");
    let at = |src: &str| {
        decide_at(
            &f,
            PREROUTING,
            "PREROUTING",
            &pkt(src, "10.0.0.1", 80, Some("e"), None),
            &nobody,
        )
    };
    assert!(
        matches!(at("10.7.7.7").verdict, Verdict::Drop { by } if by.starts_with("raw PREROUTING"))
    );
    assert!(
        matches!(at("10.6.6.6").verdict, Verdict::Drop { by } if by.starts_with("mangle PREROUTING"))
    );
    let d = at("10.5.5.5");
    assert!(is_nat(&d.verdict, "DNAT"));
    assert_eq!(d.mark, Some(0x10));
    // Only the nat table: the raw DROP is not seen (as the walker did before).
    assert!(is_nat(
        &decide(
            &f,
            "nat",
            "PREROUTING",
            &pkt("10.7.7.7", "10.0.0.1", 80, None, None),
            &nobody
        )
        .verdict,
        "DNAT"
    ));
}

/// netavark: the host-port masquerade is gated by mark 0x2000, which only port-forwarded
/// packets carry; ordinary outbound traffic is masqueraded by the per-network chain alone.
const NETAVARK: &str = r#"*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:NETAVARK-1D8721804F16F - [0:0]
:NETAVARK-DN-1D8721804F16F - [0:0]
:NETAVARK-HOSTPORT-DNAT - [0:0]
:NETAVARK-HOSTPORT-MASQ - [0:0]
:NETAVARK-HOSTPORT-SETMARK - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j NETAVARK-HOSTPORT-DNAT
-A OUTPUT -m addrtype --dst-type LOCAL -j NETAVARK-HOSTPORT-DNAT
-A POSTROUTING -j NETAVARK-HOSTPORT-MASQ
-A POSTROUTING -s 10.88.0.0/16 -j NETAVARK-1D8721804F16F
-A NETAVARK-1D8721804F16F -d 10.88.0.0/16 -j ACCEPT
-A NETAVARK-1D8721804F16F ! -d 224.0.0.0/4 -j MASQUERADE
-A NETAVARK-DN-1D8721804F16F -s 10.88.0.0/16 -p tcp -m tcp --dport 8080 -j NETAVARK-HOSTPORT-SETMARK
-A NETAVARK-DN-1D8721804F16F -s 127.0.0.1/32 -p tcp -m tcp --dport 8080 -j NETAVARK-HOSTPORT-SETMARK
-A NETAVARK-DN-1D8721804F16F -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.88.0.2:80
-A NETAVARK-HOSTPORT-DNAT -p tcp -m tcp --dport 8080 -m comment --comment "dnat name: podman id: 0b1a" -j NETAVARK-DN-1D8721804F16F
-A NETAVARK-HOSTPORT-MASQ -m mark --mark 0x2000/0x2000 -j MASQUERADE
-A NETAVARK-HOSTPORT-SETMARK -j MARK --set-xmark 0x2000/0x2000
COMMIT
"#;

#[test]
fn netavark_mark_gated_masquerade() {
    let host = "192.168.1.2".parse::<IpAddr>().unwrap();
    let local = move |ip: IpAddr| ip == host;
    let out = pkt(
        "10.88.0.5",
        "203.0.113.1",
        443,
        Some("podman0"),
        Some("eth0"),
    );
    let f = fw(NETAVARK);
    assert!(is_nat(
        &decide_at(&f, POSTROUTING, "POSTROUTING", &out, &local).verdict,
        "MASQUERADE"
    ));
    // The network's MASQUERADE deleted: the mark-gated host-port rule does not cover it.
    let cut = NETAVARK.replace(
        "-A NETAVARK-1D8721804F16F ! -d 224.0.0.0/4 -j MASQUERADE\n",
        "",
    );
    let f = fw(&cut);
    assert_eq!(
        decide_at(&f, POSTROUTING, "POSTROUTING", &out, &local).verdict,
        Verdict::Accept
    );
    // A container reaching its own port-forward through the host (hairpin) is marked in
    // PREROUTING and masqueraded in POSTROUTING because of the mark.
    let hair = pkt("10.88.0.3", "192.168.1.2", 8080, Some("podman0"), None);
    let pre = decide_at(&f, PREROUTING, "PREROUTING", &hair, &local);
    assert!(is_nat(&pre.verdict, "DNAT"));
    assert_eq!(pre.mark, Some(0x2000));
    let mut after = pkt(
        "10.88.0.3",
        "10.88.0.2",
        80,
        Some("podman0"),
        Some("podman0"),
    );
    after.mark = pre.mark.unwrap();
    assert!(is_nat(
        &decide_at(&f, POSTROUTING, "POSTROUTING", &after, &local).verdict,
        "MASQUERADE"
    ));
}

/// kube-proxy's real dump: KUBE-POSTROUTING masquerades only what KUBE-MARK-MASQ marked.
#[test]
fn kube_proxy_mark_masq() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/samples/iptables/kube-proxy/iptables-nft-save.txt"
    ))
    .unwrap();
    let (tables, _) = iptables_save::parse(&text, IpFamily::V4, XtSource::Nft);
    let f = Firewall {
        iptables: tables,
        ..Firewall::default()
    };
    // (kube-proxy's own test dump leaves out the jump from POSTROUTING.)
    let mut p = pkt("10.180.0.5", "203.0.113.1", 80, Some("cni0"), Some("eth0"));
    let post = |p: &Pkt| decide(&f, "nat", "KUBE-POSTROUTING", p, &nobody);
    assert_eq!(post(&p).verdict, Verdict::Accept);
    p.mark = 0x4000;
    let d = post(&p);
    assert!(is_nat(&d.verdict, "MASQUERADE"));
    // `--set-xmark 0x4000/0x0` flips the bit off before the MASQUERADE, as the kernel does.
    assert_eq!(d.mark, Some(0));
}

/// CNI's per-container chains (escaped quotes in the comments), from a real dump.
#[test]
fn cni_per_container_chain() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/samples/iptables/issue-fragments/weave-3124_nat_cni-portmap-escaped-quotes.fragment.txt"
    ))
    .unwrap();
    let text = format!("*nat\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n:DOCKER - [0:0]\n:KUBE-POSTROUTING - [0:0]\n{text}\nCOMMIT\n");
    let (tables, _) = iptables_save::parse(&text, IpFamily::V4, XtSource::Nft);
    let f = Firewall {
        iptables: tables,
        ..Firewall::default()
    };
    let d = decide_at(
        &f,
        POSTROUTING,
        "POSTROUTING",
        &pkt("10.1.0.7", "203.0.113.1", 80, Some("cni0"), Some("eth0")),
        &nobody,
    );
    assert!(is_nat(&d.verdict, "MASQUERADE"), "{d:?}");
    let d = decide_at(
        &f,
        POSTROUTING,
        "POSTROUTING",
        &pkt("10.1.0.7", "10.1.0.9", 80, Some("cni0"), Some("cni0")),
        &nobody,
    );
    assert_eq!(d.verdict, Verdict::Accept);
}

#[test]
fn marks_and_connmarks() {
    let f = fw("*mangle
:PREROUTING ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
-A PREROUTING -s 10.0.0.1 -j MARK --set-mark 0x1
-A PREROUTING -s 10.0.0.2 -j MARK --or-mark 0x4
-A PREROUTING -j CONNMARK --save-mark
-A FORWARD -m connmark --mark 0x1 -j DROP
-A FORWARD -m mark --mark 0x4/0x4 -j DROP
COMMIT
");
    let p1 = pkt("10.0.0.1", "10.9.0.1", 1, Some("a"), Some("b"));
    assert_eq!(
        decide_at(&f, PREROUTING, "PREROUTING", &p1, &nobody).mark,
        Some(1)
    );
    let mut p2 = pkt("10.0.0.2", "10.9.0.1", 1, Some("a"), Some("b"));
    p2.mark = decide_at(&f, PREROUTING, "PREROUTING", &p2, &nobody)
        .mark
        .unwrap();
    assert_eq!(p2.mark, 4);
    assert!(decide_at(&f, FORWARD, "FORWARD", &p2, &nobody).drops());
    // A reply's conntrack mark is not known: the connmark rule cannot be judged.
    let mut r = pkt("10.0.0.3", "10.9.0.1", 1, Some("a"), Some("b"));
    r.ct = "ESTABLISHED";
    assert!(matches!(
        decide_at(&f, FORWARD, "FORWARD", &r, &nobody).verdict,
        Verdict::CannotJudge { .. }
    ));
}

#[test]
fn ports_and_interfaces() {
    assert!(ports_have("80,443,8000:8080", 8042));
    assert!(!ports_have("80,443", 8080));
    assert!(iface("veth+", Some("veth1234")));
    assert!(!iface("eth0", None));
    assert!(net_has("10.0.0.0/8", "10.9.9.9".parse().unwrap()));
    assert!(net_has("10.0.0.1", "10.0.0.1".parse().unwrap()));
    assert!(net_has(
        "10.0.0.1/32,10.0.0.2/32",
        "10.0.0.2".parse().unwrap()
    ));
}
