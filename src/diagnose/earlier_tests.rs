//! What an earlier snapshot may propose: only routes the live namespace could take back.

use super::{Earlier, MAX_PER_NS};
use crate::model::{Route, Snapshot};

fn lab() -> Snapshot {
    serde_json::from_str(include_str!("../../assets/demo-bridge.json")).expect("asset parses")
}

fn route(dst: &str, gw: Option<&str>, dev: &str) -> Route {
    let mut r = lab().namespace("bridge-red").unwrap().routes[0].clone();
    r.table = 254;
    r.family = crate::model::RouteFamily::Inet;
    r.dst = crate::model::RouteDst::parse(dst);
    r.gateway = gw.map(|g| g.parse().unwrap());
    r.dev = Some(dev.into());
    r.protocol = crate::model::RouteProtocol::Boot;
    r.kind = crate::model::RouteKind::Unicast;
    r.scope = crate::model::RouteScope::Global;
    r.metric = None;
    r.nexthops = Vec::new();
    r
}

/// bridge-red's routes in an earlier snapshot: `routes`; live: the lab, without them.
fn lost(routes: Vec<Route>) -> Vec<String> {
    let mut before = lab();
    before
        .namespaces
        .iter_mut()
        .find(|n| n.name == "bridge-red")
        .unwrap()
        .routes = routes;
    let e = Earlier::from_snapshot(&before);
    let live = lab();
    e.lost(live.namespace("bridge-red").unwrap(), None)
        .iter()
        .map(|k| k.show())
        .collect()
}

#[test]
fn only_routes_the_live_link_could_take_back_are_proposed() {
    let mut kernel = route("10.5.0.0/24", None, "veth-red");
    kernel.protocol = crate::model::RouteProtocol::Kernel;
    let mut v6 = route("2001:db8::/64", None, "veth-red");
    v6.family = crate::model::RouteFamily::Inet6;
    let mut blackhole = route("10.6.0.0/16", None, "veth-red");
    blackhole.kind = crate::model::RouteKind::Blackhole;
    let got = lost(vec![
        // Present live: not lost.
        route("default", Some("192.168.15.5"), "veth-red"),
        route("10.9.0.0/16", Some("192.168.15.7"), "veth-red"),
        // A gateway on no subnet of the link, a link that is not there, the kernel's own
        // route, IPv6, a blackhole: never proposed.
        route("10.8.0.0/16", Some("172.16.0.1"), "veth-red"),
        route("10.7.0.0/16", Some("192.168.15.7"), "eth9"),
        kernel,
        v6,
        blackhole,
    ]);
    assert_eq!(got, ["10.9.0.0/16 via 192.168.15.7 dev veth-red"]);
}

#[test]
fn a_saved_file_proposes_at_most_so_many_routes_per_namespace() {
    let many = (0..MAX_PER_NS as u32 + 50)
        .map(|i| {
            let dst = format!("10.{}.{}.0/24", 100 + i / 256, i % 256);
            route(&dst, Some("192.168.15.7"), "veth-red")
        })
        .collect();
    assert_eq!(lost(many).len(), MAX_PER_NS);
}
