//! Tests of iptables_save.rs.

use super::*;
use crate::model::firewall::{Cond, XtRule};

fn one_rule(line: &str) -> XtRule {
    let text = format!("*filter\n:INPUT ACCEPT [0:0]\n{line}\nCOMMIT\n");
    let (tables, warnings) = parse(&text, IpFamily::V4, XtSource::Nft);
    assert!(warnings.is_empty(), "{warnings:?}");
    tables[0].chains[0].rules[0].clone()
}

#[test]
fn negation_before_option_and_before_value() {
    let r = one_rule("-A INPUT ! -s 10.0.0.0/8 -p tcp --dport ! 22 -j DROP");
    assert_eq!(
        r.source,
        Some(Cond {
            negated: true,
            value: "10.0.0.0/8".into()
        })
    );
    assert_eq!(
        r.dport,
        Some(Cond {
            negated: true,
            value: "22".into()
        })
    );
    assert_eq!(r.protocol.map(|p| p.negated), Some(false));
    assert_eq!(r.target.as_deref(), Some("DROP"));
}

#[test]
fn counters_prefix_and_option() {
    let r = one_rule("[7:420] -A INPUT -j ACCEPT");
    assert_eq!((r.packets, r.bytes), (Some(7), Some(420)));
    let r = one_rule("-A INPUT -c 3 99 -j ACCEPT");
    assert_eq!((r.packets, r.bytes), (Some(3), Some(99)));
    assert!(r.matches.is_empty());
}

#[test]
fn quoted_comment_with_escapes_and_leading_dash() {
    let r = one_rule(
        r#"-A INPUT -m comment --comment "name: \"rkt\" -x" -m comment --comment "-y" -j ACCEPT"#,
    );
    assert_eq!(r.comment.as_deref(), Some(r#"name: "rkt" -x"#));
    assert_eq!(r.matches.len(), 4);
    assert_eq!(r.matches[3].value, "-y");
}

#[test]
fn multi_word_values_and_flags() {
    let r = one_rule(
        "-A INPUT -p tcp -m tcp --tcp-flags SYN,RST SYN -m recent --set --rsource -j ACCEPT",
    );
    let flags = r.matches.iter().find(|m| m.option == "--tcp-flags");
    assert_eq!(flags.map(|m| m.value.as_str()), Some("SYN,RST SYN"));
    assert!(r
        .matches
        .iter()
        .any(|m| m.option == "--rsource" && m.value.is_empty()));
}

#[test]
fn goto_and_target_args() {
    let r = one_rule("-A INPUT -p tcp -j DNAT --to-destination 10.1.2.3:80 --random");
    assert_eq!(
        r.target_args,
        vec![
            ("--to-destination".to_string(), "10.1.2.3:80".to_string()),
            ("--random".to_string(), String::new())
        ]
    );
    assert!(!r.goto);
    let r = one_rule("-A INPUT -g OTHER");
    assert!(r.goto);
    assert_eq!(r.target.as_deref(), Some("OTHER"));
}

#[test]
fn garbage_lines_warn_and_continue() {
    let text = "*filter\n:INPUT ACCEPT [0:0]\nhello world\n-A\n-A INPUT -j ACCEPT\nCOMMIT\n";
    let (tables, warnings) = parse(text, IpFamily::V4, XtSource::Legacy);
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert_eq!(tables[0].chains[0].rules.len(), 1);
}

#[test]
fn comment_with_newlines_stays_one_rule() {
    // What iptables-save 1.8.9 prints for `--comment $'a\n-A INPUT -j ACCEPT'`.
    let text = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m comment --comment \"a\n-A INPUT -j ACCEPT\" -j DROP\n-A INPUT -m comment --comment \"x\n\nCOMMIT\n*nat\" -j DROP\n-A INPUT -s 10.0.0.0/8 -j DROP\nCOMMIT\n";
    let (tables, warnings) = parse(text, IpFamily::V4, XtSource::Nft);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(tables.len(), 1);
    let rules = &tables[0].chains[0].rules;
    assert_eq!(rules.len(), 3, "{rules:#?}");
    assert_eq!(rules[0].comment.as_deref(), Some("a\n-A INPUT -j ACCEPT"));
    assert_eq!(rules[0].target.as_deref(), Some("DROP"));
    assert_eq!(rules[1].comment.as_deref(), Some("x\n\nCOMMIT\n*nat"));
    assert_eq!(
        rules[2].source.as_ref().map(|c| c.value.as_str()),
        Some("10.0.0.0/8")
    );
}

#[test]
fn a_truncated_quote_does_not_swallow_the_file() {
    let mut text = String::from("*filter\n-A INPUT -m comment --comment \"oops\n");
    for i in 0..200 {
        text.push_str(&format!("-A INPUT -s 10.0.{i}.0/24 -j DROP\n"));
    }
    text.push_str("COMMIT\n");
    let (tables, warnings) = parse(&text, IpFamily::V4, XtSource::Nft);
    assert_eq!(tables[0].chains[0].rules.len(), 201);
    assert!(warnings.iter().any(|w| w.contains("unterminated")));
}

#[test]
fn escaped_quotes_round_trip_to_argv() {
    let raw = r#"-A INPUT -m comment --comment "name: \"podman\" id: \"0b1a\"" -m comment --comment "back\\slash" -j ACCEPT"#;
    let r = one_rule(raw);
    assert_eq!(r.comment.as_deref(), Some(r#"name: "podman" id: "0b1a""#));
    assert_eq!(
        rule_words(raw),
        [
            "-A",
            "INPUT",
            "-m",
            "comment",
            "--comment",
            r#"name: "podman" id: "0b1a""#,
            "-m",
            "comment",
            "--comment",
            r"back\slash",
            "-j",
            "ACCEPT"
        ]
    );
}

/// Quotes a comment as iptables-save 1.8 does: always in double quotes, `"` and `\` escaped.
fn save_quote(c: &str) -> String {
    format!("\"{}\"", c.replace('\\', "\\\\").replace('"', "\\\""))
}

proptest::proptest! {
    /// Any comment the kernel accepts (≤ 255 bytes, no NUL), newlines, quotes, backslashes
    /// and `-A`/`COMMIT` look-alikes included, is one rule with that exact comment, and
    /// the rules around it are intact.
    #[test]
    fn any_comment_is_one_rule(
        comments in proptest::collection::vec(
            proptest::string::string_regex("(?s)[^\\x00]{0,60}|(\n-A INPUT -j ACCEPT|\nCOMMIT|\"|\\\\|\r| |x){0,12}").unwrap(),
            1..5,
        )
    ) {
        let mut text = String::from("*filter\n:INPUT ACCEPT [0:0]\n");
        for c in &comments {
            text.push_str(&format!("-A INPUT -m comment --comment {} -j DROP\n", save_quote(c)));
            text.push_str("-A INPUT -s 10.0.0.0/8 -j ACCEPT\n");
        }
        text.push_str("COMMIT\n");
        let (tables, warnings) = parse(&text, IpFamily::V4, XtSource::Nft);
        proptest::prop_assert!(warnings.is_empty(), "{:?}", warnings);
        proptest::prop_assert_eq!(tables.len(), 1);
        let rules = &tables[0].chains[0].rules;
        proptest::prop_assert_eq!(rules.len(), comments.len() * 2);
        for (i, c) in comments.iter().enumerate() {
            proptest::prop_assert_eq!(rules[2 * i].comment.as_deref(), Some(c.as_str()));
            proptest::prop_assert_eq!(rules[2 * i].target.as_deref(), Some("DROP"));
            proptest::prop_assert_eq!(rules[2 * i + 1].target.as_deref(), Some("ACCEPT"));
            let words = rule_words(&rules[2 * i].raw);
            proptest::prop_assert_eq!(words.get(5).map(String::as_str), Some(c.as_str()));
        }
    }
}

#[test]
fn unterminated_quote_is_a_warning() {
    let (tables, warnings) = parse(
        "*nat\n-A X -m comment --comment \"oops -j ACCEPT\n",
        IpFamily::V6,
        XtSource::Nft,
    );
    assert_eq!(tables[0].chains[0].rules.len(), 1);
    assert!(warnings.iter().any(|w| w.contains("unterminated")));
    assert!(warnings.iter().any(|w| w.contains("no COMMIT")));
}
