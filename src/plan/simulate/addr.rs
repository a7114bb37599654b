//! The simulator's steps on addresses (see [`super::simulate`]): an address on an up link
//! brings its local, connected and broadcast routes; one leaving takes them, the routes that
//! named it as their source, and (the last IPv4 one) every route through the link.

use std::net::IpAddr;

use ipnet::IpNet;

use super::route::{family, host_dst, push_route, route};
use super::LinkMut;
use crate::model::{
    Address, Namespace, RouteDst, RouteFamily, RouteKind, RouteProtocol, RouteScope,
};

pub(super) fn is_fe80(ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80)
}

pub(super) fn prefix_of(a: &Address) -> Option<IpNet> {
    IpNet::new(a.address, a.prefix_len).ok().map(|n| n.trunc())
}

/// The routes the kernel adds for an address on an up link: its local route, and unless it is
/// a host address the connected route to its prefix and (IPv4) the broadcast route.
pub(super) fn add_address_routes(n: &mut Namespace, a: &Address) {
    let v4 = a.address.is_ipv4();
    let src = Some(a.address).filter(|_| v4);
    let mut local = route(
        255,
        host_dst(a.address),
        &a.ifname,
        RouteScope::Host,
        RouteKind::Local,
    );
    local.family = family(a.address);
    local.prefsrc = src;
    if !v4 {
        local.scope = RouteScope::Global;
    }
    push_route(n, local);
    let Some(net) = prefix_of(a) else { return };
    if net.prefix_len() + 1 >= net.max_prefix_len() {
        return;
    }
    let mut conn = route(
        254,
        RouteDst::Net(net),
        &a.ifname,
        RouteScope::Link,
        RouteKind::Unicast,
    );
    conn.family = family(a.address);
    conn.prefsrc = src;
    if !v4 {
        conn.scope = RouteScope::Global;
    }
    push_route(n, conn);
    if v4 {
        let mut b = route(
            255,
            host_dst(net.broadcast()),
            &a.ifname,
            RouteScope::Link,
            RouteKind::Broadcast,
        );
        b.family = RouteFamily::Inet;
        b.prefsrc = src;
        push_route(n, b);
    }
}

pub(super) fn add_address(n: &mut Namespace, link: &str, addr: &IpNet) -> Result<(), String> {
    let l = n.link_mut(link)?;
    let (index, up) = (l.index, l.is_up());
    if n.addresses
        .iter()
        .any(|a| a.ifname == link && a.address == addr.addr())
    {
        return Ok(());
    }
    let scope = match addr.addr() {
        IpAddr::V4(v4) if v4.is_loopback() => RouteScope::Host,
        IpAddr::V6(v6) if v6.is_loopback() => RouteScope::Host,
        IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80 => RouteScope::Link,
        _ => RouteScope::Global,
    };
    let a = Address {
        ifindex: index,
        ifname: link.to_string(),
        address: addr.addr(),
        prefix_len: addr.prefix_len(),
        scope,
        peer: None,
    };
    if up {
        add_address_routes(n, &a);
    }
    n.addresses.push(a);
    Ok(())
}

pub(super) fn del_address(n: &mut Namespace, link: &str, addr: &IpNet) {
    let Some(pos) = n
        .addresses
        .iter()
        .position(|a| a.ifname == link && a.address == addr.addr())
    else {
        return;
    };
    let a = n.addresses.remove(pos);
    let net = prefix_of(&a).map(|p| p.to_string());
    let others_in_net = n
        .addresses
        .iter()
        .any(|o| o.ifname == link && prefix_of(o).map(|p| p.to_string()) == net);
    let dst_net = prefix_of(&a).map(RouteDst::Net);
    let bcast = prefix_of(&a).map(|p| host_dst(p.broadcast()));
    n.routes.retain(|r| {
        let local = r.table == 255 && r.dst == host_dst(a.address);
        let connected = !others_in_net
            && r.protocol == RouteProtocol::Kernel
            && r.dev.as_deref() == Some(link)
            && (Some(&r.dst) == dst_net.as_ref()
                || (r.table == 255 && Some(&r.dst) == bcast.as_ref()));
        // Routes that named the address as their preferred source go with it.
        !(local || connected || r.prefsrc == Some(a.address))
    });
    let v4_left = n
        .addresses
        .iter()
        .any(|o| o.ifname == link && o.address.is_ipv4());
    if a.address.is_ipv4() && !v4_left {
        // The last IPv4 address leaving a link disables IP on it: every route through it goes.
        n.routes
            .retain(|r| r.family == RouteFamily::Inet6 || r.dev.as_deref() != Some(link));
    }
}
