//! Routes: [`Step::AddRoute`], [`Step::DelRoute`], and [`Step::RestoreRoute`] which puts one
//! back with its original protocol, scope, type and preferred source.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use netlink_packet_route::route::{RouteProtocol, RouteScope, RouteType};
use rtnetlink::RouteMessageBuilder;

use super::super::exec::Engine;
use super::super::live::routes;
use super::super::shell::ip;
use super::super::step::{RouteSpec, Step};
use super::{ifname, lines, need_link, noop, not_mine, run, Family, Prepared, Role, StepError};

pub struct Routes;

impl Family for Routes {
    fn describe(&self, step: &Step, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match step {
            Step::AddRoute { ns, route } => write!(f, "add route {route} in {ns}"),
            Step::DelRoute { ns, route } => write!(f, "remove route {route} in {ns}"),
            Step::RestoreRoute { ns, route, .. } => write!(f, "restore route {route} in {ns}"),
            _ => not_mine(step),
        }
    }

    fn check(&self, step: &Step, _: Role) -> Result<(), String> {
        match step {
            Step::AddRoute { route: r, .. } => check_route(r, true),
            Step::DelRoute { route: r, .. } => check_route(r, false),
            Step::RestoreRoute { route: r, .. } => {
                if let Some(dev) = &r.dev {
                    ifname(dev)?;
                }
                Ok(())
            }
            _ => not_mine(step),
        }
    }

    fn commands(&self, step: &Step) -> Vec<String> {
        let argv = match step {
            Step::AddRoute { ns, route } => route_cmd(ns, "add", route, &[]),
            Step::DelRoute { ns, route } => route_cmd(ns, "del", route, &[]),
            Step::RestoreRoute {
                ns,
                route,
                protocol,
                scope,
                kind,
                prefsrc,
            } => {
                let mut extra = vec![
                    "proto".into(),
                    protocol.to_string(),
                    "scope".into(),
                    scope.to_string(),
                ];
                if let Some(src) = prefsrc {
                    extra.extend(["src".into(), src.to_string()]);
                }
                let mut argv = route_cmd(ns, "add", route, &extra);
                // RTN_UNICAST is the default; any other type goes before the destination.
                if *kind != 1 {
                    let at = argv
                        .iter()
                        .position(|a| a == "add")
                        .map_or(argv.len(), |i| i + 1);
                    argv.insert(at, route_type_name(*kind));
                }
                argv
            }
            _ => not_mine(step),
        };
        lines(&[argv])
    }

    fn prepare(&self, eng: &mut Engine, step: &Step) -> Result<Prepared, StepError> {
        let (Step::AddRoute { ns, route }
        | Step::DelRoute { ns, route }
        | Step::RestoreRoute { ns, route, .. }) = step
        else {
            not_mine(step)
        };
        let h = eng.handle(ns)?;
        let live = eng.block_on(routes(&h, ns))?;
        let found = live.iter().find(|r| r.matches(route));
        match (step, found) {
            (Step::DelRoute { .. }, None) => noop(),
            (Step::DelRoute { .. }, Some(r)) => run(vec![r.restore_step(ns)]),
            (_, Some(_)) => noop(),
            (Step::AddRoute { .. }, None) => {
                let clash = live.iter().find(|r| {
                    r.spec.dst == route.dst.trunc()
                        && r.spec.table == route.table
                        && r.spec.metric.unwrap_or(0) == route.metric.unwrap_or(0)
                });
                if let Some(c) = clash {
                    return Err(StepError::Exists(format!(
                        "{ns} already has route {}",
                        c.spec
                    )));
                }
                run(vec![Step::DelRoute {
                    ns: ns.clone(),
                    route: route.clone(),
                }])
            }
            (_, None) => run(vec![Step::DelRoute {
                ns: ns.clone(),
                route: route.clone(),
            }]),
        }
    }

    fn execute(&self, eng: &mut Engine, step: &Step) -> Result<Option<Vec<Step>>, StepError> {
        match step {
            // `ip route add` marks routes proto boot; do the same so the shown command and the
            // result agree.
            Step::AddRoute { ns, route } => add_route(eng, ns, route, 3, None, 1, None),
            Step::RestoreRoute {
                ns,
                route,
                protocol,
                scope,
                kind,
                prefsrc,
            } => add_route(eng, ns, route, *protocol, Some(*scope), *kind, *prefsrc),
            Step::DelRoute { ns, route } => {
                let h = eng.handle(ns)?;
                eng.block_on(async {
                    let live = routes(&h, ns).await?;
                    let Some(found) = live.into_iter().find(|r| r.matches(route)) else {
                        return Ok(());
                    };
                    h.route().del(found.msg).execute().await.map_err(|e| {
                        StepError::kernel(format!("cannot remove route {route} in {ns}"), e)
                    })
                })
            }
            _ => not_mine(step),
        }
        .map(|()| None)
    }
}

fn check_route(r: &RouteSpec, adding: bool) -> Result<(), String> {
    if let Some(dev) = &r.dev {
        ifname(dev)?;
    }
    if let Some(via) = r.via {
        if via.is_ipv4() != matches!(r.dst, IpNet::V4(_)) {
            return Err(format!("gateway {via} is not of the family of {}", r.dst));
        }
    }
    // Removing needs only the destination (as `ip route del` does); adding needs a way out.
    if adding && r.via.is_none() && r.dev.is_none() {
        return Err(format!(
            "route {} needs a gateway (via) or a device (dev)",
            r.dst
        ));
    }
    if r.table == Some(0) {
        return Err("table 0 is not a routing table".into());
    }
    Ok(())
}

/// Route types by their `ip route` names (`rtnetlink.h` RTN_*); numbers for the rest.
fn route_type_name(kind: u8) -> String {
    const NAMES: [&str; 11] = [
        "unspec",
        "unicast",
        "local",
        "broadcast",
        "anycast",
        "multicast",
        "blackhole",
        "unreachable",
        "prohibit",
        "throw",
        "nat",
    ];
    NAMES
        .get(usize::from(kind))
        .map_or_else(|| kind.to_string(), |n| n.to_string())
}

fn route_cmd(ns: &str, verb: &str, route: &RouteSpec, extra: &[String]) -> Vec<String> {
    let mut args: Vec<&str> = Vec::new();
    if matches!(route.dst, IpNet::V6(_)) {
        args.push("-6");
    }
    args.extend(["route", verb]);
    let mut argv = ip(ns, &args);
    // RouteSpec's Display is `ip route` syntax already.
    argv.extend(route.to_string().split(' ').map(str::to_string));
    argv.extend(extra.iter().cloned());
    argv
}

fn add_route(
    eng: &mut Engine,
    ns: &str,
    route: &RouteSpec,
    protocol: u8,
    scope: Option<u8>,
    kind: u8,
    prefsrc: Option<IpAddr>,
) -> Result<(), StepError> {
    let h = eng.handle(ns)?;
    let bad = |e: &dyn fmt::Display| StepError::Other(format!("route {route} in {ns}: {e}"));
    eng.block_on(async {
        let mut b = RouteMessageBuilder::<IpAddr>::new()
            .destination_prefix(route.dst.trunc().addr(), route.dst.prefix_len())
            .map_err(|e| bad(&e))?;
        if let Some(via) = route.via {
            b = b.gateway(via).map_err(|e| bad(&e))?;
        }
        if let Some(src) = prefsrc {
            b = b.pref_source(src).map_err(|e| bad(&e))?;
        }
        if let Some(dev) = &route.dev {
            b = b.output_interface(need_link(&h, ns, dev).await?.header.index);
        }
        if let Some(t) = route.table {
            b = b.table_id(t);
        }
        if let Some(m) = route.metric {
            b = b.priority(m);
        }
        // Like `ip route add`: a route without a gateway reaches its destination directly.
        let scope = scope.unwrap_or(if route.via.is_none() { 253 } else { 0 });
        let msg = b
            .protocol(RouteProtocol::from(protocol))
            .scope(RouteScope::from(scope))
            .kind(RouteType::from(kind))
            .build();
        h.route()
            .add(msg)
            .execute()
            .await
            .map_err(|e| StepError::kernel(format!("cannot add route {route} in {ns}"), e))
    })
}
