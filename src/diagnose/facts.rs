//! Derived facts the rules share: who holds which IPv4 address, which links form one layer-2
//! segment, and route lookups. Everything is computed from the snapshot alone, never from
//! names: a rule that needed to know "bridge-host is the gateway" would fail on the first node
//! it has never seen.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use ipnet::{IpNet, Ipv4Net};

use crate::model::RouteKind;
use crate::model::{Link, LinkIndex, LinkKind, Namespace, NsStatus, Route, RouteFamily, Snapshot};

mod policy;
mod reach;

pub use policy::{lookup_by_rules, Checked, Policy};

/// One usable IPv4 address: not loopback (127/8), not link-local (169.254/16).
#[derive(Debug, Clone, Copy)]
pub struct Held<'a> {
    pub ns: &'a Namespace,
    pub link: &'a Link,
    pub net: Ipv4Net,
}

impl Held<'_> {
    pub fn ip(&self) -> Ipv4Addr {
        self.net.addr()
    }
    /// The address counts for routing only while its link is up: the kernel drops the
    /// connected route (and every route through the link) when it goes down.
    pub fn live(&self) -> bool {
        self.link.is_up()
    }
}

/// Key of a link across the snapshot: (namespace index, ifindex).
pub type LinkKey = (usize, u32);

pub struct Facts<'a> {
    pub snap: &'a Snapshot,
    /// The routes of an earlier snapshot (`--before`), when the user gave one.
    pub earlier: Option<&'a super::earlier::Earlier>,
    /// Namespaces whose contents were read (Ok or Partial), with their index in the snapshot.
    pub namespaces: Vec<(usize, &'a Namespace)>,
    pub held: Vec<Held<'a>>,
    segment_of: HashMap<LinkKey, usize>,
    /// Per segment: its links, and whether every end of it is visible (only veths with known
    /// peers and bridges), so that "nobody on it holds X" is a fact and not a blind spot.
    segments: Vec<Segment>,
    ns_index: HashMap<&'a str, usize>,
    /// Each namespace's entries of `held` (contiguous: `held` is built namespace by namespace).
    held_range: HashMap<&'a str, std::ops::Range<usize>>,
    /// Every gateway route of every namespace, by gateway address: who sends what through
    /// which address. Built once, so "who uses this namespace as a gateway" is a look-up and
    /// not a walk over every route of every namespace (10,000 routes × 1000 namespaces).
    gw_uses: HashMap<Ipv4Addr, Vec<(&'a Namespace, Ipv4Net)>>,
    /// Every link by (namespace index, ifindex): rules look links up per link and per address.
    links: LinkIndex<'a>,
    /// Positions in `held` by link, and by address; and each bridge's ports. A container
    /// owns its namespace and can fill it with links: rules that asked "which addresses does
    /// this link hold" or "which links are this bridge's ports" by walking everything were
    /// quadratic, and 30,000 bridges kept `doctor` busy for minutes.
    held_on: HashMap<LinkKey, Vec<usize>>,
    held_at: HashMap<Ipv4Addr, Vec<usize>>,
    ports: HashMap<LinkKey, Vec<&'a Link>>,
    /// Per namespace index: the segments of its up links, and its up links on open segments
    /// (see `reach.rs`): "does this namespace reach that link" is asked per gateway route.
    up_segments: HashMap<usize, std::collections::HashSet<usize>>,
    up_open: HashMap<usize, Vec<u32>>,
}

#[derive(Debug, Default)]
pub struct Segment {
    pub links: Vec<LinkKey>,
    pub closed: bool,
}

pub fn readable(ns: &Namespace) -> bool {
    matches!(ns.status, NsStatus::Ok | NsStatus::Partial(_))
}

/// A usable IPv4 address of `addr` (not loopback, not link-local, not IPv6).
fn usable_v4(ip: IpAddr) -> Option<Ipv4Addr> {
    match ip {
        IpAddr::V4(v4) if !v4.is_loopback() && !v4.is_link_local() && !v4.is_unspecified() => {
            Some(v4)
        }
        _ => None,
    }
}

impl<'a> Facts<'a> {
    pub fn new(snap: &'a Snapshot) -> Self {
        let namespaces: Vec<(usize, &Namespace)> = snap
            .namespaces
            .iter()
            .enumerate()
            .filter(|(_, ns)| readable(ns))
            .collect();
        let ns_index = snap
            .namespaces
            .iter()
            .enumerate()
            .map(|(i, ns)| (ns.name.as_str(), i))
            .collect();
        let links = LinkIndex::new(&snap.namespaces);
        let mut held = Vec::new();
        let mut held_range = HashMap::new();
        let mut gw_uses: HashMap<Ipv4Addr, Vec<(&'a Namespace, Ipv4Net)>> = HashMap::new();
        for &(ni, ns) in &namespaces {
            for (_, dst, gw) in gateway_routes(ns) {
                gw_uses.entry(gw).or_default().push((ns, dst));
            }
            let start = held.len();
            for a in &ns.addresses {
                let Some(ip) = usable_v4(a.address) else {
                    continue;
                };
                let Some(link) = links.get(ni, a.ifindex) else {
                    continue;
                };
                if let Ok(net) = Ipv4Net::new(ip, a.prefix_len.min(32)) {
                    held.push(Held { ns, link, net });
                }
            }
            held_range.insert(ns.name.as_str(), start..held.len());
        }
        let mut facts = Facts {
            snap,
            earlier: None,
            namespaces,
            held,
            segment_of: HashMap::new(),
            segments: Vec::new(),
            ns_index,
            held_range,
            gw_uses,
            links,
            held_on: HashMap::new(),
            held_at: HashMap::new(),
            ports: HashMap::new(),
            up_segments: HashMap::new(),
            up_open: HashMap::new(),
        };
        facts.build_lookups();
        facts.build_segments();
        facts
    }

    /// These facts, with the routes of an earlier snapshot.
    pub fn with_earlier(mut self, earlier: Option<&'a super::earlier::Earlier>) -> Self {
        self.earlier = earlier;
        self
    }

    pub fn ns_idx(&self, name: &str) -> Option<usize> {
        self.ns_index.get(name).copied()
    }

    pub fn link(&self, key: LinkKey) -> Option<(&'a Namespace, &'a Link)> {
        let ns = self.snap.namespaces.get(key.0)?;
        Some((ns, self.links.get(key.0, key.1)?))
    }

    /// The veth peer of `link` in namespace `ns`, when its namespace was read and holds it.
    pub fn peer(&self, _ns: &Namespace, link: &Link) -> Option<(&'a Namespace, &'a Link)> {
        let peer = link.peer.as_ref()?;
        // A peer whose namespace could not be identified is out of sight.
        let pns = peer.namespace.as_deref()?;
        let idx = self.ns_idx(pns)?;
        let pns = &self.snap.namespaces[idx];
        if !readable(pns) {
            return None;
        }
        Some((pns, self.links.get(idx, peer.ifindex)?))
    }

    fn build_lookups(&mut self) {
        for (i, h) in self.held.iter().enumerate() {
            if let Some(ni) = self.ns_idx(&h.ns.name) {
                self.held_on.entry((ni, h.link.index)).or_default().push(i);
            }
            self.held_at.entry(h.ip()).or_default().push(i);
        }
        for &(ni, ns) in &self.namespaces {
            for l in &ns.links {
                if let Some(m) = l.master_index {
                    self.ports.entry((ni, m)).or_default().push(l);
                }
            }
        }
    }

    /// Addresses held by link `ifindex` of `ns`.
    pub fn held_on<'s>(
        &'s self,
        ns: &Namespace,
        ifindex: u32,
    ) -> impl Iterator<Item = &'s Held<'a>> + 's {
        let at = self
            .ns_idx(&ns.name)
            .and_then(|ni| self.held_on.get(&(ni, ifindex)))
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        at.iter().map(|&i| &self.held[i])
    }

    /// Addresses held by the link at `key`.
    pub fn held_at_key<'s>(&'s self, key: LinkKey) -> impl Iterator<Item = &'s Held<'a>> + 's {
        let at = self.held_on.get(&key).map(Vec::as_slice).unwrap_or(&[]);
        at.iter().map(|&i| &self.held[i])
    }

    /// The links of `ns` whose master is `bridge`, in link order.
    pub fn ports_of(&self, ns: &Namespace, bridge: &Link) -> &[&'a Link] {
        self.ns_idx(&ns.name)
            .and_then(|ni| self.ports.get(&(ni, bridge.index)))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    fn build_segments(&mut self) {
        // Union-find over every link of every readable namespace.
        let mut keys: Vec<LinkKey> = Vec::new();
        for (i, ns) in &self.namespaces {
            for l in &ns.links {
                if l.kind != LinkKind::Loopback && l.name != "lo" {
                    keys.push((*i, l.index));
                }
            }
        }
        let pos: HashMap<LinkKey, usize> = keys.iter().enumerate().map(|(p, k)| (*k, p)).collect();
        let mut parent: Vec<usize> = (0..keys.len()).collect();
        fn find(parent: &mut [usize], mut x: usize) -> usize {
            while parent[x] != x {
                parent[x] = parent[parent[x]];
                x = parent[x];
            }
            x
        }
        let union = |parent: &mut Vec<usize>, a: usize, b: usize| {
            let (ra, rb) = (find(parent, a), find(parent, b));
            if ra != rb {
                parent[ra] = rb;
            }
        };
        let mut open = vec![false; keys.len()];
        for (p, key) in keys.iter().enumerate() {
            let Some((ns, link)) = self.link(*key) else {
                continue;
            };
            if let Some(m) = link.master_index {
                if let Some(q) = pos.get(&(key.0, m)) {
                    union(&mut parent, p, *q);
                }
            }
            match link.kind {
                LinkKind::Veth => match self.peer(ns, link) {
                    Some((pns, plink)) => {
                        if let Some(q) = self
                            .ns_idx(&pns.name)
                            .and_then(|pi| pos.get(&(pi, plink.index)))
                        {
                            union(&mut parent, p, *q);
                        }
                    }
                    None => open[p] = true,
                },
                LinkKind::Bridge => {}
                // NICs, vxlan, tun, …: the segment continues somewhere we cannot see.
                _ => open[p] = true,
            }
        }
        let mut root_to_seg: HashMap<usize, usize> = HashMap::new();
        for p in 0..keys.len() {
            let r = find(&mut parent, p);
            let seg = *root_to_seg.entry(r).or_insert_with(|| {
                self.segments.push(Segment {
                    links: Vec::new(),
                    closed: true,
                });
                self.segments.len() - 1
            });
            self.segments[seg].links.push(keys[p]);
            if open[p] {
                self.segments[seg].closed = false;
            }
            self.segment_of.insert(keys[p], seg);
        }
        for key in &keys {
            let up = self.link(*key).is_some_and(|(_, l)| l.is_up());
            let Some(&seg) = self.segment_of.get(key).filter(|_| up) else {
                continue;
            };
            self.up_segments.entry(key.0).or_default().insert(seg);
            if !self.segments[seg].closed {
                self.up_open.entry(key.0).or_default().push(key.1);
            }
        }
    }

    pub fn segment_id(&self, ns: &Namespace, link: &Link) -> Option<usize> {
        let i = self.ns_idx(&ns.name)?;
        self.segment_of.get(&(i, link.index)).copied()
    }

    pub fn segment(&self, id: usize) -> &Segment {
        &self.segments[id]
    }

    pub fn segments(&self) -> impl Iterator<Item = (usize, &Segment)> {
        self.segments.iter().enumerate()
    }

    /// Who holds `ip` (any link state).
    pub fn holders(&self, ip: Ipv4Addr) -> impl Iterator<Item = &Held<'a>> {
        let at = self.held_at.get(&ip).map(Vec::as_slice).unwrap_or(&[]);
        at.iter().map(|&i| &self.held[i])
    }

    /// The namespace holding `ip` on an up link, if any.
    pub fn live_holder(&self, ip: Ipv4Addr) -> Option<&Held<'a>> {
        self.holders(ip).find(|h| h.live())
    }

    /// Addresses held in namespace `ns`.
    pub fn held_in<'s>(&'s self, ns: &'s Namespace) -> impl Iterator<Item = &'s Held<'a>> + 's {
        let range = self
            .held_range
            .get(ns.name.as_str())
            .cloned()
            .unwrap_or(0..0);
        self.held[range].iter()
    }

    /// Whether two links share a layer-2 segment.
    pub fn same_segment(&self, a: (&Namespace, &Link), b: (&Namespace, &Link)) -> bool {
        match (self.segment_id(a.0, a.1), self.segment_id(b.0, b.1)) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        }
    }

    /// Whether `ns` can send to anything in `dst`: a route covers it, or it holds an address
    /// in it (a missing connected route is then a link or address problem, reported by those
    /// rules), or one of its links shares a segment with a live holder of an address in `dst`
    /// (the bridge rules report the missing address).
    pub fn covers(&self, ns: &Namespace, dst: Ipv4Net) -> bool {
        if lookup(ns, dst.network())
            .is_some_and(|r| r.kind == RouteKind::Unicast || r.kind == RouteKind::Local)
        {
            return true;
        }
        if self
            .held_in(ns)
            .any(|h| h.net.trunc().contains(&dst.network()))
        {
            return true;
        }
        self.held
            .iter()
            .filter(|h| h.live() && dst.contains(&h.ip()))
            .any(|h| {
                ns.links
                    .iter()
                    .any(|l| self.same_segment((ns, l), (h.ns, h.link)))
            })
    }
}

/// IPv4 destination of a route (`default` is 0.0.0.0/0).
pub fn route_dst(r: &Route) -> Option<Ipv4Net> {
    if r.family != RouteFamily::Inet {
        return None;
    }
    if r.dst.is_default() {
        return Some(Ipv4Net::default());
    }
    match r.dst.net()? {
        IpNet::V4(net) => Some(net),
        IpNet::V6(_) => None,
    }
}

pub fn route_gw(r: &Route) -> Option<Ipv4Addr> {
    match r.gateway {
        Some(IpAddr::V4(g)) => Some(g),
        _ => None,
    }
}

/// Routes that decide where a namespace's traffic goes: IPv4, every table but `local`. Policy
/// rules are not followed; looking in every table errs on the side of "there is a route",
/// which keeps the rules quiet rather than wrong on policy-routed hosts.
pub fn v4_routes(ns: &Namespace) -> impl Iterator<Item = (&Route, Ipv4Net)> {
    ns.routes
        .iter()
        .filter(|r| r.table != 255)
        .filter_map(|r| route_dst(r).map(|d| (r, d)))
}

/// Longest-prefix match of `ip`, lowest metric first among equals; local addresses match the
/// `local` table first, as the kernel does.
pub fn lookup(ns: &Namespace, ip: Ipv4Addr) -> Option<&Route> {
    if let Some(local) = ns
        .routes
        .iter()
        .filter(|r| r.table == 255 && r.kind == RouteKind::Local)
        .find(|r| route_dst(r).is_some_and(|d| d.contains(&ip)))
    {
        return Some(local);
    }
    v4_routes(ns)
        .filter(|(_, d)| d.contains(&ip))
        .max_by_key(|(r, d)| (d.prefix_len(), std::cmp::Reverse(r.metric.unwrap_or(0))))
        .map(|(r, _)| r)
}

/// The default route of the main table, if any.
pub fn default_route(ns: &Namespace) -> Option<&Route> {
    v4_routes(ns)
        .find(|(r, d)| d.prefix_len() == 0 && r.kind == RouteKind::Unicast)
        .map(|(r, _)| r)
}

/// Routes through a gateway: (route, destination, gateway).
pub fn gateway_routes(ns: &Namespace) -> impl Iterator<Item = (&Route, Ipv4Net, Ipv4Addr)> {
    v4_routes(ns).filter_map(|(r, d)| route_gw(r).map(|g| (r, d, g)))
}

pub fn is_private(net: Ipv4Net) -> bool {
    net.addr().is_private()
        || Ipv4Net::new(Ipv4Addr::new(100, 64, 0, 0), 10).is_ok_and(|cgn| cgn.contains(&net.addr()))
}

/// `192.168.1.0/24` for 192.168.1.5/24.
pub fn subnet(net: Ipv4Net) -> Ipv4Net {
    net.trunc()
}

/// Another namespace sending traffic through this one: `from` routes `dst` via `gw`, an
/// address this namespace holds on `link`.
#[derive(Debug, Clone, Copy)]
pub struct GatewayUse<'a> {
    pub from: &'a Namespace,
    pub dst: Ipv4Net,
    pub gw: Ipv4Addr,
    pub link: &'a Link,
}

impl<'a> Facts<'a> {
    /// Who uses `ns` as a gateway to somewhere beyond it: a default route, or a route to a
    /// destination some *other* namespace holds addresses in (a route to the gateway's own
    /// address, like 8.8.8.8/32 via the namespace holding 8.8.8.8, is not transit).
    pub fn transit_uses(&self, ns: &'a Namespace) -> Vec<GatewayUse<'a>> {
        let mut out: Vec<GatewayUse<'a>> = Vec::new();
        let mut seen: std::collections::HashSet<(&str, Ipv4Net, Ipv4Addr)> = Default::default();
        for h in self.held_in(ns).filter(|h| h.live()) {
            let gw = h.ip();
            for &(from, dst) in self.gw_uses.get(&gw).into_iter().flatten() {
                // Only a namespace on the segment of the link holding the address reaches
                // it: another segment reusing the subnet has a gateway of its own.
                if from.name == ns.name || !self.reaches(from, h) {
                    continue;
                }
                // An address held twice (two links) is one gateway: the first link counts.
                if !seen.insert((from.name.as_str(), dst, gw)) {
                    continue;
                }
                let beyond = dst.prefix_len() == 0
                    || self
                        .held
                        .iter()
                        .any(|o| o.ns.name != ns.name && o.live() && dst.contains(&o.ip()));
                if beyond {
                    out.push(GatewayUse {
                        from,
                        dst,
                        gw,
                        link: h.link,
                    });
                }
            }
        }
        out
    }

    /// Live subnets of `ns` (distinct, from its addresses).
    pub fn live_subnets(&self, ns: &Namespace) -> Vec<Ipv4Net> {
        let mut nets: Vec<Ipv4Net> = self
            .held_in(ns)
            .filter(|h| h.live())
            .map(|h| subnet(h.net))
            .collect();
        nets.sort();
        nets.dedup();
        nets
    }
}

/// `10.0.0.0/24` or `default`.
pub fn show_dst(d: Ipv4Net) -> String {
    if d.prefix_len() == 0 {
        "default".into()
    } else {
        d.to_string()
    }
}
