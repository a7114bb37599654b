//! The host's firewall as kube-proxy (iptables mode) and the CNI bridge plugin leave it:
//! per service a KUBE-SERVICES match, a KUBE-SVC-* chain spreading over two KUBE-SEP-*
//! endpoint chains that DNAT to pods; per pod the bridge plugin's masquerade chain. Written as
//! `iptables-save` text and parsed by the collector's parser, so the model holds exactly what a
//! collected node's does.

use std::fmt::Write as _;

use super::NodeShape;
use crate::firewall::{iptables_save, Backend, Firewall, IpFamily, XtSource};

/// kube-proxy's chain suffix: 16 characters of a hash; here of the service and a salt.
fn chain_id(kind: u64, n: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut x = (n as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ kind.wrapping_mul(0xD6E8_FEB8_6659_FD93);
    (0..16)
        .map(|_| {
            x = x.rotate_left(5).wrapping_mul(0x2545_F491_4F6C_DD1D);
            ALPHABET[(x >> 59) as usize] as char
        })
        .collect()
}

/// Service `s`'s cluster IP: 10.96.0.10 is kube-dns, the rest count up from 10.96.1.0.
fn cluster_ip(s: usize) -> String {
    if s == 0 {
        return "10.96.0.10".into();
    }
    let n = 256 + s;
    format!("10.96.{}.{}", n / 256, n % 256)
}

fn filter_table(shape: NodeShape, out: &mut String) {
    out.push_str(
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
:KUBE-EXTERNAL-SERVICES - [0:0]\n:KUBE-FIREWALL - [0:0]\n:KUBE-FORWARD - [0:0]\n\
:KUBE-NODEPORTS - [0:0]\n:KUBE-PROXY-FIREWALL - [0:0]\n:KUBE-SERVICES - [0:0]\n\
-A INPUT -m conntrack --ctstate NEW -m comment --comment \"kubernetes load balancer firewall\" -j KUBE-PROXY-FIREWALL\n\
-A INPUT -m comment --comment \"kubernetes health check service ports\" -j KUBE-NODEPORTS\n\
-A INPUT -m conntrack --ctstate NEW -m comment --comment \"kubernetes externally-visible service portals\" -j KUBE-EXTERNAL-SERVICES\n\
-A INPUT -j KUBE-FIREWALL\n\
-A FORWARD -m conntrack --ctstate NEW -m comment --comment \"kubernetes load balancer firewall\" -j KUBE-PROXY-FIREWALL\n\
-A FORWARD -m comment --comment \"kubernetes forwarding rules\" -j KUBE-FORWARD\n\
-A FORWARD -m conntrack --ctstate NEW -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n\
-A OUTPUT -m conntrack --ctstate NEW -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n\
-A OUTPUT -j KUBE-FIREWALL\n\
-A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment \"block incoming localnet connections\" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP\n\
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP\n\
-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding rules\" -m mark --mark 0x4000/0x4000 -j ACCEPT\n\
-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding conntrack rule\" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n",
    );
    // Services without endpoints: kube-proxy rejects their traffic in filter.
    for s in (7..shape.services).step_by(50) {
        let _ = writeln!(
            out,
            "-A KUBE-SERVICES -d {}/32 -p tcp -m comment --comment \"ns{s}/svc{s}:http has no endpoints\" -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable",
            cluster_ip(s)
        );
    }
    out.push_str("COMMIT\n");
}

fn service(shape: NodeShape, s: usize, chains: &mut String, rules: &mut String) {
    let svc = chain_id(1, s);
    let name = format!("ns{}/svc{s}:http", s % 20);
    let ip = cluster_ip(s);
    let _ = writeln!(chains, ":KUBE-SVC-{svc} - [0:0]");
    let _ = writeln!(rules, "-A KUBE-SERVICES -d {ip}/32 -p tcp -m comment --comment \"{name} cluster IP\" -m tcp --dport 80 -j KUBE-SVC-{svc}");
    let _ = writeln!(rules, "-A KUBE-SVC-{svc} ! -s {} -d {ip}/32 -p tcp -m comment --comment \"{name} cluster IP\" -m tcp --dport 80 -j KUBE-MARK-MASQ", shape.pod_cidr());
    if s % 10 == 3 {
        let port = 30_000 + s;
        let _ = writeln!(rules, "-A KUBE-NODEPORTS -p tcp -m comment --comment \"{name}\" -m tcp --dport {port} -j KUBE-SVC-{svc}");
    }
    for e in 0..2 {
        let sep = chain_id(2 + e as u64, s);
        let pod = (s * 2 + e) % shape.pods.max(1);
        let ep = shape.pod_ip(pod);
        let _ = writeln!(chains, ":KUBE-SEP-{sep} - [0:0]");
        let spread = if e == 0 {
            " -m statistic --mode random --probability 0.50000000000"
        } else {
            ""
        };
        let _ = writeln!(rules, "-A KUBE-SVC-{svc} -m comment --comment \"{name} -> {ep}:8080\"{spread} -j KUBE-SEP-{sep}");
        let _ = writeln!(
            rules,
            "-A KUBE-SEP-{sep} -s {ep}/32 -m comment --comment \"{name}\" -j KUBE-MARK-MASQ"
        );
        let _ = writeln!(rules, "-A KUBE-SEP-{sep} -p tcp -m comment --comment \"{name}\" -m tcp -j DNAT --to-destination {ep}:8080");
    }
}

fn nat_table(shape: NodeShape, out: &mut String) {
    let mut chains = String::from(
        "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
:POSTROUTING ACCEPT [0:0]\n:KUBE-MARK-MASQ - [0:0]\n:KUBE-NODEPORTS - [0:0]\n\
:KUBE-POSTROUTING - [0:0]\n:KUBE-SERVICES - [0:0]\n",
    );
    let mut rules = String::from(
        "-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n\
-A OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n\
-A POSTROUTING -m comment --comment \"kubernetes postrouting rules\" -j KUBE-POSTROUTING\n\
-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000\n\
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN\n\
-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0\n\
-A KUBE-POSTROUTING -m comment --comment \"kubernetes service traffic requiring SNAT\" -j MASQUERADE --random-fully\n",
    );
    for s in 0..shape.services {
        service(shape, s, &mut chains, &mut rules);
    }
    let _ = writeln!(rules, "-A KUBE-SERVICES -m comment --comment \"kubernetes service nodeports; NOTE: this must be the last rule in this chain\" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS");
    // The bridge plugin with ipMasq: one chain per pod that masquerades what leaves the pod
    // CIDR.
    for i in 0..shape.pods {
        let chain = format!("CNI-{}", chain_id(9, i).to_lowercase());
        let id = format!("{i:064x}");
        let _ = writeln!(chains, ":{chain} - [0:0]");
        let _ = writeln!(rules, "-A POSTROUTING -s {}/32 -m comment --comment \"name: \\\"containerd-net\\\" id: \\\"{id}\\\"\" -j {chain}", shape.pod_ip(i));
        let _ = writeln!(rules, "-A {chain} -d {} -m comment --comment \"name: \\\"containerd-net\\\" id: \\\"{id}\\\"\" -j ACCEPT", shape.pod_cidr());
        let _ = writeln!(rules, "-A {chain} ! -d 224.0.0.0/4 -m comment --comment \"name: \\\"containerd-net\\\" id: \\\"{id}\\\"\" -j MASQUERADE");
    }
    out.push_str(&chains);
    out.push_str(&rules);
    out.push_str("COMMIT\n");
}

/// The iptables-save text of a node of `shape`.
pub fn iptables_save_text(shape: NodeShape) -> String {
    let mut out = String::from("# Generated by iptables-save v1.8.9 (nf_tables)\n");
    filter_table(shape, &mut out);
    nat_table(shape, &mut out);
    out
}

pub(super) fn firewall(shape: NodeShape) -> Firewall {
    let (tables, errors) =
        iptables_save::parse(&iptables_save_text(shape), IpFamily::V4, XtSource::Nft);
    assert!(
        errors.is_empty(),
        "fixture iptables-save parses: {errors:?}"
    );
    Firewall {
        backends: vec![Backend::IptablesNft],
        iptables: tables,
        nft: Vec::new(),
        errors: Vec::new(),
    }
}
