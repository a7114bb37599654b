//! Derived facts the rules share: who holds which IPv4 address, which links form one layer-2
//! segment, and route lookups. Everything is computed from the snapshot alone, never from
//! names: a rule that needed to know "bridge-host is the gateway" would fail on the first node
//! it has never seen.
//!
//! What is where: here [`Facts`] and its construction (one pass over the snapshot's
//! addresses); `held.rs` who holds which address (by link, by address, by namespace);
//! `segments.rs` layer-2 segments; `reach.rs` what a namespace reaches over them;
//! `transit.rs` who uses a namespace as a gateway; `routes.rs` route look-ups in one
//! namespace; `policy.rs` the look-up through `ip rule`. Split by the question each answers,
//! so a rule's helper is found by what it asks.

use crate::model::fast_hash::{FxHashMap, FxHashSet};
use std::cell::OnceCell;
use std::net::{IpAddr, Ipv4Addr};
use std::rc::Rc;

use ipnet::Ipv4Net;

use crate::firewall::eval::Compiled;
use crate::model::{Link, LinkIndex, Namespace, NsStatus, Snapshot};

mod held;
mod kept;
mod policy;
mod reach;
mod routes;
#[cfg(test)]
mod routes_tests;
mod segments;
mod transit;

pub use kept::KeptFirewalls;
pub use policy::{lookup_by_rules, Checked, Policy};
pub use routes::{
    default_route, gateway_routes, is_private, lookup, route_dst, route_gw, show_dst, subnet,
    v4_routes,
};
pub use transit::GatewayUse;

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
    segment_of: FxHashMap<LinkKey, usize>,
    /// Per segment: its links, and whether every end of it is visible (only veths with known
    /// peers and bridges), so that "nobody on it holds X" is a fact and not a blind spot.
    segments: Vec<Segment>,
    ns_index: FxHashMap<&'a str, usize>,
    /// Each namespace's entries of `held` (contiguous: `held` is built namespace by namespace).
    held_range: FxHashMap<&'a str, std::ops::Range<usize>>,
    /// Every gateway route of every namespace, by gateway address: who sends what through
    /// which address. Built once, so "who uses this namespace as a gateway" is a look-up and
    /// not a walk over every route of every namespace (10,000 routes × 1000 namespaces).
    gw_uses: FxHashMap<Ipv4Addr, Vec<(&'a Namespace, Ipv4Net)>>,
    /// Every link by (namespace index, ifindex): rules look links up per link and per address.
    links: LinkIndex<'a>,
    /// Positions in `held` by link, and by address; and each bridge's ports. A container
    /// owns its namespace and can fill it with links: rules that asked "which addresses does
    /// this link hold" or "which links are this bridge's ports" by walking everything were
    /// quadratic, and 30,000 bridges kept `doctor` busy for minutes.
    held_on: FxHashMap<LinkKey, Vec<usize>>,
    held_at: FxHashMap<Ipv4Addr, Vec<usize>>,
    ports: FxHashMap<LinkKey, Vec<&'a Link>>,
    /// Per namespace index: the segments of its up links, and its up links on open segments
    /// (see `reach.rs`): "does this namespace reach that link" is asked per gateway route.
    up_segments: FxHashMap<usize, FxHashSet<usize>>,
    up_open: FxHashMap<usize, Vec<u32>>,
    /// Per namespace index: its firewall compiled for the evaluator on first use (the NAT
    /// and FORWARD rules walk kube-proxy's chains once per pod and flow).
    compiled: Vec<OnceCell<Option<Rc<Compiled>>>>,
    /// The facts of the snapshot this one was simulated from (a fix tried on a copy): a
    /// namespace whose firewall and addresses the fix left alone reuses its compiled
    /// firewall, with the decisions it remembered — the same walks, not done again.
    donor: Option<Donor<'a>>,
    /// Per namespace index: its own addresses, as a set (see `local_addrs`).
    locals: Vec<OnceCell<FxHashSet<std::net::IpAddr>>>,
    /// Per namespace index given a kept compiled firewall: how many updates have reused it
    /// (see `kept.rs`).
    reuses: FxHashMap<usize, u32>,
    /// Per namespace index: its IPv4 routes, set apart once (see [`Facts::route_to`]).
    v4: Vec<OnceCell<routes::V4Routes>>,
}

/// What [`Facts::sharing`] borrows from the facts of the snapshot a copy came from.
#[derive(Clone, Copy)]
struct Donor<'a> {
    snap: &'a Snapshot,
    index: &'a FxHashMap<&'a str, usize>,
    compiled: &'a [OnceCell<Option<Rc<Compiled>>>],
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
        let mut held_range = FxHashMap::default();
        let mut gw_uses: FxHashMap<Ipv4Addr, Vec<(&'a Namespace, Ipv4Net)>> = FxHashMap::default();
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
            segment_of: FxHashMap::default(),
            segments: Vec::new(),
            ns_index,
            held_range,
            gw_uses,
            links,
            held_on: FxHashMap::default(),
            held_at: FxHashMap::default(),
            ports: FxHashMap::default(),
            up_segments: FxHashMap::default(),
            up_open: FxHashMap::default(),
            compiled: snap.namespaces.iter().map(|_| OnceCell::new()).collect(),
            donor: None,
            locals: snap.namespaces.iter().map(|_| OnceCell::new()).collect(),
            v4: snap.namespaces.iter().map(|_| OnceCell::new()).collect(),
            reuses: Default::default(),
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

    /// `ns`'s firewall compiled for the evaluator, built once per snapshot; `None` when its
    /// rules were not read or `ns` is not this snapshot's.
    pub fn compiled(&self, ns: &Namespace) -> Option<&Compiled> {
        let i = self.ns_idx(&ns.name)?;
        let own: &'a Namespace = &self.snap.namespaces[i];
        if !std::ptr::eq(ns, own) {
            return None;
        }
        self.compiled[i]
            .get_or_init(|| {
                let fw = own.firewall.as_ref()?;
                Some(
                    self.donated(own)
                        .unwrap_or_else(|| Rc::new(Compiled::new(fw))),
                )
            })
            .as_deref()
    }

    /// These facts, reusing the compiled firewalls of `donor` (the facts of the snapshot this
    /// one is a modified copy of) where a namespace's firewall and addresses are unchanged.
    pub fn sharing(mut self, donor: &'a Facts<'a>) -> Self {
        self.donor = Some(Donor {
            snap: donor.snap,
            index: &donor.ns_index,
            compiled: &donor.compiled,
        });
        self
    }

    /// The donor's compiled firewall for `ns`, when `ns`'s firewall and addresses (what the
    /// memo's decisions depend on besides the packet) are the donor's.
    fn donated(&self, ns: &Namespace) -> Option<Rc<Compiled>> {
        let d = self.donor?;
        let j = *d.index.get(ns.name.as_str())?;
        let was = &d.snap.namespaces[j];
        if was.firewall != ns.firewall || was.addresses != ns.addresses {
            return None;
        }
        let fw = was.firewall.as_ref()?;
        d.compiled[j]
            .get_or_init(|| Some(Rc::new(Compiled::new(fw))))
            .clone()
    }

    /// `ns`'s own addresses as a set, built once per snapshot; `None` when `ns` is not this
    /// snapshot's.
    pub fn local_addrs(&self, ns: &Namespace) -> Option<&FxHashSet<IpAddr>> {
        let i = self.ns_idx(&ns.name)?;
        let own: &'a Namespace = &self.snap.namespaces[i];
        if !std::ptr::eq(ns, own) {
            return None;
        }
        Some(self.locals[i].get_or_init(|| own.addresses.iter().map(|a| a.address).collect()))
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
}
