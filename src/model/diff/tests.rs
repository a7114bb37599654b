//! Unit tests of the snapshot diff.

use super::fixtures::*;
use super::*;
use crate::model::firewall::{NftChain, NftRule, NftTable, XtChain, XtTable};
use crate::model::NamespaceKind;

#[test]
fn identical_snapshots_have_no_changes() {
    let a = snap(vec![host(), red(5)], 1);
    assert!(diff(&a, &a).is_empty());
}

#[test]
fn counters_and_noise_are_ignored() {
    // Packet/byte counters, conntrack_count, socket inode and pid, the NUD cycle and
    // taken_at all differ; nothing else does.
    let a = snap(vec![host(), red(5)], 1);
    let mut b = snap(vec![host(), red(9000)], 2);
    b.namespaces[1].neighbors[0].state = crate::model::NeighborState::Stale;
    let d = diff(&a, &b);
    assert!(d.is_empty(), "{:#?}", d.changes);
    assert_eq!((d.old_taken_at, d.new_taken_at), (1, 2));
}

#[test]
fn links_added_removed_and_changed() {
    let a = snap(vec![red(1)], 1);
    let mut b = snap(vec![red(1)], 1);
    let ns = &mut b.namespaces[0];
    ns.links[1] = link(2, "eth0", "veth", false);
    ns.links[1].mtu = 9000;
    ns.links.push(link(7, "veth9", "veth", true));
    ns.links.retain(|l| l.name != "lo");
    let d = diff(&a, &b);
    let links = only(&d, ObjectKind::Link);
    assert_eq!(links.len(), 3, "{links:#?}");
    assert_eq!(links[0].key, "eth0");
    assert_eq!(links[0].fields, ["flags", "oper_state", "mtu"]);
    assert_eq!(links[0].details[1].before, "UP");
    assert_eq!(links[0].details[1].after, "DOWN");
    assert_eq!(
        (links[1].kind, links[1].key.as_str()),
        (ChangeKind::Removed, "lo")
    );
    assert_eq!(links[2].kind, ChangeKind::Added);
    assert_eq!(links[2].after.as_deref(), Some("veth, UP"));
}

#[test]
fn recreated_link_is_an_index_change() {
    let a = snap(vec![red(1)], 1);
    let mut b = a.clone();
    b.namespaces[0].links[1].index = 42;
    let d = diff(&a, &b);
    assert_eq!(d.changes.len(), 1);
    let c = &d.changes[0];
    assert_eq!(
        (c.key.as_str(), c.fields.as_slice()),
        ("eth0", &["index".to_string()][..])
    );
    assert_eq!(
        (c.before.as_deref(), c.after.as_deref()),
        (Some("2"), Some("42"))
    );
}

#[test]
fn addresses_routes_neighbors_rules_sockets() {
    let a = snap(vec![red(1)], 1);
    let mut b = a.clone();
    let ns = &mut b.namespaces[0];
    ns.addresses.clear();
    ns.routes[0].gateway = Some("10.0.0.254".parse().unwrap());
    ns.routes.push(route("192.168.50.0/24", None, "eth0"));
    ns.neighbors[0].state = crate::model::NeighborState::Failed;
    ns.rules[0].priority = 1000;
    ns.sockets[0].port = 2222;
    let d = diff(&a, &b);
    assert_eq!(
        keys(&d),
        vec![
            (
                ChangeKind::Removed,
                ObjectKind::Address,
                "10.0.0.2/24 dev eth0".into()
            ),
            (
                ChangeKind::Added,
                ObjectKind::Route,
                "main 192.168.50.0/24".into()
            ),
            (
                ChangeKind::Changed,
                ObjectKind::Route,
                "main default".into()
            ),
            (
                ChangeKind::Changed,
                ObjectKind::Neighbor,
                "10.0.0.1 dev eth0".into()
            ),
            (
                ChangeKind::Added,
                ObjectKind::Rule,
                "1000: from all lookup main".into()
            ),
            (
                ChangeKind::Removed,
                ObjectKind::Rule,
                "32766: from all lookup main".into()
            ),
            // Keys sort as text: `:22` before `:2222`.
            (
                ChangeKind::Removed,
                ObjectKind::Socket,
                "tcp 0.0.0.0:22".into()
            ),
            (
                ChangeKind::Added,
                ObjectKind::Socket,
                "tcp 0.0.0.0:2222".into()
            ),
        ]
    );
    let gw = &only(&d, ObjectKind::Route)[1];
    assert_eq!(gw.fields, ["gateway"]);
    assert_eq!(gw.after.as_deref(), Some("10.0.0.254"));
    let neigh = only(&d, ObjectKind::Neighbor)[0];
    assert_eq!(neigh.after.as_deref(), Some("FAILED"));
}

#[test]
fn sysctls_field_by_field() {
    let a = snap(vec![red(1)], 1);
    let mut b = a.clone();
    let ns = &mut b.namespaces[0];
    ns.sysctls.ip_forward = Some(0);
    ns.sysctls.ipv6_forwarding = Some(1);
    ns.sysctls.rp_filter.insert("eth0".into(), 2);
    // A new link's own rp_filter entry is part of the link appearing, not a sysctl change.
    ns.links.push(link(9, "veth9", "veth", true));
    ns.sysctls.rp_filter.insert("veth9".into(), 0);
    let d = diff(&a, &b);
    let s: Vec<(String, Option<String>, Option<String>)> = only(&d, ObjectKind::Sysctl)
        .iter()
        .map(|c| (c.key.clone(), c.before.clone(), c.after.clone()))
        .collect();
    let v = |s: &str| Some(s.to_string());
    assert_eq!(
        s,
        vec![
            ("ip_forward".into(), v("1"), v("0")),
            ("ipv6_forwarding".into(), v("none"), v("1")),
            ("rp_filter.eth0".into(), v("0"), v("2")),
        ]
    );
}

#[test]
fn firewall_rules_and_policies() {
    let a = snap(vec![red(1)], 1);
    let mut b = snap(vec![red(77)], 1);
    let fw = b.namespaces[0].firewall.as_mut().unwrap();
    fw.iptables.push(XtTable {
        family: IpFamily::V4,
        source: XtSource::Nft,
        name: "nat".into(),
        chains: vec![XtChain {
            name: "POSTROUTING".into(),
            policy: Some("ACCEPT".into()),
            packets: 0,
            bytes: 0,
            rules: vec![xt_rule(
                "[3:180] -A POSTROUTING -s 10.0.0.0/24 -j MASQUERADE",
                3,
            )],
        }],
    });
    fw.iptables[0].chains[0].policy = Some("DROP".into());
    // iptables-nft's own nft view of the same table is not reported a second time.
    fw.nft.push(NftTable {
        family: "ip".into(),
        name: "nat".into(),
        handle: None,
        chains: vec![NftChain {
            name: "POSTROUTING".into(),
            handle: None,
            hook: None,
            prio: None,
            policy: None,
            chain_type: None,
            rules: vec![NftRule {
                handle: None,
                comment: None,
                expr_summary: "xt MASQUERADE".into(),
                verdict: None,
                counters: None,
                stmts: None,
            }],
        }],
        sets: Vec::new(),
        named: Vec::new(),
    });
    fw.nft[0].chains[0].rules[0].expr_summary =
        "tcp dport 443 counter packets 0 bytes 0 accept".into();
    let d = diff(&a, &b);
    let fw = |kind, key: &str| (kind, ObjectKind::FirewallRule, key.to_string());
    assert_eq!(
        keys(&d),
        vec![
            fw(ChangeKind::Added, "filter INPUT policy"),
            fw(
                ChangeKind::Added,
                "nat POSTROUTING -s 10.0.0.0/24 -j MASQUERADE"
            ),
            fw(
                ChangeKind::Added,
                "nft inet fw input tcp dport 443 counter accept"
            ),
            fw(
                ChangeKind::Removed,
                "nft inet fw input tcp dport 80 counter accept"
            ),
        ]
    );
    assert_eq!(d.changes[0].after.as_deref(), Some("DROP"));
}

#[test]
fn firewall_not_collected_on_one_side_is_not_compared() {
    let a = snap(vec![red(1)], 1);
    let mut b = a.clone();
    b.namespaces[0].firewall = None;
    b.namespaces[0].dns = None;
    assert!(diff(&a, &b).is_empty());
}

#[test]
fn strip_counters() {
    assert_eq!(
        strip_xt_counters("[12:3456] -A INPUT -s 10.0.0.0/8 -j DROP"),
        "-A INPUT -s 10.0.0.0/8 -j DROP"
    );
    assert_eq!(
        strip_xt_counters("-A INPUT -c 12 3456 -j DROP"),
        "-A INPUT -j DROP"
    );
    assert_eq!(
        strip_nft_counters("ip saddr 10.0.0.0/8 counter packets 3 bytes 252 masquerade"),
        "ip saddr 10.0.0.0/8 counter masquerade"
    );
    assert_eq!(strip_nft_counters("counter"), "counter");
}

#[test]
fn rule_body_drops_counters_and_only_its_own_chain() {
    let rule = |raw: &str| crate::model::firewall::XtRule {
        raw: raw.into(),
        ..Default::default()
    };
    assert_eq!(
        xt_rule_body(
            &rule("[3:208] -A POSTROUTING -s 10.1.0.0/16 -j MASQUERADE"),
            "POSTROUTING"
        ),
        "-s 10.1.0.0/16 -j MASQUERADE"
    );
    // Another chain's name stays: a row must not lie about where its rule is.
    assert_eq!(
        xt_rule_body(&rule("-A FWD2 -j DROP"), "FORWARD"),
        "-A FWD2 -j DROP"
    );
}

#[test]
fn duplicate_rules_are_numbered() {
    let a = snap(vec![red(1)], 1);
    let mut b = a.clone();
    let chain = &mut b.namespaces[0].firewall.as_mut().unwrap().iptables[0].chains[0];
    let dup = chain.rules[0].clone();
    chain.rules.push(dup);
    let d = diff(&a, &b);
    assert_eq!(
        keys(&d),
        vec![(
            ChangeKind::Added,
            ObjectKind::FirewallRule,
            "filter INPUT -p tcp --dport 22 -j ACCEPT #2".into()
        )]
    );
}

#[test]
fn dns_files_report_changed_lines() {
    let a = snap(vec![red(1)], 1);
    let mut b = a.clone();
    let dns = b.namespaces[0].dns.as_mut().unwrap();
    // Swapped nameservers: the order is what the resolver tries, so it is a change.
    dns.resolv_conf.raw = Some("search lab\nnameserver 10.0.0.53\nnameserver 10.0.0.1\n".into());
    dns.hosts.raw = None;
    let d = diff(&a, &b);
    let files = only(&d, ObjectKind::DnsFile);
    assert_eq!(files.len(), 2);
    assert_eq!(
        (files[0].kind, files[0].key.as_str()),
        (ChangeKind::Removed, "hosts")
    );
    let r = files[1];
    assert_eq!(
        (r.kind, r.key.as_str()),
        (ChangeKind::Changed, "resolv.conf")
    );
    assert_eq!(r.fields, ["raw"]);
    assert_eq!(r.before.as_deref(), Some("nameserver 10.0.0.1"));
    assert_eq!(r.after.as_deref(), Some("nameserver 10.0.0.1"));
}

#[test]
fn changed_lines_finds_edits() {
    let (gone, came) = changed_lines("a\nb\nc\n", "a\nB\nc\nd\n");
    assert_eq!((gone, came), (vec!["b"], vec!["B", "d"]));
}

#[test]
fn namespaces_matched_by_name_then_inode_in_new_order() {
    let mut blue = Namespace::new("blue".into(), NamespaceKind::Named, 4026532009);
    blue.links = vec![link(1, "lo", "loopback", true)];
    let mut pid = Namespace::new("pid:77".into(), NamespaceKind::Process, 4026532050);
    pid.links = vec![link(1, "lo", "loopback", true)];
    let a = snap(vec![host(), red(1), blue, pid.clone()], 1);
    // pid:77 got bind-mounted as "pod"; red was recreated (new inode); blue is gone;
    // green is new and listed before red.
    let mut renamed = pid;
    renamed.name = "pod".into();
    renamed.kind = NamespaceKind::Named;
    let mut red2 = red(1);
    red2.inode = 4026532100;
    let green = Namespace::new("green".into(), NamespaceKind::Named, 4026532200);
    let b = snap(vec![host(), green, red2, renamed], 2);
    let d = diff(&a, &b);
    let ns = |kind, name: &str| (kind, ObjectKind::Namespace, name.to_string());
    assert_eq!(
        keys(&d),
        vec![
            ns(ChangeKind::Added, "green"),
            ns(ChangeKind::Changed, "red"),
            ns(ChangeKind::Changed, "pod"),
            ns(ChangeKind::Removed, "blue"),
        ]
    );
    assert_eq!(d.changes[1].fields, ["inode"]);
    assert_eq!(d.changes[2].fields, ["name"]);
    assert_eq!(d.changes[2].before.as_deref(), Some("pid:77"));
    assert_eq!(d.changes[3].namespace, "blue");
}

#[test]
fn unreadable_namespace_compares_only_its_status() {
    let a = snap(vec![red(1)], 1);
    let mut gone = Namespace::new("red".into(), NamespaceKind::Named, 4026532001);
    gone.status = NsStatus::Inaccessible("EPERM".into());
    let d = diff(&a, &snap(vec![gone], 2));
    assert_eq!(
        keys(&d),
        vec![(ChangeKind::Changed, ObjectKind::Namespace, "red".into())]
    );
    assert_eq!(d.changes[0].after.as_deref(), Some("inaccessible"));
}

#[test]
fn order_is_deterministic_and_by_kind_then_key() {
    let a = snap(vec![host(), red(1)], 1);
    let mut b = a.clone();
    let ns = &mut b.namespaces[1];
    ns.sysctls.ip_forward = Some(0);
    ns.links.push(link(9, "veth9", "veth", true));
    ns.links.push(link(8, "aaa", "dummy", false));
    ns.addresses.clear();
    let first = diff(&a, &b);
    // Same content, lists in another order: same result.
    b.namespaces[1].links.reverse();
    assert_eq!(diff(&a, &b), first);
    assert_eq!(
        keys(&first),
        vec![
            (ChangeKind::Added, ObjectKind::Link, "aaa".into()),
            (ChangeKind::Added, ObjectKind::Link, "veth9".into()),
            (
                ChangeKind::Removed,
                ObjectKind::Address,
                "10.0.0.2/24 dev eth0".into()
            ),
            (ChangeKind::Changed, ObjectKind::Sysctl, "ip_forward".into()),
        ]
    );
    assert!(first.changes.iter().all(|c| c.namespace == "red"));
}

#[test]
fn serializes_with_snake_case_names() {
    let a = snap(vec![red(1)], 1);
    let mut b = a.clone();
    b.namespaces[0].sysctls.ip_forward = Some(0);
    let json = serde_json::to_value(diff(&a, &b)).unwrap();
    let c = &json["changes"][0];
    assert_eq!(c["kind"], "changed");
    assert_eq!(c["object"], "sysctl");
    assert_eq!(c["key"], "ip_forward");
    assert_eq!(
        (c["before"].as_str(), c["after"].as_str()),
        (Some("1"), Some("0"))
    );
    let back: SnapshotDiff = serde_json::from_value(json).unwrap();
    assert_eq!(back, diff(&a, &b));
}

#[test]
fn ipv6_routes_are_per_device_and_one_gone_changes_no_other() {
    // A host with a link-local route per veth, as the kernel gives one to every IPv6 link.
    let v6 = |dev: &str| Route {
        family: crate::model::RouteFamily::Inet6,
        metric: Some(256),
        ..route("fe80::/64", None, dev)
    };
    let mut a = snap(vec![red(1)], 1);
    a.namespaces[0].routes = (0..5).map(|i| v6(&format!("veth{i}"))).collect();
    let mut b = a.clone();
    b.namespaces[0].routes.remove(0);
    let d = diff(&a, &b);
    assert_eq!(
        keys(&d),
        vec![(
            ChangeKind::Removed,
            ObjectKind::Route,
            "main inet6 fe80::/64 dev veth0 metric 256".into()
        )],
        "deleting the first veth's route must not renumber the others"
    );
    // IPv4 keeps one identity per table, destination and metric: a moved route is a change.
    let mut c = snap(vec![red(1)], 1);
    c.namespaces[0].routes = vec![route("10.9.0.0/16", None, "eth0")];
    let mut e = c.clone();
    e.namespaces[0].routes[0].dev = Some("eth1".into());
    let d = diff(&c, &e);
    assert_eq!(
        keys(&d),
        vec![(
            ChangeKind::Changed,
            ObjectKind::Route,
            "main 10.9.0.0/16".into()
        )]
    );
}
