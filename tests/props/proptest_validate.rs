//! Properties of the checks that stand between input and root's actions: capture filters of
//! any shape parse (or are refused) without panicking or overflowing a small stack, and an
//! iptables rule that names a table, a command or `--modprobe` in any spelling is refused
//! wherever it sits in an otherwise valid rule.

use proptest::prelude::*;

use netlens::plan::validate::validate_offline;
use netlens::plan::{Plan, Step};
use netlens::trace::filter::Filter;

/// Runs `f` on a thread with a 256 KiB stack (smaller than any netlens thread's).
fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(f)
        .expect("thread")
        .join()
        .expect("no panic, no overflow");
}

const FILTER_WORDS: &[&str] = &[
    "(",
    ")",
    "!",
    "not",
    "and",
    "or",
    "&&",
    "||",
    "tcp",
    "udp",
    "icmp",
    "arp",
    "vxlan",
    "host",
    "10.0.0.1",
    "net",
    "10.0.0.0/8",
    "port",
    "80",
    "portrange",
    "1-2",
    "src",
    "dst",
    "x",
    "",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn filters_never_panic_or_overflow(
        words in prop::collection::vec(prop::sample::select(FILTER_WORDS), 0..400),
        nest in 0usize..3000,
    ) {
        let mut text = "(".repeat(nest);
        text.push_str(&words.join(" "));
        on_small_stack(move || {
            if let Ok(Some(f)) = Filter::parse(&[text]) {
                let d = netlens::trace::decode::Decoded { layers: vec![] };
                let _ = f.matches(&d);
            }
        });
    }

    #[test]
    fn filters_of_any_text_never_panic(text in "\\PC{0,200}") {
        let _ = Filter::parse(&[text]);
    }
}

const SMUGGLED: &[&[&str]] = &[
    &["-t", "nat"],
    &["-tnat"],
    &["--table", "nat"],
    &["--table=nat"],
    &["--tab=nat"],
    &["--t", "nat"],
    &["-vtnat"],
    &["--modprobe=/tmp/x"],
    &["--modprobe", "/tmp/x"],
    &["-M/tmp/x"],
    &["--mod", "/tmp/x"],
    &["-F"],
    &["--flush"],
    &["-XFOO"],
    &["-A", "INPUT"],
    &["--app=INPUT"],
    &["-P", "INPUT", "DROP"],
];

/// Pieces of rules netlens writes, each a complete option with its value.
const PIECES: &[&[&str]] = &[
    &["-s", "10.0.0.0/24"],
    &["!", "-o", "br0"],
    &["-d", "10.1.0.0/16"],
    &["-p", "tcp"],
    &["-m", "comment", "--comment", "netlens"],
    &["-m", "comment", "--comment", "-tnat"],
    &["-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED"],
    &["-i", "eth0"],
];

fn add_rule(table: &str, rule: Vec<String>) -> Plan {
    Plan::new(
        "t",
        vec![Step::AddIptablesRule {
            ns: "host".into(),
            table: table.into(),
            chain: "FORWARD".into(),
            rule,
        }],
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn smuggling_is_refused_anywhere(
        pieces in prop::collection::vec(prop::sample::select(PIECES), 0..5),
        smuggled in prop::sample::select(SMUGGLED),
        at in 0usize..6,
    ) {
        let mut parts: Vec<&[&str]> = pieces.clone();
        parts.push(&["-j", "ACCEPT"]);
        let clean: Vec<String> = parts.iter().flat_map(|p| p.iter()).map(|s| s.to_string()).collect();
        prop_assert!(validate_offline(&add_rule("filter", clean.clone())).is_ok(), "{clean:?}");
        parts.insert(at.min(parts.len()), smuggled);
        let rule: Vec<String> = parts.iter().flat_map(|p| p.iter()).map(|s| s.to_string()).collect();
        prop_assert!(validate_offline(&add_rule("filter", rule.clone())).is_err(), "{rule:?}");
    }

    #[test]
    fn any_rule_vector_is_checked_without_panic(
        rule in prop::collection::vec("-{0,2}[a-zA-Z=!/]{0,8}", 0..12),
    ) {
        let _ = validate_offline(&add_rule("nat", rule));
    }
}
