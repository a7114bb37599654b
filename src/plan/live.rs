//! Reading the live state a step is about to change: addresses and routes as typed values the
//! engine can compare with a step and turn into an exact inverse.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use futures::TryStreamExt;
use ipnet::IpNet;
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::LinkMessage;
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteHeader, RouteMessage};
use rtnetlink::{Handle, RouteMessageBuilder};

use super::step::{RouteSpec, Step};
use crate::netlink::query::{all_links, controller, is_up, link_name, nl_err, route_table};

/// RTPROT_KERNEL, RTPROT_RA: routes the kernel makes by itself from addresses and router
/// advertisements, which come back with the address and need no restoring.
const PROTO_KERNEL: u8 = 2;
const PROTO_RA: u8 = 9;
const TABLE_LOCAL: u32 = 255;

pub struct LiveAddr {
    pub net: IpNet,
    pub msg: AddressMessage,
}

/// Addresses of the link with index `index`.
pub async fn addrs_of(handle: &Handle, ns: &str, index: u32) -> Result<Vec<LiveAddr>, String> {
    let msgs: Vec<AddressMessage> = handle
        .address()
        .get()
        .set_link_index_filter(index)
        .execute()
        .try_collect()
        .await
        .map_err(|e| format!("cannot list addresses in {ns}: {}", nl_err(e)))?;
    Ok(msgs
        .into_iter()
        .filter(|m| m.header.index == index)
        .filter_map(|msg| {
            // IFA_LOCAL is the address itself on point-to-point links; IFA_ADDRESS the peer.
            let local = msg.attributes.iter().find_map(|a| match a {
                AddressAttribute::Local(ip) => Some(*ip),
                _ => None,
            });
            let addr = local.or_else(|| {
                msg.attributes.iter().find_map(|a| match a {
                    AddressAttribute::Address(ip) => Some(*ip),
                    _ => None,
                })
            })?;
            let net = IpNet::new(addr, msg.header.prefix_len).ok()?;
            Some(LiveAddr { net, msg })
        })
        .collect())
}

/// Link-local IPv6 addresses are derived from the MAC and come back by themselves.
pub fn is_auto_addr(net: &IpNet) -> bool {
    matches!(net, IpNet::V6(v6) if (v6.addr().segments()[0] & 0xffc0) == 0xfe80)
}

pub struct LiveRoute {
    pub spec: RouteSpec,
    pub protocol: u8,
    pub scope: u8,
    pub kind: u8,
    pub prefsrc: Option<IpAddr>,
    pub oif: Option<u32>,
    pub msg: RouteMessage,
}

impl LiveRoute {
    /// Made by the kernel (from an address, an RA) or in the local table: not the plan's to
    /// restore.
    pub fn is_automatic(&self) -> bool {
        self.protocol == PROTO_KERNEL
            || self.protocol == PROTO_RA
            || route_table(&self.msg) == TABLE_LOCAL
    }

    pub fn restore_step(&self, ns: &str) -> Step {
        Step::RestoreRoute {
            ns: ns.to_string(),
            route: self.spec.clone(),
            protocol: self.protocol,
            scope: self.scope,
            kind: self.kind,
            prefsrc: self.prefsrc,
        }
    }

    /// Whether this route is the one `spec` names: same table and destination, and the same
    /// metric, gateway and device where the spec gives them.
    pub fn matches(&self, spec: &RouteSpec) -> bool {
        let table = |t: Option<u32>| t.unwrap_or(u32::from(RouteHeader::RT_TABLE_MAIN));
        table(self.spec.table) == table(spec.table)
            && self.spec.dst == spec.dst.trunc()
            && (spec.metric.is_none() || self.spec.metric.unwrap_or(0) == spec.metric.unwrap_or(0))
            && (spec.via.is_none() || self.spec.via == spec.via)
            && (spec.dev.is_none() || self.spec.dev == spec.dev)
    }
}

fn ip_of(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

/// Every route of the namespace, IPv4 and IPv6, all tables, with device names.
pub async fn routes(handle: &Handle, ns: &str) -> Result<Vec<LiveRoute>, String> {
    let links = all_links(handle, ns).await?;
    let name_of = |index: u32| {
        links
            .iter()
            .find(|l| l.header.index == index)
            .and_then(link_name)
            .map(str::to_string)
    };
    let mut out = Vec::new();
    for (query, v6) in [
        (RouteMessageBuilder::<Ipv4Addr>::new().build(), false),
        (RouteMessageBuilder::<Ipv6Addr>::new().build(), true),
    ] {
        let msgs: Vec<RouteMessage> = handle
            .route()
            .get(query)
            .execute()
            .try_collect()
            .await
            .map_err(|e| format!("cannot list routes in {ns}: {}", nl_err(e)))?;
        for msg in msgs {
            let attr_ip = |pick: fn(&RouteAttribute) -> Option<&RouteAddress>| {
                msg.attributes.iter().find_map(pick).and_then(ip_of)
            };
            let dst_ip = attr_ip(|a| match a {
                RouteAttribute::Destination(x) => Some(x),
                _ => None,
            })
            .unwrap_or(if v6 {
                IpAddr::V6(Ipv6Addr::UNSPECIFIED)
            } else {
                IpAddr::V4(Ipv4Addr::UNSPECIFIED)
            });
            let Ok(dst) = IpNet::new(dst_ip, msg.header.destination_prefix_length) else {
                continue;
            };
            let via = attr_ip(|a| match a {
                RouteAttribute::Gateway(x) => Some(x),
                _ => None,
            });
            let prefsrc = attr_ip(|a| match a {
                RouteAttribute::PrefSource(x) => Some(x),
                _ => None,
            });
            let oif = msg.attributes.iter().find_map(|a| match a {
                RouteAttribute::Oif(i) => Some(*i),
                _ => None,
            });
            let metric = msg.attributes.iter().find_map(|a| match a {
                RouteAttribute::Priority(p) => Some(*p),
                _ => None,
            });
            let table = route_table(&msg);
            out.push(LiveRoute {
                spec: RouteSpec {
                    dst,
                    via,
                    dev: oif.and_then(name_of),
                    table: (table != u32::from(RouteHeader::RT_TABLE_MAIN)).then_some(table),
                    metric,
                },
                protocol: u8::from(msg.header.protocol),
                scope: u8::from(msg.header.scope),
                kind: u8::from(msg.header.kind),
                prefsrc,
                oif,
                msg,
            });
        }
    }
    Ok(out)
}

/// The steps that put back what a link loses when it is deleted, moved or set down: its
/// bridge, its addresses, its up state, then the routes through it (routes need the link up).
/// `routes_out` collects the routes separately so a caller can put them after everything else.
pub async fn link_restore_steps(
    handle: &Handle,
    ns: &str,
    link: &LinkMessage,
    steps: &mut Vec<Step>,
    routes_out: &mut Vec<Step>,
) -> Result<(), String> {
    let name = link_name(link).unwrap_or_default().to_string();
    if let Some(master) = controller(link) {
        let links = all_links(handle, ns).await?;
        if let Some(m) = links
            .iter()
            .find(|l| l.header.index == master)
            .and_then(link_name)
        {
            steps.push(Step::SetMaster {
                ns: ns.to_string(),
                link: name.clone(),
                master: Some(m.to_string()),
            });
        }
    }
    for a in addrs_of(handle, ns, link.header.index).await? {
        if !is_auto_addr(&a.net) {
            steps.push(Step::AddAddress {
                ns: ns.to_string(),
                link: name.clone(),
                addr: a.net,
            });
        }
    }
    if is_up(link) {
        steps.push(Step::SetLinkUp {
            ns: ns.to_string(),
            link: name.clone(),
            up: true,
        });
    }
    for r in routes(handle, ns).await? {
        if r.oif == Some(link.header.index) && !r.is_automatic() {
            routes_out.push(r.restore_step(ns));
        }
    }
    Ok(())
}
