//! The Topology tab as a map of problems: 70 namespaces on one bridge fold without hiding the
//! one on the wrong subnet with no route (marked on its own line, the fold counting the rest
//! truthfully); each finding on the line of its object with its severity in the gutter;
//! admin-down told apart from no-carrier; a router's FORWARD policy and NAT in its box; the
//! namespaces changed since the baseline kept out of folds and marked.

use std::collections::HashSet;

use crate::common;
use crate::topo_build::*;
use common::tui::{key, screen};
use crossterm::event::KeyCode;
use netlens::diagnose::{diagnose, Finding, Severity};
use netlens::firewall::iptables_save;
use netlens::model::firewall::{Firewall, IpFamily, XtSource};
use netlens::model::{Link, NamespaceKind, Snapshot};
use netlens::ui::topo::{self, Notes};

/// svc-41, the namespace on the wrong subnet.
const ODD: &str = "svc-41";

/// The router's firewall: forwarded packets dropped unless a rule accepts them, and the
/// bridge's subnet masqueraded out of the uplink.
const ROUTER_RULES: &str = "*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -i br-mass -o enp1s0 -j ACCEPT
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -s 10.50.0.0/24 -o enp1s0 -j MASQUERADE
COMMIT
";

/// A host routing for 70 namespaces svc-1 … svc-70 on bridge br-mass (10.50.0.0/24, gateway
/// .1); svc-41 has 10.60.0.41/24 and no route at all.
pub fn mass_node() -> Snapshot {
    let mut nodes = vec![ns("host", NamespaceKind::Host)];
    let mut uplink = up(Link::new(2, "enp1s0", "device"));
    uplink.mac = Some("52:54:00:aa:bb:cc".into());
    nodes[0].links.push(uplink);
    nodes[0].sysctls.ip_forward = Some(1);
    let (tables, errors) = iptables_save::parse(ROUTER_RULES, IpFamily::V4, XtSource::Nft);
    assert!(errors.is_empty(), "{errors:?}");
    nodes[0].firewall = Some(Firewall {
        iptables: tables,
        ..Firewall::default()
    });
    addr(&mut nodes, "host", "enp1s0", "203.0.113.7/24");
    default_via(&mut nodes, "host", "enp1s0", "203.0.113.1");
    let mut ports = Vec::new();
    for i in 1..=70u32 {
        let svc = format!("svc-{i}");
        nodes.push(ns(&svc, NamespaceKind::Named));
        let port = format!("veth{i}");
        veth(&mut nodes, ("host", &port, 100 + i), (&svc, "eth0", 2));
        if svc == ODD {
            addr(&mut nodes, &svc, "eth0", "10.60.0.41/24");
        } else {
            addr(&mut nodes, &svc, "eth0", &format!("10.50.0.{}/24", i + 1));
            default_via(&mut nodes, &svc, "eth0", "10.50.0.1");
        }
        ports.push(port);
    }
    let refs: Vec<&str> = ports.iter().map(String::as_str).collect();
    bridge(&mut nodes, "host", "br-mass", 50, &refs);
    addr(&mut nodes, "host", "br-mass", "10.50.0.1/24");
    snapshot(nodes)
}

/// The picture with `findings` and `changed`, gutter included.
fn map(snap: &Snapshot, findings: &[Finding], changed: &[&str]) -> Vec<String> {
    let changed: HashSet<String> = changed.iter().map(|s| s.to_string()).collect();
    let notes = Notes {
        findings,
        changed: &changed,
    };
    topo::layout_marked(snap, notes, &Default::default())
        .iter()
        .map(|l| l.text())
        .collect()
}

/// The lines of namespaces on the bus (`[ svc-N …`).
fn svc_lines(pic: &[String]) -> Vec<&String> {
    pic.iter().filter(|l| l.contains("▸ [ svc-")).collect()
}

#[test]
fn seventy_on_one_bridge_fold_but_the_one_on_the_wrong_subnet_is_drawn_and_marked() {
    let snap = mass_node();
    let findings = diagnose(&snap);
    let about_odd: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.severity == Severity::Error && f.concerns(ODD))
        .collect();
    assert!(
        !about_odd.is_empty(),
        "the doctor sees svc-41: {findings:#?}"
    );
    let pic = map(&snap, &findings, &[]);
    let odd = line_with(&pic, &format!("[ {ODD} "));
    assert!(odd.starts_with('✗'), "error mark in the gutter: {odd}");
    assert!(odd.contains("10.60.0.41/24") && odd.contains("(no default route)"));
    let title = &about_odd[0].title;
    assert!(odd.contains(&format!("◂ {title}")), "{odd}");
    // First three, last two and svc-41 drawn; one line counts the other 64 truthfully.
    let drawn = svc_lines(&pic);
    assert_eq!(drawn.len(), 6, "{}", pic.join("\n"));
    let fold = line_with(&pic, "more namespaces on br-mass");
    assert!(
        fold.contains(&format!(
            "… {} more namespaces on br-mass",
            70 - drawn.len()
        )),
        "{fold}"
    );
    assert!(
        fold.contains("(svc-4 … svc-68): all up, no findings"),
        "{fold}"
    );
    // The healthy ones carry no mark.
    for l in drawn.iter().filter(|l| !l.contains(ODD)) {
        assert!(l.starts_with("   "), "{l}");
    }
}

#[test]
fn a_fold_counts_the_info_notes_it_hides_and_never_a_warning() {
    let snap = mass_node();
    let info = Finding::new("test", Severity::Info, "svc-20", None, "a note", "why");
    let warning = Finding::new("test", Severity::Warning, "svc-30", None, "a worry", "why");
    let pic = map(&snap, std::slice::from_ref(&info), &[]);
    assert!(
        line_with(&pic, "more namespaces on br-mass").contains("all up, no warnings, 1 info note")
    );
    assert!(!pic.iter().any(|l| l.contains("[ svc-20 ")));
    let pic = map(&snap, &[info, warning], &[]);
    let worry = line_with(&pic, "[ svc-30 ");
    assert!(
        worry.starts_with('!') && worry.ends_with("◂ a worry"),
        "{worry}"
    );
    assert!(line_with(&pic, "more namespaces on br-mass").contains("64 more"));
}

#[test]
fn findings_land_on_the_line_of_their_object() {
    let snap = mass_node();
    let f =
        |ns: &str, title: &str| Finding::new("test", Severity::Error, ns, Some(title), title, "");
    let findings = vec![
        f("host", "on the bridge").object("link", "host", "br-mass"),
        f("host", "on the uplink").object("link", "host", "enp1s0"),
        f("host", "a sysctl").object("sysctl", "host", "net.ipv4.ip_forward"),
        f("host", "the namespace"),
        // Two holders of one address: both lines.
        f("svc-2", "twice")
            .object("address", "svc-2", "eth0 10.50.0.3/24")
            .object("address", "svc-70", "10.50.0.71/24"),
        // The host's end of a veth: the line of the namespace at its far end.
        f("host", "a port").object("link", "host", "veth1"),
    ];
    let pic = map(&snap, &findings, &[]);
    let on = |needle: &str| line_with(&pic, needle).to_string();
    assert!(on("◉ bridge br-mass").ends_with("◂ on the bridge"));
    assert!(on("⇡ uplink enp1s0").ends_with("◂ on the uplink"));
    assert!(on("forwarding on").ends_with("◂ a sysctl"));
    assert!(on("┌─ host ").ends_with("◂ the namespace"));
    assert!(on("[ svc-2 ").ends_with("◂ twice"));
    assert!(on("[ svc-70 ").ends_with("◂ twice"));
    assert!(on("[ svc-1 ").ends_with("◂ a port"));
    for l in pic.iter().filter(|l| l.contains('◂')) {
        assert!(l.starts_with('✗'), "{l}");
    }
    assert_eq!(pic.iter().filter(|l| l.contains('◂')).count(), 7);
}

#[test]
fn admin_down_and_no_carrier_are_drawn_differently_and_never_folded() {
    let snap = mass_node();
    let mut nodes = snap.namespaces;
    set_down(&mut nodes, "svc-10", "eth0");
    set_no_carrier(&mut nodes, "host", "veth20");
    let pic = picture(&snapshot(nodes));
    let off = line_with(&pic, "[ svc-10 ");
    assert!(off.contains("veth10 ══ eth0 admin-down ▸"), "{off}");
    let cable = line_with(&pic, "[ svc-20 ");
    assert!(cable.contains("veth20 no-carrier ══ eth0 ▸"), "{cable}");
    assert!(!pic.iter().any(|l| l.contains("DOWN")));
}

#[test]
fn the_router_box_shows_its_forward_policy_and_nat() {
    let pic = picture(&mass_node());
    let fwd = line_with(&pic, "forwarding on");
    assert!(fwd.contains("FORWARD DROP · 2 rules"), "{fwd}");
    assert!(line_with(&pic, "NAT ").contains("NAT masq 10.50.0.0/24 → enp1s0"));
    // A namespace that routes without a firewall says so; one that does not route, nothing.
    let mut snap = mass_node();
    snap.namespaces[0].firewall = Some(Firewall::default());
    let pic = picture(&snap);
    assert!(line_with(&pic, "forwarding on").contains("FORWARD ACCEPT (no rules)"));
    assert!(!pic.iter().any(|l| l.contains("NAT ")));
    snap.namespaces[0].sysctls.ip_forward = Some(0);
    let pic = picture(&snap);
    assert!(!line_with(&pic, "forwarding off").contains("FORWARD"));
}

#[test]
fn changed_namespaces_are_kept_out_of_folds_and_marked() {
    let snap = mass_node();
    let pic = map(&snap, &[], &["svc-30"]);
    let changed = line_with(&pic, "[ svc-30 ");
    assert_eq!(changed.chars().nth(1), Some('*'), "{changed}");
    assert!(line_with(&pic, "more namespaces on br-mass").contains("no findings, unchanged"));
}

#[test]
fn the_tab_marks_the_doctors_findings_and_has_a_legend() {
    let mut a = common::tui::app_over("mass.json", mass_node());
    key(&mut a, KeyCode::Char('t'));
    let s = screen(&mut a, 200, 60);
    let odd = s
        .lines()
        .find(|l| l.contains(&format!("[ {ODD} ")))
        .unwrap_or_else(|| panic!("{s}"));
    assert!(odd.contains("│✗  "), "{odd}");
    assert!(
        s.contains("✗ error  ! warning  i info  * changed (c)"),
        "{s}"
    );
    assert!(s.contains("Topology · 71 namespaces · "), "{s}");
}

/// A namespace's link, to change it.
fn link_mut<'a>(snap: &'a mut Snapshot, ns: &str, link: &str) -> &'a mut Link {
    find(&mut snap.namespaces, ns)
        .links
        .iter_mut()
        .find(|l| l.name == link)
        .expect("link")
}

#[test]
fn the_doctors_detached_port_mtu_mismatch_and_duplicate_address_are_marked_where_they_are() {
    let mut snap = mass_node();
    // veth7 taken off the bridge; svc-12's eth0 at MTU 1400; svc-15 holding svc-16's address.
    link_mut(&mut snap, "host", "veth7").master = None;
    link_mut(&mut snap, "host", "veth7").master_index = None;
    link_mut(&mut snap, "host", "br-mass")
        .ports
        .retain(|p| p != "veth7");
    link_mut(&mut snap, "svc-12", "eth0").mtu = 1400;
    let svc15 = find(&mut snap.namespaces, "svc-15");
    svc15.addresses[0].address = "10.50.0.17".parse().expect("ip");
    let findings = diagnose(&snap);
    let rule = |r: &str| {
        findings
            .iter()
            .find(|f| f.rule == r)
            .unwrap_or_else(|| panic!("{r} in {findings:#?}"))
            .title
            .clone()
    };
    let pic = map(&snap, &findings, &[]);
    let detached = line_with(&pic, "[ svc-7 ");
    assert!(detached.starts_with('✗'), "{detached}");
    assert!(detached.contains(&rule("port-detached")), "{detached}");
    // Off the bridge, it hangs from the host's direct veths.
    let direct = pic
        .iter()
        .position(|l| l.contains("veths to other namespaces"))
        .expect("direct bus");
    assert!(pic[direct + 1].contains("[ svc-7 "), "{}", pic.join("\n"));
    let mtu = line_with(&pic, "[ svc-12 ");
    assert!(
        mtu.starts_with('✗') && mtu.contains(&rule("mtu-mismatch")),
        "{mtu}"
    );
    let dup = rule("dup-ip");
    for holder in ["[ svc-15 ", "[ svc-16 "] {
        let l = line_with(&pic, holder);
        assert!(l.contains(&dup) || l.contains("more, Problems tab"), "{l}");
        assert_ne!(l.chars().next(), Some(' '), "{l}");
    }
}

#[test]
fn the_selected_lines_findings_are_shown_whole_where_the_legend_was() {
    let snap = mass_node();
    let title = diagnose(&snap)
        .into_iter()
        .find(|f| f.concerns(ODD))
        .expect("a finding about svc-41")
        .title;
    let mut a = common::tui::app_over("mass.json", snap);
    key(&mut a, KeyCode::Char('t'));
    key(&mut a, KeyCode::Char('l'));
    let lines = a.topology.lines.clone().expect("picture");
    let odd = lines
        .iter()
        .position(|l| l.text().contains(&format!("[ {ODD} ")))
        .expect("svc-41's line");
    let bottom = |s: &str| s.lines().rev().nth(1).expect("bottom border").to_string();
    assert!(bottom(&screen(&mut a, 120, 40)).contains("✗ error  ! warning"));
    for _ in 0..odd {
        key(&mut a, KeyCode::Char('j'));
    }
    let s = screen(&mut a, 120, 40);
    // Cut at the end of its own line, whole at the bottom.
    let row = s
        .lines()
        .find(|l| l.contains(&format!("[ {ODD} ")))
        .expect("row");
    assert!(!row.contains(&title), "{row}");
    assert!(bottom(&s).contains(&format!("✗ {title}")), "{s}");
}

#[test]
fn c_marks_the_changed_namespaces_on_the_picture_and_unfolds_them() {
    let before = mass_node();
    let mut now = mass_node();
    find(&mut now.namespaces, "svc-30").addresses[0].prefix_len = 16;
    let mut a = common::tui::app_over("mass.json", now);
    a.set_baseline(before);
    key(&mut a, KeyCode::Char('t'));
    let svc30 = |a: &netlens::ui::app::App| {
        a.topology
            .lines
            .as_ref()
            .expect("picture")
            .iter()
            .map(|l| l.text())
            .find(|l| l.contains("[ svc-30 "))
    };
    assert_eq!(svc30(&a), None, "folded while changes are not marked");
    key(&mut a, KeyCode::Char('c'));
    let line = svc30(&a).expect("svc-30 drawn once changes are marked");
    assert_eq!(line.chars().nth(1), Some('*'), "{line}");
    key(&mut a, KeyCode::Char('c'));
    assert_eq!(svc30(&a), None);
}

#[test]
fn a_namespace_a_runtime_names_is_drawn_by_its_pod_or_container_name() {
    use netlens::model::{Runtime, Workload, WorkloadKind};
    let mut snap = mass_node();
    let svc = snap
        .namespaces
        .iter_mut()
        .find(|n| n.name == ODD)
        .expect("svc-41");
    svc.workload = Some(Workload {
        kind: WorkloadKind::Pod,
        runtime: Runtime::Containerd,
        name: "web-7f9c".into(),
        pod_namespace: Some("shop".into()),
        id: "0123456789abcdef".into(),
    });
    let findings = diagnose(&snap);
    let pic = map(&snap, &findings, &[]);
    let odd = line_with(&pic, "[ shop/web-7f9c ");
    assert!(odd.starts_with('✗'), "still marked: {odd}");
    assert!(
        !pic.iter().any(|l| l.contains(&format!("[ {ODD} "))),
        "the kernel name gives way to the pod's: {}",
        pic.join("\n")
    );
}
