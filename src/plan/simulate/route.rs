//! The simulator's steps on routes (see [`super::simulate`]): a route added on its device or
//! on the link its gateway is reached by, refused when the kernel would refuse it (EEXIST);
//! a route put back by undo with its original attributes; the route a delete names.

use std::net::IpAddr;

use super::addr::prefix_of;
use super::unmodelled;
use crate::model::{Namespace, Route, RouteDst, RouteFamily, RouteKind, RouteProtocol, RouteScope};
use crate::plan::step::RouteSpec;

pub(super) fn route(
    table: u32,
    dst: RouteDst,
    dev: &str,
    scope: RouteScope,
    kind: RouteKind,
) -> Route {
    Route {
        table,
        table_name: crate::model::table_name(table),
        family: RouteFamily::Other(String::new()),
        dst,
        gateway: None,
        dev: Some(dev.to_string()),
        prefsrc: None,
        protocol: RouteProtocol::Kernel,
        scope,
        kind,
        metric: None,
        nexthops: Vec::new(),
    }
}

pub(super) fn family(ip: IpAddr) -> RouteFamily {
    RouteFamily::of(ip)
}

/// `192.0.2.1/32`: how the local table names a host address.
pub(super) fn host_dst(ip: IpAddr) -> RouteDst {
    RouteDst::host(ip)
}

pub(super) fn push_route(n: &mut Namespace, r: Route) {
    let same = |x: &Route| {
        x.table == r.table && x.dst == r.dst && x.dev == r.dev && x.gateway == r.gateway
    };
    if !n.routes.iter().any(same) {
        n.routes.push(r);
    }
}

/// The original attributes of a route put back by undo.
pub(super) struct Restored {
    pub(super) protocol: u8,
    pub(super) scope: u8,
    pub(super) kind: u8,
    pub(super) prefsrc: Option<IpAddr>,
}

/// The link a gateway is reached on: the connected route that covers it.
fn dev_for_gateway(n: &Namespace, gw: IpAddr) -> Option<String> {
    n.addresses
        .iter()
        .filter(|a| a.address.is_ipv4() == gw.is_ipv4())
        .filter(|a| n.links.iter().any(|l| l.name == a.ifname && l.is_up()))
        .find(|a| prefix_of(a).is_some_and(|p| p.contains(&gw)))
        .map(|a| a.ifname.clone())
}

pub(super) fn add_route(
    n: &mut Namespace,
    spec: &RouteSpec,
    restored: Option<Restored>,
) -> Result<(), String> {
    let dev = match (&spec.dev, spec.via) {
        (Some(d), _) => {
            if !n.links.iter().any(|l| &l.name == d) {
                return Err(format!("no link {d} in {}", n.name));
            }
            d.clone()
        }
        (None, Some(gw)) => dev_for_gateway(n, gw)
            .ok_or_else(|| format!("gateway {gw} is on no subnet of an up link"))?,
        (None, None) => return Err("a route needs a gateway or a device".into()),
    };
    let table = spec.table.unwrap_or(254);
    // Scope names as the collector writes them (`ip`'s "global" for universe).
    let mut r = route(
        table,
        RouteDst::of_net(&spec.dst),
        &dev,
        RouteScope::Global,
        RouteKind::Unicast,
    );
    r.family = family(spec.dst.addr());
    r.gateway = spec.via;
    r.metric = spec.metric;
    r.protocol = RouteProtocol::Boot;
    if spec.via.is_none() {
        r.scope = RouteScope::Link;
    }
    if let Some(x) = restored {
        r.protocol = RouteProtocol::from_number(x.protocol);
        r.scope = match x.scope {
            0 => RouteScope::Global,
            200 => RouteScope::Site,
            253 => RouteScope::Link,
            254 => RouteScope::Host,
            _ => RouteScope::Nowhere,
        };
        r.kind = match x.kind {
            1 => RouteKind::Unicast,
            2 => RouteKind::Local,
            3 => RouteKind::Broadcast,
            6 => RouteKind::Blackhole,
            7 => RouteKind::Unreachable,
            8 => RouteKind::Prohibit,
            _ => return Err(unmodelled(&format!("route type {}", x.kind))),
        };
        r.prefsrc = x.prefsrc;
    }
    if n.routes.iter().any(|x| route_matches(x, spec)) {
        return Ok(());
    }
    // As the engine (`plan/inverse.rs`) and the kernel: another route to the same
    // destination, table and metric makes the add fail (EEXIST), whatever its gateway.
    let clash = n.routes.iter().find(|x| {
        x.table == table
            && x.dst == r.dst
            && x.family == r.family
            && x.metric.unwrap_or(0) == spec.metric.unwrap_or(0)
    });
    if let Some(c) = clash {
        return Err(format!(
            "{} already has route {}{}",
            n.name,
            c.dst,
            c.gateway.map(|g| format!(" via {g}")).unwrap_or_default()
        ));
    }
    n.routes.push(r);
    Ok(())
}

/// Whether `r` is the route `spec` names (what `ip route del` would remove).
pub(crate) fn route_matches(r: &Route, spec: &RouteSpec) -> bool {
    r.table == spec.table.unwrap_or(254)
        && r.dst == RouteDst::of_net(&spec.dst)
        && r.family == family(spec.dst.addr())
        && spec.via.is_none_or(|v| r.gateway == Some(v))
        && spec.dev.as_ref().is_none_or(|d| r.dev.as_ref() == Some(d))
        && spec.metric.is_none_or(|m| r.metric.unwrap_or(0) == m)
}
