//! `netlens snapshot --ip-only`: the facts `ip link/addr/route/neigh` list, the same as the whole
//! snapshot reads and as iproute2 reports them, and nothing else (no rules, sysctls, sockets,
//! firewall, DNS files, CNI), with a warning that says so.

use crate::common;

use crate::bridge_world::build_bridge_world;
use common::snap::*;
use common::world::{in_world, sh};
use netlens::model::{NsStatus, Snapshot, Sysctls};

/// `(namespace, dev, address, lladdr)` of every neighbour with a link-layer address: what
/// stays put between two reads (the state may move from REACHABLE to STALE meanwhile).
fn neighbours(snap: &Snapshot) -> Vec<(String, String, String, String)> {
    let mut v: Vec<_> = snap
        .namespaces
        .iter()
        .flat_map(|n| {
            n.neighbors.iter().filter_map(|x| {
                let ll = x.lladdr.clone()?;
                Some((n.name.clone(), x.dev.clone(), x.address.to_string(), ll))
            })
        })
        .collect();
    v.sort();
    v
}

/// The routes (both families) of every table of `ns_name` as `ip -j route show table all`
/// lists them:
/// `(table, dst)`, sorted; iproute2 names the main table "main" and prints no table for it.
fn all_routes_from_ip(ns_name: &str) -> Vec<(String, String)> {
    let ip_ns = Some(ns_name).filter(|n| *n != "host");
    let json = ip_json(ip_ns, &["route", "show", "table", "all"]);
    let mut v: Vec<(String, String)> = json
        .as_array()
        .expect("ip -j route: array")
        .iter()
        .map(|r| {
            let table = r["table"].as_str().unwrap_or("main").to_string();
            let dst = r["dst"].as_str().unwrap_or_default().to_string();
            (table, dst)
        })
        .collect();
    v.sort();
    v
}

/// The same from a snapshot, with the kernel's table numbers named as iproute2 names them.
fn all_routes(snap: &Snapshot, ns_name: &str) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = ns(snap, ns_name)
        .routes
        .iter()
        .map(|r| {
            let table = match r.table {
                254 => "main".to_string(),
                255 => "local".to_string(),
                t => t.to_string(),
            };
            let dst = r.dst.to_string();
            // iproute2 prints a host route without its /32 or /128.
            let dst = dst
                .strip_suffix("/32")
                .or_else(|| dst.strip_suffix("/128"))
                .map(str::to_string)
                .unwrap_or(dst);
            (table, dst)
        })
        .collect();
    v.sort();
    v
}

#[test]
fn ip_only_reads_the_ip_facts_and_nothing_else() {
    in_world(
        "snapshot_ip_only::ip_only_reads_the_ip_facts_and_nothing_else",
        || {
            build_bridge_world();
            // A policy rule and a listener the ip-only snapshot must leave out.
            sh(&["ip", "rule", "add", "from", "10.77.0.0/24", "table", "100"]);
            ping("app1", "10.77.0.12");
            ping("app1", "10.77.0.1");
            let whole = snapshot_json(&[]);
            let only = snapshot_json(&["--ip-only"]);

            let names = |s: &Snapshot| -> Vec<String> {
                s.namespaces.iter().map(|n| n.name.clone()).collect()
            };
            assert_eq!(names(&only), ["host", "app1", "app2", "db"]);
            assert_eq!(names(&only), names(&whole));
            for n in ["host", "app1", "app2", "db"] {
                let (a, b) = (ns(&only, n), ns(&whole, n));
                assert_eq!(a.status, NsStatus::Ok, "{n}");
                // Same facts as the whole snapshot: links (peers paired), addresses, routes.
                assert_eq!(a.links, b.links, "{n}: links");
                assert_eq!(a.addresses, b.addresses, "{n}: addresses");
                assert_eq!(a.routes, b.routes, "{n}: routes");
                // And as iproute2 lists them.
                assert_eq!(all_routes(&only, n), all_routes_from_ip(n), "{n}: routes");
                assert_eq!(
                    v6_addresses(&only, n),
                    v6_addresses_from_ip(Some(n).filter(|n| *n != "host")),
                    "{n}: IPv6 addresses"
                );
                // Nothing else.
                assert!(a.rules.is_empty(), "{n}: rules {:?}", a.rules);
                assert!(a.sockets.is_empty(), "{n}: sockets");
                assert!(a.firewall.is_none() && a.dns.is_none(), "{n}");
                assert_eq!(a.sysctls, Sysctls::default(), "{n}: sysctls");
            }
            assert_eq!(mac_from_ip(Some("db"), "eth0"), {
                link(&only, "db", "eth0").mac.clone().expect("mac")
            });
            assert_all_veths_paired(&only);
            assert_eq!(neighbours(&only), neighbours(&whole));
            assert!(neighbours(&only).iter().any(|n| n.0 == "app1"));
            // The whole snapshot has what ip-only leaves out, so the test above can fail.
            assert!(!ns(&whole, "host").rules.is_empty());
            assert!(ns(&whole, "host").firewall.is_some());
            assert!(only.cni.is_none() && whole.cni.is_some());
            assert_eq!(
                only.warnings,
                [netlens::collect::snapshot::IP_ONLY_WARNING],
                "the snapshot says what it left out"
            );
        },
    );
}
