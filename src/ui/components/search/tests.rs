use super::*;
use crate::model::{ListeningSocket, ProcessRef, Snapshot};
use crate::ui::tabs::Tab;
use crate::ui::test_support::{asset, press, saved, typed};
use crossterm::event::KeyCode;

/// The bridge lab with a web server in bridge-red (a process, a socket on port 8080).
fn lab() -> Snapshot {
    let mut s = asset("demo-bridge.json");
    let red = s
        .namespaces
        .iter_mut()
        .find(|n| n.name == "bridge-red")
        .expect("red");
    let nginx = ProcessRef {
        pid: 4242,
        comm: "nginx".into(),
        container_id: None,
    };
    red.processes.push(nginx.clone());
    red.sockets.push(ListeningSocket {
        proto: "tcp".into(),
        address: "0.0.0.0".parse().expect("ip"),
        port: 8080,
        inode: 1,
        processes: vec![nginx],
    });
    s
}

/// (namespace, where, what) of every hit of `query`.
fn hits(snap: &Snapshot, query: &str) -> Vec<(String, &'static str, String)> {
    let mut s = Search::default();
    s.refresh(query, Some(snap));
    s.hits
        .iter()
        .map(|h| {
            let ns = &snap.namespaces[h.ns];
            let (place, what) = h.describe(ns);
            (ns.name.clone(), place, what)
        })
        .collect()
}

fn has(hits: &[(String, &str, String)], ns: &str, place: &str, what: &str) -> bool {
    hits.iter()
        .any(|h| h.0 == ns && h.1 == place && h.2 == what)
}

#[test]
fn an_ip_finds_the_subnets_and_routes_that_hold_it() {
    let snap = lab();
    let h = hits(&snap, "192.168.15.77");
    assert!(
        has(&h, "bridge-red", "Addresses", "192.168.15.1/24 on veth-red"),
        "{h:?}"
    );
    assert!(
        has(
            &h,
            "bridge-blue",
            "Addresses",
            "192.168.15.2/24 on veth-blue"
        ),
        "{h:?}"
    );
    assert!(
        has(&h, "bridge-host", "Addresses", "192.168.15.5/24 on v-net-0"),
        "{h:?}"
    );
    assert!(
        has(&h, "bridge-red", "Routes", "192.168.15.0/24 dev veth-red"),
        "{h:?}"
    );
    // Not the default routes (they hold every address), not the LAN's namespaces.
    assert!(!h.iter().any(|x| x.2.starts_with("default")), "{h:?}");
    assert!(
        !h.iter()
            .any(|x| x.0 == "bridge-lan" || x.0 == "bridge-inet"),
        "{h:?}"
    );
    // An exact address also finds the neighbour entries and routes via it.
    let h = hits(&snap, "192.168.15.5");
    assert!(
        has(
            &h,
            "bridge-red",
            "Routes",
            "default via 192.168.15.5 dev veth-red"
        ),
        "{h:?}"
    );
    assert!(
        h.iter().any(|x| x.0 == "bridge-red" && x.1 == "Neighbors"),
        "{h:?}"
    );
    // Part of an address is text: it matches as typed.
    let h = hits(&snap, "100.64.0.");
    assert!(
        has(&h, "bridge-inet", "Addresses", "100.64.0.2/30 on eth0"),
        "{h:?}"
    );
}

#[test]
fn a_mac_matches_in_any_case_with_or_without_separators() {
    let snap = lab();
    for q in ["ca:14:d0:4f:4b:cd", "CA14D04F4BCD", "Ca-14-D0", "4f4b.cd"] {
        let h = hits(&snap, q);
        assert!(
            has(&h, "bridge-red", "Links", "ca:14:d0:4f:4b:cd on veth-red"),
            "{q}: {h:?}"
        );
        // The neighbour caches that know it.
        assert!(
            h.iter().any(|x| x.0 == "bridge-blue" && x.1 == "Neighbors"),
            "{q}: {h:?}"
        );
    }
    // Too few digits to mean a MAC: no MAC hits.
    assert!(!hits(&snap, "ca1").iter().any(|x| x.1 == "Links"));
}

#[test]
fn interfaces_processes_and_ports_are_found() {
    let snap = lab();
    let h = hits(&snap, "VETH-RED");
    assert!(has(&h, "bridge-red", "Links", "veth-red"), "{h:?}");
    assert!(has(&h, "bridge-host", "Links", "veth-red-br"), "{h:?}");
    let h = hits(&snap, "nginx");
    assert!(has(&h, "bridge-red", "process", "nginx"), "{h:?}");
    assert!(
        has(
            &h,
            "bridge-red",
            "Sockets",
            "tcp port 8080 on 0.0.0.0 nginx"
        ),
        "{h:?}"
    );
    let h = hits(&snap, "8080");
    assert_eq!(h.len(), 1, "{h:?}");
    assert!(has(
        &h,
        "bridge-red",
        "Sockets",
        "tcp port 8080 on 0.0.0.0 nginx"
    ));
    let h = hits(&snap, "inet");
    assert!(has(&h, "bridge-inet", "namespace", "bridge-inet"), "{h:?}");
    assert!(has(&h, "bridge-lan", "Links", "to-inet"), "{h:?}");
    assert!(hits(&snap, "no-such-thing").is_empty());
    assert!(hits(&snap, "  ").is_empty());
}

#[test]
fn the_list_narrows_as_you_type_and_enter_goes_to_the_row() {
    let mut a = saved(lab());
    press(&mut a, KeyCode::Char('/'));
    assert!(a.filtering);
    typed(&mut a, "192.168.1.3");
    let names: Vec<&str> = a
        .visible_namespaces()
        .iter()
        .map(|n| n.name.as_str())
        .collect();
    // The subnet 192.168.1.0/24 is on the gateway, the LAN router and the LAN host.
    assert_eq!(names, ["bridge-host", "bridge-lan", "bridge-lanhost"]);
    // The LAN host's own address, two hits down the list.
    let target = a
        .search
        .hits
        .iter()
        .position(|h| {
            let ns = &a.snapshot.as_ref().expect("snapshot").namespaces[h.ns];
            ns.name == "bridge-lanhost" && h.what == What::Address(1)
        })
        .expect("the LAN host's address is a hit");
    for _ in 0..target {
        press(&mut a, KeyCode::Down);
    }
    // The list on the left follows the highlighted hit.
    assert_eq!(
        a.selected_namespace().map(|n| n.name.as_str()),
        Some("bridge-lanhost")
    );
    press(&mut a, KeyCode::Enter);
    assert!(!a.filtering);
    assert_eq!(
        a.selected_namespace().map(|n| n.name.as_str()),
        Some("bridge-lanhost")
    );
    assert_eq!(
        (a.tab, a.row_selected, a.focus),
        (Tab::Addresses, 1, Focus::Details)
    );
    // The list stays narrowed until Esc, which keeps the namespace selected.
    assert_eq!(a.visible_namespaces().len(), 3);
    press(&mut a, KeyCode::Esc);
    assert!(a.filter.is_empty());
    assert_eq!(
        a.selected_namespace().map(|n| n.name.as_str()),
        Some("bridge-lanhost")
    );
    assert!(!a.quit);
}

#[test]
fn esc_cancels_and_backspace_widens() {
    let mut a = saved(lab());
    press(&mut a, KeyCode::Char('/'));
    typed(&mut a, "veth-redx");
    assert!(a.visible_namespaces().is_empty());
    press(&mut a, KeyCode::Backspace);
    assert_eq!(a.visible_namespaces().len(), 2);
    press(&mut a, KeyCode::Esc);
    assert!(!a.filtering && a.filter.is_empty() && !a.quit);
    assert_eq!(a.visible_namespaces().len(), 7);
    // A new snapshot finds the hits again (they are indexes into it).
    press(&mut a, KeyCode::Char('/'));
    typed(&mut a, "nginx");
    a.handle(crate::ui::Msg::Snapshot(Box::new(asset(
        "demo-bridge.json",
    ))));
    assert!(a.search.hits.is_empty() && a.visible_namespaces().is_empty());
}

#[test]
fn a_pod_or_container_is_found_by_its_name_its_kubectl_name_and_its_id() {
    use crate::model::{Runtime, Workload, WorkloadKind};
    let mut snap = lab();
    let blue = snap
        .namespaces
        .iter_mut()
        .find(|n| n.name == "bridge-blue")
        .expect("blue");
    blue.workload = Some(Workload {
        kind: WorkloadKind::Pod,
        runtime: Runtime::Containerd,
        name: "web-7f9c".into(),
        pod_namespace: Some("shop".into()),
        id: "9f3e2a7b5c1d".into(),
    });
    for query in ["web-7f", "shop/web", "SHOP/WEB-7F9C"] {
        let h = hits(&snap, query);
        assert!(has(&h, "bridge-blue", "pod", "web-7f9c"), "{query}: {h:?}");
        assert_eq!(h.len(), 1, "{query}: one hit, not two: {h:?}");
    }
    let h = hits(&snap, "9f3e2a");
    assert!(
        has(&h, "bridge-blue", "runtime id", "9f3e2a7b5c1d"),
        "{h:?}"
    );
    // The pod's namespace alone also finds it; nothing else in the lab answers to it.
    let h = hits(&snap, "shop");
    assert!(has(&h, "bridge-blue", "pod namespace", "shop"), "{h:?}");
}
