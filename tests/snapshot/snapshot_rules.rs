//! Policy rules: inverted selectors and a missing default rule are shown, never flattened.

use crate::common;

use common::snap::{ip_json, ns, snapshot_json, snapshot_text};
use common::world::{in_world, sh};
use netlens::model::{Namespace, RouteFamily, RouteProtocol, RoutingRuleAction};

#[test]
fn inverted_rule_and_missing_main_rule_are_reported() {
    in_world(
        "snapshot_rules::inverted_rule_and_missing_main_rule_are_reported",
        || {
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
            // Three IPv4 and two IPv6 defaults, as `ip rule` lists them: the kernel's multicast routing
            // rules (family IPMR/IP6MR) are not among them.
            assert_eq!(wg.rules.iter().filter(|r| r.is_kernel_default()).count(), 5);

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
        },
    );
}

/// `ip -j` is the oracle: the rule list per family, protocol names, `goto` and fwmark/fwmask.
#[test]
fn rules_and_protocols_match_iproute2() {
    in_world("snapshot_rules::rules_and_protocols_match_iproute2", || {
        sh(&["ip", "netns", "add", "pr"]);
        let ip = |args: &[&str]| {
            let mut argv = vec!["ip", "-n", "pr"];
            argv.extend_from_slice(args);
            sh(&argv);
        };
        ip(&["link", "add", "v0", "type", "veth", "peer", "name", "v1"]);
        ip(&["link", "set", "v0", "up"]);
        ip(&["rule", "add", "fwmark", "0x10/0xf0", "lookup", "100"]);
        ip(&["rule", "add", "pref", "100", "goto", "200"]);
        ip(&["rule", "add", "pref", "200", "lookup", "main"]);
        ip(&[
            "rule", "add", "pref", "300", "lookup", "main", "proto", "openr",
        ]);
        ip(&["route", "add", "10.1.0.0/24", "dev", "v0", "proto", "openr"]);
        ip(&["route", "add", "10.2.0.0/24", "dev", "v0", "proto", "250"]);
        ip(&[
            "route",
            "add",
            "10.3.0.0/24",
            "dev",
            "v0",
            "proto",
            "static",
            "table",
            "100",
        ]);
        ip(&[
            "-6",
            "route",
            "add",
            "2001:db8::/64",
            "dev",
            "v0",
            "proto",
            "250",
        ]);

        let snap = snapshot_json(&["--ns", "pr"]);
        let pr = ns(&snap, "pr");

        assert_rules_match_ip(pr);
        assert_route_protocols_match_ip(pr);

        let text = snapshot_text(&["--ns", "pr"]);
        assert!(text.contains("fwmark 0x10/0xf0 lookup 100"), "{text}");
        assert!(text.contains("100: goto 200"), "{text}");
        assert!(text.contains("300: lookup main proto openr"), "{text}");
        assert!(text.contains("proto openr"), "{text}");
        assert!(!text.contains("other"), "{text}");
    });
}

/// Only IPv4 and IPv6 rules, exactly those `ip rule` / `ip -6 rule` list.
fn assert_rules_match_ip(pr: &Namespace) {
    for (family, flag) in [("inet", "-4"), ("inet6", "-6")] {
        let oracle = ip_json(Some("pr"), &[flag, "rule"]);
        let want: Vec<u64> = oracle
            .as_array()
            .expect("rule array")
            .iter()
            .map(|r| r["priority"].as_u64().expect("priority"))
            .collect();
        let got: Vec<u64> = pr
            .rules
            .iter()
            .filter(|r| r.family.as_str() == family)
            .map(|r| u64::from(r.priority))
            .collect();
        assert_eq!(got, want, "{family} rules vs ip {flag} rule: {oracle}");
        for o in oracle.as_array().expect("rule array") {
            let prio = o["priority"].as_u64().expect("priority") as u32;
            let r = pr
                .rules
                .iter()
                .find(|r| r.family.as_str() == family && r.priority == prio)
                .expect("same rule");
            let hex = |v: Option<u32>| v.map(|v| format!("{v:#x}"));
            assert_eq!(hex(r.fwmark).as_deref(), o["fwmark"].as_str(), "{o}");
            assert_eq!(hex(r.fwmask).as_deref(), o["fwmask"].as_str(), "{o}");
            assert_eq!(r.goto.map(u64::from), o["goto"].as_u64(), "{o}");
            // `ip rule` hides `kernel` and `unspec`.
            let shown = r
                .protocol
                .as_ref()
                .filter(|p| !matches!(p, RouteProtocol::Kernel | RouteProtocol::Unspec))
                .map(RouteProtocol::as_str);
            assert_eq!(shown, o["protocol"].as_str(), "{o}");
        }
    }
    assert!(
        pr.rules
            .iter()
            .all(|r| matches!(r.family, RouteFamily::Inet | RouteFamily::Inet6)),
        "{:?}",
        pr.rules
    );
    let goto = pr.rules.iter().find(|r| r.priority == 100).expect("goto");
    assert_eq!(
        (&goto.action, goto.goto),
        (&RoutingRuleAction::Goto, Some(200))
    );
}

/// Protocols as `ip route` names them (it omits `boot`).
fn assert_route_protocols_match_ip(pr: &Namespace) {
    let mut checked = 0;
    for flag in ["-4", "-6"] {
        let oracle = ip_json(Some("pr"), &[flag, "route", "show", "table", "all"]);
        for o in oracle.as_array().expect("route array") {
            let dst = o["dst"].as_str().expect("dst");
            let table = o["table"].as_str().unwrap_or("main");
            let r = pr
                .routes
                .iter()
                .find(|r| {
                    let d = r.dst.to_string();
                    r.table_name == table && (d == dst || d.split('/').next() == Some(dst))
                })
                .unwrap_or_else(|| panic!("no route {dst} table {table}: {:?}", pr.routes));
            let want = o["protocol"].as_str().unwrap_or("boot");
            assert_eq!(r.protocol.as_str(), want, "{o}");
            checked += 1;
        }
    }
    assert!(checked >= 4, "{checked}");
    let proto = |dst: &str| {
        pr.routes
            .iter()
            .find(|r| r.dst.to_string() == dst)
            .map(|r| r.protocol.clone())
    };
    let unnamed = RouteProtocol::Other("250".into());
    assert_eq!(proto("10.1.0.0/24"), Some(RouteProtocol::Openr));
    assert_eq!(proto("10.2.0.0/24"), Some(unnamed.clone()));
    assert_eq!(proto("10.3.0.0/24"), Some(RouteProtocol::Static));
    assert_eq!(proto("2001:db8::/64"), Some(unnamed));
}
