//! Inputs netlens takes from containers, files and saved artefacts, beyond the firewall and
//! DNS text parsers of `proptest_parsers.rs`: raw bytes into the DNS parsers (as the read
//! path decodes them), CNI configs, host-local lease files and their directory, saved
//! snapshots, plan files, and capture filters of moderate depth (the deep-nesting limit is
//! the filter parser's own test). Each must never panic, never loop, and keep its output
//! bounded by its input; whatever is accepted must survive everything netlens then does with
//! it (doctor, diff, text report, plan preview).

use crate::common::mutate;
use mutate::mutate;
use proptest::prelude::*;
use serde_json::Value;

use netlens::cni::{config as cni_config, ipam, ranges};
use netlens::dnsconf::{hosts, nsswitch, resolv};
use netlens::firewall::nft_json;
use netlens::model::Snapshot;
use netlens::plan::{shell, validate, Plan};
use netlens::saved::snapshot as saved_snapshot;
use netlens::trace::decode::decode;
use netlens::trace::filter::{Dir, Filter, Proto};

const CNI: &[(&str, &str)] = &[
    (
        "10-crio-bridge.conflist",
        include_str!("../samples/cni/crio_10-crio-bridge.conflist"),
    ),
    (
        "10-flannel.conflist",
        include_str!("../samples/cni/flannel_10-flannel.conflist"),
    ),
    (
        "87-podman-bridge.conflist",
        include_str!("../samples/cni/insights_87-podman-bridge.conflist"),
    ),
    (
        "05-cilium-cni.conf",
        include_str!("../samples/cni/cilium_05-cilium-cni.conf"),
    ),
    (
        "dbnet.conflist",
        include_str!("../samples/cni/cni-spec_dbnet.conflist.jsonc"),
    ),
    (
        "chain.conflist",
        include_str!(
            "../samples/cni/cniplugins_chained-bridge-bandwidth_network-chain-test.conflist"
        ),
    ),
];
const SNAPSHOTS: &[&str] = &[
    include_str!("../../assets/demo-bridge.json"),
    include_str!("../../assets/demo-cluster.json"),
];
const PLAN_DOC: &str = r#"{
  "id": "20261125T120000Z-1a2b",
  "title": "connect red",
  "steps": [
    {"step": "add_veth", "ns": "host", "name": "to-red", "peer_ns": "red", "peer": "eth0"},
    {"step": "add_address", "ns": "red", "link": "eth0", "addr": "10.77.0.2/24"},
    {"step": "set_link_up", "ns": "red", "link": "eth0", "up": true},
    {"step": "add_route", "ns": "red", "route": {"dst": "0.0.0.0/0", "via": "10.77.0.1"}},
    {"step": "set_sysctl", "ns": "host", "key": "net/ipv4/ip_forward", "value": "1", "persist": true},
    {"step": "add_iptables_rule", "ns": "host", "table": "nat", "chain": "POSTROUTING",
     "rule": ["-s", "10.77.0.0/24", "-m", "comment", "--comment", "netlens", "-j", "MASQUERADE"]},
    {"step": "set_mtu", "ns": "host", "link": "to-red", "mtu": 1450},
    {"step": "write_file", "ns": "red", "path": "/etc/netns/red/resolv.conf", "content": "nameserver 10.0.0.1\n"},
    {"step": "release_ipam_lease", "dir": "/var/lib/cni/networks/cbr0", "ip": "10.244.0.9"},
    {"step": "restore_route", "ns": "red", "route": {"dst": "10.0.0.0/8", "dev": "eth0"}, "protocol": 4, "scope": 253, "kind": 1},
    {"step": "recreate_link", "kind": "veth", "link": {"ns": "host", "name": "v1"}, "peer": {"ns": "red", "name": "v2"}}
  ]
}"#;

/// `n` cases, times `NETLENS_PROPTEST_SCALE` (default 1): a longer hunt runs the same file
/// with, say, 50.
fn cases(n: u32) -> u32 {
    let scale = std::env::var("NETLENS_PROPTEST_SCALE")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(1)
        .max(1);
    n.saturating_mul(scale)
}

/// Linear output: at most this many bytes of parsed result per input byte, plus a constant.
/// (Warnings quote the input with Debug escapes, which can grow a byte ~10 times, and each
/// line may cost a fixed-size warning.)
const GROWTH: usize = 64;

fn bounded<T: serde::Serialize>(what: &str, input: usize, out: &T) -> Result<(), TestCaseError> {
    let size = serde_json::to_vec(out).unwrap().len();
    prop_assert!(
        size <= GROWTH * input + 4096,
        "{what}: {input} bytes in, {size} bytes out"
    );
    Ok(())
}

fn json_fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        Just("{".to_string()),
        Just("}".to_string()),
        Just("[".to_string()),
        Just("null".to_string()),
        Just("\"\\u0000\"".to_string()),
        Just("\"\\ud800\"".to_string()),
        Just("1e999".to_string()),
        Just("-1".to_string()),
        Just("18446744073709551616".to_string()),
        Just(",".to_string()),
        Just("\"type\":".to_string()),
        Just("\"plugins\":[".to_string()),
        Just("\"ipam\":{\"type\":\"host-local\",\"subnet\":".to_string()),
        Just("\"10.0.0.0/0\"".to_string()),
        Just("\"::/0\"".to_string()),
        Just("\"1.2.3.4/33\"".to_string()),
        Just("\"rangeStart\":\"255.255.255.255\"".to_string()),
    ]
}

/// Values that stress typed fields: bounds of every integer width, odd floats, strings that
/// look like addresses but are not, escapes, empties, wrong types.
fn hostile_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        prop_oneof![
            Just(0i64),
            Just(-1),
            Just(1),
            Just(255),
            Just(256),
            Just(65535),
            Just(65536),
            Just(i64::from(u32::MAX)),
            Just(i64::from(u32::MAX) + 1),
            Just(i64::MAX),
            Just(i64::MIN),
            Just(32),
            Just(33),
            Just(128),
            Just(129),
        ]
        .prop_map(Value::from),
        Just(Value::from(u64::MAX)),
        Just(Value::from(1.5f64)),
        prop_oneof![
            Just(""),
            Just("0.0.0.0/0"),
            Just("::/0"),
            Just("255.255.255.255/32"),
            Just("10.0.0.1/33"),
            Just("fe80::1%eth0"),
            Just("::ffff:10.0.0.1"),
            Just("\u{1b}[2J\n-A FORWARD -j ACCEPT\r"),
            Just("../../../../etc/passwd"),
            Just("host"),
            Just("lo"),
            Just("a-very-long-interface-name-over-15"),
            Just("ip4"),
            Just("veth"),
            Just("bridge"),
        ]
        .prop_map(|s| Value::String(s.to_string())),
        "[ -~]{0,20}".prop_map(Value::String),
        Just(Value::Array(vec![])),
        Just(serde_json::json!({})),
        Just(Value::String("x".repeat(70_000))),
    ]
}

/// Every node of `v`, depth first, counted; `replace` swaps node number `target` for `with`.
fn count_nodes(v: &Value) -> usize {
    1 + match v {
        Value::Array(a) => a.iter().map(count_nodes).sum(),
        Value::Object(o) => o.values().map(count_nodes).sum(),
        _ => 0,
    }
}

fn replace(v: &mut Value, target: &mut usize, with: &Value) -> bool {
    if *target == 0 {
        *v = with.clone();
        return true;
    }
    *target -= 1;
    match v {
        Value::Array(a) => a.iter_mut().any(|c| replace(c, target, with)),
        Value::Object(o) => o.values_mut().any(|c| replace(c, target, with)),
        _ => false,
    }
}

/// `doc` with up to three of its nodes replaced by hostile values, or an array element
/// duplicated (two links of one name, two namespaces of one inode…).
fn mutate_value(doc: &Value, edits: &[(usize, Value)]) -> Value {
    let mut v = doc.clone();
    for (at, with) in edits {
        let n = count_nodes(&v);
        let mut target = at % n;
        replace(&mut v, &mut target, with);
    }
    v
}

/// An edit that keeps the document loadable more often than a random value does: a number
/// becomes another number at a boundary, a string another string (address-like, empty,
/// escapes), an array loses or repeats an element (two links of one name, a namespace twice).
#[derive(Debug, Clone)]
enum Edit {
    Typed(usize, usize),
    Duplicate(usize),
    Drop(usize),
    Empty(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::Typed(a, b)),
        1 => any::<usize>().prop_map(Edit::Duplicate),
        1 => any::<usize>().prop_map(Edit::Drop),
        1 => any::<usize>().prop_map(Edit::Empty),
    ]
}

const NUMBERS: &[i128] = &[
    0,
    1,
    2,
    7,
    15,
    16,
    31,
    32,
    33,
    63,
    64,
    65,
    127,
    128,
    129,
    254,
    255,
    256,
    1500,
    65535,
    65536,
    2147483647,
    4294967295,
    4294967296,
    9223372036854775807,
    18446744073709551615,
];
const STRINGS: &[&str] = &[
    "",
    "host",
    "lo",
    "eth0",
    "0.0.0.0",
    "0.0.0.0/0",
    "::",
    "::/0",
    "255.255.255.255",
    "10.0.0.1/32",
    "fe80::1",
    "ff:ff:ff:ff:ff:ff",
    "00:00:00:00:00:00",
    "\u{1b}[2J",
    "a\nb",
    "ACCEPT",
    "DROP",
    "MASQUERADE",
    "1",
    "0",
    "-1",
    "up",
    "down",
    "veth",
    "bridge",
];

/// The node at `target` (depth-first index), mutably.
fn node_at<'a>(v: &'a mut Value, target: &mut usize) -> Option<&'a mut Value> {
    if *target == 0 {
        return Some(v);
    }
    *target -= 1;
    match v {
        Value::Array(a) => a.iter_mut().find_map(|c| node_at(c, target)),
        Value::Object(o) => o.values_mut().find_map(|c| node_at(c, target)),
        _ => None,
    }
}

fn apply_edits(doc: &Value, edits: &[Edit]) -> Value {
    let mut v = doc.clone();
    for e in edits {
        let n = count_nodes(&v);
        let (at, pick) = match e {
            Edit::Typed(a, b) => (*a, *b),
            Edit::Duplicate(a) | Edit::Drop(a) | Edit::Empty(a) => (*a, *a / 7),
        };
        let mut target = at % n;
        let Some(node) = node_at(&mut v, &mut target) else {
            continue;
        };
        match (e, node) {
            (Edit::Typed(..), Value::Number(num)) => {
                let x = NUMBERS[pick % NUMBERS.len()];
                // Keep the sign and integer-ness the field had, so it still loads.
                *num = if num.is_u64() || num.is_i64() {
                    serde_json::Number::from(x.min(i128::from(u64::MAX)) as u64)
                } else {
                    serde_json::Number::from_f64(x as f64).unwrap()
                };
            }
            (Edit::Typed(..), Value::String(s)) => {
                *s = STRINGS[pick % STRINGS.len()].to_string();
            }
            (Edit::Typed(..), Value::Bool(b)) => *b = !*b,
            (Edit::Duplicate(_), Value::Array(a)) if !a.is_empty() => {
                let i = pick % a.len();
                let c = a[i].clone();
                a.push(c);
            }
            (Edit::Drop(_), Value::Array(a)) if !a.is_empty() => {
                a.remove(pick % a.len());
            }
            (Edit::Empty(_), Value::Array(a)) => a.clear(),
            _ => {}
        }
    }
    v
}

fn parsed_snapshots() -> &'static [(Value, usize)] {
    static DOCS: std::sync::OnceLock<Vec<(Value, usize)>> = std::sync::OnceLock::new();
    DOCS.get_or_init(|| {
        SNAPSHOTS
            .iter()
            .map(|s| {
                let v: Value = serde_json::from_str(s).unwrap();
                let n = count_nodes(&v);
                (v, n)
            })
            .collect()
    })
}

/// Everything netlens does with a loaded snapshot, none of which may panic.
fn use_snapshot(snap: &Snapshot, other: &Snapshot) {
    let findings = netlens::diagnose::diagnose(snap);
    for f in &findings {
        if let Some(fix) = &f.fix {
            for s in &fix.steps {
                let _ = shell::commands(s);
                let _ = s.to_string();
            }
        }
    }
    let _ = netlens::report::snapshot::render(snap);
    let d = netlens::model::diff::diff(other, snap);
    let _ = netlens::report::diff::render(&d);
    let d = netlens::model::diff::diff(snap, other);
    let _ = netlens::report::diff::render(&d);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(256), ..ProptestConfig::default() })]

    /// The DNS read path decodes a container's bytes lossily; any bytes must parse, with output
    /// linear in the input.
    #[test]
    fn dns_parsers_take_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let text = String::from_utf8_lossy(&bytes);
        bounded("resolv.conf", bytes.len(), &resolv::parse(&text))?;
        bounded("hosts", bytes.len(), &hosts::parse(&text))?;
        bounded("nsswitch.conf", bytes.len(), &nsswitch::parse(&text))?;
    }

    #[test]
    fn cni_config_takes_any_bytes(
        bytes in prop::collection::vec(any::<u8>(), 0..1024),
        ext in prop_oneof![Just("conf"), Just("conflist"), Just("json")],
    ) {
        let p = cni_config::parse(&format!("/etc/cni/net.d/x.{ext}"), &bytes);
        bounded("cni config", bytes.len(), &p.config)?;
    }

    #[test]
    fn cni_config_survives_mutated_samples(
        idx in 0..CNI.len(), pos in any::<usize>(), len in 0usize..120,
        insert in json_fragment(), kind in any::<u8>(),
    ) {
        let (name, text) = CNI[idx];
        let text = mutate(text, pos, len, &insert, kind);
        let p = cni_config::parse(&format!("/etc/cni/net.d/{name}"), text.as_bytes());
        bounded("cni config", text.len(), &p.config)?;
        for spec in &p.ipam {
            for (i, set) in spec.range_sets.iter().enumerate() {
                for r in set {
                    let _ = ranges::canonical(r, i as u32);
                }
            }
        }
    }

    /// Typed fields given values of the wrong type or out of range, deep in a real config.
    #[test]
    fn cni_config_survives_hostile_values(
        idx in 0..CNI.len(),
        edits in prop::collection::vec((any::<usize>(), hostile_value()), 1..4),
    ) {
        let (name, text) = CNI[idx];
        // The .jsonc sample has comments; mutate the others at the value level.
        let Ok(doc) = serde_json::from_str::<Value>(text) else { return Ok(()) };
        let bytes = serde_json::to_vec(&mutate_value(&doc, &edits)).unwrap();
        let p = cni_config::parse(&format!("/etc/cni/net.d/{name}"), &bytes);
        bounded("cni config", bytes.len(), &p.config)?;
        for spec in &p.ipam {
            for (i, set) in spec.range_sets.iter().enumerate() {
                for r in set {
                    if let Ok(range) = ranges::canonical(r, i as u32) {
                        let _ = serde_json::to_string(&range).unwrap();
                    }
                }
            }
        }
    }

    #[test]
    fn lease_text_is_bounded(text in any::<String>()) {
        let (id, ifname) = ipam::parse_lease(&text);
        prop_assert!(id.len() + ifname.map_or(0, |i| i.len()) <= text.len());
        let _ = ipam::flannel_subnet(&text);
    }
}

/// A file name host-local could never have written, or one it did.
fn lease_name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}",
        "[0-9a-f:]{2,20}",
        Just("lock".to_string()),
        "last_reserved_ip\\.[0-9]{0,12}",
        "[^/\u{0}]{1,40}",
    ]
    .prop_filter("a file name", |n| n != "." && n != ".." && n.len() < 250)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(48), ..ProptestConfig::default() })]

    /// A lease directory of arbitrary names and contents: every entry is an allocation, a
    /// reservation or an "other file", never more, and what is kept of each file is bounded.
    #[test]
    fn lease_directory_of_anything(
        files in prop::collection::vec(
            (lease_name(), prop::collection::vec(any::<u8>(), 0..300), any::<bool>()),
            0..12,
        )
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut written = std::collections::BTreeSet::new();
        for (name, content, as_dir) in &files {
            let p = dir.path().join(name);
            if written.contains(name) {
                continue;
            }
            let ok = if *as_dir {
                std::fs::create_dir(&p).is_ok()
            } else {
                std::fs::write(&p, content).is_ok()
            };
            if ok {
                written.insert(name.clone());
            }
        }
        let net = ipam::read_dir("net", None, dir.path());
        prop_assert!(net.dir_exists);
        let kept = net.allocations.len() + net.last_reserved.len() + net.other_files.len();
        prop_assert!(kept <= written.len(), "{kept} entries from {} files", written.len());
        for a in &net.allocations {
            prop_assert!(a.container_id.len() <= 4096);
            prop_assert!(written.iter().any(|n| n.parse::<std::net::IpAddr>().ok() == Some(a.ip)));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(96), ..ProptestConfig::default() })]

    #[test]
    fn snapshot_loader_takes_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = saved_snapshot::parse(&bytes);
    }

    /// Cut, spliced or damaged saved snapshots: refused with a one-line reason, or loaded and
    /// then usable by everything downstream.
    #[test]
    fn snapshot_loader_survives_mutated_text(
        idx in 0..SNAPSHOTS.len(), pos in any::<usize>(), len in 0usize..200,
        insert in json_fragment(), kind in any::<u8>(),
    ) {
        let text = mutate(SNAPSHOTS[idx], pos, len, &insert, kind);
        match saved_snapshot::parse(text.as_bytes()) {
            Err(e) => prop_assert!(!e.contains('\n'), "{e}"),
            Ok(snap) => {
                let other: Snapshot = serde_json::from_str(SNAPSHOTS[(idx + 1) % SNAPSHOTS.len()]).unwrap();
                use_snapshot(&snap, &other);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(96), ..ProptestConfig::default() })]

    /// Field values replaced by hostile ones (u32::MAX prefix lengths, empty names, escapes,
    /// wrong types): whatever still loads goes through doctor, diff and the text report, and
    /// serialises back to what was loaded.
    #[test]
    fn snapshot_with_hostile_values_is_safe_downstream(
        idx in 0..SNAPSHOTS.len(),
        edits in prop::collection::vec((any::<usize>(), hostile_value()), 1..4),
    ) {
        let (doc, _) = &parsed_snapshots()[idx];
        let v = mutate_value(doc, &edits);
        let bytes = serde_json::to_vec(&v).unwrap();
        match saved_snapshot::parse(&bytes) {
            Err(e) => prop_assert!(!e.contains('\n'), "{e}"),
            Ok(snap) => {
                let again = saved_snapshot::parse(&serde_json::to_vec(&snap).unwrap())
                    .expect("a loaded snapshot saves and loads again");
                prop_assert!(again == snap);
                let other: Snapshot = serde_json::from_value(parsed_snapshots()[(idx + 1) % SNAPSHOTS.len()].0.clone()).unwrap();
                use_snapshot(&snap, &other);
            }
        }
    }

    /// Type-preserving damage (boundary numbers, address-like strings, repeated or missing
    /// array elements) mostly still loads, so doctor, diff and the report see it.
    #[test]
    fn snapshot_with_typed_damage_is_safe_downstream(
        idx in 0..SNAPSHOTS.len(),
        edits in prop::collection::vec(edit(), 1..6),
    ) {
        let (doc, _) = &parsed_snapshots()[idx];
        let bytes = serde_json::to_vec(&apply_edits(doc, &edits)).unwrap();
        if let Ok(snap) = saved_snapshot::parse(&bytes) {
            let other: Snapshot = serde_json::from_value(parsed_snapshots()[(idx + 1) % SNAPSHOTS.len()].0.clone()).unwrap();
            use_snapshot(&snap, &other);
        }
    }

    /// The same damage to the example plan: refused cleanly or previewed.
    #[test]
    fn plan_files_with_typed_damage(edits in prop::collection::vec(edit(), 1..6)) {
        let doc: Value = serde_json::from_str(PLAN_DOC).unwrap();
        check_plan_text(&serde_json::to_string(&apply_edits(&doc, &edits)).unwrap())?;
    }

    /// Plans: any JSON is either refused (parse or offline validation, one line) or is a plan
    /// whose preview can be shown. Nothing here can run a step: the engine validates first.
    #[test]
    fn plan_files_with_hostile_values(
        edits in prop::collection::vec((any::<usize>(), hostile_value()), 1..4),
    ) {
        let doc: Value = serde_json::from_str(PLAN_DOC).unwrap();
        let text = serde_json::to_string(&mutate_value(&doc, &edits)).unwrap();
        check_plan_text(&text)?;
    }

    #[test]
    fn plan_files_mutated_as_text(
        pos in any::<usize>(), len in 0usize..100, insert in json_fragment(), kind in any::<u8>(),
    ) {
        check_plan_text(&mutate(PLAN_DOC, pos, len, &insert, kind))?;
    }

    #[test]
    fn plan_files_of_any_text(text in any::<String>()) {
        check_plan_text(&text)?;
    }
}

fn check_plan_text(text: &str) -> Result<(), TestCaseError> {
    let plan = match Plan::parse(text) {
        Ok(p) => p,
        Err(e) => {
            prop_assert!(!e.contains('\n'), "{e}");
            return Ok(());
        }
    };
    match validate::validate_offline(&plan) {
        Err(e) => {
            let msg = e.to_string();
            prop_assert!(e.is_bad_input(), "{msg}");
        }
        Ok(()) => {
            prop_assert!(netlens::plan::spec::valid_id(&plan.id));
            let preview = netlens::plan::preview(&plan);
            let size: usize = preview.iter().map(String::len).sum();
            prop_assert!(size <= GROWTH * text.len() + 4096);
            for s in &plan.steps {
                let _ = shell::commands(s);
            }
            // What is accepted saves and loads as itself.
            let again = Plan::parse(&serde_json::to_string(&plan).unwrap()).unwrap();
            prop_assert!(again == plan);
        }
    }
    Ok(())
}

/// A filter tree of at most `depth` levels with primitives that the frames below can hit.
fn filter_tree(depth: u32) -> impl Strategy<Value = Filter> {
    let dir = prop_oneof![Just(Dir::Src), Just(Dir::Dst), Just(Dir::Either)];
    let ip = prop_oneof![Just("10.0.0.1"), Just("10.0.0.2"), Just("fd00::1")]
        .prop_map(|s| s.parse::<std::net::IpAddr>().unwrap());
    let net = prop_oneof![Just("10.0.0.0/8"), Just("10.0.0.2/32"), Just("fd00::/64")]
        .prop_map(|s| s.parse::<ipnet::IpNet>().unwrap());
    let leaf = prop_oneof![
        (dir.clone(), ip).prop_map(|(d, a)| Filter::Host(d, a)),
        (dir.clone(), net).prop_map(|(d, n)| Filter::Net(d, n)),
        (dir, 1u16..100, 0u16..50).prop_map(|(d, a, w)| Filter::Port(d, a, a + w)),
        prop_oneof![
            Just(Proto::Tcp),
            Just(Proto::Udp),
            Just(Proto::Icmp),
            Just(Proto::Ip),
            Just(Proto::Ip6),
            Just(Proto::Arp),
        ]
        .prop_map(Filter::Proto),
    ];
    leaf.prop_recursive(depth, 64, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(|f| Filter::Not(Box::new(f))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::And(vec![a, b])),
            (inner.clone(), inner).prop_map(|(a, b)| Filter::Or(vec![a, b])),
        ]
    })
}

/// tcpdump words for `f`, every compound in parentheses (`extra` more around the whole).
fn words(f: &Filter, out: &mut Vec<String>) {
    let dir = |d: &Dir| match d {
        Dir::Src => Some("src"),
        Dir::Dst => Some("dst"),
        Dir::Either => None,
    };
    let mut push = |s: &str| out.push(s.to_string());
    match f {
        Filter::Host(d, a) => {
            if let Some(d) = dir(d) {
                push(d);
            }
            push("host");
            push(&a.to_string());
        }
        Filter::Net(d, n) => {
            if let Some(d) = dir(d) {
                push(d);
            }
            push("net");
            push(&n.to_string());
        }
        Filter::Port(d, a, b) => {
            if let Some(d) = dir(d) {
                push(d);
            }
            if a == b {
                push("port");
                push(&a.to_string());
            } else {
                push("portrange");
                push(&format!("{a}-{b}"));
            }
        }
        Filter::Proto(p) => push(match p {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Icmp => "icmp",
            Proto::Icmp6 => "icmp6",
            Proto::Arp => "arp",
            Proto::Ip => "ip",
            Proto::Ip6 => "ip6",
            Proto::Vlan => "vlan",
            Proto::Vxlan => "vxlan",
        }),
        Filter::Not(a) => {
            out.push("not".into());
            out.push("(".into());
            words(a, out);
            out.push(")".into());
        }
        Filter::And(parts) | Filter::Or(parts) => {
            let joiner = if matches!(f, Filter::And(..)) {
                "and"
            } else {
                "or"
            };
            for (i, part) in parts.iter().enumerate() {
                if i > 0 {
                    out.push(joiner.into());
                }
                out.push("(".into());
                words(part, out);
                out.push(")".into());
            }
        }
    }
}

/// An Ethernet + IPv4 frame, TCP, UDP or ICMP, between two of the addresses above.
fn frame(src_last: u8, dst_last: u8, proto: u8, sport: u16, dport: u16) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
    let l4: Vec<u8> = match proto {
        6 => {
            let mut t = Vec::new();
            t.extend_from_slice(&sport.to_be_bytes());
            t.extend_from_slice(&dport.to_be_bytes());
            t.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0]);
            t
        }
        17 => {
            let mut u = Vec::new();
            u.extend_from_slice(&sport.to_be_bytes());
            u.extend_from_slice(&dport.to_be_bytes());
            u.extend_from_slice(&8u16.to_be_bytes());
            u.extend_from_slice(&[0, 0]);
            u
        }
        _ => vec![8, 0, 0, 0, 0, 1, 0, 1],
    };
    let total = (20 + l4.len()) as u16;
    f.extend_from_slice(&[0x45, 0]);
    f.extend_from_slice(&total.to_be_bytes());
    f.extend_from_slice(&[0, 1, 0x40, 0, 64, proto, 0, 0]);
    f.extend_from_slice(&[10, 0, 0, src_last]);
    f.extend_from_slice(&[10, 0, 0, dst_last]);
    f.extend_from_slice(&l4);
    f
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(256), ..ProptestConfig::default() })]

    /// A filter written out in words parses back to one that decides every frame the same
    /// way, at nesting depths a person writes (up to ~50 parentheses; the deep case is the
    /// filter parser's own limit test).
    #[test]
    fn filters_parse_to_what_was_written(
        tree in filter_tree(5),
        extra in 0usize..20,
        frames in prop::collection::vec((1u8..4, 1u8..4, prop_oneof![Just(1u8), Just(6), Just(17)], 1u16..160, 1u16..160), 1..8),
    ) {
        let mut w = vec!["(".to_string(); extra];
        words(&tree, &mut w);
        w.extend(std::iter::repeat_n(")".to_string(), extra));
        let parsed = Filter::parse(&w)
            .map_err(|e| TestCaseError::fail(format!("{e} for {}", w.join(" "))))?
            .expect("non-empty");
        for (s, d, p, sp, dp) in frames {
            let decoded = decode(&frame(s, d, p, sp, dp));
            prop_assert_eq!(parsed.matches(&decoded), tree.matches(&decoded), "{}", w.join(" "));
        }
    }

    /// Moderate nesting of parentheses around random words never panics.
    #[test]
    fn filters_with_moderate_nesting_never_panic(
        open in 0usize..50, close in 0usize..50,
        middle in prop::collection::vec(prop_oneof![
            Just("tcp"), Just("and"), Just("or"), Just("not"), Just("!"), Just("&&"),
            Just("port"), Just("80"), Just("host"), Just("10.0.0.1"), Just("("), Just(")"),
        ], 0..10),
    ) {
        let mut w = vec!["(".to_string(); open];
        w.extend(middle.iter().map(|s| s.to_string()));
        w.extend(std::iter::repeat_n(")".to_string(), close));
        let _ = Filter::parse(&w);
        let _ = Filter::parse(&[w.join("")]);
    }

    /// nft JSON that is deep but within serde's limit: one error or a result, never a crash.
    #[test]
    fn nft_json_nested_within_limits(depth in 1usize..120, arrays in any::<bool>()) {
        let (open, close) = if arrays { ("[", "]") } else { ("{\"expr\":", "}") };
        let inner = format!("{}1{}", open.repeat(depth), close.repeat(depth));
        let doc = format!("{{\"nftables\":[{{\"rule\":{{\"family\":\"ip\",\"table\":\"t\",\"chain\":\"c\",\"expr\":[{inner}]}}}}]}}");
        let _ = nft_json::parse(&doc);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(192), ..ProptestConfig::default() })]

    /// The firewall parsers read what a namespace's tools print, which a container's rules
    /// (comments, chain names) shape: output stays linear in the input.
    #[test]
    fn firewall_parsers_stay_linear(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let text = String::from_utf8_lossy(&bytes);
        let (t, w) = netlens::firewall::iptables_save::parse(
            &text,
            netlens::firewall::IpFamily::V4,
            netlens::firewall::XtSource::Nft,
        );
        bounded("iptables-save", bytes.len(), &(t, w))?;
        bounded("nft -j", bytes.len(), &nft_json::parse(&text))?;
    }

    #[test]
    fn iptables_rule_lines_stay_linear(
        lines in prop::collection::vec(
            "(\\*(nat|filter)|:[A-Z]{1,8} ACCEPT \\[0:0\\]|-A [A-Z]{1,8}( (-s|-d|-j|-m|--comment|!|-p) [ -~]{0,10}){0,5}|COMMIT)",
            0..150,
        )
    ) {
        let text = lines.join("\n");
        let (t, w) = netlens::firewall::iptables_save::parse(
            &text,
            netlens::firewall::IpFamily::V6,
            netlens::firewall::XtSource::Legacy,
        );
        bounded("iptables-save", text.len(), &(t, w))?;
    }
}

/// A file at the read path's cap (1 MiB) takes each parser a bounded time: anything
/// quadratic would take minutes here, not the second or two a linear pass takes in debug.
#[test]
fn parsers_take_a_capped_file_in_linear_time() {
    const MIB: usize = 1 << 20;
    let fill = |unit: &str| unit.repeat(MIB / unit.len());
    let started = std::time::Instant::now();
    for text in [
        fill("nameserver 10.0.0.1\n"),
        fill("search a b c d e f\n"),
        fill("options ndots:5 timeout:3\n"),
        "x".repeat(MIB),
        fill("10.0.0.1 a b c d e f g\n"),
        fill("hosts: files [NOTFOUND=return] dns\n"),
        fill("\n"),
        fill("#"),
    ] {
        let _ = resolv::parse(&text);
        let _ = hosts::parse(&text);
        let _ = nsswitch::parse(&text);
    }
    for text in [
        format!(
            "*filter\n{}COMMIT\n",
            fill("-A INPUT -s 10.0.0.1/32 -j ACCEPT\n")
        ),
        format!("*nat\n{}COMMIT\n", fill(":C - [0:0]\n")),
        format!(
            "*filter\n-A X -m comment --comment \"{}\" -j ACCEPT\nCOMMIT\n",
            "\\\"".repeat(MIB / 2)
        ),
    ] {
        let _ = netlens::firewall::iptables_save::parse(
            &text,
            netlens::firewall::IpFamily::V4,
            netlens::firewall::XtSource::Nft,
        );
    }
    let rules = (0..MIB / 120)
        .map(|i| format!(r#"{{"rule":{{"family":"ip","table":"t","chain":"c{}","expr":[{{"accept":null}}]}}}}"#, i % 50))
        .collect::<Vec<_>>()
        .join(",");
    let _ = nft_json::parse(&format!("{{\"nftables\":[{rules}]}}"));
    let took = started.elapsed();
    assert!(
        took < std::time::Duration::from_secs(60),
        "1 MiB inputs took {took:?}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(48), ..ProptestConfig::default() })]

    /// Many short lines of keywords: the per-line cost is what could grow.
    #[test]
    fn dns_parsers_stay_linear_on_keyword_lines(
        lines in prop::collection::vec(
            "(nameserver|search|domain|options|sortlist|hosts:|passwd:|127.0.0.1|::1|#|\\[)( [ -~]{0,12}){0,4}",
            0..120,
        )
    ) {
        let text = lines.join("\n");
        let r = resolv::parse(&text);
        prop_assert!(r.nameservers.len() <= lines.len());
        bounded("resolv.conf", text.len(), &r)?;
        let h = hosts::parse(&text);
        prop_assert!(h.entries.len() <= lines.len());
        bounded("hosts", text.len(), &h)?;
        let n = nsswitch::parse(&text);
        prop_assert!(n.databases.len() <= lines.len());
        bounded("nsswitch.conf", text.len(), &n)?;
    }
}
