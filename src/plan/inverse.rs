//! The inverse of each step, computed from the live state just before the step runs: the
//! sysctl's current value, the link's current master, the route exactly as the kernel holds
//! it. A step whose target state already holds is a no-op with no inverse (as CNI treats an
//! address that is already there), so undo never removes what netlens did not add. A step whose
//! inverse cannot be known exactly is refused here, before it runs.

use std::collections::BTreeSet;

use netlink_packet_route::link::{InfoKind, LinkMessage};
use rtnetlink::Handle;

use super::exec::Engine;
use super::live::{addrs_of, link_restore_steps, routes};
use super::persist;
use super::proc_ops;
use super::step::{LinkEnd, Step};
use crate::collect::netlink::NlSocket;
use crate::collect::peers::nsid_of;
use crate::collect::rtnl::hex_mac;
use crate::netns::discover::discover;
use crate::netns::enter::run_in_netns_file;
use crate::netns::resolve::open_ns;
use crate::rtnl::query::{
    all_links, controller, get_link, is_up, link_kind, link_mac, link_mtu, link_name, link_netnsid,
    need_link, peer_index,
};

/// What running a step will need undoing with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// The target state already holds: nothing to run, nothing to undo.
    pub noop: bool,
    /// Steps that undo it, in the order to run them.
    pub inverse: Vec<Step>,
}

fn noop() -> Result<Prepared, String> {
    Ok(Prepared {
        noop: true,
        inverse: Vec::new(),
    })
}

fn run(inverse: Vec<Step>) -> Result<Prepared, String> {
    Ok(Prepared {
        noop: false,
        inverse,
    })
}

fn kind_is(link: &LinkMessage, kind: &InfoKind) -> bool {
    link_kind(link) == Some(kind)
}

/// Reads the state `step` changes and returns its inverse, or why it cannot run.
pub fn prepare(eng: &mut Engine, step: &Step) -> Result<Prepared, String> {
    match step {
        Step::AddVeth {
            ns,
            name,
            peer_ns,
            peer,
        } => {
            let (ha, hb) = (eng.handle(ns)?, eng.handle(peer_ns)?);
            eng.block_on(async {
                let a = get_link(&ha, name).await?;
                let b = get_link(&hb, peer).await?;
                match (a, b) {
                    (None, None) => run(vec![Step::DeleteLink {
                        ns: ns.clone(),
                        name: name.clone(),
                    }]),
                    (Some(a), Some(b))
                        if kind_is(&a, &InfoKind::Veth)
                            && peer_index(&a) == Some(b.header.index)
                            && peer_index(&b) == Some(a.header.index) =>
                    {
                        noop()
                    }
                    (Some(_), _) => Err(format!("{name} already exists in {ns}")),
                    (None, Some(_)) => Err(format!("{peer} already exists in {peer_ns}")),
                }
            })
        }
        Step::AddBridge { ns, name } => {
            let h = eng.handle(ns)?;
            eng.block_on(async {
                match get_link(&h, name).await? {
                    None => run(vec![Step::DeleteLink {
                        ns: ns.clone(),
                        name: name.clone(),
                    }]),
                    Some(l) if kind_is(&l, &InfoKind::Bridge) => noop(),
                    Some(_) => Err(format!("{name} already exists in {ns} and is not a bridge")),
                }
            })
        }
        Step::RecreateLink { kind, link, peer } => {
            let h = eng.handle(&link.ns)?;
            let hp = match peer {
                Some(p) => Some(eng.handle(&p.ns)?),
                None => None,
            };
            eng.block_on(async {
                let Some(now) = get_link(&h, &link.name).await? else {
                    return run(vec![Step::DeleteLink {
                        ns: link.ns.clone(),
                        name: link.name.clone(),
                    }]);
                };
                // Already recreated (an undo killed after this step and run again): the same
                // kind, and for a veth the same peer, is the before-state; anything else is
                // someone else's link and is never taken over.
                let same = match (kind.as_str(), peer, &hp) {
                    ("bridge", None, _) => kind_is(&now, &InfoKind::Bridge),
                    ("veth", Some(p), Some(hp)) => {
                        kind_is(&now, &InfoKind::Veth)
                            && get_link(hp, &p.name)
                                .await?
                                .is_some_and(|b| peer_index(&now) == Some(b.header.index))
                    }
                    _ => false,
                };
                if same {
                    noop()
                } else {
                    Err(format!(
                        "cannot recreate {kind} {}: another link of that name exists in {}",
                        link.name, link.ns
                    ))
                }
            })
        }
        Step::DeleteLink { ns, name } => delete_link_inverse(eng, ns, name),
        Step::MoveLink { ns, name, to_ns } => {
            let (h, ht) = (eng.handle(ns)?, eng.handle(to_ns)?);
            eng.block_on(async {
                let link = need_link(&h, ns, name).await?;
                if get_link(&ht, name).await?.is_some() {
                    return Err(format!("{to_ns} already has a link called {name}"));
                }
                // Moving a link drops its addresses, bridge, up state and routes: put them back
                // after moving it home.
                let mut inverse = vec![Step::MoveLink {
                    ns: to_ns.clone(),
                    name: name.clone(),
                    to_ns: ns.clone(),
                }];
                let mut route_steps = Vec::new();
                link_restore_steps(&h, ns, &link, &mut inverse, &mut route_steps).await?;
                inverse.extend(route_steps);
                run(inverse)
            })
        }
        Step::SetMaster { ns, link, master } => {
            let h = eng.handle(ns)?;
            eng.block_on(async {
                let port = need_link(&h, ns, link).await?;
                let current = match controller(&port) {
                    Some(i) => Some(link_name_by_index(&h, ns, i).await?),
                    None => None,
                };
                if &current == master {
                    return noop();
                }
                if let Some(m) = master {
                    need_link(&h, ns, m).await?;
                }
                run(vec![Step::SetMaster {
                    ns: ns.clone(),
                    link: link.clone(),
                    master: current,
                }])
            })
        }
        Step::SetLinkUp { ns, link, up } => {
            let h = eng.handle(ns)?;
            eng.block_on(async {
                let dev = need_link(&h, ns, link).await?;
                if is_up(&dev) == *up {
                    return noop();
                }
                let mut inverse = vec![Step::SetLinkUp {
                    ns: ns.clone(),
                    link: link.clone(),
                    up: !up,
                }];
                if !up {
                    // Setting a link down flushes its IPv6 addresses (keep_addr_on_down=0)
                    // and every route through it; record them to put back once it is up.
                    for a in addrs_of(&h, ns, dev.header.index).await? {
                        if a.net.addr().is_ipv6() && !super::live::is_auto_addr(&a.net) {
                            inverse.push(Step::AddAddress {
                                ns: ns.clone(),
                                link: link.clone(),
                                addr: a.net,
                            });
                        }
                    }
                    for r in routes(&h, ns).await? {
                        if r.oif == Some(dev.header.index) && !r.is_automatic() {
                            inverse.push(r.restore_step(ns));
                        }
                    }
                }
                run(inverse)
            })
        }
        Step::SetMtu { ns, link, mtu } => {
            let h = eng.handle(ns)?;
            eng.block_on(async {
                let dev = need_link(&h, ns, link).await?;
                match link_mtu(&dev) {
                    Some(old) if old == *mtu => noop(),
                    Some(old) => run(vec![Step::SetMtu {
                        ns: ns.clone(),
                        link: link.clone(),
                        mtu: old,
                    }]),
                    None => Err(format!("{link} in {ns} reports no mtu")),
                }
            })
        }
        Step::AddAddress { ns, link, addr } => {
            let h = eng.handle(ns)?;
            eng.block_on(async {
                let dev = need_link(&h, ns, link).await?;
                let have = addrs_of(&h, ns, dev.header.index).await?;
                if let Some(a) = have.iter().find(|a| a.net.addr() == addr.addr()) {
                    return if a.net.prefix_len() == addr.prefix_len() {
                        noop()
                    } else {
                        // Like the CNI bridge plugin: a different address is an error, never
                        // silently replaced.
                        Err(format!(
                            "{link} in {ns} already has {} instead of {addr}",
                            a.net
                        ))
                    };
                }
                run(vec![Step::DelAddress {
                    ns: ns.clone(),
                    link: link.clone(),
                    addr: *addr,
                }])
            })
        }
        Step::DelAddress { ns, link, addr } => {
            let h = eng.handle(ns)?;
            eng.block_on(async {
                let dev = need_link(&h, ns, link).await?;
                let have = addrs_of(&h, ns, dev.header.index).await?;
                if !have.iter().any(|a| a.net == *addr) {
                    return noop();
                }
                let mut inverse = vec![Step::AddAddress {
                    ns: ns.clone(),
                    link: link.clone(),
                    addr: *addr,
                }];
                // The kernel drops routes whose gateway was reachable only through this
                // address's subnet; they come back after the address.
                let subnet = addr.trunc();
                for r in routes(&h, ns).await? {
                    let via_here = r.spec.via.is_some_and(|gw| subnet.contains(&gw));
                    if r.oif == Some(dev.header.index) && via_here && !r.is_automatic() {
                        inverse.push(r.restore_step(ns));
                    }
                }
                run(inverse)
            })
        }
        Step::AddRoute { ns, route } => {
            let h = eng.handle(ns)?;
            eng.block_on(async {
                let live = routes(&h, ns).await?;
                if live.iter().any(|r| r.matches(route)) {
                    return noop();
                }
                let clash = live.iter().find(|r| {
                    r.spec.dst == route.dst.trunc()
                        && r.spec.table == route.table
                        && r.spec.metric.unwrap_or(0) == route.metric.unwrap_or(0)
                });
                if let Some(c) = clash {
                    return Err(format!("{ns} already has route {}", c.spec));
                }
                run(vec![Step::DelRoute {
                    ns: ns.clone(),
                    route: route.clone(),
                }])
            })
        }
        Step::RestoreRoute { ns, route, .. } => {
            let h = eng.handle(ns)?;
            eng.block_on(async {
                if routes(&h, ns).await?.iter().any(|r| r.matches(route)) {
                    return noop();
                }
                run(vec![Step::DelRoute {
                    ns: ns.clone(),
                    route: route.clone(),
                }])
            })
        }
        Step::DelRoute { ns, route } => {
            let h = eng.handle(ns)?;
            eng.block_on(async {
                match routes(&h, ns).await?.iter().find(|r| r.matches(route)) {
                    None => noop(),
                    Some(r) => run(vec![r.restore_step(ns)]),
                }
            })
        }
        Step::SetSysctl {
            ns,
            key,
            value,
            persist: keep,
        } => {
            let old = proc_ops::read_sysctl(ns, key)?;
            let mut inverse = Vec::new();
            let mut same = old.trim() == value.trim();
            if !same {
                inverse.push(Step::SetSysctl {
                    ns: ns.clone(),
                    key: key.clone(),
                    value: old,
                    persist: false,
                });
            }
            if *keep {
                let before = persist::read(key)?;
                let wanted = persist::conf_content(key, value, &eng.label);
                if before.as_deref() != Some(wanted.as_str()) {
                    same = false;
                    inverse.push(Step::RestoreSysctlFile {
                        key: key.clone(),
                        content: before,
                    });
                }
            }
            if same {
                noop()
            } else {
                run(inverse)
            }
        }
        Step::WriteFile {
            ns,
            path,
            content,
            pid_start,
        } => {
            let before = super::files::read(path, *pid_start)?;
            if &before == content {
                return noop();
            }
            // Undo and the watchdog run later, when the pid may be another process's.
            let pid_start = match pid_start {
                Some(t) => Some(*t),
                None => super::files::pid_start(path)?,
            };
            run(vec![Step::WriteFile {
                ns: ns.clone(),
                path: path.clone(),
                content: before,
                pid_start,
            }])
        }
        Step::ReleaseIpamLease {
            dir,
            ip,
            container_id,
        } => {
            let Some(before) = super::leases::read(dir, *ip)? else {
                return noop();
            };
            if let Some(c) = container_id {
                super::leases::owned_by(dir, *ip, &before, c)?;
            }
            run(vec![Step::RestoreIpamLease {
                dir: dir.clone(),
                ip: *ip,
                content: before,
            }])
        }
        Step::RestoreIpamLease { dir, ip, content } => match super::leases::read(dir, *ip)? {
            Some(now) if &now == content => noop(),
            Some(now) => Err(super::leases::taken(dir, *ip, &now)),
            None => run(vec![Step::ReleaseIpamLease {
                dir: dir.clone(),
                ip: *ip,
                container_id: Some(crate::cni::ipam::parse_lease(content).0),
            }]),
        },
        Step::RestoreSysctlFile { key, content } => {
            let before = persist::read(key)?;
            if &before == content {
                return noop();
            }
            run(vec![Step::RestoreSysctlFile {
                key: key.clone(),
                content: before,
            }])
        }
        Step::AddIptablesRule {
            ns,
            table,
            chain,
            rule,
        }
        | Step::InsertIptablesRule {
            ns,
            table,
            chain,
            rule,
            ..
        } => {
            if proc_ops::rule_exists(ns, table, chain, rule)? {
                return noop();
            }
            run(vec![Step::DelIptablesRule {
                ns: ns.clone(),
                table: table.clone(),
                chain: chain.clone(),
                rule: rule.clone(),
            }])
        }
        Step::AddIptablesChain { ns, table, chain } => {
            if proc_ops::chain_exists(ns, table, chain)? {
                return noop();
            }
            run(vec![Step::DelIptablesChain {
                ns: ns.clone(),
                table: table.clone(),
                chain: chain.clone(),
            }])
        }
        Step::DelIptablesChain { ns, table, chain } => del_chain_inverse(ns, table, chain),
        Step::SetBridgePort { .. } => super::brport_ops::prepare(eng, step),
        Step::DelNeigh { .. } | Step::AddNeigh { .. } => super::neigh_ops::prepare(eng, step),
        Step::DelRule { .. } | Step::AddRule { .. } => super::rule_ops::prepare(eng, step),
        Step::InsertNftRule { .. } | Step::DelNftRule { .. } => {
            let (c, handle, rule) = super::nft_ops::parts(step).expect("an nft step");
            super::nft_ops::prepare(c, handle, rule)
        }
        Step::DelIptablesRule {
            ns,
            table,
            chain,
            rule,
        } => {
            if !proc_ops::rule_exists(ns, table, chain, rule)? {
                return noop();
            }
            // Provisional: the engine learns the rule's position while deleting it and then
            // records an exact -I instead.
            run(vec![Step::AddIptablesRule {
                ns: ns.clone(),
                table: table.clone(),
                chain: chain.clone(),
                rule: rule.clone(),
            }])
        }
    }
}

/// The inverse of removing a chain: the chain again, then its rules in their order. Refused
/// while anything jumps to it (`iptables -X` would fail after the flush).
fn del_chain_inverse(ns: &str, table: &str, chain: &str) -> Result<Prepared, String> {
    if !proc_ops::chain_exists(ns, table, chain)? {
        return noop();
    }
    let refs = proc_ops::chain_references(ns, table, chain)?;
    if refs > 0 {
        return Err(format!(
            "{refs} rule(s) in {ns} still jump to {table}/{chain}: remove them first"
        ));
    }
    let mut inverse = vec![Step::AddIptablesChain {
        ns: ns.to_string(),
        table: table.to_string(),
        chain: chain.to_string(),
    }];
    for line in proc_ops::list_rules(ns, table, chain)? {
        inverse.push(Step::AddIptablesRule {
            ns: ns.to_string(),
            table: table.to_string(),
            chain: chain.to_string(),
            rule: proc_ops::rule_argv(&line),
        });
    }
    run(inverse)
}

async fn link_name_by_index(h: &Handle, ns: &str, index: u32) -> Result<String, String> {
    all_links(h, ns)
        .await?
        .iter()
        .find(|l| l.header.index == index)
        .and_then(link_name)
        .map(str::to_string)
        .ok_or_else(|| format!("no link with index {index} in {ns}"))
}

fn end_of(ns: &str, link: &LinkMessage) -> Result<LinkEnd, String> {
    let name = link_name(link).unwrap_or_default().to_string();
    Ok(LinkEnd {
        ns: ns.to_string(),
        index: link.header.index,
        mac: link_mac(link)
            .map(|m| hex_mac(&m))
            .ok_or_else(|| format!("{name} in {ns} has no MAC address"))?,
        mtu: link_mtu(link).ok_or_else(|| format!("{name} in {ns} reports no mtu"))?,
        up: is_up(link),
        name,
    })
}

/// Deleting a link is undone by recreating it exactly (same index, MAC, MTU; a veth with its
/// peer) and putting back what went with it: bridge ports, master, addresses, up state and
/// routes, on both ends. Only veths and bridges can be recreated from what the kernel tells;
/// anything else is refused.
fn delete_link_inverse(eng: &mut Engine, ns: &str, name: &str) -> Result<Prepared, String> {
    let h = eng.handle(ns)?;
    let Some(link) = eng.block_on(get_link(&h, name))? else {
        // Like CNI DEL: already gone is success.
        return noop();
    };
    let kind = if kind_is(&link, &InfoKind::Veth) {
        "veth"
    } else if kind_is(&link, &InfoKind::Bridge) {
        "bridge"
    } else {
        return Err(format!(
            "refusing to delete {name} in {ns}: only veth and bridge links can be recreated exactly on undo"
        ));
    };
    let mut ends = vec![(ns.to_string(), link.clone())];
    if kind == "veth" {
        let Some(peer_idx) = peer_index(&link) else {
            return Err(format!("veth {name} in {ns} reports no peer"));
        };
        let peer_ns = match link_netnsid(&link) {
            None => ns.to_string(),
            Some(nsid) => peer_namespace(eng, ns, nsid)?,
        };
        let hp = eng.handle(&peer_ns)?;
        let peer = eng
            .block_on(all_links(&hp, &peer_ns))?
            .into_iter()
            .find(|l| l.header.index == peer_idx)
            .ok_or_else(|| format!("cannot find the peer of {name} in {peer_ns}"))?;
        ends.push((peer_ns, peer));
    }
    let recreate = Step::RecreateLink {
        kind: kind.to_string(),
        link: end_of(&ends[0].0, &ends[0].1)?,
        peer: ends.get(1).map(|(n, l)| end_of(n, l)).transpose()?,
    };
    let mut inverse = vec![recreate];
    let mut route_steps = Vec::new();
    if kind == "bridge" {
        // Deleting a bridge releases its ports; they go back on.
        let ports: Vec<String> = eng
            .block_on(all_links(&h, ns))?
            .iter()
            .filter(|l| controller(l) == Some(link.header.index))
            .filter_map(|l| link_name(l).map(str::to_string))
            .collect();
        for port in ports {
            inverse.push(Step::SetMaster {
                ns: ns.to_string(),
                link: port,
                master: Some(name.to_string()),
            });
        }
    }
    for (end_ns, end) in &ends {
        let he = eng.handle(end_ns)?;
        eng.block_on(link_restore_steps(
            &he,
            end_ns,
            end,
            &mut inverse,
            &mut route_steps,
        ))?;
    }
    inverse.extend(route_steps);
    run(inverse)
}

/// The name of the namespace that namespace `ns` knows as `nsid`. Nsids are local to `ns`,
/// so each candidate's fd is shown to `ns` (RTM_GETNSID) until one matches. Candidates: the
/// plan's namespaces first, then every namespace discovery finds.
fn peer_namespace(eng: &Engine, ns: &str, nsid: i32) -> Result<String, String> {
    let mut seen = BTreeSet::new();
    let mut candidates: Vec<String> = eng.plan_namespaces.clone();
    candidates.push("host".into());
    candidates.extend(discover().names());
    let own = open_ns(ns).map_err(|e| e.to_string())?;
    let mut sock = run_in_netns_file(&own, ns, NlSocket::open)
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("cannot open a netlink socket in {ns}: {e}"))?;
    for cand in candidates {
        if cand == ns || !seen.insert(cand.clone()) {
            continue;
        }
        let Ok(file) = open_ns(&cand) else { continue };
        if nsid_of(&mut sock, &file) == Some(nsid) {
            return Ok(cand);
        }
    }
    Err(format!(
        "cannot tell which namespace holds the peer of a veth in {ns} (nsid {nsid}): refusing to delete what undo could not recreate"
    ))
}
