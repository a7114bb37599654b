//! What a plan would do to a network, worked out on a copy of its [`Snapshot`]: pure, no I/O.
//!
//! The doctor uses it to propose only fixes that remove their finding (apply the steps to a
//! copy, run the rules again), and `path` to check that a suggested fix gets the packet past
//! the hop that broke. Each step changes the model the way the kernel changes itself: a link
//! set down loses its routes and neighbours (and does not get the routes back when set up
//! again), the last IPv4 address leaving a link takes every route through it, a firewall rule
//! is read back as `iptables-save` would print it, a link moved to another namespace or
//! recreated arrives down and bare, a host-local lease released or restored changes the
//! snapshot's `cni.ipam`. A step whose effect the model cannot hold (a namespace or lease
//! directory the snapshot did not read, a sysctl it does not record) makes the whole
//! simulation [`Unknown`](Simulated::Unknown): never a guess.

use std::net::IpAddr;

use ipnet::IpNet;

use super::simulate_fw;
use super::simulate_links::{add_veth, delete_link, new_link, set_master};
use super::step::{RouteSpec, Step};
use super::{simulate_ipam, simulate_moves};
use crate::model::{
    Address, Link, LinkFlag, LinkKind, Namespace, OperState, Route, RouteDst, RouteFamily,
    RouteKind, RouteProtocol, RouteScope, Snapshot,
};

/// The result of simulating steps.
#[derive(Debug, Clone, PartialEq)]
pub enum Simulated {
    /// The snapshot as it would be after the steps.
    Done(Box<Snapshot>),
    /// The kernel would refuse a step (a gateway on no subnet, a link that is not there), so
    /// the plan would fail: why.
    Refused(String),
    /// A step the model cannot follow: why. Nothing is known about the result.
    Unknown(String),
}

const UNMODELLED: &str = "not modelled: ";

/// The error of a step whose effect the model cannot hold.
pub(crate) fn unmodelled(what: &str) -> String {
    format!("{UNMODELLED}{what}")
}

/// Applies `steps` in order to a copy of `snap`.
pub fn simulate(snap: &Snapshot, steps: &[Step]) -> Simulated {
    let mut copy = snap.clone();
    for step in steps {
        match apply(&mut copy, step) {
            Ok(()) => {}
            Err(why) if why.starts_with(UNMODELLED) => {
                return Simulated::Unknown(format!("`{step}`: {why}"))
            }
            Err(why) => return Simulated::Refused(format!("`{step}`: {why}")),
        }
    }
    Simulated::Done(Box::new(copy))
}

/// Applies one step to `snap` in place; `Err` says why the kernel would refuse it, or (made
/// by [`unmodelled`]) that the model cannot follow it.
pub fn apply(snap: &mut Snapshot, step: &Step) -> Result<(), String> {
    match step {
        Step::SetLinkUp { ns, link, up } => set_up(snap, ns, link, *up),
        Step::SetMtu { ns, link, mtu } => {
            ns_mut(snap, ns)?.link_mut(link)?.mtu = *mtu;
            Ok(())
        }
        Step::AddAddress { ns, link, addr } => add_address(ns_mut(snap, ns)?, link, addr),
        Step::DelAddress { ns, link, addr } => {
            del_address(ns_mut(snap, ns)?, link, addr);
            Ok(())
        }
        Step::AddRoute { ns, route } => add_route(ns_mut(snap, ns)?, route, None),
        Step::RestoreRoute {
            ns,
            route,
            protocol,
            scope,
            kind,
            prefsrc,
        } => add_route(
            ns_mut(snap, ns)?,
            route,
            Some(Restored {
                protocol: *protocol,
                scope: *scope,
                kind: *kind,
                prefsrc: *prefsrc,
            }),
        ),
        Step::DelRoute { ns, route } => {
            let n = ns_mut(snap, ns)?;
            // iptables-like: a route that is not there is "already so" for the engine.
            n.routes.retain(|r| !route_matches(r, route));
            Ok(())
        }
        Step::SetMaster { ns, link, master } => set_master(ns_mut(snap, ns)?, link, master),
        Step::AddBridge { ns, name } => {
            let n = ns_mut(snap, ns)?;
            new_link(n, name, LinkKind::Bridge)?;
            Ok(())
        }
        Step::AddVeth {
            ns,
            name,
            peer_ns,
            peer,
        } => add_veth(snap, ns, name, peer_ns, peer),
        Step::DeleteLink { ns, name } => delete_link(snap, ns, name),
        Step::SetSysctl { ns, key, value, .. } => {
            simulate_fw::set_sysctl(&mut ns_mut(snap, ns)?.sysctls, key, value)
        }
        Step::AddIptablesRule {
            ns,
            table,
            chain,
            rule,
        } => simulate_fw::add_rule(ns_mut(snap, ns)?, table, chain, None, rule),
        Step::InsertIptablesRule {
            ns,
            table,
            chain,
            position,
            rule,
        } => simulate_fw::add_rule(ns_mut(snap, ns)?, table, chain, Some(*position), rule),
        Step::DelIptablesRule {
            ns,
            table,
            chain,
            rule,
        } => simulate_fw::del_rule(ns_mut(snap, ns)?, table, chain, rule),
        Step::AddIptablesChain { ns, table, chain } => {
            simulate_fw::add_chain(ns_mut(snap, ns)?, table, chain)
        }
        Step::DelIptablesChain { ns, table, chain } => {
            simulate_fw::del_chain(ns_mut(snap, ns)?, table, chain)
        }
        Step::WriteFile {
            ns, path, content, ..
        } => simulate_fw::write_file(ns_mut(snap, ns)?, path, content.as_deref()),
        Step::InsertNftRule { ns, .. } | Step::DelNftRule { ns, .. } => {
            super::simulate_nft::apply_ns(ns_mut(snap, ns)?, step)
        }
        // Boot-time configuration only: nothing running changes.
        Step::RestoreSysctlFile { .. } => Ok(()),
        Step::MoveLink { ns, name, to_ns } => simulate_moves::move_link(snap, ns, name, to_ns),
        Step::RecreateLink { kind, link, peer } => {
            simulate_moves::recreate_link(snap, kind, link, peer.as_ref())
        }
        Step::ReleaseIpamLease { .. } | Step::RestoreIpamLease { .. } => {
            simulate_ipam::apply(snap, step)
        }
        Step::SetBridgePort { .. }
        | Step::DelNeigh { .. }
        | Step::AddNeigh { .. }
        | Step::DelRule { .. }
        | Step::AddRule { .. } => super::simulate_l2::apply(snap, step),
        Step::CreateNs { .. } | Step::DeleteNs { .. } => {
            Err(unmodelled("creating or deleting a namespace"))
        }
        Step::SetIptablesPolicy { .. } => Err(unmodelled("a chain's policy")),
    }
}

pub(super) fn ns_mut<'a>(snap: &'a mut Snapshot, name: &str) -> Result<&'a mut Namespace, String> {
    snap.namespaces
        .iter_mut()
        .find(|n| n.name == name)
        .ok_or_else(|| unmodelled(&format!("namespace {name}, not in the snapshot,")))
}

pub(super) trait LinkMut {
    fn link_mut(&mut self, name: &str) -> Result<&mut Link, String>;
}

impl LinkMut for Namespace {
    fn link_mut(&mut self, name: &str) -> Result<&mut Link, String> {
        let ns = self.name.clone();
        self.links
            .iter_mut()
            .find(|l| l.name == name)
            .ok_or_else(|| format!("no link {name} in {ns}"))
    }
}

/// The kernel's view of carrier: a veth has it while its peer is up too.
fn refresh_oper(snap: &mut Snapshot, ns: &str, link: &str) {
    let peer = snap
        .namespace(ns)
        .and_then(|n| n.links.iter().find(|l| l.name == link))
        .and_then(|l| l.peer.clone());
    let peer_up = peer.as_ref().map(|p| {
        p.namespace
            .as_deref()
            .and_then(|pn| snap.namespace(pn))
            .and_then(|pn| pn.links.iter().find(|l| l.index == p.ifindex))
            .is_some_and(Link::is_up)
    });
    let Some(l) = snap
        .namespaces
        .iter_mut()
        .find(|n| n.name == ns)
        .and_then(|n| n.links.iter_mut().find(|l| l.name == link))
    else {
        return;
    };
    l.flags
        .retain(|f| !matches!(f, LinkFlag::LowerUp | LinkFlag::Running));
    let up = l.is_up();
    let carrier = up && peer_up.unwrap_or(true);
    if carrier {
        l.flags.insert(LinkFlag::LowerUp);
    }
    l.oper_state = match (up, carrier, &l.kind) {
        (false, _, _) => OperState::Down,
        (true, false, _) => OperState::LowerLayerDown,
        (true, true, LinkKind::Loopback) => OperState::Unknown,
        (true, true, _) => OperState::Up,
    };
}

fn set_up(snap: &mut Snapshot, ns: &str, link: &str, up: bool) -> Result<(), String> {
    let n = ns_mut(snap, ns)?;
    let l = n.link_mut(link)?;
    if l.is_up() == up {
        return Ok(());
    }
    let peer = l.peer.clone();
    if up {
        l.flags.insert(LinkFlag::Up);
        let addrs: Vec<Address> = n
            .addresses
            .iter()
            .filter(|a| a.ifname == link)
            .cloned()
            .collect();
        for a in &addrs {
            add_address_routes(n, a);
        }
    } else {
        l.flags.remove(LinkFlag::Up);
        // keep_addr_on_down=0: IPv6 addresses go too (link-local ones come back on up).
        n.addresses.retain(|a| {
            a.ifname != link
                || a.address.is_ipv4()
                || a.scope == RouteScope::Link
                || is_fe80(a.address)
        });
        // The kernel flushes every route through the link (connected and local ones too) and
        // its neighbours; setting it up again brings back only the connected routes.
        n.routes.retain(|r| r.dev.as_deref() != Some(link));
        n.neighbors.retain(|x| x.dev != link);
    }
    refresh_oper(snap, ns, link);
    if let Some(p) = peer {
        let pname = p.namespace.as_deref().and_then(|pn| {
            snap.namespace(pn)
                .and_then(|n| n.links.iter().find(|l| l.index == p.ifindex))
                .map(|l| (pn.to_string(), l.name.clone()))
        });
        if let Some((pn, pl)) = pname {
            refresh_oper(snap, &pn, &pl);
        }
    }
    Ok(())
}

fn is_fe80(ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80)
}

fn prefix_of(a: &Address) -> Option<IpNet> {
    IpNet::new(a.address, a.prefix_len).ok().map(|n| n.trunc())
}

fn route(table: u32, dst: RouteDst, dev: &str, scope: RouteScope, kind: RouteKind) -> Route {
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

fn family(ip: IpAddr) -> RouteFamily {
    RouteFamily::of(ip)
}

/// `192.0.2.1/32`: how the local table names a host address.
fn host_dst(ip: IpAddr) -> RouteDst {
    RouteDst::host(ip)
}

/// The routes the kernel adds for an address on an up link: its local route, and unless it is
/// a host address the connected route to its prefix and (IPv4) the broadcast route.
fn add_address_routes(n: &mut Namespace, a: &Address) {
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

fn push_route(n: &mut Namespace, r: Route) {
    let same = |x: &Route| {
        x.table == r.table && x.dst == r.dst && x.dev == r.dev && x.gateway == r.gateway
    };
    if !n.routes.iter().any(same) {
        n.routes.push(r);
    }
}

fn add_address(n: &mut Namespace, link: &str, addr: &IpNet) -> Result<(), String> {
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

fn del_address(n: &mut Namespace, link: &str, addr: &IpNet) {
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

/// The original attributes of a route put back by undo.
struct Restored {
    protocol: u8,
    scope: u8,
    kind: u8,
    prefsrc: Option<IpAddr>,
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

fn add_route(
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
