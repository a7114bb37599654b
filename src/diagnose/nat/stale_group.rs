//! What a container that vanished without cleanup leaves in iptables, as one group: not only
//! the rule that gave it away (a DNAT to an address nobody holds), but every rule naming the
//! container's id in its comment (CNI: `name: "podman" id: "<id>"`, netavark: `dnat name:
//! podman id: <id>`), the port-forward's companions in the same per-network chain (netavark's
//! and CNI portmap's SETMARK jumps for the same port), CNI's per-address FORWARD accepts, and
//! the per-container chains (`CNI-<hash>`, `CNI-DN-<hash>`) that only the group jumps to.
//! Deleting just the DNAT (the old fix) left the rest to misroute the next container that
//! reuses the address or port.

use std::collections::BTreeSet;

use crate::firewall::{Firewall, IpFamily, XtRule, XtTable};
use crate::plan::Step;

const BUILTIN: &[&str] = &["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"];

/// One rule of the group: table, chain, index in the chain.
type At = (String, String, usize);

/// A stale container's left-overs, ready to be removed.
pub(super) struct Group {
    /// Container ids found in the rules' comments.
    pub ids: BTreeSet<String>,
    /// Rules to delete one by one (outside the chains removed whole), in iptables-save order.
    pub rules: Vec<(String, String, XtRule)>,
    /// Chains removed with their rules: (table, chain), jumping ones before their targets.
    pub chains: Vec<(String, String)>,
}

impl Group {
    pub fn steps(&self, ns: &str) -> Vec<Step> {
        let mut steps: Vec<Step> = self
            .rules
            .iter()
            .map(|(table, chain, r)| Step::DelIptablesRule {
                ns: ns.to_string(),
                table: table.clone(),
                chain: chain.clone(),
                rule: super::rule_args(&r.raw),
            })
            .collect();
        steps.extend(
            self.chains
                .iter()
                .map(|(table, chain)| Step::DelIptablesChain {
                    ns: ns.to_string(),
                    table: table.clone(),
                    chain: chain.clone(),
                }),
        );
        steps
    }
}

/// The container id in a comment: the word after `id:`, quotes removed, 12 to 64 hex digits.
pub(super) fn comment_id(comment: &str) -> Option<String> {
    let (_, rest) = comment.split_once("id:")?;
    let id: String = rest
        .trim_start()
        .trim_start_matches('"')
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    (12..=64).contains(&id.len()).then_some(id)
}

fn v4_tables(fw: &Firewall) -> impl Iterator<Item = &XtTable> {
    fw.iptables.iter().filter(|t| t.family == IpFamily::V4)
}

fn same_port(a: &XtRule, b: &XtRule) -> bool {
    a.dport.is_some() && a.dport == b.dport && a.protocol == b.protocol
}

/// Builds the group around `seeds` (rules of the nat table that point at `ip`, which nobody
/// holds).
pub(super) fn group(fw: &Firewall, seeds: &[(&str, &XtRule)], ip: &str) -> Group {
    let nat = v4_tables(fw).find(|t| t.name == "nat");
    let mut members: BTreeSet<At> = BTreeSet::new();
    let mut ids = BTreeSet::new();
    let mut ports: Vec<&XtRule> = Vec::new();
    for (chain, rule) in seeds {
        if let Some(i) = index_of(nat, chain, rule) {
            members.insert(("nat".into(), chain.to_string(), i));
        }
        ids.extend(rule.comment.as_deref().and_then(comment_id));
        if rule.target.as_deref() == Some("DNAT") && !BUILTIN.contains(chain) {
            ports.push(rule);
            // The jump into this per-network chain for the same port names the container.
            for t in nat.into_iter() {
                for c in &t.chains {
                    for r in &c.rules {
                        if r.target.as_deref() == Some(*chain) && same_port(r, rule) {
                            ids.extend(r.comment.as_deref().and_then(comment_id));
                        }
                    }
                }
            }
        }
    }
    let host = format!("{ip}/32");
    for t in v4_tables(fw) {
        for c in &t.chains {
            for (i, r) in c.rules.iter().enumerate() {
                let by_id = r
                    .comment
                    .as_deref()
                    .and_then(comment_id)
                    .is_some_and(|id| ids.contains(&id));
                // The SETMARK jumps beside a stale DNAT in its per-network chain.
                let by_port = t.name == "nat"
                    && seeds.iter().any(|(ch, _)| *ch == c.name)
                    && ports.iter().any(|p| same_port(p, r));
                // CNI's firewall plugin: `-s IP/32 -j ACCEPT`, `-d IP/32 … -j ACCEPT`.
                let by_addr = t.name == "filter"
                    && !BUILTIN.contains(&c.name.as_str())
                    && r.target.as_deref() == Some("ACCEPT")
                    && [&r.source, &r.destination]
                        .iter()
                        .any(|x| x.as_ref().is_some_and(|x| !x.negated && x.value == host));
                if by_id || by_port || by_addr {
                    members.insert((t.name.clone(), c.name.clone(), i));
                }
            }
        }
    }
    let chains = whole_chains(fw, &members);
    let rules = v4_tables(fw)
        .flat_map(|t| {
            t.chains.iter().flat_map(move |c| {
                c.rules
                    .iter()
                    .enumerate()
                    .map(move |(i, r)| ((t.name.clone(), c.name.clone(), i), r))
            })
        })
        .filter(|(at, _)| members.contains(at))
        .filter(|((t, c, _), _)| !chains.contains(&(t.clone(), c.clone())))
        .map(|((t, c, _), r)| (t, c, r.clone()))
        .collect();
    Group { ids, rules, chains }
}

fn index_of(table: Option<&XtTable>, chain: &str, rule: &XtRule) -> Option<usize> {
    table?
        .chain(chain)?
        .rules
        .iter()
        .position(|r| std::ptr::eq(r, rule) || r.raw == rule.raw)
}

/// User chains that a member jumps to, all of whose rules are members and which only members
/// jump to: they go whole. Ordered so that a chain is removed before any chain it jumps to.
fn whole_chains(fw: &Firewall, members: &BTreeSet<At>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for t in v4_tables(fw) {
        let mut picked: Vec<&str> = Vec::new();
        for c in &t.chains {
            if BUILTIN.contains(&c.name.as_str()) || c.policy.is_some() {
                continue;
            }
            let jumps: Vec<At> = t
                .chains
                .iter()
                .flat_map(|from| {
                    from.rules
                        .iter()
                        .enumerate()
                        .filter(|(_, r)| r.target.as_deref() == Some(c.name.as_str()))
                        .map(|(i, _)| (t.name.clone(), from.name.clone(), i))
                })
                .collect();
            if jumps.is_empty() {
                continue;
            }
            let all_jumps = jumps.iter().all(|at| members.contains(at));
            let all_rules =
                (0..c.rules.len()).all(|i| members.contains(&(t.name.clone(), c.name.clone(), i)));
            if all_jumps && all_rules {
                picked.push(&c.name);
            }
        }
        // A picked chain that another picked chain jumps to goes after it.
        let jumps_from_picked = |target: &str| {
            picked.iter().any(|p| {
                t.chain(p)
                    .is_some_and(|c| c.rules.iter().any(|r| r.target.as_deref() == Some(target)))
            })
        };
        let (later, first): (Vec<&str>, Vec<&str>) =
            picked.iter().partition(|c| jumps_from_picked(c));
        for c in first.into_iter().chain(later) {
            out.push((t.name.clone(), c.to_string()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{comment_id, group};
    use crate::firewall::{iptables_save, Backend, Firewall, IpFamily, XtSource};
    use crate::plan::Step;

    const ID: &str = "921aa7e2917c4c1ff696198b58b71931f18a4bb673bdb24199bf979c5d4c9717";

    fn fw(text: &str) -> Firewall {
        let (tables, errors) = iptables_save::parse(text, IpFamily::V4, XtSource::Nft);
        assert!(errors.is_empty(), "{errors:?}");
        Firewall {
            backends: vec![Backend::IptablesNft],
            iptables: tables,
            nft: Vec::new(),
            errors: Vec::new(),
        }
    }

    fn steps(fw: &Firewall, seed_chain: &str, seed_target: &str, ip: &str) -> Vec<String> {
        let nat = fw.iptables.iter().find(|t| t.name == "nat").unwrap();
        let rule = nat
            .chain(seed_chain)
            .unwrap()
            .rules
            .iter()
            .find(|r| r.target.as_deref() == Some(seed_target))
            .unwrap();
        group(fw, &[(seed_chain, rule)], ip)
            .steps("host")
            .iter()
            .map(|s| match s {
                Step::DelIptablesRule { table, chain, .. } => format!("rule {table}/{chain}"),
                Step::DelIptablesChain { table, chain, .. } => format!("chain {table}/{chain}"),
                s => panic!("{s}"),
            })
            .collect()
    }

    /// Podman's CNI backend (as iptables-save printed it on podman 4.3): the per-container
    /// masquerade chain, the DN chain with its SETMARK jumps, both jumps carrying the id, and
    /// the firewall plugin's accepts; the shared CNI-HOSTPORT-* chains stay.
    #[test]
    fn cni_container_group() {
        let text = format!(
            r#"*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:CNI-FORWARD - [0:0]
-A FORWARD -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD
-A CNI-FORWARD -d 10.88.0.2/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A CNI-FORWARD -s 10.88.0.2/32 -j ACCEPT
-A CNI-FORWARD -s 10.89.0.2/32 -j ACCEPT
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:CNI-63f0a81155a89302387733ee - [0:0]
:CNI-DN-63f0a81155a8930238773 - [0:0]
:CNI-HOSTPORT-DNAT - [0:0]
:CNI-HOSTPORT-MASQ - [0:0]
:CNI-HOSTPORT-SETMARK - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT
-A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ
-A POSTROUTING -s 10.88.0.2/32 -m comment --comment "name: "podman" id: "{ID}"" -j CNI-63f0a81155a89302387733ee
-A CNI-63f0a81155a89302387733ee -d 10.88.0.0/16 -m comment --comment "name: "podman" id: "{ID}"" -j ACCEPT
-A CNI-63f0a81155a89302387733ee ! -d 224.0.0.0/4 -m comment --comment "name: "podman" id: "{ID}"" -j MASQUERADE
-A CNI-DN-63f0a81155a8930238773 -s 10.88.0.0/16 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK
-A CNI-DN-63f0a81155a8930238773 -s 127.0.0.1/32 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK
-A CNI-DN-63f0a81155a8930238773 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.88.0.2:80
-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: "podman" id: "{ID}"" -m multiport --dports 8080 -j CNI-DN-63f0a81155a8930238773
-A CNI-HOSTPORT-MASQ -m mark --mark 0x2000/0x2000 -j MASQUERADE
-A CNI-HOSTPORT-SETMARK -m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark 0x2000/0x2000
COMMIT
"#
        );
        let fw = fw(&text);
        assert_eq!(
            steps(&fw, "CNI-DN-63f0a81155a8930238773", "DNAT", "10.88.0.2"),
            [
                "rule filter/CNI-FORWARD",
                "rule filter/CNI-FORWARD",
                "rule nat/POSTROUTING",
                "rule nat/CNI-HOSTPORT-DNAT",
                "chain nat/CNI-63f0a81155a89302387733ee",
                "chain nat/CNI-DN-63f0a81155a8930238773",
            ]
        );
    }

    /// Docker (20.10): the DNAT in DOCKER, the hairpin masquerade in POSTROUTING and the
    /// filter DOCKER accept; the DOCKER chains themselves stay.
    #[test]
    fn docker_container_group() {
        let text = r#"*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
-A FORWARD -o docker0 -j DOCKER
-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT
-A DOCKER -d 172.17.0.3/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
-A POSTROUTING -s 172.17.0.2/32 -d 172.17.0.2/32 -p tcp -m tcp --dport 80 -j MASQUERADE
-A DOCKER -i docker0 -j RETURN
-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80
-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8081 -j DNAT --to-destination 172.17.0.3:80
COMMIT
"#;
        let fw = fw(text);
        let nat = fw.iptables.iter().find(|t| t.name == "nat").unwrap();
        let dnat = &nat.chain("DOCKER").unwrap().rules[1];
        let masq = &nat.chain("POSTROUTING").unwrap().rules[1];
        let g = group(
            &fw,
            &[("DOCKER", dnat), ("POSTROUTING", masq)],
            "172.17.0.2",
        );
        let got: Vec<String> = g
            .rules
            .iter()
            .map(|(t, c, r)| format!("{t}/{c} {}", r.target.as_deref().unwrap_or("")))
            .collect();
        assert_eq!(
            got,
            [
                "filter/DOCKER ACCEPT",
                "nat/POSTROUTING MASQUERADE",
                "nat/DOCKER DNAT"
            ]
        );
        assert!(g.chains.is_empty());
    }

    /// netavark's DN chain is per network: with another container's port-forward in it, only
    /// the stale container's three rules go, not the chain.
    #[test]
    fn netavark_shared_dn_chain_keeps_the_other_port() {
        let text = format!(
            r#"*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:NETAVARK-DN-1D8721804F16F - [0:0]
:NETAVARK-HOSTPORT-DNAT - [0:0]
:NETAVARK-HOSTPORT-SETMARK - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j NETAVARK-HOSTPORT-DNAT
-A NETAVARK-DN-1D8721804F16F -s 10.88.0.0/16 -p tcp -m tcp --dport 8080 -j NETAVARK-HOSTPORT-SETMARK
-A NETAVARK-DN-1D8721804F16F -s 127.0.0.1/32 -p tcp -m tcp --dport 8080 -j NETAVARK-HOSTPORT-SETMARK
-A NETAVARK-DN-1D8721804F16F -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.88.0.2:80
-A NETAVARK-DN-1D8721804F16F -s 10.88.0.0/16 -p tcp -m tcp --dport 9090 -j NETAVARK-HOSTPORT-SETMARK
-A NETAVARK-DN-1D8721804F16F -p tcp -m tcp --dport 9090 -j DNAT --to-destination 10.88.0.3:80
-A NETAVARK-HOSTPORT-DNAT -p tcp -m tcp --dport 8080 -m comment --comment "dnat name: podman id: {ID}" -j NETAVARK-DN-1D8721804F16F
-A NETAVARK-HOSTPORT-DNAT -p tcp -m tcp --dport 9090 -m comment --comment "dnat name: podman id: 0b1a2c3d4e5f6071" -j NETAVARK-DN-1D8721804F16F
-A NETAVARK-HOSTPORT-SETMARK -j MARK --set-xmark 0x2000/0x2000
COMMIT
"#
        );
        let fw = fw(&text);
        assert_eq!(
            steps(&fw, "NETAVARK-DN-1D8721804F16F", "DNAT", "10.88.0.2"),
            [
                "rule nat/NETAVARK-DN-1D8721804F16F",
                "rule nat/NETAVARK-DN-1D8721804F16F",
                "rule nat/NETAVARK-DN-1D8721804F16F",
                "rule nat/NETAVARK-HOSTPORT-DNAT",
            ]
        );
    }

    #[test]
    fn ids_in_cni_and_netavark_comments() {
        let id = "0b1a2c3d4e5f60718293a4b5c6d7e8f90b1a2c3d4e5f60718293a4b5c6d7e8f9";
        assert_eq!(
            comment_id(&format!(r#"name: "podman" id: "{id}""#)).as_deref(),
            Some(id)
        );
        assert_eq!(
            comment_id(&format!("dnat name: podman id: {id}")).as_deref(),
            Some(id)
        );
        assert_eq!(comment_id("netavark portfw masq mark"), None);
        assert_eq!(comment_id("id: 12ab"), None);
    }
}
