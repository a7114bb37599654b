//! Parser tests on real-world samples (see tests/samples/SOURCES.md).

use std::net::IpAddr;
use std::path::PathBuf;

use netlens::dnsconf::{hosts, nsswitch, resolv};
use netlens::firewall::{
    iptables_save, nft_json, Cond, Firewall, IpFamily, NftTable, XtRule, XtSource, XtTable,
};

fn sample(rel: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/samples")
        .join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn samples_in(dir: &str) -> Vec<(String, String)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/samples");
    let mut out = Vec::new();
    let mut stack = vec![root.join(dir)];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("sample dir") {
            let p = entry.expect("dir entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(&root).expect("prefix").display().to_string();
                out.push((rel, std::fs::read_to_string(&p).expect("utf-8 sample")));
            }
        }
    }
    out.sort();
    out
}

fn table<'a>(tables: &'a [XtTable], name: &str) -> &'a XtTable {
    tables
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no table {name}"))
}

fn rules<'a>(t: &'a XtTable, chain: &str) -> &'a [XtRule] {
    &t.chain(chain)
        .unwrap_or_else(|| panic!("no chain {chain}"))
        .rules
}

fn cond(negated: bool, value: &str) -> Option<Cond> {
    Some(Cond {
        negated,
        value: value.to_string(),
    })
}

fn rule_count(t: &XtTable) -> usize {
    t.chains.iter().map(|c| c.rules.len()).sum()
}

// ---------------------------------------------------------------- iptables-save

#[test]
fn kube_proxy_iptables_nft_save() {
    let (tables, warnings) = iptables_save::parse(
        &sample("iptables/kube-proxy/iptables-nft-save.txt"),
        IpFamily::V4,
        XtSource::Nft,
    );
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(tables.len(), 2);
    let filter = table(&tables, "filter");
    let nat = table(&tables, "nat");
    assert_eq!((filter.chains.len(), rule_count(filter)), (9, 10));
    assert_eq!((nat.chains.len(), rule_count(nat)), (24, 55));
    assert_eq!(nat.family, IpFamily::V4);
    assert_eq!(nat.source, XtSource::Nft);
    assert_eq!(
        nat.chain("PREROUTING").and_then(|c| c.policy.as_deref()),
        Some("ACCEPT")
    );
    assert_eq!(
        nat.chain("KUBE-SERVICES").map(|c| c.policy.clone()),
        Some(None)
    );

    // Session affinity rule of svc5: comment, target, and the multi-option `recent` match.
    let svc5 = rules(nat, "KUBE-SVC-NUKIZ6OKUXPJNT4C");
    assert_eq!(svc5.len(), 3);
    assert_eq!(
        svc5[1].comment.as_deref(),
        Some("ns5/svc5:p80 -> 10.180.0.3:80")
    );
    assert_eq!(svc5[1].target.as_deref(), Some("KUBE-SEP-I77PXRDZVX7PMWMN"));
    assert!(svc5[1]
        .matches
        .iter()
        .any(|m| m.option == "--seconds" && m.value == "10800"));
    // `! -s 10.0.0.0/8` on the masquerade-marking rule.
    assert_eq!(svc5[0].source, cond(true, "10.0.0.0/8"));
    assert_eq!(svc5[0].destination, cond(false, "172.30.0.45/32"));
    assert_eq!(svc5[0].dport, cond(false, "80"));
    assert_eq!(svc5[0].protocol, cond(false, "tcp"));

    let sep = rules(nat, "KUBE-SEP-C6EBXVWJJZMIWKLZ");
    assert_eq!(sep[1].target.as_deref(), Some("DNAT"));
    assert_eq!(
        sep[1].target_args,
        vec![("--to-destination".to_string(), "10.180.0.5:80".to_string())]
    );

    // A rule without a target (only counts / falls through).
    let fw = rules(nat, "KUBE-FW-NUKIZ6OKUXPJNT4C");
    assert_eq!(fw[1].target, None);
    assert_eq!(
        fw[1].comment.as_deref(),
        Some("other traffic to ns5/svc5:p80 will be dropped by KUBE-PROXY-FIREWALL")
    );

    // `-m conntrack ! --ctstate …`: negation before an option.
    let kf = &rules(filter, "KUBE-FIREWALL")[0];
    let ct = kf
        .matches
        .iter()
        .find(|m| m.option == "--ctstate")
        .expect("ctstate");
    assert!(ct.negated);
    assert_eq!(ct.value, "RELATED,ESTABLISHED,DNAT");
    assert_eq!(kf.source, cond(true, "127.0.0.0/8"));

    let reject = &rules(filter, "KUBE-SERVICES")[0];
    assert_eq!(
        reject.target_args,
        vec![(
            "--reject-with".to_string(),
            "icmp-port-unreachable".to_string()
        )]
    );
}

#[test]
fn legacy_and_nft_dumps_hold_the_same_rules() {
    let (nft, _) = iptables_save::parse(
        &sample("iptables/kube-proxy/iptables-nft-save.txt"),
        IpFamily::V4,
        XtSource::Nft,
    );
    let (legacy, warnings) = iptables_save::parse(
        &sample("iptables/kube-proxy/iptables-legacy-save.txt"),
        IpFamily::V4,
        XtSource::Legacy,
    );
    assert!(warnings.is_empty(), "{warnings:?}");
    for name in ["filter", "nat"] {
        let a = table(&nft, name);
        let b = table(&legacy, name);
        assert_eq!(a.chains, b.chains, "table {name}");
        assert_eq!(b.source, XtSource::Legacy);
    }
}

#[test]
fn kube_proxy_restore_input() {
    let (tables, warnings) = iptables_save::parse(
        &sample("iptables/kube-proxy/kube-proxy_TestOverallIPTablesRules.restore"),
        IpFamily::V4,
        XtSource::Nft,
    );
    assert!(warnings.is_empty(), "{warnings:?}");
    let nat = table(&tables, "nat");
    // The restore input lists `-d 172.30.0.41` without /32 and -p after -m tcp.
    let svc = rules(nat, "KUBE-SERVICES");
    assert_eq!(svc[0].destination, cond(false, "172.30.0.41"));
    assert_eq!(svc[0].comment.as_deref(), Some("ns1/svc1:p80 cluster IP"));
    let nfacct = rules(table(&tables, "filter"), "KUBE-FORWARD");
    assert!(nfacct[0]
        .matches
        .iter()
        .any(|m| m.option == "--nfacct-name" && m.value == "ct_state_invalid_dropped_pkts"));
}

#[test]
fn k8s_2015_node_dump() {
    let (tables, warnings) = iptables_save::parse(
        &sample("iptables/k8s_2015_node_cbr0.iptables-save"),
        IpFamily::V4,
        XtSource::Legacy,
    );
    assert!(warnings.is_empty(), "{warnings:?}");
    let nat = table(&tables, "nat");
    assert_eq!((nat.chains.len(), rule_count(nat)), (15, 20));
    assert_eq!(
        nat.chain("PREROUTING").map(|c| (c.packets, c.bytes)),
        Some((2, 138))
    );
    let post = rules(nat, "POSTROUTING");
    assert_eq!(post[0].source, cond(false, "10.246.1.0/24"));
    assert_eq!(post[0].out_iface, cond(true, "cbr0"));
    assert_eq!(post[0].target.as_deref(), Some("MASQUERADE"));
    let dns = &rules(nat, "KUBE-SVC-1111111111111111")[0];
    assert_eq!(dns.comment.as_deref(), Some("kube-system/kube-dns:dns"));
    assert_eq!(
        dns.target_args,
        vec![("--to-destination".to_string(), "10.246.1.2:53".to_string())]
    );
    let filter = table(&tables, "filter");
    assert_eq!(filter.chain("INPUT").map(|c| c.packets), Some(17514));
    assert_eq!(rules(filter, "FORWARD")[2].in_iface, cond(false, "cbr0"));

    let fw = Firewall {
        iptables: tables.clone(),
        ..Firewall::default()
    };
    let dnat_targets: Vec<&str> = fw
        .nat_rules()
        .filter(|r| r.rule.target.as_deref() == Some("DNAT"))
        .map(|r| r.chain.name.as_str())
        .collect();
    assert_eq!(dnat_targets.len(), 3);
}

#[test]
fn rhel6_goto_and_targetless_rule() {
    let (tables, warnings) = iptables_save::parse(
        &sample("iptables/insights_iptables-save_rhel6.txt"),
        IpFamily::V4,
        XtSource::Legacy,
    );
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(tables.len(), 3);
    let input = rules(table(&tables, "filter"), "INPUT");
    assert_eq!(input.len(), 7);
    assert!(input[1].goto);
    assert_eq!(input[1].target.as_deref(), Some("ACCEPT"));
    assert!(!input[0].goto);
    assert_eq!(input[3].target, None);
    assert_eq!(input[3].source, cond(false, "192.168.2.0/24"));
    assert_eq!(
        table(&tables, "filter")
            .chain("OUTPUT")
            .map(|c| (c.packets, c.bytes)),
        Some((769, 196_899))
    );
}

#[test]
fn ip6tables_special_cases() {
    let (tables, warnings) = iptables_save::parse(
        &sample("iptables/insights_ip6tables-save_special.txt"),
        IpFamily::V6,
        XtSource::Legacy,
    );
    // The bare `-A` line is the only unusable one.
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("line 14"), "{warnings:?}");
    let filter = table(&tables, "filter");
    assert_eq!(filter.family, IpFamily::V6);
    // `-A DROP` appends an empty rule to an undeclared chain.
    assert_eq!(rules(filter, "DROP").len(), 1);
    assert_eq!(rules(filter, "INPUT")[1].target.as_deref(), Some("{s_1}"));
    assert_eq!(
        rules(filter, "OUTPUT")[0].comment.as_deref(),
        Some("Permit IP to device net-j")
    );

    let (tables, warnings) = iptables_save::parse(
        &sample("iptables/insights_ip6tables-save.txt"),
        IpFamily::V6,
        XtSource::Legacy,
    );
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(tables.len(), 5);
    let raw = rules(table(&tables, "raw"), "PREROUTING");
    assert_eq!(raw[0].protocol, cond(false, "ipv6-icmp"));
    assert!(raw[1].matches.iter().any(|m| m.option == "--invert"));
}

#[test]
fn fragments_with_escaped_quotes() {
    let (tables, warnings) = iptables_save::parse(
        &sample("iptables/issue-fragments/weave-3124_nat_cni-portmap-escaped-quotes.fragment.txt"),
        IpFamily::V4,
        XtSource::Legacy,
    );
    // The fragment starts mid-table: its lines land in table "?" with one warning.
    assert_eq!(tables.len(), 1);
    assert_eq!(tables[0].name, "?");
    assert!(warnings[0].contains("outside a *table"), "{warnings:?}");
    let post = rules(&tables[0], "POSTROUTING");
    assert_eq!(
        post[2].comment.as_deref(),
        Some(
            r#"name: "rkt.kubernetes.io" id: "2fb697fd1d116c5d1870a6806abc54411ad89fff5f343003d68a99709e870675""#
        )
    );
    assert_eq!(
        post[2].target.as_deref(),
        Some("CNI-3cf022a67aca9a0101643713")
    );

    let (tables, _) = iptables_save::parse(
        &sample("iptables/issue-fragments/weave-3452_filter_weave-npc.fragment.txt"),
        IpFamily::V4,
        XtSource::Legacy,
    );
    let fwd = rules(table(&tables, "filter"), "FORWARD");
    assert_eq!(
        fwd[0].comment.as_deref(),
        Some("NOTE: this must go before '-j KUBE-FORWARD'")
    );
    assert_eq!(fwd[0].target.as_deref(), Some("WEAVE-NPC-EGRESS"));
    assert_eq!(
        fwd[2].target_args,
        vec![("--nflog-group".to_string(), "86".to_string())]
    );
}

#[test]
fn every_iptables_sample_parses_to_rules() {
    for (name, text) in samples_in("iptables") {
        let (tables, _) = iptables_save::parse(&text, IpFamily::V4, XtSource::Nft);
        let n: usize = tables.iter().map(rule_count).sum();
        let expected = text
            .lines()
            .filter(|l| l.starts_with("-A ") || l.starts_with("[") && l.contains("-A "))
            .count();
        assert_eq!(n, expected, "{name}");
    }
}

// ---------------------------------------------------------------- nft -j

fn nft(rel: &str) -> Vec<NftTable> {
    let (tables, warnings) = nft_json::parse(&sample(rel));
    assert!(warnings.is_empty(), "{rel}: {warnings:?}");
    tables
}

#[test]
fn kube_proxy_nft_json() {
    let tables = nft("nftables/kube-proxy/nft-j-list-ruleset.json");
    assert_eq!(tables.len(), 1);
    let t = &tables[0];
    assert_eq!(
        (t.family.as_str(), t.name.as_str(), t.handle),
        ("ip", "kube-proxy", Some(1))
    );
    assert_eq!(t.chains.len(), 32);
    assert_eq!(t.chains.iter().map(|c| c.rules.len()).sum::<usize>(), 57);
    assert_eq!(t.sets.len(), 8);
    assert!(t.sets.contains(&"cluster-ips".to_string()));

    let post = t.chain("nat-postrouting").expect("nat-postrouting");
    assert_eq!(post.hook.as_deref(), Some("postrouting"));
    assert_eq!(post.prio, Some(100));
    assert_eq!(post.chain_type.as_deref(), Some("nat"));

    let masq = &t.chain("masquerading").expect("masquerading").rules;
    let last = masq.last().expect("rule");
    assert_eq!(last.expr_summary, "masquerade fully-random");
    assert_eq!(last.handle, Some(55));
    assert_eq!(last.verdict.as_deref(), Some("masquerade"));
    assert_eq!(masq[0].expr_summary, "meta mark & 16384 == 0 return");

    let ep = t
        .chain("endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80")
        .expect("endpoint chain");
    assert_eq!(
        ep.rules[1].expr_summary,
        "meta l4proto tcp dnat to 10.180.0.1:80"
    );
    assert_eq!(ep.rules[1].verdict.as_deref(), Some("dnat"));

    let ext = t
        .chain("external-42NFTM6N-ns2/svc2/tcp/p80")
        .expect("external");
    let local = ext
        .rules
        .iter()
        .find(|r| r.handle == Some(73))
        .expect("handle 73");
    assert_eq!(
        local.expr_summary,
        "fib saddr type local jump mark-for-masquerade"
    );
    assert_eq!(local.comment.as_deref(), Some("masquerade local traffic"));
    assert_eq!(local.verdict.as_deref(), Some("jump mark-for-masquerade"));
}

#[test]
fn upstream_nat_dumps() {
    let t = nft("nftables/nftables-upstream_0006masquerade_0.nft-j.json");
    assert_eq!(t[0].chains[0].rules[0].expr_summary, "masquerade");

    let t = nft("nftables/nftables-upstream_nat_addr_port.nft-j.json");
    let c = t[0].chain("c").expect("chain c");
    let by_handle = |h: u64| {
        c.rules
            .iter()
            .find(|r| r.handle == Some(h))
            .map(|r| r.expr_summary.clone())
    };
    assert_eq!(by_handle(7).as_deref(), Some("iifname != foobar accept"));
    assert_eq!(by_handle(8).as_deref(), Some("dnat to ip daddr map @x"));
    assert_eq!(
        by_handle(10).as_deref(),
        Some("ip saddr 10.1.1.2 tcp dport 42 dnat to 10.2.3.4:4242")
    );
    assert_eq!(t[0].sets, vec!["t1", "t2", "x", "y", "z"]);

    let t = nft("nftables/nftables-upstream_0047nat_0.nft-j.json");
    assert_eq!(
        t[0].chains[0].rules[0].expr_summary,
        "snat ip to ip saddr map @y"
    );

    let t = nft("nftables/nftables-upstream_merge_nat.nft-j.json");
    assert_eq!(t.len(), 4);
    assert_eq!(
        t[1].chains[0].rules[0].expr_summary,
        "dnat ip to tcp dport map { 80 : 1.1.1.1 . 8001, 81 : 2.2.2.2 . 9001 }"
    );
}

#[test]
fn insights_and_knftables_json() {
    let t = nft("nftables/insights_nft-j_list_ruleset_doc.json");
    let rules = &t[0].chains[0].rules;
    assert_eq!(rules[0].expr_summary, "ip saddr vmap @example_map");
    assert_eq!(
        rules[1].expr_summary,
        "tcp dport 22 counter packets 29 bytes 1976 accept"
    );
    assert_eq!(
        rules[1].counters.map(|c| (c.packets, c.bytes)),
        Some((29, 1976))
    );
    assert_eq!(t[0].chains[0].policy.as_deref(), Some("accept"));

    assert!(nft("nftables/insights_nft-j_list_ruleset_empty.json").is_empty());
    assert_eq!(
        nft("nftables/insights_nft-j_list_ruleset_two_tables.json").len(),
        2
    );

    // Chains listed without their table object still get a table.
    let t = nft("nftables/knftables_nftables_test_L151.json");
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].chains.len(), 5);
    assert_eq!(t[0].chain("prerouting").and_then(|c| c.prio), Some(-100));

    let t = nft("nftables/knftables_nftables_test_L282.json");
    let r = &t[0].chains[0].rules;
    assert_eq!(
        r[0].expr_summary,
        "ct state { established, related } accept"
    );
    assert_eq!(r[1].comment.as_deref(), Some("This rule does something"));
    assert_eq!(r[1].expr_summary, "ct status dnat accept");
}

#[test]
fn every_nft_json_sample_parses() {
    let samples = samples_in("nftables");
    assert!(samples.len() >= 14);
    for (name, text) in samples {
        let (tables, warnings) = nft_json::parse(&text);
        assert!(warnings.is_empty(), "{name}: {warnings:?}");
        let expected = text.matches("{\"rule\":").count();
        let got: usize = tables
            .iter()
            .flat_map(|t| &t.chains)
            .map(|c| c.rules.len())
            .sum();
        assert_eq!(got, expected, "{name}");
    }
}

// ---------------------------------------------------------------- resolv.conf

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

#[test]
fn resolv_go_sample() {
    let c = resolv::parse(&sample("resolv/go_resolv.conf"));
    assert_eq!(c.domain.as_deref(), Some("localdomain"));
    assert_eq!(c.search, vec!["localdomain"]);
    assert_eq!(c.nameservers.len(), 3);
    assert_eq!(c.nameservers[2].text, "fe80::1%lo0");
    assert_eq!(c.nameservers[2].scope.as_deref(), Some("lo0"));
    assert_eq!(
        c.effective_nameservers(),
        vec![ip("8.8.8.8"), ip("2001:4860:4860::8888"), ip("fe80::1")]
    );
    assert_eq!(c.options.ndots, 5);
    assert_eq!(c.options.timeout, 10);
    assert_eq!(c.options.attempts, 3);
    assert!(c.options.rotate);
    // `options attempts 3` (no colon) is an unknown option to glibc.
    assert_eq!(c.options.other, vec!["attempts", "3"]);
}

#[test]
fn resolv_ndots_edge_cases_like_glibc() {
    assert_eq!(
        resolv::parse(&sample("resolv/go_large-ndots-resolv.conf"))
            .options
            .ndots,
        15
    );
    let neg = resolv::parse(&sample("resolv/go_negative-ndots-resolv.conf"));
    assert_eq!(neg.options.ndots, 15);
    assert_eq!(neg.warnings.len(), 1);
    let inv = resolv::parse(&sample("resolv/go_invalid-ndots-resolv.conf"));
    assert_eq!(inv.options.ndots, 0);
    assert_eq!(inv.warnings.len(), 1);
}

#[test]
fn resolv_misc_samples() {
    assert!(
        resolv::parse(&sample("resolv/go_linux-use-vc-resolv.conf"))
            .options
            .use_vc
    );
    assert!(
        resolv::parse(&sample("resolv/go_single-request-reopen-resolv.conf"))
            .options
            .single_request_reopen
    );
    let m = resolv::parse(&sample("resolv/insights_resolvconf_m.conf"));
    // `search` then `domain`: the later domain line wins.
    assert_eq!(m.search, vec!["ttt.com"]);
    let k8s = resolv::parse(&sample("resolv/k8s-docs_pod-clusterfirst-gce.resolv.conf"));
    assert_eq!(k8s.search.len(), 5);
    assert_eq!(k8s.options.ndots, 5);
    assert!(k8s.warnings.is_empty());
    let v6 = resolv::parse(&sample("resolv/k8s-docs_pod-ipv6.resolv.conf"));
    assert_eq!(v6.effective_nameservers(), vec![ip("fd00:79:30::a")]);
    let sd = resolv::parse(&sample("resolv/systemd_static-resolv.conf"));
    assert_eq!(sd.effective_nameservers(), vec![ip("127.0.0.53")]);
    assert!(sd.options.edns0);
    assert_eq!(sd.options.other, vec!["trust-ad"]);
    let bsd = resolv::parse(&sample("resolv/go_openbsd-resolv.conf"));
    assert!(bsd.warnings.iter().any(|w| w.contains("\"lookup\"")));
    assert_eq!(bsd.effective_nameservers().len(), 2);
    let dot = resolv::parse(&sample("resolv/go_search-single-dot-resolv.conf"));
    assert_eq!(dot.search, vec!["."]);
}

#[test]
fn resolv_invalid_crio_fixtures() {
    let c = resolv::parse(&sample("resolv/crio_expanded_resolv.conf"));
    assert_eq!(c.nameservers.len(), 2);
    assert!(c.nameservers.iter().all(|n| n.addr.is_none()));
    assert!(c.effective_nameservers().is_empty());
    assert_eq!(c.search.len(), 7);
    // Two hostname warnings plus the search-length one.
    assert_eq!(c.warnings.len(), 3, "{:?}", c.warnings);
    assert!(c.warnings.iter().any(|w| w.contains("glibc < 2.26")));
    assert_eq!((c.options.timeout, c.options.attempts), (5, 3));
}

// ---------------------------------------------------------------- nsswitch / hosts

#[test]
fn nsswitch_samples() {
    let glibc = nsswitch::parse(&sample("nsswitch/glibc_nss_nsswitch.conf"));
    assert!(glibc.warnings.is_empty(), "{:?}", glibc.warnings);
    assert_eq!(glibc.databases.len(), 14);
    assert_eq!(glibc.hosts_sources(), vec!["files", "dns"]);

    let sssd = nsswitch::parse(&sample("nsswitch/authselect_sssd_nsswitch.conf"));
    assert_eq!(sssd.hosts_sources(), vec!["files", "dns", "myhostname"]);
    let boot = sssd.database("bootparams").expect("bootparams");
    assert_eq!(boot.sources[0].name, "nisplus");
    assert_eq!(boot.sources[0].actions[0].status, "NOTFOUND");
    assert_eq!(boot.sources[0].actions[0].action, "return");

    let ins = nsswitch::parse(&sample("nsswitch/insights_nsswitch.conf"));
    assert_eq!(ins.databases.len(), 5);
    assert_eq!(ins.hosts_sources(), vec!["files", "dns", "myhostname"]);
}

#[test]
fn nsswitch_broken_samples_warn() {
    let err = nsswitch::parse(&sample("nsswitch/insights_nsswitch_error.conf"));
    // `passwd      files sss DNS` has no colon; `GROUP:` is upper case.
    assert_eq!(err.databases.len(), 1);
    assert_eq!(err.warnings.len(), 2, "{:?}", err.warnings);
    assert_eq!(err.hosts_sources(), vec!["files", "dns"]);

    let tpl = nsswitch::parse(&sample("nsswitch/authselect_local_nsswitch.conf.template"));
    assert!(tpl
        .warnings
        .iter()
        .any(|w| w.contains("duplicate \"group\"")));
    assert!(tpl.warnings.iter().any(|w| w.contains("odd source name")));
    let hosts = tpl.database("hosts").expect("hosts");
    assert_eq!(hosts.sources[0].name, "files");
    // Template syntax glues `}` to the next source name; the parser keeps going.
    let resolve = hosts
        .sources
        .iter()
        .find(|s| s.name == "}resolve")
        .expect("resolve");
    assert!(resolve.actions[0].negated);
    assert_eq!(resolve.actions[0].status, "UNAVAIL");
}

#[test]
fn hosts_file() {
    let h = hosts::parse(
        "127.0.0.1\tlocalhost\n::1 localhost ip6-localhost ip6-loopback\n\
         10.96.0.10 kube-dns.kube-system.svc.cluster.local kube-dns # svc\n\
         300.1.1.1 bad\nfe80::1%eth0 link-local\n",
    );
    assert_eq!(h.entries.len(), 4);
    assert_eq!(h.warnings.len(), 1);
    assert_eq!(h.lookup("Kube-DNS"), vec![ip("10.96.0.10")]);
    assert_eq!(h.lookup("localhost"), vec![ip("127.0.0.1"), ip("::1")]);
    assert_eq!(h.lookup("link-local"), vec![ip("fe80::1")]);
    assert!(h.lookup("nothere").is_empty());
}

#[test]
fn model_round_trips_through_json() {
    let (iptables, _) = iptables_save::parse(
        &sample("iptables/kube-proxy/iptables-nft-save.txt"),
        IpFamily::V4,
        XtSource::Nft,
    );
    let fw = Firewall {
        backends: vec![netlens::firewall::Backend::IptablesNft],
        iptables,
        nft: nft("nftables/kube-proxy/nft-j-list-ruleset.json"),
        errors: vec!["x".into()],
    };
    let json = serde_json::to_string(&fw).expect("serialize");
    assert!(json.contains("\"backends\":[\"iptables-nft\"]"));
    assert!(json.contains("\"family\":\"v4\",\"source\":\"nft\""));
    let back: Firewall = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(back, fw);

    let rc = resolv::parse(&sample("resolv/go_resolv.conf"));
    let back: resolv::ResolvConf =
        serde_json::from_str(&serde_json::to_string(&rc).expect("serialize")).expect("parse");
    assert_eq!(back, rc);
}
