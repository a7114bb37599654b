//! [`RouteIndex::route_to`] finds the route the scan ([`route_to`]) finds: seeded namespaces
//! with random routes (IPv4 and IPv6, defaults, the main, local and another table, unicast,
//! local and blackhole, random prefixes incl. host bits set and bare addresses, metrics with
//! ties and none) and random addresses of both families, compared route for route.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde_json::json;

use super::RouteIndex;
use crate::k8s::input::route_to;
use crate::model::{Namespace, NamespaceKind, Route};
use crate::test_rng::Rng;

fn v4(rng: &mut Rng) -> Ipv4Addr {
    Ipv4Addr::new(
        10,
        rng.below(3) as u8,
        rng.below(3) as u8,
        rng.below(4) as u8,
    )
}

fn v6(rng: &mut Rng) -> Ipv6Addr {
    Ipv6Addr::new(
        0xfd00,
        rng.below(3) as u16,
        0,
        0,
        0,
        0,
        0,
        rng.below(4) as u16,
    )
}

fn random_route(rng: &mut Rng) -> Route {
    let six = rng.below(3) == 0;
    let dst = match rng.below(8) {
        0 => "default".to_string(),
        // A bare address (kept as `Other`): a /32 or /128.
        1 if six => v6(rng).to_string(),
        1 => v4(rng).to_string(),
        // Host bits left set: the kernel would not, a saved snapshot might.
        _ if six => format!(
            "{}/{}",
            v6(rng),
            [0, 16, 32, 64, 112, 126, 128][rng.below(7)]
        ),
        _ => format!("{}/{}", v4(rng), [0, 8, 16, 24, 30, 31, 32][rng.below(7)]),
    };
    let table = [254, 254, 255, 100][rng.below(4)];
    let kind = ["unicast", "unicast", "local", "blackhole"][rng.below(4)];
    let metric = match rng.below(4) {
        0 => serde_json::Value::Null,
        m => json!((m - 1) * 100),
    };
    serde_json::from_value(json!({
        "table": table, "table_name": "t", "family": if six { "inet6" } else { "inet" },
        "dst": dst, "dev": format!("e{}", rng.below(4)), "protocol": "kernel",
        "scope": "global", "kind": kind, "metric": metric,
    }))
    .expect("route")
}

#[test]
fn the_index_finds_the_route_the_scan_finds() {
    let mut rng = Rng(0x0007_e1de);
    let (mut found, mut v6_found, mut defaults) = (0, 0, 0);
    for seed in 0..300 {
        let mut ns = Namespace::new(format!("n{seed}"), NamespaceKind::Named, 0);
        ns.routes = (0..rng.below(24)).map(|_| random_route(&mut rng)).collect();
        let ix = RouteIndex::new(&ns);
        for _ in 0..40 {
            let ip = if rng.below(3) == 0 {
                IpAddr::V6(v6(&mut rng))
            } else {
                IpAddr::V4(v4(&mut rng))
            };
            let (a, b) = (ix.route_to(&ns, ip), route_to(&ns, ip));
            assert!(
                a.map(|r| r as *const Route) == b.map(|r| r as *const Route),
                "seed {seed}, {ip}: {a:?} vs {b:?}\nroutes {:?}",
                ns.routes
            );
            if let Some(r) = a {
                found += 1;
                v6_found += usize::from(ip.is_ipv6());
                defaults += usize::from(r.dst.is_default());
            }
        }
    }
    assert!(
        found > 2000 && v6_found > 300 && defaults > 300,
        "found {found}, IPv6 {v6_found}, defaults {defaults}"
    );
}
