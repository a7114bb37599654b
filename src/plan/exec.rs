//! Executing one step inside its namespace. Links, addresses and routes go through rtnetlink
//! on a per-namespace connection ([`Session`]); sysctls and iptables through [`proc_ops`].
//! [`Engine::execute`] only changes things: what to check first and what the inverse is, is
//! [`super::inverse`]'s job, done just before.

use std::future::Future;
use std::os::fd::AsRawFd;

use netlink_packet_route::link::{InfoData, InfoVeth};
use netlink_packet_route::route::{RouteProtocol, RouteScope, RouteType};
use rtnetlink::{
    Handle, LinkBridge, LinkMessageBuilder, LinkUnspec, LinkVeth, RouteMessageBuilder,
};

use super::live::{addrs_of, routes};
use super::persist;
use super::proc_ops;
use super::step::{LinkEnd, RouteSpec, Step};
use crate::rtnl::query::{get_link, need_link, nl_err};
use crate::rtnl::session::Session;

/// What the engine needs across the steps of one plan: a netlink connection per namespace and
/// the label written into persisted sysctl files.
pub struct Engine {
    session: Session,
    pub label: String,
    /// Namespaces named in the plan: the first candidates when looking for a veth's peer.
    pub plan_namespaces: Vec<String>,
}

/// Attributes of a link to create; `None` lets the kernel choose.
#[derive(Default)]
struct NewLink<'a> {
    name: &'a str,
    index: Option<u32>,
    mac: Option<Vec<u8>>,
    mtu: Option<u32>,
}

impl<'a> NewLink<'a> {
    fn named(name: &'a str) -> Self {
        NewLink {
            name,
            ..NewLink::default()
        }
    }

    fn exact(end: &'a LinkEnd) -> Result<Self, String> {
        Ok(NewLink {
            name: &end.name,
            index: Some(end.index),
            mac: Some(parse_mac(&end.mac)?),
            mtu: Some(end.mtu),
        })
    }

    fn without_index(&self) -> NewLink<'a> {
        NewLink {
            name: self.name,
            index: None,
            mac: self.mac.clone(),
            mtu: self.mtu,
        }
    }

    fn apply<T>(&self, mut b: LinkMessageBuilder<T>) -> LinkMessageBuilder<T> {
        if let Some(i) = self.index {
            b = b.index(i);
        }
        if let Some(mac) = &self.mac {
            b = b.address(mac.clone());
        }
        if let Some(mtu) = self.mtu {
            b = b.mtu(mtu);
        }
        b
    }
}

pub fn parse_mac(text: &str) -> Result<Vec<u8>, String> {
    text.split(':')
        .map(|h| u8::from_str_radix(h, 16))
        .collect::<Result<Vec<u8>, _>>()
        .ok()
        .filter(|b| !b.is_empty())
        .ok_or_else(|| format!("invalid MAC address {text:?}"))
}

impl Engine {
    pub fn new(label: String, plan_namespaces: Vec<String>) -> Result<Engine, String> {
        Ok(Engine {
            session: Session::new()?,
            label,
            plan_namespaces,
        })
    }

    pub fn handle(&mut self, ns: &str) -> Result<Handle, String> {
        self.session.handle(ns)
    }

    pub fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.session.rt.block_on(f)
    }

    /// Runs `step`. Returns a refined inverse when only the change itself reveals it (the
    /// position an iptables rule was deleted from).
    pub fn execute(&mut self, step: &Step) -> Result<Option<Vec<Step>>, String> {
        match step {
            Step::AddVeth {
                ns,
                name,
                peer_ns,
                peer,
            } => self.create_veth(ns, &NewLink::named(name), peer_ns, &NewLink::named(peer)),
            Step::AddBridge { ns, name } => self.create_bridge(ns, &NewLink::named(name)),
            Step::RecreateLink { kind, link, peer } => {
                let a = NewLink::exact(link)?;
                match (kind.as_str(), peer) {
                    ("veth", Some(p)) => {
                        let b = NewLink::exact(p)?;
                        // The old index may be taken by now: then the same link with a new one.
                        self.create_veth(&link.ns, &a, &p.ns, &b).or_else(|e| {
                            if e.contains("File exists") {
                                self.create_veth(
                                    &link.ns,
                                    &a.without_index(),
                                    &p.ns,
                                    &b.without_index(),
                                )
                            } else {
                                Err(e)
                            }
                        })
                    }
                    ("bridge", None) => self.create_bridge(&link.ns, &a).or_else(|e| {
                        if e.contains("File exists") {
                            self.create_bridge(&link.ns, &a.without_index())
                        } else {
                            Err(e)
                        }
                    }),
                    _ => Err(format!("cannot recreate a {kind} link")),
                }
            }
            Step::DeleteLink { ns, name } => {
                let h = self.handle(ns)?;
                self.block_on(async {
                    let Some(link) = get_link(&h, name).await? else {
                        return Ok(());
                    };
                    h.link()
                        .del(link.header.index)
                        .execute()
                        .await
                        .map_err(|e| format!("cannot delete {name} in {ns}: {}", nl_err(e)))
                })
            }
            Step::MoveLink { ns, name, to_ns } => {
                let target = Session::open_ns(to_ns)?;
                let h = self.handle(ns)?;
                self.block_on(async {
                    let link = need_link(&h, ns, name).await?;
                    h.link()
                        .set(
                            LinkUnspec::new_with_index(link.header.index)
                                .setns_by_fd(target.as_raw_fd())
                                .build(),
                        )
                        .execute()
                        .await
                        .map_err(|e| {
                            format!("cannot move {name} from {ns} to {to_ns}: {}", nl_err(e))
                        })
                })
            }
            Step::SetMaster { ns, link, master } => {
                let h = self.handle(ns)?;
                self.block_on(async {
                    let port = need_link(&h, ns, link).await?;
                    let b = LinkUnspec::new_with_index(port.header.index);
                    let msg = match master {
                        Some(m) => b
                            .controller(need_link(&h, ns, m).await?.header.index)
                            .build(),
                        None => b.nocontroller().build(),
                    };
                    h.link().set(msg).execute().await.map_err(|e| {
                        format!("cannot set the master of {link} in {ns}: {}", nl_err(e))
                    })
                })
            }
            Step::SetLinkUp { ns, link, up } => {
                let h = self.handle(ns)?;
                self.block_on(async {
                    let dev = need_link(&h, ns, link).await?;
                    let b = LinkUnspec::new_with_index(dev.header.index);
                    let msg = if *up { b.up() } else { b.down() }.build();
                    h.link().set(msg).execute().await.map_err(|e| {
                        format!(
                            "cannot set {link} {} in {ns}: {}",
                            if *up { "up" } else { "down" },
                            nl_err(e)
                        )
                    })
                })
            }
            Step::SetMtu { ns, link, mtu } => {
                let h = self.handle(ns)?;
                self.block_on(async {
                    let dev = need_link(&h, ns, link).await?;
                    h.link()
                        .set(
                            LinkUnspec::new_with_index(dev.header.index)
                                .mtu(*mtu)
                                .build(),
                        )
                        .execute()
                        .await
                        .map_err(|e| {
                            format!("cannot set mtu {mtu} on {link} in {ns}: {}", nl_err(e))
                        })
                })
            }
            Step::AddAddress { ns, link, addr } => {
                let h = self.handle(ns)?;
                self.block_on(async {
                    let dev = need_link(&h, ns, link).await?;
                    h.address()
                        .add(dev.header.index, addr.addr(), addr.prefix_len())
                        .execute()
                        .await
                        .map_err(|e| format!("cannot add {addr} to {link} in {ns}: {}", nl_err(e)))
                })
            }
            Step::DelAddress { ns, link, addr } => {
                let h = self.handle(ns)?;
                self.block_on(async {
                    let dev = need_link(&h, ns, link).await?;
                    let found = addrs_of(&h, ns, dev.header.index)
                        .await?
                        .into_iter()
                        .find(|a| a.net == *addr);
                    let Some(found) = found else { return Ok(()) };
                    h.address().del(found.msg).execute().await.map_err(|e| {
                        format!("cannot remove {addr} from {link} in {ns}: {}", nl_err(e))
                    })
                })
            }
            // `ip route add` marks routes proto boot; do the same so the shown command and the
            // result agree.
            Step::AddRoute { ns, route } => self.add_route(ns, route, 3, None, 1, None),
            Step::RestoreRoute {
                ns,
                route,
                protocol,
                scope,
                kind,
                prefsrc,
            } => self.add_route(ns, route, *protocol, Some(*scope), *kind, *prefsrc),
            Step::DelRoute { ns, route } => {
                let h = self.handle(ns)?;
                self.block_on(async {
                    let live = routes(&h, ns).await?;
                    let Some(found) = live.into_iter().find(|r| r.matches(route)) else {
                        return Ok(());
                    };
                    h.route()
                        .del(found.msg)
                        .execute()
                        .await
                        .map_err(|e| format!("cannot remove route {route} in {ns}: {}", nl_err(e)))
                })
            }
            Step::SetSysctl {
                ns,
                key,
                value,
                persist: keep,
            } => {
                let old = proc_ops::read_sysctl(ns, key)?;
                proc_ops::write_sysctl(ns, key, value)?;
                if *keep {
                    let content = persist::conf_content(key, value, &self.label);
                    if let Err(e) = persist::write(key, Some(&content)) {
                        // A step is all or nothing too: the failed step is not rolled back
                        // by the plan, so put the live value back here.
                        return match proc_ops::write_sysctl(ns, key, &old) {
                            Ok(()) => Err(e),
                            Err(e2) => Err(format!("{e}; and restoring {key} failed: {e2}")),
                        };
                    }
                }
                Ok(())
            }
            Step::RestoreSysctlFile { key, content } => persist::write(key, content.as_deref()),
            Step::WriteFile {
                path,
                content,
                pid_start,
                ..
            } => super::files::write(path, content.as_deref(), *pid_start),
            Step::ReleaseIpamLease {
                dir,
                ip,
                container_id,
            } => super::leases::release(dir, *ip, container_id.as_deref()),
            Step::RestoreIpamLease { dir, ip, content } => {
                super::leases::restore(dir, *ip, content)
            }
            Step::AddIptablesRule {
                ns,
                table,
                chain,
                rule,
            } => proc_ops::change_rule(ns, table, "-A", chain, None, rule),
            Step::InsertIptablesRule {
                ns,
                table,
                chain,
                position,
                rule,
            } => proc_ops::change_rule(ns, table, "-I", chain, Some(*position), rule),
            Step::AddIptablesChain { ns, table, chain } => {
                proc_ops::change_chain(ns, table, "-N", chain)
            }
            Step::DelIptablesChain { ns, table, chain } => del_chain(ns, table, chain),
            Step::InsertNftRule {
                ns,
                family,
                table,
                chain,
                rule,
            } => {
                let (c, _, _) = super::nft_ops::parts(step).expect("an nft step");
                // The handle exists only now: the inverse deletes exactly that rule.
                let handle = super::nft_ops::insert(c, rule)?;
                return Ok(Some(vec![Step::DelNftRule {
                    ns: ns.clone(),
                    family: family.clone(),
                    table: table.clone(),
                    chain: chain.clone(),
                    handle,
                    rule: rule.clone(),
                }]));
            }
            Step::DelNftRule { .. } => {
                let (c, handle, rule) = super::nft_ops::parts(step).expect("an nft step");
                super::nft_ops::delete(c, handle.unwrap_or(0), rule)
            }
            Step::DelIptablesRule {
                ns,
                table,
                chain,
                rule,
            } => {
                let before = proc_ops::list_rules(ns, table, chain)?;
                proc_ops::change_rule(ns, table, "-D", chain, None, rule)?;
                let after = proc_ops::list_rules(ns, table, chain)?;
                let position = proc_ops::removed_position(&before, &after);
                return Ok(Some(vec![Step::InsertIptablesRule {
                    ns: ns.clone(),
                    table: table.clone(),
                    chain: chain.clone(),
                    position,
                    rule: rule.clone(),
                }]));
            }
            Step::SetBridgePort { .. } => super::brport_ops::execute(self, step),
            Step::DelNeigh { .. } | Step::AddNeigh { .. } => super::neigh_ops::execute(self, step),
            Step::DelRule { .. } | Step::AddRule { .. } => super::rule_ops::execute(self, step),
        }
        .map(|()| None)
    }

    fn create_veth(
        &mut self,
        ns: &str,
        a: &NewLink,
        peer_ns: &str,
        b: &NewLink,
    ) -> Result<(), String> {
        let h = self.handle(ns)?;
        let peer_file = Session::open_ns(peer_ns)?;
        // Both ends are created in place, as `ip link add A type veth peer name B netns NS`
        // does: the peer message carries the target namespace's fd, so no end ever shows up in
        // another namespace under a clashing name.
        let mut peer = b.apply(LinkMessageBuilder::<LinkUnspec>::new().name(b.name.to_string()));
        if peer_ns != ns {
            peer = peer.setns_by_fd(peer_file.as_raw_fd());
        }
        let msg = a
            .apply(LinkVeth::new(a.name, b.name))
            .set_info_data(InfoData::Veth(InfoVeth::Peer(peer.build())))
            .build();
        self.block_on(async {
            h.link().add(msg).execute().await.map_err(|e| {
                format!(
                    "cannot create veth {} in {ns} (peer {} in {peer_ns}): {}",
                    a.name,
                    b.name,
                    nl_err(e)
                )
            })
        })
    }

    fn create_bridge(&mut self, ns: &str, a: &NewLink) -> Result<(), String> {
        let h = self.handle(ns)?;
        // Down, as `ip link add NAME type bridge` (the preview) creates it: rtnetlink's
        // `LinkBridge::new` would set it up. A recreated bridge that was up is brought up by
        // its inverse's own `set_link_up` step.
        let msg = a
            .apply(LinkMessageBuilder::<LinkBridge>::new(a.name))
            .build();
        self.block_on(async {
            h.link()
                .add(msg)
                .execute()
                .await
                .map_err(|e| format!("cannot create bridge {} in {ns}: {}", a.name, nl_err(e)))
        })
    }

    fn add_route(
        &mut self,
        ns: &str,
        route: &RouteSpec,
        protocol: u8,
        scope: Option<u8>,
        kind: u8,
        prefsrc: Option<std::net::IpAddr>,
    ) -> Result<(), String> {
        let h = self.handle(ns)?;
        let bad = |e: &dyn std::fmt::Display| format!("route {route} in {ns}: {e}");
        self.block_on(async {
            let mut b = RouteMessageBuilder::<std::net::IpAddr>::new()
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
                .map_err(|e| format!("cannot add route {route} in {ns}: {}", nl_err(e)))
        })
    }
}

/// Flushes and removes a chain nothing jumps to. All or nothing: when `-X` fails after the
/// flush (a jump added meanwhile), the rules are put back.
fn del_chain(ns: &str, table: &str, chain: &str) -> Result<(), String> {
    let refs = proc_ops::chain_references(ns, table, chain)?;
    if refs > 0 {
        return Err(format!("{refs} rule(s) in {ns} jump to {table}/{chain}"));
    }
    let rules = proc_ops::list_rules(ns, table, chain)?;
    proc_ops::change_chain(ns, table, "-F", chain)?;
    if let Err(e) = proc_ops::change_chain(ns, table, "-X", chain) {
        for line in &rules {
            let argv = proc_ops::rule_argv(line);
            if let Err(e2) = proc_ops::change_rule(ns, table, "-A", chain, None, &argv) {
                return Err(format!("{e}; and restoring {table}/{chain} failed: {e2}"));
            }
        }
        return Err(e);
    }
    Ok(())
}
