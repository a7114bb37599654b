//! Seeded random changes of the kind a live node sees, for the tests that compare a run that
//! redoes only what changed with a full one: links down and up, addresses removed and added
//! (a neighbour's, too), routes removed, sysctls flipped, resolv.conf rewritten, namespaces
//! added and removed, firewall rules added, the hostname and the clock moved. Each works on
//! any snapshot (the node fixture, the demo labs), naming no namespace or link.

use std::collections::BTreeSet;

use crate::firewall::{iptables_save, Backend, Firewall, IpFamily, XtSource};
use crate::model::{Address, LinkFlag, Namespace, NamespaceKind, OperState, RouteScope, Snapshot};
use crate::test_rng::Rng;

/// The namespaces (by name) whose contents differ between `a` and `b`, added and removed ones
/// included: what the live view's caller passes as `touched`.
pub(crate) fn touched(a: &Snapshot, b: &Snapshot) -> BTreeSet<String> {
    let names: BTreeSet<&str> = a
        .namespaces
        .iter()
        .chain(&b.namespaces)
        .map(|n| n.name.as_str())
        .collect();
    names
        .into_iter()
        .filter(|n| a.namespace(n) != b.namespace(n))
        .map(str::to_string)
        .collect()
}

/// A random namespace; the first (the host, in a collected snapshot) a third of the time:
/// it is the hub others route through, and what it holds is what their rules read.
fn pick<'s>(rng: &mut Rng, snap: &'s mut Snapshot) -> &'s mut Namespace {
    let i = match rng.below(3) {
        0 => 0,
        _ => rng.below(snap.namespaces.len()),
    };
    &mut snap.namespaces[i]
}

/// A namespace other than the host's, when there is one.
fn pick_guest(rng: &mut Rng, snap: &Snapshot) -> Option<usize> {
    let guests: Vec<usize> = (0..snap.namespaces.len())
        .filter(|&i| snap.namespaces[i].kind != NamespaceKind::Host)
        .collect();
    (!guests.is_empty()).then(|| guests[rng.below(guests.len())])
}

fn link_down(rng: &mut Rng, snap: &mut Snapshot) {
    let ns = pick(rng, snap);
    let links: Vec<usize> = (0..ns.links.len())
        .filter(|&i| ns.links[i].name != "lo")
        .collect();
    let Some(&i) = links.get(rng.below(links.len().max(1))) else {
        return;
    };
    let l = &mut ns.links[i];
    l.flags
        .retain(|f| !matches!(f, LinkFlag::Up | LinkFlag::LowerUp | LinkFlag::Running));
    l.oper_state = OperState::Down;
    let name = l.name.clone();
    ns.routes.retain(|r| r.dev.as_deref() != Some(&name));
}

fn link_up(rng: &mut Rng, snap: &mut Snapshot) {
    let ns = pick(rng, snap);
    if let Some(l) = ns.links.iter_mut().find(|l| !l.is_up()) {
        l.flags.insert(LinkFlag::Up);
        l.flags.insert(LinkFlag::LowerUp);
        l.oper_state = OperState::Up;
    }
}

fn address_removed(rng: &mut Rng, snap: &mut Snapshot) {
    let ns = pick(rng, snap);
    if !ns.addresses.is_empty() {
        let i = rng.below(ns.addresses.len());
        ns.addresses.remove(i);
    }
}

/// An address on a random link: another namespace's (a duplicate, or a gateway that moved),
/// or one nobody holds.
fn address_added(rng: &mut Rng, snap: &mut Snapshot) {
    let held: Vec<(std::net::IpAddr, u8)> = snap
        .namespaces
        .iter()
        .flat_map(|n| n.addresses.iter().map(|a| (a.address, a.prefix_len)))
        .collect();
    let (address, prefix_len) = match held.get(rng.below(held.len().max(1))) {
        Some(&h) if rng.below(2) == 0 => h,
        _ => (
            std::net::IpAddr::from([10, 99, rng.below(4) as u8, 1 + rng.below(250) as u8]),
            24,
        ),
    };
    let ns = pick(rng, snap);
    let Some(l) = ns.links.get(rng.below(ns.links.len().max(1))) else {
        return;
    };
    let a = Address {
        ifindex: l.index,
        ifname: l.name.clone(),
        address,
        prefix_len,
        scope: RouteScope::Global,
        peer: None,
    };
    ns.addresses.push(a);
}

fn route_removed(rng: &mut Rng, snap: &mut Snapshot) {
    let ns = pick(rng, snap);
    if !ns.routes.is_empty() {
        let i = rng.below(ns.routes.len());
        ns.routes.remove(i);
    }
}

fn sysctl_flipped(rng: &mut Rng, snap: &mut Snapshot) {
    let k = rng.below(4);
    let ns = pick(rng, snap);
    let s = &mut ns.sysctls;
    match k {
        0 => s.ip_forward = Some(1 - s.ip_forward.unwrap_or(1).min(1)),
        1 => s.rp_filter_all = Some(if s.rp_filter_all == Some(1) { 0 } else { 1 }),
        2 => {
            s.conntrack_max = Some(1000);
            s.conntrack_count = Some(if s.conntrack_count == Some(950) {
                10
            } else {
                950
            });
        }
        _ => s.conntrack_insert_failed = Some(rng.below(3) as u64),
    }
}

/// resolv.conf rewritten: a nameserver nobody routes to, the loopback stub, a long search
/// list; now and then the host's file moves (a host-wide input of the DNS rules).
fn resolv_changed(rng: &mut Rng, snap: &mut Snapshot) {
    let text = match rng.below(4) {
        0 => "nameserver 10.250.0.1\nnameserver 10.96.0.10\n".to_string(),
        1 => "nameserver 127.0.0.53\noptions edns0\n".to_string(),
        2 => format!(
            "search {}\nnameserver 10.96.0.10\noptions ndots:5\n",
            (0..8)
                .map(|i| format!("d{i}.example"))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        _ => "nameserver 8.8.8.8\n".to_string(),
    };
    let move_host = rng.below(8) == 0;
    let ns = pick(rng, snap);
    let Some(dns) = ns.dns.as_mut() else { return };
    dns.resolv_conf.parsed = Some(crate::dnsconf::resolv::parse(&text));
    dns.resolv_conf.raw = Some(text);
    if move_host && ns.kind == NamespaceKind::Host {
        dns.resolv_conf.path = "/run/systemd/resolve/resolv.conf".into();
    }
}

fn namespace_removed(rng: &mut Rng, snap: &mut Snapshot) {
    if let Some(i) = pick_guest(rng, snap) {
        snap.namespaces.remove(i);
    }
}

/// A copy of a guest under a new name: its veth names the same peer, its addresses clash.
fn namespace_added(rng: &mut Rng, snap: &mut Snapshot) {
    let Some(i) = pick_guest(rng, snap) else {
        return;
    };
    let mut ns = snap.namespaces[i].clone();
    ns.name = format!("{}-copy{}", ns.name, rng.below(1000));
    if snap.namespace(&ns.name).is_none() {
        snap.namespaces.push(ns);
    }
}

/// A DROP rule in raw or filter for an address some namespace holds.
fn firewall_rule_added(rng: &mut Rng, snap: &mut Snapshot) {
    let held: Vec<std::net::IpAddr> = snap
        .namespaces
        .iter()
        .flat_map(|n| n.addresses.iter().map(|a| a.address))
        .filter(|a| a.is_ipv4())
        .collect();
    let Some(ip) = held.get(rng.below(held.len().max(1))) else {
        return;
    };
    let (table, chain) = [
        ("raw", "PREROUTING"),
        ("filter", "FORWARD"),
        ("filter", "INPUT"),
    ][rng.below(3)];
    let text = format!("*{table}\n:{chain} ACCEPT [0:0]\n-A {chain} -s {ip}/32 -j DROP\nCOMMIT\n");
    let (tables, errors) = iptables_save::parse(&text, IpFamily::V4, XtSource::Nft);
    assert!(errors.is_empty(), "{errors:?}");
    let ns = pick(rng, snap);
    let fw = ns.firewall.get_or_insert_with(|| Firewall {
        backends: vec![Backend::IptablesNft],
        iptables: Vec::new(),
        nft: Vec::new(),
        errors: Vec::new(),
    });
    for t in tables {
        let Some(have) = fw.iptables.iter_mut().find(|h| h.name == t.name) else {
            fw.iptables.push(t);
            continue;
        };
        for c in t.chains {
            match have.chains.iter_mut().find(|h| h.name == c.name) {
                Some(hc) => hc.rules.splice(0..0, c.rules).for_each(drop),
                None => have.chains.push(c),
            }
        }
    }
}

/// A bridge port detached from its bridge (`ip link set PORT nomaster`).
fn port_detached(rng: &mut Rng, snap: &mut Snapshot) {
    let ns = pick(rng, snap);
    let ports: Vec<usize> = (0..ns.links.len())
        .filter(|&i| ns.links[i].master.is_some())
        .collect();
    if let Some(&i) = ports.get(rng.below(ports.len().max(1))) {
        let l = &mut ns.links[i];
        l.master = None;
        l.master_index = None;
        l.bridge_port = None;
    }
}

/// A neighbour entry pinned (PERMANENT), with its MAC or a wrong one; or a link's MAC
/// changed, which the entries pinned elsewhere no longer match.
fn neighbour_or_mac(rng: &mut Rng, snap: &mut Snapshot) {
    let wrong = format!("02:00:00:00:00:{:02x}", rng.below(256));
    let ns = pick(rng, snap);
    if rng.below(2) == 0 {
        let i = rng.below(ns.links.len().max(1));
        if let Some(l) = ns.links.get_mut(i) {
            l.mac = Some(wrong);
        }
        return;
    }
    let k = rng.below(ns.neighbors.len().max(1));
    if let Some(n) = ns.neighbors.get_mut(k) {
        n.state = crate::model::NeighborState::Permanent;
        if rng.below(2) == 0 {
            n.lladdr = Some(wrong);
        }
    }
}

/// One random change to `snap`.
pub(crate) fn change(rng: &mut Rng, snap: &mut Snapshot) {
    match rng.below(16) {
        14 => port_detached(rng, snap),
        15 => neighbour_or_mac(rng, snap),
        0 | 1 => link_down(rng, snap),
        2 => link_up(rng, snap),
        3 => address_removed(rng, snap),
        4 => address_added(rng, snap),
        5 | 6 => route_removed(rng, snap),
        7 => sysctl_flipped(rng, snap),
        8 => resolv_changed(rng, snap),
        9 => namespace_removed(rng, snap),
        10 => namespace_added(rng, snap),
        11 => firewall_rule_added(rng, snap),
        12 => snap.hostname = format!("node-{}", rng.below(3)),
        _ => snap.taken_at += 1 + rng.below(120) as u64,
    }
}
