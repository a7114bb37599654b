//! What iptables does to one packet, from the rules a snapshot holds: NAT rewrites (DNAT in
//! PREROUTING/OUTPUT, SNAT/MASQUERADE in POSTROUTING) and filter verdicts (INPUT, FORWARD,
//! OUTPUT), following jumps into user chains as the kernel does. Pure: a packet and a firewall
//! in, a decision out.
//!
//! It reads the matches Docker, CNI plugins, kube-proxy and hand-written rules use: addresses,
//! interfaces, protocol, ports (also multiport), conntrack state of a new connection, address
//! type LOCAL, comments. A rule with any other match is taken as not matching, and the decision
//! says so, so an engineer knows where to look twice. Native nft tables are not evaluated.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::firewall::{Cond, Firewall, IpFamily, XtChain, XtRule, XtTable};

/// The packet as one namespace's netfilter sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pkt {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// `tcp`, `udp` or `icmp`.
    pub proto: String,
    pub dport: Option<u16>,
    pub iif: Option<String>,
    pub oif: Option<String>,
    /// Conntrack state: `NEW` for a probe's first packet, `ESTABLISHED` for its reply.
    pub ct: &'static str,
}

/// The end of a chain walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    Drop {
        by: String,
    },
    /// A NAT target: `DNAT`, `SNAT`, `MASQUERADE` (with its arguments) and the rule.
    Nat {
        target: String,
        to: Option<String>,
        by: String,
    },
}

/// A verdict and what the walk could not judge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub verdict: Verdict,
    /// Rules skipped because they use matches netlens does not evaluate.
    pub unsure: Vec<String>,
}

const MAX_DEPTH: usize = 16;

fn family(ip: IpAddr) -> IpFamily {
    if ip.is_ipv4() {
        IpFamily::V4
    } else {
        IpFamily::V6
    }
}

/// Walks `table`/`chain` of every iptables backend (nft and legacy both hook in) for `pkt`.
/// `is_local(ip)` says whether the namespace holds `ip` (for `-m addrtype --dst-type LOCAL`).
pub fn decide(
    fw: &Firewall,
    table: &str,
    chain: &str,
    pkt: &Pkt,
    is_local: &dyn Fn(IpAddr) -> bool,
) -> Decision {
    let mut unsure = Vec::new();
    let mut result = Verdict::Accept;
    for t in fw
        .iptables
        .iter()
        .filter(|t| t.name == table && t.family == family(pkt.dst))
    {
        let v = walk(t, chain, pkt, is_local, 0, &mut unsure).unwrap_or_else(|| {
            // Fell off the end of a built-in chain: its policy.
            let policy = t
                .chains
                .iter()
                .find(|c| c.name == chain)
                .and_then(|c| c.policy.as_deref())
                .unwrap_or("ACCEPT");
            if policy == "DROP" {
                Verdict::Drop {
                    by: format!("{table} {chain} policy DROP"),
                }
            } else {
                Verdict::Accept
            }
        });
        match v {
            Verdict::Accept => {}
            other => {
                result = other;
                break;
            }
        }
    }
    Decision {
        verdict: result,
        unsure,
    }
}

/// `None` when the chain ends without a decision (RETURN, or the end of the chain).
fn walk(
    t: &XtTable,
    chain: &str,
    pkt: &Pkt,
    is_local: &dyn Fn(IpAddr) -> bool,
    depth: usize,
    unsure: &mut Vec<String>,
) -> Option<Verdict> {
    if depth > MAX_DEPTH {
        return None;
    }
    let c: &XtChain = t.chains.iter().find(|c| c.name == chain)?;
    for r in &c.rules {
        match matches(r, pkt, is_local) {
            Some(true) => {}
            Some(false) => continue,
            None => {
                unsure.push(format!("{} {}: {}", t.name, c.name, rule_text(r)));
                continue;
            }
        }
        let Some(target) = r.target.as_deref() else {
            continue;
        };
        let by = format!("{} {}: {}", t.name, c.name, rule_text(r));
        match target {
            "ACCEPT" => return Some(Verdict::Accept),
            "DROP" | "REJECT" => return Some(Verdict::Drop { by }),
            "RETURN" => return None,
            "DNAT" | "SNAT" | "MASQUERADE" | "REDIRECT" => {
                let to = r
                    .target_args
                    .iter()
                    .find(|(k, _)| k == "--to-destination" || k == "--to-source" || k == "--to")
                    .map(|(_, v)| v.clone());
                return Some(Verdict::Nat {
                    target: target.into(),
                    to,
                    by,
                });
            }
            // Targets that only mark or log go on to the next rule.
            "LOG" | "MARK" | "CONNMARK" | "NOTRACK" | "CT" | "TRACE" | "CHECKSUM" | "TCPMSS" => {}
            user => {
                if let Some(v) = walk(t, user, pkt, is_local, depth + 1, unsure) {
                    return Some(v);
                }
                // `-g` (goto) does not come back to this chain.
                if r.goto {
                    return None;
                }
            }
        }
    }
    None
}

fn rule_text(r: &XtRule) -> String {
    crate::model::diff::strip_xt_counters(&r.raw)
}

/// Whether the rule matches; `None` if it uses a match netlens does not evaluate.
fn matches(r: &XtRule, pkt: &Pkt, is_local: &dyn Fn(IpAddr) -> bool) -> Option<bool> {
    let mut ok = true;
    ok &= cond(&r.source, |v| net_has(v, pkt.src));
    ok &= cond(&r.destination, |v| net_has(v, pkt.dst));
    ok &= cond(&r.in_iface, |v| iface(v, pkt.iif.as_deref()));
    ok &= cond(&r.out_iface, |v| iface(v, pkt.oif.as_deref()));
    ok &= cond(&r.protocol, |v| {
        v == "all" || v == pkt.proto || (v == "icmp" && pkt.proto == "icmp")
    });
    ok &= cond(&r.dport, |v| pkt.dport.is_some_and(|p| ports_have(v, p)));
    // Source ports of a probe are ephemeral: a rule on them cannot be judged.
    if r.sport.is_some() {
        return None;
    }
    // Every other option must be one we understand.
    let mut i = 0;
    while i < r.matches.len() {
        let m = &r.matches[i];
        match m.option.as_str() {
            "-s"
            | "--source"
            | "-d"
            | "--destination"
            | "-i"
            | "--in-interface"
            | "-o"
            | "--out-interface"
            | "-p"
            | "--protocol"
            | "--dport"
            | "--dports"
            | "--destination-port"
            | "--destination-ports"
            | "--comment" => {}
            "-m" | "--match" => {
                if !matches!(
                    m.value.as_str(),
                    "tcp"
                        | "udp"
                        | "icmp"
                        | "comment"
                        | "multiport"
                        | "conntrack"
                        | "state"
                        | "addrtype"
                ) {
                    return None;
                }
            }
            // A probe's first packet is NEW, its reply ESTABLISHED.
            "--ctstate" | "--state" => {
                let hit = m.value.split(',').any(|s| s == pkt.ct);
                ok &= hit != m.negated;
            }
            "--dst-type" => {
                let local = is_local(pkt.dst);
                let hit = m.value == "LOCAL" && local;
                if m.value != "LOCAL" {
                    return None;
                }
                ok &= hit != m.negated;
            }
            "--limit-iface-in" | "--limit-iface-out" => {}
            "--icmp-type" => {}
            _ => return None,
        }
        i += 1;
    }
    Some(ok)
}

fn cond(c: &Option<Cond>, test: impl Fn(&str) -> bool) -> bool {
    match c {
        None => true,
        Some(c) => test(&c.value) != c.negated,
    }
}

fn net_has(v: &str, ip: IpAddr) -> bool {
    if let Ok(n) = v.parse::<IpNet>() {
        return n.contains(&ip);
    }
    v.parse::<IpAddr>().is_ok_and(|a| a == ip)
}

/// iptables interface names: `+` at the end is a prefix wildcard.
fn iface(v: &str, name: Option<&str>) -> bool {
    let Some(name) = name else { return false };
    match v.strip_suffix('+') {
        Some(prefix) => name.starts_with(prefix),
        None => name == v,
    }
}

/// `80`, `80:90`, `80,443,8000:8080`.
fn ports_have(v: &str, p: u16) -> bool {
    v.split(',').any(|part| match part.split_once(':') {
        Some((a, b)) => {
            let a = a.parse().unwrap_or(0);
            let b = b.parse().unwrap_or(u16::MAX);
            (a..=b).contains(&p)
        }
        None => part.parse() == Ok(p),
    })
}

#[cfg(test)]
mod tests {
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
        }
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
-A FORWARD -m mark --mark 0x1 -j ACCEPT
COMMIT
";

    #[test]
    fn docker_style_dnat_masquerade_and_forward() {
        let f = fw(DOCKERISH);
        let local = |ip: IpAddr| ip == "203.0.113.7".parse::<IpAddr>().unwrap();
        // A connection to the host's port 8080 from outside is sent to the container.
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
        // Another port is left alone; so is traffic from the bridge itself (RETURN).
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
        // Containers going out are masqueraded, but not towards each other.
        let out = pkt("172.30.0.2", "192.0.2.1", 443, Some("dkr0"), Some("eth0"));
        assert!(matches!(
            decide(&f, "nat", "POSTROUTING", &out, &local).verdict,
            Verdict::Nat { ref target, .. } if target == "MASQUERADE"
        ));
        let across = pkt("172.30.0.2", "172.30.0.3", 443, Some("dkr0"), Some("dkr0"));
        assert_eq!(
            decide(&f, "nat", "POSTROUTING", &across, &local).verdict,
            Verdict::Accept
        );
        // FORWARD: out of the bridge is accepted, into it from eth0 falls to the DROP policy
        // (the mark rule is not judged, and says so).
        let d = decide(&f, "filter", "FORWARD", &out, &local);
        assert_eq!(d.verdict, Verdict::Accept);
        let d = decide(
            &f,
            "filter",
            "FORWARD",
            &pkt("198.51.100.9", "172.30.0.2", 80, Some("eth0"), Some("dkr0")),
            &local,
        );
        assert_eq!(
            d.verdict,
            Verdict::Drop {
                by: "filter FORWARD policy DROP".into()
            }
        );
        assert_eq!(d.unsure.len(), 1, "{:?}", d.unsure);
    }

    #[test]
    fn ports_and_interfaces() {
        assert!(ports_have("80,443,8000:8080", 8042));
        assert!(!ports_have("80,443", 8080));
        assert!(iface("veth+", Some("veth1234")));
        assert!(!iface("eth0", None));
        assert!(net_has("10.0.0.0/8", "10.9.9.9".parse().unwrap()));
        assert!(net_has("10.0.0.1", "10.0.0.1".parse().unwrap()));
    }
}
