//! What a namespace takes with it when [`Step::DeleteNs`] deletes it, read by `prepare` so
//! the inverse gives it back after `CreateNs`: the state of `lo` (up, its extra addresses and
//! routes), the namespace-wide sysctls netlens' steps set, and its iptables tables (user
//! chains, rules in order, policies). Interfaces other than `lo` are not recorded: the
//! namespace is refused while it holds one (delete them first with `DeleteLink`, whose inverse
//! recreates them exactly). No step writes ip6tables, the iptables `security` table or nft
//! tables, so a namespace holding anything there is refused ([`refuse_unrestored_firewall`]).
//! Policy rules and interface-less routes are `netns_routing`'s. Per-interface sysctls are not
//! given back.

use ipnet::IpNet;
use netlink_packet_route::link::LinkMessage;

use super::super::env::find_in_path;
use super::super::live::link_restore_steps;
use super::super::proc_ops;
use super::super::step::Step;
use super::StepError;

/// Namespace-wide sysctls given back (the switches netlens' steps set that are not an
/// interface's). A file this kernel does not have is skipped.
const SYSCTLS: &[&str] = &[
    "net/ipv4/ip_forward",
    "net/ipv6/conf/all/forwarding",
    "net/ipv4/conf/all/rp_filter",
    "net/ipv4/conf/default/rp_filter",
    "net/bridge/bridge-nf-call-iptables",
];

/// The iptables tables recorded, in the order they are given back.
const TABLES: &[&str] = &["raw", "mangle", "nat", "filter"];

/// Tables no step writes, by the tool that lists them: a namespace is refused unless each is
/// empty (no rule, no user chain, every policy ACCEPT).
const UNRESTORED_TABLES: &[(&str, &[&str])] = &[
    ("iptables", &["security"]),
    ("ip6tables", &["raw", "mangle", "nat", "filter", "security"]),
];

/// The nft tables iptables-nft and ip6tables-nft make for their own tables (which
/// `iptables_steps` and [`UNRESTORED_TABLES`] look into); any other table is native nft.
const XTABLES_NFT_TABLES: &[&str] = &["raw", "mangle", "nat", "filter", "security"];

fn busy(ns: &str, what: &str) -> StepError {
    StepError::Busy(format!(
        "refusing to delete namespace {ns}: it holds {what} that undo could not give back; \
         remove it first"
    ))
}

/// Refuses a namespace holding firewall state no step could give back: an ip6tables rule,
/// user chain or policy other than ACCEPT (or one in the iptables `security` table), or a
/// native nft table. A tool that is not installed could not have added any.
pub(super) fn refuse_unrestored_firewall(ns: &str) -> Result<(), StepError> {
    for (tool, tables) in UNRESTORED_TABLES {
        if find_in_path(tool).is_none() {
            continue;
        }
        for table in *tables {
            let lines = proc_ops::list_table_of(tool, ns, table)?.unwrap_or_default();
            if let Some(line) = lines.iter().find(|l| !is_accept_policy(l)) {
                return Err(busy(ns, &format!("`{line}` in the {tool} {table} table")));
            }
        }
    }
    if find_in_path("nft").is_none() {
        return Ok(());
    }
    let Some(listed) = proc_ops::nft_tables(ns)? else {
        return Ok(());
    };
    match native_tables(&listed)?.first() {
        Some(table) => Err(busy(ns, &format!("nft table `{table}`"))),
        None => Ok(()),
    }
}

fn is_accept_policy(line: &str) -> bool {
    matches!(
        line.split_whitespace().collect::<Vec<_>>().as_slice(),
        ["-P", _, "ACCEPT"]
    )
}

/// The tables of `nft -j list tables` that are not iptables-nft's own, as `FAMILY NAME`.
fn native_tables(json: &str) -> Result<Vec<String>, String> {
    let v: serde_json::Value = serde_json::from_str(json)
        .map_err(|e| format!("nft listed tables as invalid JSON: {e}"))?;
    let items = v.get("nftables").and_then(serde_json::Value::as_array);
    Ok(items
        .into_iter()
        .flatten()
        .filter_map(|i| i.get("table"))
        .filter_map(|t| Some((t.get("family")?.as_str()?, t.get("name")?.as_str()?)))
        .filter(|(family, name)| {
            !(matches!(*family, "ip" | "ip6") && XTABLES_NFT_TABLES.contains(name))
        })
        .map(|(family, name)| format!("{family} {name}"))
        .collect())
}

/// What sets `lo` back as it was: its extra addresses, up, and routes through it. The
/// addresses the kernel gives `lo` when it comes up are left to the kernel.
pub(super) async fn lo_steps(
    h: &rtnetlink::Handle,
    ns: &str,
    lo: &LinkMessage,
) -> Result<Vec<Step>, String> {
    let (mut steps, mut routes) = (Vec::new(), Vec::new());
    link_restore_steps(h, ns, lo, &mut steps, &mut routes).await?;
    steps.retain(|s| !matches!(s, Step::AddAddress { addr, .. } if is_loopback_default(addr)));
    steps.extend(routes);
    Ok(steps)
}

fn is_loopback_default(addr: &IpNet) -> bool {
    ["127.0.0.1/8", "::1/128"]
        .iter()
        .any(|d| d.parse::<IpNet>().is_ok_and(|d| d == *addr))
}

/// The namespace-wide sysctls' values now, as the steps that set them again.
pub(super) fn sysctl_steps(ns: &str) -> Vec<Step> {
    SYSCTLS
        .iter()
        .filter_map(|key| {
            let value = proc_ops::read_sysctl(ns, key).ok()?;
            Some(Step::SetSysctl {
                ns: ns.to_string(),
                key: key.to_string(),
                value,
                persist: false,
            })
        })
        .collect()
}

/// Every table's chains, rules and policies, as the steps that put them back. Nothing when
/// iptables is not installed (then no plan could have added a rule either).
pub(super) fn iptables_steps(ns: &str) -> Result<Vec<Step>, StepError> {
    if find_in_path("iptables").is_none() {
        return Ok(Vec::new());
    }
    let mut steps = Vec::new();
    for table in TABLES {
        if let Some(lines) = proc_ops::list_table(ns, table)? {
            steps.extend(table_steps(ns, table, &lines)?);
        }
    }
    Ok(steps)
}

/// `iptables -S` of one table as steps: user chains first, then each rule appended in order,
/// then each policy that is not ACCEPT. A rule twice in a chain is refused: undo adds a rule
/// only where it is missing, so it could give it back once.
fn table_steps(ns: &str, table: &str, lines: &[String]) -> Result<Vec<Step>, StepError> {
    let (mut chains, mut rules, mut policies) = (Vec::new(), Vec::new(), Vec::new());
    let (ns_, table_) = (ns.to_string(), table.to_string());
    for (i, line) in lines.iter().enumerate() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["-P", chain, policy] if *policy != "ACCEPT" => {
                policies.push(Step::SetIptablesPolicy {
                    ns: ns_.clone(),
                    table: table_.clone(),
                    chain: chain.to_string(),
                    policy: policy.to_string(),
                })
            }
            ["-N", chain] => chains.push(Step::AddIptablesChain {
                ns: ns_.clone(),
                table: table_.clone(),
                chain: chain.to_string(),
            }),
            ["-A", chain, ..] => {
                if lines[..i].contains(line) {
                    return Err(StepError::Busy(format!(
                        "refusing to delete namespace {ns}: {table}/{chain} holds `{line}` \
                         twice, and undo could give it back only once"
                    )));
                }
                rules.push(Step::AddIptablesRule {
                    ns: ns_.clone(),
                    table: table_.clone(),
                    chain: chain.to_string(),
                    rule: proc_ops::rule_argv(line),
                });
            }
            _ => {}
        }
    }
    chains.extend(rules);
    chains.extend(policies);
    Ok(chains)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_string).collect()
    }

    #[test]
    fn a_table_comes_back_chains_then_rules_then_policies() {
        let save = lines(
            "-P INPUT ACCEPT\n-P FORWARD DROP\n-P OUTPUT ACCEPT\n-N CNI-1\n\
             -A FORWARD -s 10.0.0.0/24 -j CNI-1\n-A CNI-1 -j ACCEPT",
        );
        let steps = table_steps("red", "filter", &save).unwrap();
        let json: Vec<String> = steps
            .iter()
            .map(|s| serde_json::to_string(s).unwrap())
            .collect();
        assert_eq!(
            json,
            [
                r#"{"step":"add_iptables_chain","ns":"red","table":"filter","chain":"CNI-1"}"#,
                r#"{"step":"add_iptables_rule","ns":"red","table":"filter","chain":"FORWARD","rule":["-s","10.0.0.0/24","-j","CNI-1"]}"#,
                r#"{"step":"add_iptables_rule","ns":"red","table":"filter","chain":"CNI-1","rule":["-j","ACCEPT"]}"#,
                r#"{"step":"set_iptables_policy","ns":"red","table":"filter","chain":"FORWARD","policy":"DROP"}"#,
            ]
        );
    }

    #[test]
    fn an_empty_table_gives_nothing_and_a_twice_held_rule_is_refused() {
        let empty = lines("-P PREROUTING ACCEPT\n-P POSTROUTING ACCEPT");
        assert!(table_steps("red", "nat", &empty).unwrap().is_empty());
        let twice = lines("-A POSTROUTING -j MASQUERADE\n-A POSTROUTING -j MASQUERADE");
        let e = table_steps("red", "nat", &twice).unwrap_err().to_string();
        assert!(e.contains("twice") && e.contains("red"), "{e}");
    }

    #[test]
    fn only_accept_policies_are_an_empty_table() {
        assert!(is_accept_policy("-P INPUT ACCEPT"));
        assert!(!is_accept_policy("-P INPUT DROP"));
        assert!(!is_accept_policy("-N CNI-1"));
        assert!(!is_accept_policy("-A INPUT -j ACCEPT"));
    }

    /// iptables-nft's tables are not native; other families and names are.
    #[test]
    fn native_nft_tables_are_those_iptables_nft_did_not_make() {
        let listed = r#"{"nftables": [{"metainfo": {"version": "1.0.6"}},
            {"table": {"family": "ip", "name": "filter", "handle": 1}},
            {"table": {"family": "ip6", "name": "security", "handle": 2}},
            {"table": {"family": "ip", "name": "mine", "handle": 3}},
            {"table": {"family": "inet", "name": "filter", "handle": 4}},
            {"table": {"family": "bridge", "name": "filter", "handle": 5}}]}"#;
        assert_eq!(
            native_tables(listed).unwrap(),
            ["ip mine", "inet filter", "bridge filter"]
        );
        assert!(native_tables(r#"{"nftables": []}"#).unwrap().is_empty());
        assert!(native_tables("not json").is_err());
    }

    #[test]
    fn loopback_defaults_are_the_kernels() {
        assert!(is_loopback_default(&"127.0.0.1/8".parse().unwrap()));
        assert!(is_loopback_default(&"::1/128".parse().unwrap()));
        assert!(!is_loopback_default(&"8.8.8.8/32".parse().unwrap()));
    }
}
