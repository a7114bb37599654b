//! Typed nft statements from real `nft -j` dumps, bounds, and old snapshots.

use super::*;
use crate::firewall::nft_json;
use crate::firewall::NftRule;

const LAB: &str =
    include_str!("../../tests/samples/nftables/netlens-lab_nat_forward_input.nft-j.json");
const KUBE_PROXY: &str =
    include_str!("../../tests/samples/nftables/kube-proxy/nft-j-list-ruleset.json");

fn rule(text: &str, table: &str, chain: &str, i: usize) -> NftRule {
    let (tables, warnings) = nft_json::parse(text);
    assert!(warnings.is_empty(), "{warnings:?}");
    let t = tables.iter().find(|t| t.name == table).expect("table");
    t.chain(chain).expect("chain").rules[i].clone()
}

#[test]
fn lab_dump_statements_are_typed() {
    let r = rule(LAB, "lab", "fwdc", 1);
    let s = r.stmts.expect("typed");
    assert_eq!(
        s[1],
        NftStmt::Match {
            key: NftKey::Oifname,
            op: NftOp::Eq,
            right: vec![NftAtom::Text("lb".into()), NftAtom::Text("lc".into())],
        }
    );
    assert_eq!(
        s[2],
        NftStmt::Match {
            key: NftKey::Daddr { v6: false },
            op: NftOp::Ne,
            right: vec![NftAtom::Prefix {
                addr: "10.9.0.0".into(),
                len: 16
            }],
        }
    );
    assert_eq!(
        s[3],
        NftStmt::Match {
            key: NftKey::Dport {
                proto: "tcp".into()
            },
            op: NftOp::Eq,
            right: vec![
                NftAtom::Num(80),
                NftAtom::Range {
                    lo: "1000".into(),
                    hi: "2000".into()
                }
            ],
        }
    );
    assert_eq!(s[4], NftStmt::Nop);
    assert!(matches!(&s[5], NftStmt::Verdict { verdict, .. } if verdict == "accept"));
    // `meta mark & 0xf0 == 0x10 jump subc`
    let s = rule(LAB, "lab", "fwdc", 2).stmts.unwrap();
    assert!(
        matches!(&s[0], NftStmt::Match { key: NftKey::Mark { mask: 0xf0 }, right, .. } if right == &[NftAtom::Num(16)])
    );
    assert!(
        matches!(&s[1], NftStmt::Verdict { verdict, target: Some(t) } if verdict == "jump" && t == "subc")
    );
    // A named set is looked up when walked; its elements are kept with the table.
    let s = rule(LAB, "lab", "fwdc", 3).stmts.unwrap();
    assert!(
        matches!(&s[0], NftStmt::Match { right, .. } if right == &[NftAtom::SetRef("allowed".into())]),
        "{s:?}"
    );
    let (tables, _) = nft_json::parse(LAB);
    let lab = tables.iter().find(|t| t.name == "lab").unwrap();
    assert_eq!(
        lab.named[0].elems,
        Some(vec![NftAtom::Text("10.0.0.1".into())])
    );
    let s = rule(LAB, "lab", "subc", 0).stmts.unwrap();
    assert_eq!(
        s[0],
        NftStmt::SetMark {
            ct: false,
            value: 32
        }
    );
    let s = rule(LAB, "labnat", "pre", 0).stmts.unwrap();
    assert_eq!(
        s[2],
        NftStmt::Nat {
            nat: "dnat".into(),
            to: Some("10.6.0.2:80".into())
        }
    );
    let s = rule(LAB, "labnat", "post", 0).stmts.unwrap();
    assert_eq!(
        s[2],
        NftStmt::Nat {
            nat: "masquerade".into(),
            to: None
        }
    );
    assert_eq!(
        rule(LAB, "lab", "inc", 1).stmts.unwrap()[1],
        NftStmt::Reject
    );
}

#[test]
fn kube_proxy_maps_and_fib_are_unmodeled() {
    let (tables, _) = nft_json::parse(KUBE_PROXY);
    let stmts: Vec<&NftStmt> = tables
        .iter()
        .flat_map(|t| &t.chains)
        .flat_map(|c| &c.rules)
        .flat_map(|r| r.stmts.as_deref().unwrap_or(&[]))
        .collect();
    assert!(stmts
        .iter()
        .any(|s| matches!(s, NftStmt::Unmodeled { what } if what.contains("vmap"))));
    assert!(stmts.iter().any(|s| matches!(s, NftStmt::Verdict { .. })));
    assert!(stmts.iter().any(|s| matches!(s, NftStmt::Match { .. })));
}

#[test]
fn bounds_hold() {
    let many: Vec<Value> = (0..MAX_STMTS + 1)
        .map(|_| serde_json::json!({"counter": null}))
        .collect();
    assert!(matches!(
        &parse_rule(&many)[..],
        [NftStmt::Unmodeled { .. }]
    ));
    let big: Vec<u64> = (0..MAX_ATOMS as u64 + 1).collect();
    let m = serde_json::json!({"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": {"set": big}}});
    assert!(matches!(&parse_rule(&[m])[..], [NftStmt::Unmodeled { .. }]));
    // Odd shapes degrade, never panic.
    for v in [
        serde_json::json!(5),
        serde_json::json!({"match": {"op": "==", "left": {"&": [1]}, "right": 1}}),
        serde_json::json!({"match": {"op": "==", "left": {"meta": {"key": "mark"}}, "right": -1}}),
        serde_json::json!({"mangle": {"key": {"meta": {"key": "mark"}}, "value": 99999999999u64}}),
        serde_json::json!({"dnat": {"addr": {"map": {}}}}),
        serde_json::json!({"jump": {}}),
    ] {
        assert!(matches!(&parse_rule(&[v])[..], [NftStmt::Unmodeled { .. }]));
    }
}

#[test]
fn old_snapshot_rules_load_without_statements() {
    let old = r#"{"handle":3,"comment":null,"expr_summary":"tcp dport 22 drop","verdict":"drop","counters":null}"#;
    let r: NftRule = serde_json::from_str(old).expect("old rule loads");
    assert_eq!(r.stmts, None);
    let new = serde_json::to_string(&rule(LAB, "lab", "inc", 0)).unwrap();
    let back: NftRule = serde_json::from_str(&new).unwrap();
    assert_eq!(back, rule(LAB, "lab", "inc", 0));
}

#[test]
fn dynamic_sets_and_verdict_maps() {
    let dynamic = serde_json::json!({"name": "seen", "type": "ipv4_addr", "flags": ["dynamic", "timeout"], "elem": ["10.0.0.1"]});
    assert_eq!(named_set("seen", &dynamic).elems, None, "packets change it");
    let map = serde_json::json!({"name": "jumps", "type": "ifname", "map": "verdict", "elem": [["docker0", {"jump": {"target": "in__docker0"}}]]});
    let m = named_set("jumps", &map);
    assert_eq!(
        m.verdicts.unwrap()[0].target.as_deref(),
        Some("in__docker0")
    );
    let data = serde_json::json!({"name": "d", "type": "ipv4_addr", "map": "ipv4_addr", "elem": [["10.0.0.1", "10.0.0.2"]]});
    let d = named_set("d", &data);
    assert!(d.elems.is_none() && d.verdicts.is_none());
}
