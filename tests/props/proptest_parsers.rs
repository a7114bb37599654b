//! Every parser must survive arbitrary input: random text, and real samples with random
//! damage (cut, spliced, bytes replaced), which reaches much deeper into the parsers than
//! random text does.

use crate::common::mutate;
use mutate::mutate;
use proptest::prelude::*;
use serde_json::Value;

use netlens::dnsconf::{hosts, nsswitch, resolv};
use netlens::firewall::{iptables_save, nft_json, IpFamily, XtSource};

const IPTABLES: &[&str] = &[
    include_str!("../samples/iptables/kube-proxy/iptables-nft-save.txt"),
    include_str!("../samples/iptables/kube-proxy/kube-proxy_TestOverallIPTablesRules.restore"),
    include_str!("../samples/iptables/k8s_2015_node_cbr0.iptables-save"),
    include_str!("../samples/iptables/insights_ip6tables-save_special.txt"),
    include_str!(
        "../samples/iptables/issue-fragments/weave-3124_nat_cni-portmap-escaped-quotes.fragment.txt"
    ),
    include_str!("../samples/iptables/issue-fragments/weave-3452_filter_weave-npc.fragment.txt"),
];
const NFT: &[&str] = &[
    include_str!("../samples/nftables/kube-proxy/nft-j-list-ruleset.json"),
    include_str!("../samples/nftables/nftables-upstream_nat_addr_port.nft-j.json"),
    include_str!("../samples/nftables/nftables-upstream_0067nat_concat_interval_0.nft-j.json"),
    include_str!("../samples/nftables/insights_nft-j_list_ruleset_doc.json"),
    include_str!("../samples/nftables/knftables_nftables_test_L415.json"),
];
const RESOLV: &[&str] = &[
    include_str!("../samples/resolv/go_resolv.conf"),
    include_str!("../samples/resolv/crio_expanded_resolv.conf"),
    include_str!("../samples/resolv/k8s-docs_pod-clusterfirst-gce.resolv.conf"),
    include_str!("../samples/resolv/go_negative-ndots-resolv.conf"),
];
const NSSWITCH: &[&str] = &[
    include_str!("../samples/nsswitch/authselect_local_nsswitch.conf.template"),
    include_str!("../samples/nsswitch/authselect_sssd_nsswitch.conf"),
    include_str!("../samples/nsswitch/insights_nsswitch_error.conf"),
];
const HOSTS: &str = "127.0.0.1 localhost\n::1 localhost ip6-localhost\nfe80::1%eth0 ll # c\n";

/// Fragments that mean something to the parsers, to splice into samples.
fn interesting() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        Just("\"".to_string()),
        Just("!".to_string()),
        Just(" ! -s ".to_string()),
        Just("[1:2]".to_string()),
        Just("[".to_string()),
        Just("\\".to_string()),
        Just("\n*nat\n".to_string()),
        Just("\nCOMMIT\n".to_string()),
        Just(":X - [0".to_string()),
        Just("-j".to_string()),
        Just("{\"rule\":".to_string()),
        Just("null".to_string()),
        Just("]]]".to_string()),
        Just("ndots:-99999999999999999999".to_string()),
        Just("nameserver ".to_string()),
        Just("%".to_string()),
        Just("é\u{0}".to_string()),
    ]
}

/// Random JSON shaped like nft output, to reach the expression renderer with odd types.
fn nft_like_json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("match"),
        Just("left"),
        Just("right"),
        Just("op"),
        Just("payload"),
        Just("prefix"),
        Just("set"),
        Just("concat"),
        Just("map"),
        Just("range"),
        Just("elem"),
        Just("counter"),
        Just("dnat"),
        Just("addr"),
        Just("port"),
        Just("flags"),
        Just("xt"),
        Just("&"),
        Just("jump"),
        Just("vmap"),
        Just("key"),
        Just("data"),
        Just("meta"),
        Just("name"),
        Just("chain"),
        Just("table"),
        Just("family"),
        Just("expr"),
        Just("rule"),
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[a-z@ ]{0,6}".prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..5).prop_map(|kv| {
                Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parsers_never_panic_on_random_text(s in any::<String>()) {
        let _ = iptables_save::parse(&s, IpFamily::V4, XtSource::Nft);
        let _ = nft_json::parse(&s);
        let _ = resolv::parse(&s);
        let _ = nsswitch::parse(&s);
        let _ = hosts::parse(&s);
    }

    #[test]
    fn parsers_never_panic_on_line_soup(
        lines in prop::collection::vec(
            "(\\*|:|-A |\\[|nameserver |options |search |hosts: |COMMIT|!|\"|#)[ -~]{0,40}",
            0..20,
        )
    ) {
        let s = lines.join("\n");
        let _ = iptables_save::parse(&s, IpFamily::V6, XtSource::Legacy);
        let _ = resolv::parse(&s);
        let _ = nsswitch::parse(&s);
        let _ = hosts::parse(&s);
    }

    #[test]
    fn iptables_survives_mutated_samples(
        idx in 0..IPTABLES.len(), pos in any::<usize>(), len in 0usize..200,
        insert in interesting(), kind in any::<u8>(),
    ) {
        let text = mutate(IPTABLES[idx], pos, len, &insert, kind);
        let (tables, _) = iptables_save::parse(&text, IpFamily::V4, XtSource::Nft);
        // Damage may drop rules but never invent more `-A` lines than the text has. A backslash
        // escapes the next character as in iptables-restore, so `-\A` is still `-A`.
        let rules: usize = tables.iter().flat_map(|t| &t.chains).map(|c| c.rules.len()).sum();
        prop_assert!(rules <= text.replace('\\', "").matches("-A").count());
    }

    #[test]
    fn nft_json_survives_mutated_samples(
        idx in 0..NFT.len(), pos in any::<usize>(), len in 0usize..200,
        insert in interesting(), kind in any::<u8>(),
    ) {
        let _ = nft_json::parse(&mutate(NFT[idx], pos, len, &insert, kind));
    }

    #[test]
    fn nft_json_survives_random_structures(rules in prop::collection::vec(nft_like_json(), 0..6)) {
        let items: Vec<Value> = rules
            .into_iter()
            .map(|expr| serde_json::json!({"rule": {"family": "ip", "table": "t", "chain": "c", "expr": expr}}))
            .collect();
        let doc = serde_json::json!({ "nftables": items }).to_string();
        let (tables, warnings) = nft_json::parse(&doc);
        prop_assert!(warnings.is_empty());
        prop_assert!(tables.len() <= 1);
    }

    #[test]
    fn dns_parsers_survive_mutated_samples(
        idx in 0..RESOLV.len(), nidx in 0..NSSWITCH.len(), pos in any::<usize>(),
        len in 0usize..80, insert in interesting(), kind in any::<u8>(),
    ) {
        let r = resolv::parse(&mutate(RESOLV[idx], pos, len, &insert, kind));
        prop_assert!(r.options.ndots <= 15);
        prop_assert!(r.options.timeout <= 30 && r.options.attempts <= 5);
        prop_assert!(r.effective_nameservers().len() <= 3);
        let _ = nsswitch::parse(&mutate(NSSWITCH[nidx], pos, len, &insert, kind));
        let _ = hosts::parse(&mutate(HOSTS, pos, len, &insert, kind));
    }
}

// Frames off the wire and filters off the command line are inputs too.
proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn decoding_any_bytes_never_panics(
        mut frame in proptest::collection::vec(any::<u8>(), 0..200),
        ethertype in prop_oneof![Just(0x0800u16), Just(0x86dd), Just(0x0806), Just(0x8100)],
        proto in prop_oneof![Just(1u8), Just(6), Just(17), Just(58)],
    ) {
        // Steer half the cases past the Ethernet and IP headers, where the parsers are.
        if frame.len() > 24 && frame[0] % 2 == 0 {
            frame[12..14].copy_from_slice(&ethertype.to_be_bytes());
            frame[14] = 0x45;
            frame[23] = proto;
        }
        let d = netlens::trace::decode::decode(&frame);
        let _ = d.to_string();
        // Whatever was decoded, a filter on what was decoded finds it.
        if let Some((src, _)) = d.outer_ip() {
            let f = netlens::trace::filter::Filter::parse(&[format!("src host {src}")]);
            prop_assert!(f.expect("valid").expect("non-empty").matches(&d));
        }
    }

    #[test]
    fn filter_parser_never_panics(words in proptest::collection::vec(
        prop_oneof![
            Just("host".to_string()), Just("net".into()), Just("port".into()),
            Just("portrange".into()), Just("src".into()), Just("dst".into()), Just("and".into()),
            Just("or".into()), Just("not".into()), Just("(".into()), Just(")".into()),
            Just("tcp".into()), Just("10.0.0.1".into()), Just("10.0.0.0/8".into()),
            Just("80".into()), Just("1-2".into()), any::<String>(),
        ], 0..8)) {
        let _ = netlens::trace::filter::Filter::parse(&words);
    }
}
