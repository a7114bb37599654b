//! The simulator on firewall rules, sysctls and resolver files, on the bridge lab.

use super::simulate;
use super::tests::{done, lab, words};
use super::Simulated;
use crate::model::Snapshot;
use crate::plan::step::Step;

#[test]
fn sysctls_the_model_records_and_none_other() {
    let s = lab();
    let set = |key: &str| Step::SetSysctl {
        ns: "bridge-host".into(),
        key: key.into(),
        value: "0".into(),
        persist: false,
    };
    let after = done(&s, &[set("net/ipv4/ip_forward")]);
    assert_eq!(
        after.namespace("bridge-host").unwrap().sysctls.ip_forward,
        Some(0)
    );
    let rp = done(&s, &[set("net/ipv4/conf/eth0/rp_filter")]);
    let n = rp.namespace("bridge-host").unwrap();
    assert_eq!(n.sysctls.rp_filter.get("eth0"), Some(&0));
    assert!(matches!(
        simulate(&s, &[set("net/ipv4/tcp_syncookies")]),
        Simulated::Unknown(_)
    ));
}

fn chain_raw(s: &Snapshot, ns: &str, table: &str, chain: &str) -> Vec<String> {
    let fw = s.namespace(ns).unwrap().firewall.as_ref().unwrap();
    fw.iptables
        .iter()
        .filter(|t| t.name == table)
        .flat_map(|t| &t.chains)
        .filter(|c| c.name == chain)
        .flat_map(|c| c.rules.iter().map(|r| r.raw.clone()))
        .collect()
}

#[test]
fn an_added_rule_reads_as_iptables_save_prints_it() {
    let s = lab();
    let add = Step::AddIptablesRule {
        ns: "bridge-red".into(),
        table: "nat".into(),
        chain: "POSTROUTING".into(),
        rule: words("-m comment --comment netlens -p tcp --dport 80 -s 10.1.0.0/24 -j MASQUERADE"),
    };
    let after = done(&s, std::slice::from_ref(&add));
    assert_eq!(
        chain_raw(&after, "bridge-red", "nat", "POSTROUTING"),
        vec!["-A POSTROUTING -s 10.1.0.0/24 -p tcp -m tcp -m comment --comment netlens --dport 80 -j MASQUERADE"]
    );
    let Step::AddIptablesRule {
        ns,
        table,
        chain,
        rule,
    } = add
    else {
        unreachable!()
    };
    let del = Step::DelIptablesRule {
        ns,
        table,
        chain,
        rule,
    };
    assert!(chain_raw(&done(&after, &[del]), "bridge-red", "nat", "POSTROUTING").is_empty());
}

#[test]
fn a_delete_written_differently_from_the_rule_changes_nothing() {
    let mut s = lab();
    let line = r#"-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \"podman\" id: \"0b1a\"" -m multiport --dports 8080 -j CNI-DN-1"#;
    let text =
        format!("*nat\n:PREROUTING ACCEPT [0:0]\n:CNI-HOSTPORT-DNAT - [0:0]\n{line}\nCOMMIT\n");
    let (tables, _) = crate::firewall::iptables_save::parse(
        &text,
        crate::firewall::IpFamily::V4,
        crate::firewall::XtSource::Nft,
    );
    let ns = s
        .namespaces
        .iter_mut()
        .find(|n| n.name == "bridge-host")
        .unwrap();
    ns.firewall.as_mut().unwrap().iptables = tables;
    let del = |rule: Vec<String>| Step::DelIptablesRule {
        ns: "bridge-host".into(),
        table: "nat".into(),
        chain: "CNI-HOSTPORT-DNAT".into(),
        rule,
    };
    // Split toggling on every quote, as the old stale-NAT fix did.
    let naive: Vec<String> = line
        .split_whitespace()
        .skip(2)
        .map(|w| w.trim_matches('"').to_string())
        .collect();
    assert_eq!(done(&s, &[del(naive)]), s);
    let exact = crate::firewall::iptables_save::rule_words(line)[2..].to_vec();
    assert!(chain_raw(
        &done(&s, &[del(exact)]),
        "bridge-host",
        "nat",
        "CNI-HOSTPORT-DNAT"
    )
    .is_empty());
}

#[test]
fn resolver_files_are_parsed_as_written() {
    let s = lab();
    let path = "/etc/netns/bridge-red/resolv.conf";
    let w = Step::WriteFile {
        ns: "bridge-red".into(),
        path: path.into(),
        content: Some("nameserver 192.0.2.53\n".into()),
        pid_start: None,
    };
    let after = done(&s, &[w]);
    let dns = after.namespace("bridge-red").unwrap().dns.clone().unwrap();
    assert_eq!(dns.resolv_conf.path, path);
    let parsed = dns.resolv_conf.parsed.unwrap();
    assert_eq!(parsed.nameservers[0].text, "192.0.2.53");
}
