//! The node's virtual network as the topology tab draws it: hub namespaces (the host, anything
//! with a bridge, anything joined to two or more other namespaces) with their buses (one per
//! bridge, one for veths straight to other namespaces) and, on each bus, the namespaces at the
//! far ends of the veths. Pure: built from a snapshot, no I/O.

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::model::{Link, LinkIndex, LinkKind, Namespace, NamespaceKind, Snapshot};
use crate::model::{RouteFamily, RouteKind};

/// A namespace drawn as a big box with buses under it.
pub struct Hub<'a> {
    pub ns: &'a Namespace,
    /// `⇡ uplink …` line: the link carrying the main table's default route.
    pub uplink: Option<String>,
    /// NAT summary (`MASQUERADE 10.1.0.0/16 ! -o br0`, `3 DNAT`), empty when there is none.
    pub nat: Vec<String>,
    pub forwarding: Option<bool>,
    /// Main-table routes through a gateway other than the default (`10.244.2.0/24 via …`):
    /// how a node reaches the other nodes' pod subnets.
    pub gateway_routes: Vec<String>,
    /// Links that are neither bridges, bridge ports, veths to other namespaces nor loopback.
    pub others: Vec<&'a Link>,
    /// veths with both ends in this namespace: (name, peer name).
    pub local_pairs: Vec<(String, String)>,
    pub buses: Vec<Bus<'a>>,
    /// [`shown_addrs`] of every link of `ns`, by link name.
    pub addrs: HashMap<&'a str, Vec<String>>,
}

/// A bridge (or the hub's direct veths) and what hangs off it.
pub struct Bus<'a> {
    /// None: veths of the hub that are not bridge ports.
    pub bridge: Option<&'a Link>,
    /// The bridge's addresses (CIDR, link-local left out).
    pub addrs: Vec<String>,
    pub children: Vec<Child<'a>>,
    /// Ports that do not lead to another namespace (physical NICs, vxlan, same-namespace veths).
    pub other_ports: Vec<String>,
}

/// The far end of one of the hub's veths.
pub struct Child<'a> {
    /// The hub's end.
    pub port: &'a Link,
    /// The namespace holding the other end; None when it is gone or unknown.
    pub ns: Option<&'a Namespace>,
    /// The other end.
    pub peer: Option<&'a Link>,
    /// The far namespace is a hub too (drawn with its own box).
    pub is_hub: bool,
}

pub struct Graph<'a> {
    pub hubs: Vec<Hub<'a>>,
    /// Namespaces joined to nothing (no veth to another namespace), in snapshot order.
    pub isolated: Vec<&'a Namespace>,
}

/// Addresses worth printing: not link-local, not loopback.
pub fn shown_addrs(ns: &Namespace, ifname: &str) -> Vec<String> {
    ns.addresses
        .iter()
        .filter(|a| a.ifname == ifname)
        .filter(|a| !a.address.is_loopback())
        .filter(|a| match a.address {
            std::net::IpAddr::V4(v4) => !v4.is_link_local(),
            std::net::IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) != 0xfe80,
        })
        .map(|a| a.cidr())
        .collect()
}

/// [`shown_addrs`] for every link of `ns` at once: asked per link, a walk of all addresses
/// each time was quadratic in a namespace with thousands of bridges and addresses.
pub fn addrs_by_link(ns: &Namespace) -> HashMap<&str, Vec<String>> {
    let mut out: HashMap<&str, Vec<String>> = HashMap::new();
    for a in &ns.addresses {
        let shown = !a.address.is_loopback()
            && match a.address {
                std::net::IpAddr::V4(v4) => !v4.is_link_local(),
                std::net::IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) != 0xfe80,
            };
        if shown {
            out.entry(a.ifname.as_str()).or_default().push(a.cidr());
        }
    }
    out
}

/// veths of `ns` whose other end is in a different namespace (or lost).
fn outer_veths(ns: &Namespace) -> impl Iterator<Item = &Link> {
    ns.links.iter().filter(move |l| {
        l.kind == LinkKind::Veth
            && l.peer
                .as_ref()
                .is_none_or(|p| p.namespace.as_deref() != Some(ns.name.as_str()))
    })
}

/// Namespaces by name; a linear `Snapshot::namespace` per veth would be quadratic at 1000.
struct Index<'a> {
    snap: &'a Snapshot,
    by_name: HashMap<&'a str, usize>,
    is_hub: Vec<bool>,
    /// Links by (namespace, ifindex): a walk of the peer's namespace per veth was quadratic
    /// in a container that holds thousands of veths.
    links: LinkIndex<'a>,
}

impl<'a> Index<'a> {
    fn is_hub(&self, name: &str) -> bool {
        self.by_name.get(name).is_some_and(|&i| self.is_hub[i])
    }

    /// The namespace and link at the other end of veth `link`.
    fn peer_of(&self, link: &Link) -> (Option<&'a Namespace>, Option<&'a Link>) {
        let Some(p) = &link.peer else {
            return (None, None);
        };
        let at = p
            .namespace
            .as_deref()
            .and_then(|n| self.by_name.get(n).copied());
        let ns = at.map(|i| &self.snap.namespaces[i]);
        let peer = at.and_then(|i| self.links.get(i, p.ifindex));
        (ns, peer)
    }
}

pub fn build(snap: &Snapshot) -> Graph<'_> {
    let nss = &snap.namespaces;
    let index: HashMap<&str, usize> = nss
        .iter()
        .enumerate()
        .map(|(i, n)| (n.name.as_str(), i))
        .collect();
    // Neighbours over veth edges, to find components and order hubs.
    let mut adj: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); nss.len()];
    for (i, ns) in nss.iter().enumerate() {
        for l in outer_veths(ns) {
            let far = l.peer.as_ref().and_then(|p| p.namespace.as_deref());
            if let Some(&j) = far.and_then(|n| index.get(n)) {
                adj[i].insert(j);
                adj[j].insert(i);
            }
        }
    }
    let mut is_hub: Vec<bool> = nss
        .iter()
        .enumerate()
        .map(|(i, ns)| {
            ns.kind == NamespaceKind::Host
                || ns.links.iter().any(|l| l.kind == LinkKind::Bridge)
                || adj[i].len() >= 2
                || outer_veths(ns).count() >= 2
        })
        .collect();
    // A component with no hub (two namespaces joined by one veth) gets one, so it is drawn.
    let mut seen = vec![false; nss.len()];
    for start in 0..nss.len() {
        if seen[start] || adj[start].is_empty() {
            continue;
        }
        let comp = component(&adj, start);
        for &i in &comp {
            seen[i] = true;
        }
        if !comp.iter().any(|&i| is_hub[i]) {
            is_hub[comp[0]] = true;
        }
    }
    // Hubs in breadth-first order from the host (or the best-connected hub), so a parent's box
    // comes before the boxes of the hubs hanging off it.
    let mut order = Vec::new();
    let mut placed = vec![false; nss.len()];
    let mut roots: Vec<usize> = (0..nss.len()).filter(|&i| is_hub[i]).collect();
    roots.sort_by_key(|&i| {
        (
            nss[i].kind != NamespaceKind::Host,
            std::cmp::Reverse(adj[i].iter().filter(|&&j| is_hub[j]).count()),
            std::cmp::Reverse(adj[i].len()),
            i,
        )
    });
    for root in roots {
        if placed[root] {
            continue;
        }
        let mut queue = std::collections::VecDeque::from([root]);
        placed[root] = true;
        while let Some(i) = queue.pop_front() {
            order.push(i);
            for &j in &adj[i] {
                if is_hub[j] && !placed[j] {
                    placed[j] = true;
                    queue.push_back(j);
                }
            }
        }
    }
    let isolated = nss
        .iter()
        .enumerate()
        .filter(|(i, _)| !is_hub[*i] && adj[*i].is_empty())
        .map(|(_, n)| n)
        .collect();
    let ix = Index {
        snap,
        by_name: index,
        is_hub,
        links: LinkIndex::new(nss),
    };
    let hubs = order.into_iter().map(|i| hub(&ix, &nss[i])).collect();
    Graph { hubs, isolated }
}

fn component(adj: &[BTreeSet<usize>], start: usize) -> Vec<usize> {
    let mut out = vec![start];
    let mut seen = BTreeSet::from([start]);
    let mut k = 0;
    while k < out.len() {
        for &j in &adj[out[k]] {
            if seen.insert(j) {
                out.push(j);
            }
        }
        k += 1;
    }
    out.sort();
    out
}

fn hub<'a>(ix: &Index<'a>, ns: &'a Namespace) -> Hub<'a> {
    let addrs = addrs_by_link(ns);
    let mut buses: Vec<Bus> = ns
        .links
        .iter()
        .filter(|l| l.kind == LinkKind::Bridge)
        .map(|b| Bus {
            bridge: Some(b),
            addrs: addrs.get(b.name.as_str()).cloned().unwrap_or_default(),
            children: Vec::new(),
            other_ports: Vec::new(),
        })
        .collect();
    let mut direct = Bus {
        bridge: None,
        addrs: Vec::new(),
        children: Vec::new(),
        other_ports: Vec::new(),
    };
    // Bridges by name and same-namespace pairs seen, so each link is placed in constant
    // time however many bridges and veths the namespace holds.
    let mut bus_at: HashMap<&str, usize> = HashMap::new();
    for (i, b) in buses.iter().enumerate() {
        if let Some(b) = b.bridge {
            bus_at.entry(b.name.as_str()).or_insert(i);
        }
    }
    let mut paired: HashSet<String> = HashSet::new();
    let mut local_pairs = Vec::new();
    let mut others = Vec::new();
    for l in &ns.links {
        if l.kind == LinkKind::Loopback || l.kind == LinkKind::Bridge {
            continue;
        }
        let bus_i = l.master.as_deref().and_then(|m| bus_at.get(m).copied());
        let outer = l.kind == LinkKind::Veth
            && l.peer
                .as_ref()
                .is_none_or(|p| p.namespace.as_deref() != Some(ns.name.as_str()));
        if outer {
            let (far_ns, peer) = ix.peer_of(l);
            let child = Child {
                port: l,
                ns: far_ns,
                peer,
                is_hub: far_ns.is_some_and(|n| ix.is_hub(&n.name)),
            };
            match bus_i {
                Some(i) => buses[i].children.push(child),
                None => direct.children.push(child),
            }
            continue;
        }
        if let Some(i) = bus_i {
            buses[i].other_ports.push(l.name.clone());
        } else if l.kind == LinkKind::Veth {
            let peer = l
                .peer
                .as_ref()
                .and_then(|p| p.name.clone())
                .unwrap_or_default();
            // Each same-namespace pair once.
            if !paired.contains(&peer) {
                paired.insert(l.name.clone());
                local_pairs.push((l.name.clone(), peer));
            }
        } else {
            others.push(l);
        }
    }
    if !direct.children.is_empty() {
        buses.push(direct);
    }
    // The uplink has a line of its own.
    let up_dev = default_route(ns).and_then(|r| r.dev.as_deref());
    others.retain(|l| Some(l.name.as_str()) != up_dev);
    Hub {
        ns,
        uplink: uplink(ix, ns),
        nat: nat_summary(ns),
        forwarding: ns.sysctls.ip_forward.map(|v| v == 1),
        gateway_routes: ns
            .routes
            .iter()
            .filter(|r| r.table == 254 && !r.dst.is_default() && r.kind == RouteKind::Unicast)
            .filter_map(|r| r.gateway.map(|gw| format!("{} via {gw}", r.dst)))
            .collect(),
        others,
        local_pairs,
        buses,
        addrs,
    }
}

/// The main table's default route, IPv4 first.
fn default_route(ns: &Namespace) -> Option<&crate::model::Route> {
    let main_default = |r: &&crate::model::Route| r.table == 254 && r.dst.is_default();
    ns.routes
        .iter()
        .filter(main_default)
        .find(|r| r.family == RouteFamily::Inet)
        .or_else(|| ns.routes.iter().find(main_default))
}

/// `eth0 192.168.1.11/24 → default via 192.168.1.1 ⇄ to-node1 (lan)`.
fn uplink(ix: &Index, ns: &Namespace) -> Option<String> {
    let r = default_route(ns)?;
    let dev = r.dev.clone().unwrap_or_else(|| "?".into());
    let mut s = dev.clone();
    if let Some(a) = shown_addrs(ns, &dev).first() {
        s.push_str(&format!(" {a}"));
    }
    match r.gateway {
        Some(gw) => s.push_str(&format!(" → default via {gw}")),
        None => s.push_str(" → default"),
    }
    let link = ns.links.iter().find(|l| l.name == dev);
    if let Some(l) = link.filter(|l| l.kind == LinkKind::Veth) {
        if let (Some(far), Some(peer)) = ix.peer_of(l) {
            if far.name != ns.name {
                s.push_str(&format!(" ⇄ {} ({})", peer.name, far.name));
            }
        }
    }
    Some(s)
}

/// Source NAT rules spelled short, then the number of DNAT rules.
fn nat_summary(ns: &Namespace) -> Vec<String> {
    let Some(fw) = &ns.firewall else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut dnat = 0usize;
    for r in fw.nat_rules() {
        match r.rule.target.as_deref() {
            Some(t @ ("MASQUERADE" | "SNAT")) => {
                let mut s = t.to_string();
                if let Some(src) = &r.rule.source {
                    s.push_str(&format!(
                        " {}{}",
                        if src.negated { "! " } else { "" },
                        src.value
                    ));
                }
                if let Some(o) = &r.rule.out_iface {
                    s.push_str(&format!(
                        " {}-o {}",
                        if o.negated { "! " } else { "" },
                        o.value
                    ));
                }
                if !out.contains(&s) {
                    out.push(s);
                }
            }
            Some("DNAT") => dnat += 1,
            _ => {}
        }
    }
    for t in fw.nft.iter().filter(|t| !t.looks_like_iptables_nft()) {
        for c in &t.chains {
            for r in &c.rules {
                match r.verdict.as_deref() {
                    Some(v @ ("masquerade" | "snat")) => {
                        let s = format!("nft {v} ({} {})", t.name, c.name);
                        if !out.contains(&s) {
                            out.push(s);
                        }
                    }
                    Some("dnat") => dnat += 1,
                    _ => {}
                }
            }
        }
    }
    if dnat > 0 {
        out.push(format!("{dnat} DNAT"));
    }
    out
}
