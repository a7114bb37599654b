//! Policy rules: inverted selectors and a missing default rule are shown, never flattened.

mod common;

use common::snap::{ns, snapshot_json, snapshot_text};
use common::world::{in_world, sh};

#[test]
fn inverted_rule_and_missing_main_rule_are_reported() {
    in_world("inverted_rule_and_missing_main_rule_are_reported", || {
        sh(&["ip", "netns", "add", "wg-like"]);
        sh(&["ip", "netns", "add", "plain"]);
        // What wg-quick installs: everything NOT marked goes to table 51820.
        sh(&[
            "ip", "-n", "wg-like", "rule", "add", "not", "fwmark", "0xca6c", "table", "51820",
        ]);
        sh(&[
            "ip",
            "-n",
            "wg-like",
            "rule",
            "add",
            "table",
            "main",
            "suppress_prefixlength",
            "0",
        ]);
        // The classic outage: the main-table rule deleted.
        sh(&["ip", "-n", "plain", "rule", "del", "pref", "32766"]);

        let snap = snapshot_json(&["--ns", "wg-like", "--ns", "plain"]);
        let wg = ns(&snap, "wg-like");
        let not_rule = wg
            .rules
            .iter()
            .find(|r| r.table == 51820)
            .expect("rule to table 51820");
        assert!(not_rule.invert);
        assert_eq!(not_rule.fwmark, Some(0xca6c));
        let suppress = wg
            .rules
            .iter()
            .find(|r| r.suppress_prefixlen.is_some())
            .expect("suppress rule");
        assert_eq!(
            (suppress.table, suppress.suppress_prefixlen),
            (254, Some(0))
        );
        assert!(!suppress.is_kernel_default());
        assert_eq!(wg.rules.iter().filter(|r| r.is_kernel_default()).count(), 6);

        let text = snapshot_text(&["--ns", "wg-like", "--ns", "plain"]);
        assert!(text.contains(": not fwmark 0xca6c lookup 51820"), "{text}");
        assert!(
            text.contains("lookup main suppress_prefixlength 0"),
            "{text}"
        );
        // Named namespaces are listed by name: plain, then wg-like.
        let (plain_part, wg_part) = text.split_at(text.find("== wg-like").expect("wg section"));
        assert!(plain_part.contains("== plain"), "{text}");
        assert!(
            plain_part.contains("no IPv4 rule `32766: lookup main`"),
            "{plain_part}"
        );
        assert!(!wg_part.contains("no IPv4 rule"), "{wg_part}");
    });
}
