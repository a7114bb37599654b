//! `input-drop`: a TCP socket listening on a non-loopback address whose port the namespace's
//! own netfilter drops (or rejects) for the neighbours that reach it.
//!
//! Each neighbour on a segment of the listener's namespace is a real sender: a new
//! connection from its address to the port is judged with the one evaluator, exactly as
//! `netlens ports` judges a Kubernetes port ([`crate::k8s::input::judge`]: PREROUTING, then
//! INPUT). A rule it cannot judge keeps the rule quiet; so do rules in chains that
//! kube-proxy, CNI plugins, netavark or Docker manage (deliberate), and Kubernetes component
//! ports on a node (`k8s-port-blocked` reports those). The fix deletes exactly the rule that
//! drops; a chain policy of DROP gets an ACCEPT for the port inserted ahead of it instead.
//! A warning, not an error: a port may be closed on purpose.

use std::collections::BTreeSet;
use std::net::IpAddr;

use super::facts::Facts;
use super::nat::rule_args;
use super::nft_fix::Opener;
use super::{Finding, Severity};
use crate::firewall::eval::passes_everything;
use crate::k8s::input::{judge, judge_with};
use crate::k8s::table::{rows_for, Role};
use crate::model::{ListeningSocket, Namespace};
use crate::plan::{NftAccept, Step, RULE_TAG};

/// Chains other software manages: their drops are deliberate.
const MANAGED: [&str; 4] = ["KUBE-", "CNI-", "NETAVARK", "DOCKER"];

/// Neighbours judged per namespace (the first few stand for the rest of their segment).
const MAX_PEERS: usize = 16;

pub fn check(f: &Facts) -> Vec<Finding> {
    check_with(f, true)
}

/// [`check`]; `skip_empty`: pass over a firewall that holds nothing that drops
/// ([`passes_everything`]) without judging it (false only in tests, as the reference).
fn check_with(f: &Facts, skip_empty: bool) -> Vec<Finding> {
    let mut out = Vec::new();
    for (_, ns) in &f.namespaces {
        let Some(fw) = &ns.firewall else { continue };
        if skip_empty && passes_everything(fw) {
            continue;
        }
        let ports: BTreeSet<u16> = ns
            .sockets
            .iter()
            .filter(|s| serves_others(s))
            .map(|s| s.port)
            .collect();
        if ports.is_empty() {
            continue;
        }
        let peers = neighbours(f, ns);
        if peers.is_empty() {
            continue;
        }
        for port in ports {
            if let Some(finding) = check_port(f, ns, port, &peers) {
                out.push(finding);
            }
        }
    }
    out
}

/// A TCP listener other hosts can connect to: bound to a wildcard or an IPv4 address that is
/// not loopback (IPv6-only addresses are not judged: neighbours are IPv4).
fn serves_others(s: &ListeningSocket) -> bool {
    if !s.proto.starts_with("tcp") || s.address.is_loopback() {
        return false;
    }
    match s.address {
        IpAddr::V4(a) => !a.is_link_local(),
        IpAddr::V6(a) => a.is_unspecified() || a.to_ipv4_mapped().is_some_and(|v| !v.is_loopback()),
    }
}

/// Live addresses of other namespaces on a segment of `ns`, in the subnet of the address
/// `ns` holds there: the hosts that connect to it directly (or through it, for a gateway).
fn neighbours<'a>(f: &Facts<'a>, ns: &Namespace) -> Vec<(IpAddr, &'a str)> {
    let mut out: Vec<(IpAddr, &str)> = Vec::new();
    for own in f.held_in(ns).filter(|h| h.live()) {
        let Some(seg) = f.segment_id(ns, own.link) else {
            continue;
        };
        for &key in &f.segment(seg).links {
            // Only the first MAX_PEERS are kept: every pod on a 1000-pod bridge looking at
            // (and de-duplicating) all the others was quadratic.
            if out.len() >= MAX_PEERS {
                out.truncate(MAX_PEERS);
                return out;
            }
            for h in f.held_at_key(key) {
                if h.live()
                    && h.ns.name != ns.name
                    && own.net.trunc().contains(&h.ip())
                    && !out.iter().any(|(ip, _)| *ip == IpAddr::V4(h.ip()))
                {
                    out.push((h.ip().into(), h.ns.name.as_str()));
                }
            }
        }
    }
    out.truncate(MAX_PEERS);
    out
}

/// A Kubernetes component's port on a node: `k8s-port-blocked` judges it.
fn k8s_port(ns: &Namespace, port: u16) -> bool {
    let k8s_row = [Role::ControlPlane, Role::Worker]
        .into_iter()
        .flat_map(rows_for)
        .any(|r| !r.is_nodeport() && r.contains(port));
    k8s_row && crate::k8s::looks_like_node(ns).is_some()
}

/// `table chain: rule text` or `table chain policy DROP` → (table, chain, rule text).
fn split_by(by: &str) -> Option<(&str, &str, Option<&str>)> {
    if let Some((head, text)) = by.split_once(": ") {
        let (table, chain) = head.split_once(' ')?;
        return Some((table, chain, Some(text)));
    }
    let head = by.strip_suffix(" policy DROP")?;
    let (table, chain) = head.split_once(' ')?;
    Some((table, chain, None))
}

fn check_port(f: &Facts, ns: &Namespace, port: u16, peers: &[(IpAddr, &str)]) -> Option<Finding> {
    let mut dropped: Vec<(IpAddr, &str, Option<String>, String)> = Vec::new();
    let compiled = f.compiled(ns);
    for &(ip, peer_ns) in peers {
        let v = judge_with(ns, compiled, None, ip, "tcp", port);
        if !v.is_drop() {
            continue;
        }
        let Some(by) = v.rule.clone() else {
            continue;
        };
        dropped.push((ip, peer_ns, v.iif.clone(), by));
    }
    if dropped.is_empty() {
        return None;
    }
    let (rules, opener) = open_drops(ns, port, &dropped)?;
    if k8s_port(ns, port) {
        return None;
    }
    let listeners = listeners(ns, port);
    let from: Vec<String> = dropped
        .iter()
        .map(|(ip, peer, iif, _)| {
            let on = iif
                .as_deref()
                .map(|i| format!(", in on {i}"))
                .unwrap_or_default();
            format!("{ip} ({peer}{on})")
        })
        .collect();
    let key = format!("tcp/{port}");
    // An nft drop is never deleted: the port is accepted ahead of it.
    let policy = rules.iter().any(|r| {
        r.ends_with(" policy DROP") || r.ends_with(" policy drop") || r.starts_with("nft ")
    });
    let (title, what) = if policy {
        (
            format!("accept tcp/{port} in {}", ns.name),
            "accept new connections to the port ahead of the policy",
        )
    } else {
        (
            format!("delete the rule that drops tcp/{port}"),
            "delete the rule",
        )
    };
    let mut finding = Finding::new(
        "input-drop",
        Severity::Warning,
        &ns.name,
        Some(&key),
        format!(
            "{} drops connections to its listener on tcp/{port}",
            ns.name
        ),
        format!(
            "{} listens on tcp/{port} ({}), but its firewall drops new connections to it from \
             {}: by {}. Those neighbours get a timeout instead of the service. If the port is \
             closed on purpose this is fine; otherwise {what}.",
            ns.name,
            listeners.join(", "),
            from.join(", "),
            rules
                .iter()
                .map(|r| format!("`{r}`"))
                .collect::<Vec<_>>()
                .join(", "),
        ),
    )
    .object("port", &ns.name, key.clone());
    for r in &rules {
        finding = finding.object("rule", &ns.name, r.clone());
    }
    if !opener.rejected.is_empty() || opener.steps.is_empty() {
        finding.fix_rejected = Some(format!(
            "netlens cannot open the port: {}",
            opener.rejected.join("; ")
        ));
        return Some(finding);
    }
    Some(finding.fix(title, opener.steps))
}

/// The iptables step that opens the port against the drop `by`: delete exactly the rule, or
/// accept the port ahead of a policy of DROP. None for chains this rule leaves alone.
fn xt_step(ns: &Namespace, port: u16, by: &str) -> Option<Step> {
    let (table, chain, text) = split_by(by)?;
    if chain == "FORWARD" || MANAGED.iter().any(|m| chain.starts_with(m)) {
        return None;
    }
    Some(match text {
        Some(text) => Step::DelIptablesRule {
            ns: ns.name.clone(),
            table: table.into(),
            chain: chain.into(),
            rule: rule_args(text),
        },
        None => Step::InsertIptablesRule {
            ns: ns.name.clone(),
            table: table.into(),
            chain: chain.into(),
            position: 1,
            rule: ["-p", "tcp", "-m", "tcp", "--dport"]
                .into_iter()
                .map(str::to_string)
                .chain([port.to_string()])
                .chain(RULE_TAG.map(str::to_string))
                .chain(["-j".to_string(), "ACCEPT".to_string()])
                .collect(),
        },
    })
}

/// The rules that drop the port, and an opener holding the steps that accept it; `None` when
/// a drop is another rule's (FORWARD, or a chain Kubernetes manages).
fn open_drops<'a>(
    ns: &'a Namespace,
    port: u16,
    dropped: &[(IpAddr, &str, Option<String>, String)],
) -> Option<(Vec<String>, Opener<'a>)> {
    let mut rules: Vec<String> = Vec::new();
    let mut opener = Opener::new(ns);
    // An nft drop gets an accept for the port at the top of its base chain: an iptables
    // rule would not override it (each base chain decides on its own).
    let accept = NftAccept {
        proto: Some("tcp".into()),
        dport: Some(port),
        ..NftAccept::default()
    };
    for (ip, _, _, by) in dropped {
        if !by.starts_with("nft ") {
            // A drop on the way somewhere else (DNATed on to FORWARD) is forward-drop's.
            let (_, chain, _) = split_by(by)?;
            if chain == "FORWARD" || MANAGED.iter().any(|m| chain.starts_with(m)) {
                return None;
            }
        }
        if !rules.contains(by) {
            rules.push(by.clone());
        }
        let dropped_in = |n: &Namespace| {
            let v = judge(n, *ip, "tcp", port);
            v.is_drop().then_some(v.rule).flatten()
        };
        opener.open(by, |by| xt_step(ns, port, by), &accept, dropped_in);
    }
    Some((rules, opener))
}

/// The addresses (and processes) listening on the port for others.
fn listeners(ns: &Namespace, port: u16) -> Vec<String> {
    ns.sockets
        .iter()
        .filter(|s| s.port == port && serves_others(s))
        .map(|s| {
            let who = s
                .processes
                .first()
                .map(|p| format!(" ({} pid {})", p.comm, p.pid))
                .unwrap_or_default();
            format!("{}{who}", s.address)
        })
        .collect()
}

#[cfg(test)]
#[path = "input_drop_tests.rs"]
mod skip_tests;

#[cfg(test)]
mod tests {
    use super::super::tests::{asset, ns_mut, set_fw};
    use super::super::{diagnose, Severity};
    use crate::model::{ListeningSocket, Snapshot};
    use crate::plan::Step;

    fn listen(snap: &mut Snapshot, ns: &str, addr: &str, port: u16) {
        ns_mut(snap, ns).sockets.push(ListeningSocket {
            proto: "tcp".into(),
            address: addr.parse().unwrap(),
            port,
            inode: 1,
            processes: Vec::new(),
        });
    }

    const DROP_8080: &str = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n\
        :OUTPUT ACCEPT [0:0]\n-A INPUT -p tcp -m tcp --dport 8080 -j DROP\nCOMMIT\n";

    fn input_drops(snap: &Snapshot) -> Vec<super::super::Finding> {
        diagnose(snap)
            .into_iter()
            .filter(|f| f.rule == "input-drop")
            .collect()
    }

    /// A listener on 0.0.0.0:8080 behind `-A INPUT … --dport 8080 -j DROP`: a warning naming
    /// the rule, fixed by deleting exactly that rule.
    #[test]
    fn dropped_listener_is_reported_with_the_rule_deleted() {
        let mut snap = asset("bridge");
        listen(&mut snap, "bridge-red", "0.0.0.0", 8080);
        set_fw(&mut snap, "bridge-red", DROP_8080);
        let found = input_drops(&snap);
        assert_eq!(found.len(), 1, "{found:#?}");
        let f = &found[0];
        assert_eq!(f.id, "input-drop:bridge-red:tcp/8080");
        assert_eq!(f.severity, Severity::Warning);
        assert!(f.explanation.contains("192.168.15.2"), "{}", f.explanation);
        assert!(
            f.explanation
                .contains("-A INPUT -p tcp -m tcp --dport 8080 -j DROP"),
            "{}",
            f.explanation
        );
        let fix = f.fix.as_ref().expect("a fix");
        assert_eq!(
            fix.steps,
            [Step::DelIptablesRule {
                ns: "bridge-red".into(),
                table: "filter".into(),
                chain: "INPUT".into(),
                rule: ["-p", "tcp", "-m", "tcp", "--dport", "8080", "-j", "DROP"]
                    .map(String::from)
                    .to_vec(),
            }]
        );
    }

    /// A REJECT counts as a drop; the delete carries the rule's own `--reject-with`.
    #[test]
    fn reject_is_a_drop_too() {
        let mut snap = asset("bridge");
        listen(&mut snap, "bridge-red", "0.0.0.0", 8080);
        set_fw(
            &mut snap,
            "bridge-red",
            "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
             -A INPUT -s 192.168.15.0/24 -p tcp -m tcp --dport 8080 -j REJECT --reject-with tcp-reset\n\
             COMMIT\n",
        );
        let found = input_drops(&snap);
        assert_eq!(found.len(), 1, "{found:#?}");
        match &found[0].fix.as_ref().expect("a fix").steps[..] {
            [Step::DelIptablesRule { chain, rule, .. }] => {
                assert_eq!(chain, "INPUT");
                assert!(
                    rule.ends_with(&["--reject-with".into(), "tcp-reset".into()]),
                    "{rule:?}"
                );
                assert!(rule.contains(&"192.168.15.0/24".to_string()), "{rule:?}");
            }
            s => panic!("{s:?}"),
        }
    }

    /// INPUT policy DROP with nothing accepting the port: an ACCEPT for the port is inserted,
    /// the policy left alone.
    #[test]
    fn policy_drop_gets_an_accept_for_the_port() {
        let mut snap = asset("bridge");
        listen(&mut snap, "bridge-red", "192.168.15.1", 8080);
        set_fw(
            &mut snap,
            "bridge-red",
            "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
             -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n",
        );
        let found = input_drops(&snap);
        assert_eq!(found.len(), 1, "{found:#?}");
        let fix = found[0].fix.as_ref().expect("a fix");
        match &fix.steps[..] {
            [Step::InsertIptablesRule {
                table, chain, rule, ..
            }] => {
                assert_eq!((table.as_str(), chain.as_str()), ("filter", "INPUT"));
                assert!(rule.ends_with(&["-j".into(), "ACCEPT".into()]));
                assert!(rule.contains(&"8080".to_string()), "{rule:?}");
            }
            s => panic!("{s:?}"),
        }
    }

    /// No listener, a loopback-only listener, a rule in a managed chain, a rule the evaluator
    /// cannot judge: quiet.
    #[test]
    fn quiet_without_a_reachable_listener_or_for_managed_chains() {
        let mut snap = asset("bridge");
        set_fw(&mut snap, "bridge-red", DROP_8080);
        assert!(input_drops(&snap).is_empty());
        listen(&mut snap, "bridge-red", "127.0.0.1", 8080);
        assert!(input_drops(&snap).is_empty());
        listen(&mut snap, "bridge-red", "0.0.0.0", 9090);
        assert!(input_drops(&snap).is_empty());

        let mut snap = asset("bridge");
        listen(&mut snap, "bridge-red", "0.0.0.0", 8080);
        set_fw(
            &mut snap,
            "bridge-red",
            "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
             :DOCKER-INPUT - [0:0]\n-A INPUT -j DOCKER-INPUT\n\
             -A DOCKER-INPUT -p tcp -m tcp --dport 8080 -j DROP\nCOMMIT\n",
        );
        assert!(input_drops(&snap).is_empty());

        let mut snap = asset("bridge");
        listen(&mut snap, "bridge-red", "0.0.0.0", 8080);
        set_fw(
            &mut snap,
            "bridge-red",
            "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
             -A INPUT -p tcp -m recent --rcheck --name x -j ACCEPT\n\
             -A INPUT -p tcp -m tcp --dport 8080 -j DROP\nCOMMIT\n",
        );
        let found = input_drops(&snap);
        assert!(found.is_empty(), "{found:#?}");
    }
}
