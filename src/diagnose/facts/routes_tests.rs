//! [`Facts::route_to`] (IPv4 routes set apart once) finds the route [`lookup`] finds:
//! seeded namespaces with random routes (IPv4 and IPv6, the main, local and another table,
//! unicast, local and blackhole, random prefixes and metrics, ties included) and random
//! addresses, compared route for route — and a namespace that is not the snapshot's own.

use std::net::Ipv4Addr;

use serde_json::json;

use super::{lookup, Facts};
use crate::diagnose::node_fixture::{node_snapshot, NodeShape};
use crate::model::Route;
use crate::test_rng::Rng;

fn random_route(rng: &mut Rng) -> Route {
    let v6 = rng.below(4) == 0;
    let dst = match (v6, rng.below(6)) {
        (true, _) => "fe80::/64".to_string(),
        (false, 0) => "default".to_string(),
        (false, _) => {
            let len = [8, 16, 24, 30, 32][rng.below(5)];
            format!("10.{}.{}.0/{len}", rng.below(3), rng.below(3))
        }
    };
    let dst = if dst.ends_with("/32") {
        dst.replace(".0/32", ".1/32")
    } else if !v6 && dst != "default" {
        // The network address of the prefix, as the kernel keeps it.
        let net: ipnet::Ipv4Net = dst.parse().unwrap();
        net.trunc().to_string()
    } else {
        dst
    };
    let table = [254, 255, 100][rng.below(3)];
    let kind = ["unicast", "local", "blackhole"][rng.below(3)];
    serde_json::from_value(json!({
        "table": table, "table_name": "t", "family": if v6 { "inet6" } else { "inet" },
        "dst": dst, "dev": format!("e{}", rng.below(3)), "protocol": "kernel",
        "scope": "global", "kind": kind, "metric": rng.below(3) * 100,
    }))
    .expect("route")
}

#[test]
fn route_to_finds_the_route_lookup_finds() {
    let mut rng = Rng(0x0070_07e5);
    let mut found = 0;
    for seed in 0..200 {
        let mut snap = node_snapshot(NodeShape::pods(2));
        for ns in &mut snap.namespaces {
            ns.routes = (0..rng.below(12)).map(|_| random_route(&mut rng)).collect();
        }
        let copy = snap.namespaces[1].clone();
        let f = Facts::new(&snap);
        for _ in 0..20 {
            let ip = Ipv4Addr::new(
                10,
                rng.below(3) as u8,
                rng.below(3) as u8,
                rng.below(3) as u8,
            );
            for ns in snap.namespaces.iter().chain([&copy]) {
                let (a, b) = (f.route_to(ns, ip), lookup(ns, ip));
                assert!(
                    a.map(|r| r as *const Route) == b.map(|r| r as *const Route),
                    "seed {seed}, {ip} in {}: {a:?} vs {b:?}",
                    ns.name
                );
                found += usize::from(a.is_some());
            }
        }
    }
    assert!(found > 1000, "routes found: {found}");
}
