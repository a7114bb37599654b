//! Tests of nft_json.rs.

use super::*;
use crate::model::firewall::Counters;

fn summary_of(expr_json: &str) -> NftRule {
    let text = format!(
        r#"{{"nftables":[{{"rule":{{"family":"ip","table":"t","chain":"c","handle":5,"expr":{expr_json}}}}}]}}"#
    );
    let (tables, warnings) = parse(&text);
    assert!(warnings.is_empty(), "{warnings:?}");
    tables[0].chains[0].rules[0].clone()
}

#[test]
fn iptables_nft_masquerade_renders_xt() {
    let r = summary_of(
        r#"[{"match":{"op":"==","left":{"payload":{"protocol":"ip","field":"saddr"}},"right":{"prefix":{"addr":"192.168.15.0","len":24}}}},{"xt":{"type":"match","name":"comment"}},{"counter":{"packets":3,"bytes":252}},{"xt":{"type":"target","name":"MASQUERADE"}}]"#,
    );
    assert_eq!(
        r.expr_summary,
        "ip saddr 192.168.15.0/24 xt comment counter packets 3 bytes 252 xt MASQUERADE"
    );
    assert_eq!(r.verdict.as_deref(), Some("xt MASQUERADE"));
    assert_eq!(
        r.counters,
        Some(Counters {
            packets: 3,
            bytes: 252
        })
    );
}

#[test]
fn not_equal_and_masquerade_flags() {
    let r = summary_of(
        r#"[{"match":{"op":"!=","left":{"meta":{"key":"oifname"}},"right":"eth0"}},{"masquerade":{"flags":"fully-random"}}]"#,
    );
    assert_eq!(r.expr_summary, "oifname != eth0 masquerade fully-random");
    assert_eq!(r.verdict.as_deref(), Some("masquerade"));
}

#[test]
fn unexpected_shapes_do_not_fail() {
    for text in [
        "",
        "[]",
        r#"{"nftables":{}}"#,
        r#"{"nftables":[1,"x",{"rule":5},{"rule":{"expr":7}},{"chain":[]}]}"#,
        r#"{"nftables":[{"rule":{"expr":[{"match":{"left":[],"right":{"range":3}}},{"dnat":{}},{"counter":"c"}]}}]}"#,
    ] {
        let _ = parse(text);
    }
}
