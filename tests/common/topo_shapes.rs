//! Shapes the random-topology generator (`topo_gen`) draws besides its basic segments, so the
//! oracle meets networks netlens was not written against: transit links as /30 or /31, a chain
//! of two or three routers between `r0` and a LAN (a DNAT target can sit behind it), and a host
//! with two uplinks and a backup default route.

use super::topo_gen::{ipn, Rng, Topology};

/// Addresses the veth ends `a` and `b` (each `(namespace, link)`) on transit `10.i.n.0`: a /30
/// (.1 and .2) or a /31 (.0 and .1, RFC 3021: no network or broadcast address), drawn from
/// `rng`. Returns (a's address, b's address).
pub fn transit(
    t: &mut Topology,
    rng: &mut Rng,
    a: (&str, &str),
    b: (&str, &str),
    i: usize,
    n: usize,
) -> (String, String) {
    let (len, x, y) = if rng.chance(1, 2) {
        (31, 0, 1)
    } else {
        (30, 1, 2)
    };
    let (aa, bb) = (format!("10.{i}.{n}.{x}"), format!("10.{i}.{n}.{y}"));
    t.addr_up(a.0, a.1, &format!("{aa}/{len}"));
    t.addr_up(b.0, b.1, &format!("{bb}/{len}"));
    (aa, bb)
}

/// `routers` routers in a row behind `r0` (`ri`, `rib`, `ric`), each on its own transit
/// (10.i.255.0, 10.i.254.0, …), with a route to 10.i.0.0/16 (the LAN and the transits
/// further in: a summary, as an operator would write it) towards the next and a default route
/// towards the previous; the last holds bridge `br0` (10.i.0.1/24) with 1–2 hosts. Every
/// router on the way forwards.
pub fn chain(t: &mut Topology, rng: &mut Rng, i: usize, routers: usize) {
    let lan = format!("10.{i}.0.0/16");
    let names: Vec<String> = (0..routers)
        .map(|k| match k {
            0 => format!("r{i}"),
            _ => format!("r{i}{}", (b'a' + k as u8) as char),
        })
        .collect();
    let (mut prev_ns, mut prev_link) = ("r0".to_string(), format!("t{i}"));
    for (k, r) in names.iter().enumerate() {
        t.add_ns(r);
        t.forwarding(r);
        t.veth(&prev_ns, &prev_link, r, "up0");
        let (near, far) = transit(t, rng, (&prev_ns, &prev_link), (r, "up0"), i, 255 - k);
        t.links.push((prev_ns.clone(), prev_link.clone()));
        t.links.push((r.clone(), "up0".into()));
        t.route(&prev_ns, &lan, &far);
        t.route(r, "default", &near);
        (prev_ns, prev_link) = (r.clone(), "dn0".to_string());
    }
    let last = names.last().expect("at least one router").clone();
    t.bridge(&last, "br0");
    t.addr_up(&last, "br0", &format!("10.{i}.0.1/24"));
    t.links.push((last.clone(), "br0".into()));
    // What a host's traffic crosses: its last router first, `r0` at the end.
    let mut up: Vec<String> = names.iter().rev().cloned().collect();
    up.push("r0".into());
    for j in 1..=1 + rng.below(2) {
        let (h, v) = (format!("h{i}{j}"), format!("v{j}"));
        t.add_ns(&h);
        t.veth(&h, "eth0", &last, &v);
        t.port(&last, &v, "br0");
        let mut chain = vec![h.clone()];
        chain.extend(up.iter().cloned());
        let addr = format!("10.{i}.0.{}", 10 + j);
        t.host(&h, &addr, &format!("10.{i}.0.1"), chain);
    }
}

/// One host `hi1` with two uplinks to `r0`: `eth0` on 10.i.0.0/24 (its address and main
/// default route, via 10.i.0.1) and `eth1` on 10.i.1.0/30 with a backup default route
/// (metric 100) via 10.i.1.1.
pub fn dual_homed(t: &mut Topology, i: usize) {
    let (h, l, m) = (format!("h{i}1"), format!("l{i}"), format!("m{i}"));
    t.add_ns(&h);
    t.veth(&h, "eth0", "r0", &l);
    t.addr_up("r0", &l, &format!("10.{i}.0.1/24"));
    t.links.push(("r0".into(), l));
    t.veth(&h, "eth1", "r0", &m);
    t.addr_up("r0", &m, &format!("10.{i}.1.1/30"));
    t.addr_up(&h, "eth1", &format!("10.{i}.1.2/30"));
    t.links.push(("r0".into(), m));
    t.links.push((h.clone(), "eth1".into()));
    // Not in `routes`: `ip route del default` would pick either of the two.
    let backup = format!("10.{i}.1.1");
    t.run(ipn(
        &h,
        &["route", "add", "default", "via", &backup, "metric", "100"],
    ));
    let (addr, gw) = (format!("10.{i}.0.11"), format!("10.{i}.0.1"));
    t.host(&h, &addr, &gw, vec![h.clone(), "r0".into()]);
}
