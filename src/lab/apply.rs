//! Executes lab steps with rtnetlink, and reads a scenario's status back.
//!
//! One netlink connection per namespace: the socket is created on a throwaway thread that
//! entered the namespace (`run_in_netns_file`) and then driven from this module's own
//! current-thread runtime; the socket stays bound to the namespace it was created in. Work that
//! is not netlink (sysctls, iptables) runs on a thread inside the namespace, because both
//! `/proc/sys/net` and a spawned child follow the calling *thread's* network namespace.
//!
//! Every step first looks at what exists: equal configuration counts as done, a conflicting one
//! is an error naming the namespace and interface, never silently replaced.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::AsRawFd;
use std::process::Command;

use futures::TryStreamExt;
use ipnet::Ipv4Net;
use netlink_packet_route::address::AddressAttribute;
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkInfo, LinkMessage,
};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteHeader, RouteMessage};
use rtnetlink::{
    Handle, LinkBridge, LinkMessageBuilder, LinkUnspec, LinkVeth, RouteMessageBuilder,
};
use tokio::runtime::Runtime;

use super::{LabError, LabState, LabStatus, LinkStatus, NsStatus, Scenario, Step};
use crate::netns::create::{delete_netns, ensure_netns, netns_exists, netns_path};
use crate::netns::enter::run_in_netns_file;

const ENODEV: i32 = libc::ENODEV;

/// Something `apply` created, to undo if a later step fails.
enum Created {
    Ns(String),
    Link { ns: String, name: String },
}

/// Netlink connections (one per namespace) on a private current-thread runtime.
struct Session {
    rt: Runtime,
    handles: HashMap<String, Handle>,
}

impl Session {
    fn new() -> Result<Self, String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start a tokio runtime: {e}"))?;
        Ok(Session {
            rt,
            handles: HashMap::new(),
        })
    }

    fn open_ns(ns: &str) -> Result<File, String> {
        let path = netns_path(ns).map_err(|e| e.to_string())?;
        File::open(&path)
            .map_err(|e| format!("cannot open namespace {ns} ({}): {e}", path.display()))
    }

    /// The connection for namespace `ns`, opened on first use.
    fn handle(&mut self, ns: &str) -> Result<Handle, String> {
        if let Some(handle) = self.handles.get(ns) {
            return Ok(handle.clone());
        }
        let file = Self::open_ns(ns)?;
        let rt = self.rt.handle().clone();
        let (connection, handle, _) = run_in_netns_file(&file, ns, move || {
            // The socket is registered with the runtime's reactor, so create it in its context.
            let _guard = rt.enter();
            rtnetlink::new_connection()
        })
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("cannot open a netlink socket in namespace {ns}: {e}"))?;
        self.rt.spawn(connection);
        self.handles.insert(ns.to_string(), handle.clone());
        Ok(handle)
    }

    /// Forgets the connection of a deleted namespace (the socket would keep it alive).
    fn drop_ns(&mut self, ns: &str) {
        self.handles.remove(ns);
    }
}

fn nl_code(e: &rtnetlink::Error) -> Option<i32> {
    match e {
        rtnetlink::Error::NetlinkError(msg) => Some(msg.raw_code().abs()),
        _ => None,
    }
}

fn nl_err(e: rtnetlink::Error) -> String {
    match &e {
        rtnetlink::Error::NetlinkError(msg) => msg.to_io().to_string(),
        _ => e.to_string(),
    }
}

/// The link called `name`, or `None` if the namespace has none.
async fn get_link(handle: &Handle, name: &str) -> Result<Option<LinkMessage>, String> {
    match handle
        .link()
        .get()
        .match_name(name)
        .execute()
        .try_next()
        .await
    {
        Ok(link) => Ok(link),
        Err(e) if nl_code(&e) == Some(ENODEV) => Ok(None),
        Err(e) => Err(nl_err(e)),
    }
}

async fn need_link(handle: &Handle, ns: &str, name: &str) -> Result<LinkMessage, String> {
    get_link(handle, name)
        .await?
        .ok_or_else(|| format!("interface {name} does not exist in {ns}"))
}

fn link_kind(link: &LinkMessage) -> Option<&InfoKind> {
    link.attributes.iter().find_map(|a| match a {
        LinkAttribute::LinkInfo(infos) => infos.iter().find_map(|i| match i {
            LinkInfo::Kind(kind) => Some(kind),
            _ => None,
        }),
        _ => None,
    })
}

/// Kind as `ip -d link` names it (`veth`, `bridge`, ...).
fn kind_name(kind: &InfoKind) -> String {
    match kind {
        InfoKind::Veth => "veth".into(),
        InfoKind::Bridge => "bridge".into(),
        other => other.to_string(),
    }
}

fn link_attr_u32(link: &LinkMessage, pick: fn(&LinkAttribute) -> Option<u32>) -> Option<u32> {
    link.attributes.iter().find_map(pick)
}

fn peer_index(link: &LinkMessage) -> Option<u32> {
    link_attr_u32(link, |a| match a {
        LinkAttribute::Link(i) => Some(*i),
        _ => None,
    })
}

fn controller(link: &LinkMessage) -> Option<u32> {
    link_attr_u32(link, |a| match a {
        LinkAttribute::Controller(i) => Some(*i),
        _ => None,
    })
}

fn is_up(link: &LinkMessage) -> bool {
    link.header.flags.contains(LinkFlags::Up)
}

/// Runs all steps in order. Returns how many changed something. On failure removes what this
/// call created (namespaces, and links created in namespaces that existed before).
pub(super) fn apply(steps: &[Step]) -> Result<usize, LabError> {
    let mut session = Session::new().map_err(|reason| LabError::StepFailed {
        step: "start lab runtime".into(),
        reason,
        rolled_back: Vec::new(),
        rollback_errors: Vec::new(),
    })?;
    let mut created = Vec::new();
    let mut changed = 0;
    for step in steps {
        match apply_step(&mut session, step, &mut created) {
            Ok(true) => changed += 1,
            Ok(false) => {}
            Err(reason) => {
                let (rolled_back, rollback_errors) = rollback(&mut session, created);
                return Err(LabError::StepFailed {
                    step: step.to_string(),
                    reason,
                    rolled_back,
                    rollback_errors,
                });
            }
        }
    }
    Ok(changed)
}

fn rollback(session: &mut Session, created: Vec<Created>) -> (Vec<String>, Vec<String>) {
    let new_namespaces: HashSet<String> = created
        .iter()
        .filter_map(|c| match c {
            Created::Ns(ns) => Some(ns.clone()),
            Created::Link { .. } => None,
        })
        .collect();
    let mut done = Vec::new();
    let mut errors = Vec::new();
    for item in created.into_iter().rev() {
        match item {
            // Links in new namespaces go away with the namespace.
            Created::Link { ns, .. } if new_namespaces.contains(&ns) => {}
            Created::Link { ns, name } => match delete_link(session, &ns, &name) {
                Ok(()) => done.push(format!("{name} in {ns}")),
                Err(e) => errors.push(e),
            },
            Created::Ns(ns) => {
                session.drop_ns(&ns);
                match delete_netns(&ns) {
                    Ok(()) => done.push(format!("namespace {ns}")),
                    Err(e) => errors.push(e.to_string()),
                }
            }
        }
    }
    (done, errors)
}

fn delete_link(session: &mut Session, ns: &str, name: &str) -> Result<(), String> {
    let handle = session.handle(ns)?;
    session.rt.block_on(async {
        if let Some(link) = get_link(&handle, name).await? {
            handle
                .link()
                .del(link.header.index)
                .execute()
                .await
                .map_err(|e| format!("cannot delete {name} in {ns}: {}", nl_err(e)))?;
        }
        Ok(())
    })
}

/// Executes one step; `Ok(true)` if it changed something.
fn apply_step(
    session: &mut Session,
    step: &Step,
    created: &mut Vec<Created>,
) -> Result<bool, String> {
    match step {
        Step::CreateNs { ns } => {
            let new = ensure_netns(ns).map_err(|e| e.to_string())?;
            if new {
                created.push(Created::Ns(ns.clone()));
            }
            Ok(new)
        }
        Step::AddVeth { a, ns_a, b, ns_b } => {
            let new = add_veth(session, a, ns_a, b, ns_b)?;
            if new {
                created.push(Created::Link {
                    ns: ns_a.clone(),
                    name: a.clone(),
                });
            }
            Ok(new)
        }
        Step::AddBridge { ns, name } => {
            let handle = session.handle(ns)?;
            let new = session.rt.block_on(add_bridge(&handle, ns, name))?;
            if new {
                created.push(Created::Link {
                    ns: ns.clone(),
                    name: name.clone(),
                });
            }
            Ok(new)
        }
        Step::SetMaster { ns, link, master } => {
            let handle = session.handle(ns)?;
            session.rt.block_on(set_master(&handle, ns, link, master))
        }
        Step::AddAddr { ns, link, addr } => {
            let handle = session.handle(ns)?;
            session.rt.block_on(add_addr(&handle, ns, link, *addr))
        }
        Step::LinkUp { ns, link } => {
            let handle = session.handle(ns)?;
            session.rt.block_on(link_up(&handle, ns, link))
        }
        Step::AddRoute { ns, dst, via } => {
            let handle = session.handle(ns)?;
            session.rt.block_on(add_route(&handle, ns, *dst, *via))
        }
        Step::Sysctl { ns, key, value } => set_sysctl(ns, key, value),
        Step::IptablesRule {
            ns,
            table,
            chain,
            rule,
        } => iptables_rule(ns, table, chain, rule),
    }
}

fn add_veth(
    session: &mut Session,
    a: &str,
    ns_a: &str,
    b: &str,
    ns_b: &str,
) -> Result<bool, String> {
    let handle_a = session.handle(ns_a)?;
    let handle_b = session.handle(ns_b)?;
    let ns_b_file = Session::open_ns(ns_b)?;
    session.rt.block_on(async {
        let link_a = get_link(&handle_a, a).await?;
        let link_b = get_link(&handle_b, b).await?;
        match (link_a, link_b) {
            (Some(la), Some(lb)) => {
                // Both ends exist: fine if they are veths pointing at each other.
                let veths = link_kind(&la) == Some(&InfoKind::Veth)
                    && link_kind(&lb) == Some(&InfoKind::Veth);
                if veths
                    && peer_index(&la) == Some(lb.header.index)
                    && peer_index(&lb) == Some(la.header.index)
                {
                    Ok(false)
                } else {
                    Err(format!(
                        "{a} in {ns_a} and {b} in {ns_b} exist but are not a veth pair with each other"
                    ))
                }
            }
            (Some(_), None) => Err(format!(
                "{a} already exists in {ns_a} but its peer {b} is missing from {ns_b}"
            )),
            (None, Some(_)) => Err(format!("{b} already exists in {ns_b}")),
            (None, None) => {
                // Create both ends in place, as `ip link add A type veth peer name B netns NS_B`
                // does: the peer message carries the target namespace's fd, so neither end ever
                // appears in another namespace (no name clashes, nothing on the real host).
                let mut builder = LinkVeth::new(a, b);
                if ns_a != ns_b {
                    let peer = LinkMessageBuilder::<LinkUnspec>::new()
                        .name(b.to_string())
                        .setns_by_fd(ns_b_file.as_raw_fd())
                        .build();
                    builder = builder.set_info_data(InfoData::Veth(InfoVeth::Peer(peer)));
                }
                handle_a
                    .link()
                    .add(builder.build())
                    .execute()
                    .await
                    .map_err(|e| format!("cannot create veth {a} in {ns_a}: {}", nl_err(e)))?;
                Ok(true)
            }
        }
    })
}

async fn add_bridge(handle: &Handle, ns: &str, name: &str) -> Result<bool, String> {
    if let Some(link) = get_link(handle, name).await? {
        return if link_kind(&link) == Some(&InfoKind::Bridge) {
            Ok(false)
        } else {
            Err(format!("{name} already exists in {ns} and is not a bridge"))
        };
    }
    handle
        .link()
        .add(LinkBridge::new(name).build())
        .execute()
        .await
        .map_err(|e| format!("cannot create bridge {name} in {ns}: {}", nl_err(e)))?;
    Ok(true)
}

async fn set_master(handle: &Handle, ns: &str, link: &str, master: &str) -> Result<bool, String> {
    let port = need_link(handle, ns, link).await?;
    let bridge = need_link(handle, ns, master).await?;
    if controller(&port) == Some(bridge.header.index) {
        return Ok(false);
    }
    if let Some(other) = controller(&port) {
        return Err(format!(
            "{link} in {ns} is already enslaved to interface index {other}, not {master}"
        ));
    }
    handle
        .link()
        .set(
            LinkUnspec::new_with_index(port.header.index)
                .controller(bridge.header.index)
                .build(),
        )
        .execute()
        .await
        .map_err(|e| format!("cannot enslave {link} to {master} in {ns}: {}", nl_err(e)))?;
    Ok(true)
}

async fn add_addr(handle: &Handle, ns: &str, link: &str, addr: Ipv4Net) -> Result<bool, String> {
    let dev = need_link(handle, ns, link).await?;
    let index = dev.header.index;
    let existing: Vec<_> = handle
        .address()
        .get()
        .set_link_index_filter(index)
        .execute()
        .try_collect()
        .await
        .map_err(|e| format!("cannot list addresses of {link} in {ns}: {}", nl_err(e)))?;
    let ip = IpAddr::V4(addr.addr());
    for msg in &existing {
        let has_ip = msg.attributes.iter().any(
            |a| matches!(a, AddressAttribute::Local(x) | AddressAttribute::Address(x) if *x == ip),
        );
        if has_ip && msg.header.index == index {
            return if msg.header.prefix_len == addr.prefix_len() {
                Ok(false)
            } else {
                Err(format!(
                    "{link} in {ns} already has {ip}/{} instead of {addr}",
                    msg.header.prefix_len
                ))
            };
        }
    }
    handle
        .address()
        .add(index, ip, addr.prefix_len())
        .execute()
        .await
        .map_err(|e| format!("cannot add {addr} to {link} in {ns}: {}", nl_err(e)))?;
    Ok(true)
}

async fn link_up(handle: &Handle, ns: &str, link: &str) -> Result<bool, String> {
    let dev = need_link(handle, ns, link).await?;
    if is_up(&dev) {
        return Ok(false);
    }
    handle
        .link()
        .set(LinkUnspec::new_with_index(dev.header.index).up().build())
        .execute()
        .await
        .map_err(|e| format!("cannot set {link} up in {ns}: {}", nl_err(e)))?;
    Ok(true)
}

fn route_dst(route: &RouteMessage) -> Option<Ipv4Addr> {
    route.attributes.iter().find_map(|a| match a {
        RouteAttribute::Destination(RouteAddress::Inet(ip)) => Some(*ip),
        _ => None,
    })
}

fn route_gateway(route: &RouteMessage) -> Option<Ipv4Addr> {
    route.attributes.iter().find_map(|a| match a {
        RouteAttribute::Gateway(RouteAddress::Inet(ip)) => Some(*ip),
        _ => None,
    })
}

fn route_table(route: &RouteMessage) -> u32 {
    route
        .attributes
        .iter()
        .find_map(|a| match a {
            RouteAttribute::Table(t) => Some(*t),
            _ => None,
        })
        .unwrap_or(u32::from(route.header.table))
}

async fn add_route(handle: &Handle, ns: &str, dst: Ipv4Net, via: Ipv4Addr) -> Result<bool, String> {
    let dst = dst.trunc();
    let routes: Vec<RouteMessage> = handle
        .route()
        .get(RouteMessageBuilder::<Ipv4Addr>::new().build())
        .execute()
        .try_collect()
        .await
        .map_err(|e| format!("cannot list routes in {ns}: {}", nl_err(e)))?;
    // A dump returns every table; only the main table is ours.
    let existing = routes.iter().find(|r| {
        route_table(r) == u32::from(RouteHeader::RT_TABLE_MAIN)
            && r.header.destination_prefix_length == dst.prefix_len()
            && route_dst(r).unwrap_or(Ipv4Addr::UNSPECIFIED) == dst.addr()
    });
    if let Some(route) = existing {
        return match route_gateway(route) {
            Some(gw) if gw == via => Ok(false),
            Some(gw) => Err(format!("{ns} already routes {dst} via {gw}, not {via}")),
            None => Err(format!(
                "{ns} already has a route to {dst} without a gateway"
            )),
        };
    }
    let msg = RouteMessageBuilder::<Ipv4Addr>::new()
        .destination_prefix(dst.addr(), dst.prefix_len())
        .gateway(via)
        .build();
    handle
        .route()
        .add(msg)
        .execute()
        .await
        .map_err(|e| format!("cannot add route {dst} via {via} in {ns}: {}", nl_err(e)))?;
    Ok(true)
}

/// Writes a net sysctl from a thread inside `ns`: `/proc/sys/net` resolves against the opening
/// thread's network namespace, not the process's.
fn set_sysctl(ns: &str, key: &str, value: &str) -> Result<bool, String> {
    let file = Session::open_ns(ns)?;
    let path = format!("/proc/sys/{key}");
    run_in_netns_file(&file, ns, || -> Result<bool, String> {
        let current = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {path} in {ns}: {e}"))?;
        if current.trim() == value {
            return Ok(false);
        }
        std::fs::write(&path, value).map_err(|e| format!("cannot write {path} in {ns}: {e}"))?;
        Ok(true)
    })
    .map_err(|e| e.to_string())?
}

/// Adds an iptables rule unless it exists. The command is spawned from a thread inside `ns`, so
/// the child starts in that namespace; argv is fixed, no shell involved.
fn iptables_rule(ns: &str, table: &str, chain: &str, rule: &[String]) -> Result<bool, String> {
    let file = Session::open_ns(ns)?;
    run_in_netns_file(&file, ns, || -> Result<bool, String> {
        let run = |action: &str| {
            Command::new("iptables")
                // -w: wait for the xtables lock instead of failing when another iptables runs.
                .args(["-w", "-t", table, action, chain])
                .args(rule)
                .output()
                .map_err(|e| format!("cannot run iptables in {ns}: {e}"))
        };
        if run("-C")?.status.success() {
            return Ok(false);
        }
        let out = run("-A")?;
        if out.status.success() {
            Ok(true)
        } else {
            Err(format!(
                "iptables -t {table} -A {chain} {} failed in {ns}: {}",
                rule.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    })
    .map_err(|e| e.to_string())?
}

/// Reads which of the scenario's namespaces and links exist. Creates nothing.
pub(super) fn status(scenario: &Scenario) -> Result<LabStatus, LabError> {
    let fail = |reason: String| LabError::Namespace {
        action: "read status of scenario",
        ns: scenario.name.to_string(),
        reason,
    };
    let mut session = Session::new().map_err(fail)?;
    let mut namespaces = Vec::new();
    let mut live = HashSet::new();
    for ns in scenario.namespaces() {
        let exists = netns_exists(ns)?;
        if exists {
            live.insert(ns);
        }
        namespaces.push(NsStatus {
            name: ns.to_string(),
            exists,
        });
    }
    let mut links = Vec::new();
    for expected in scenario.links() {
        let found = if live.contains(expected.ns) {
            let handle = session.handle(expected.ns).map_err(fail)?;
            session
                .rt
                .block_on(get_link(&handle, expected.name))
                .map_err(fail)?
        } else {
            None
        };
        links.push(LinkStatus {
            ns: expected.ns.to_string(),
            name: expected.name.to_string(),
            exists: found.is_some(),
            expected_kind: expected.kind.map(str::to_string),
            kind: found.as_ref().and_then(link_kind).map(kind_name),
            expected_up: expected.up,
            up: found.as_ref().is_some_and(is_up),
        });
    }
    let complete = namespaces.iter().all(|n| n.exists) && links.iter().all(LinkStatus::ok);
    let state = if complete {
        LabState::Complete
    } else if live.is_empty() {
        LabState::Absent
    } else {
        LabState::Partial
    };
    Ok(LabStatus {
        scenario: scenario.name.to_string(),
        state,
        complete,
        namespaces,
        links,
    })
}
