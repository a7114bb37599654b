//! A partial read limited to the links the kernel's events named: the links asked for one by
//! one (RTM_GETLINK by ifindex), and only their addresses, routes and neighbours (dumps the
//! kernel filters by ifindex or output device under NETLINK_GET_STRICT_CHK). A host veth's
//! event used to re-read the host's thousand links and all its addresses, routes and
//! neighbours; now it costs what that one link holds.
//!
//! The patch replaces exactly the objects of those links. IPv4 routes the kernel drops
//! without an event when a link goes down are routes through that link, so the filtered
//! route dump sees them gone. Multipath routes name several links: a namespace holding one
//! is read whole (`partial.rs` decides). Addresses keep the kernel's dump order (family,
//! then ifindex); routes and neighbours come in the kernel's trie and hash order, which a
//! partial read cannot know: a re-read object takes the place of the one it replaces, a new
//! one goes after the others of its family (and table).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::io;

use netlink_packet_route::address::AddressMessage;
use netlink_packet_route::link::LinkMessage;
use netlink_packet_route::neighbour::{NeighbourAttribute, NeighbourMessage};
use netlink_packet_route::route::{RouteAttribute, RouteMessage};
use netlink_packet_route::RouteNetlinkMessage;

use super::touched::Kinds;
use crate::model::{Address, Link, Namespace, Neighbor, Route, RouteFamily};
use crate::netlink::convert::{address_from, link_from, neighbor_from, route_from};
use crate::netlink::RtSocket;

/// What was read for the links of `scope`; `None` for a kind not asked for.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct LinkParts {
    pub scope: BTreeSet<u32>,
    /// Each link of the scope as it is now, `None` when it is gone.
    pub links: Option<Vec<(u32, Option<Link>)>>,
    pub addresses: Option<Vec<Address>>,
    pub routes: Option<Vec<Route>>,
    pub neighbors: Option<Vec<Neighbor>>,
    /// The name of every link in the scope as it was before (`None`: it did not exist).
    pub old_names: HashMap<u32, Option<String>>,
}

impl LinkParts {
    /// Whether a link of the scope came, went or was renamed (what names links elsewhere:
    /// the per-link sysctls, masters, peers).
    pub fn names_changed(&self) -> bool {
        let Some(links) = &self.links else {
            return false;
        };
        links.iter().any(|(i, l)| {
            let before = self.old_names.get(i).cloned().flatten();
            before.as_deref() != l.as_ref().map(|l| l.name.as_str())
        })
    }
}

fn nodev(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::ENODEV)
}

/// Reads `kinds` (of [`Kinds::PER_LINK`]) for the links of `scope`. `known` are the
/// namespace's links as last read. An error (strict checking refused, a request that failed
/// for another reason than the link being gone) means: read these kinds whole instead.
pub fn read(
    sock: &mut RtSocket,
    kinds: Kinds,
    scope: &BTreeSet<u32>,
    known: &[Link],
) -> Result<LinkParts, String> {
    let mut parts = LinkParts {
        scope: scope.clone(),
        ..LinkParts::default()
    };
    let mut names: HashMap<u32, String> = known.iter().map(|l| (l.index, l.name.clone())).collect();
    for &i in scope {
        parts.old_names.insert(i, names.get(&i).cloned());
    }
    if kinds.contains(Kinds::LINKS) {
        let mut links = Vec::with_capacity(scope.len());
        for &i in scope {
            let mut msg = LinkMessage::default();
            msg.header.index = i;
            let link = match sock.request(RouteNetlinkMessage::GetLink(msg)) {
                Ok(replies) => replies.into_iter().find_map(|r| match r {
                    RouteNetlinkMessage::NewLink(m) => Some(link_from(&m)),
                    _ => None,
                }),
                Err(e) if nodev(&e) => None,
                Err(e) => return Err(format!("link {i}: {e}")),
            };
            match &link {
                Some(l) => names.insert(i, l.name.clone()),
                None => names.remove(&i),
            };
            links.push((i, link));
        }
        parts.links = Some(links);
    }
    let name_of = |i: u32| names.get(&i).cloned().unwrap_or_else(|| format!("if{i}"));
    let wanted = kinds.and(Kinds::ADDRESSES | Kinds::ROUTES | Kinds::NEIGHBORS);
    if wanted.is_empty() {
        return Ok(parts);
    }
    sock.set_strict_check(true)
        .map_err(|e| format!("strict checking: {e}"))?;
    let result = filtered(sock, wanted, scope, &name_of, &mut parts);
    // The socket serves whole dumps and nsid requests afterwards: as it was.
    let _ = sock.set_strict_check(false);
    result.map(|()| parts)
}

/// The filtered dumps, one per link and kind.
fn filtered(
    sock: &mut RtSocket,
    kinds: Kinds,
    scope: &BTreeSet<u32>,
    name_of: &dyn Fn(u32) -> String,
    parts: &mut LinkParts,
) -> Result<(), String> {
    let mut dump = |what: &str, i: u32, msg: RouteNetlinkMessage| match sock.dump(msg) {
        Ok(r) => Ok(r),
        Err(e) if nodev(&e) => Ok(Vec::new()),
        Err(e) => Err(format!("{what} dump of link {i}: {e}")),
    };
    // Each kernel filter is checked again in `keep`, so that a kernel ignoring it cannot put
    // another link's objects here.
    if kinds.contains(Kinds::ADDRESSES) {
        let request = |i| {
            let mut m = AddressMessage::default();
            m.header.index = i;
            RouteNetlinkMessage::GetAddress(m)
        };
        let keep = |r, i, out: &mut Vec<_>| match r {
            RouteNetlinkMessage::NewAddress(m) if m.header.index == i => {
                out.extend(address_from(&m, name_of))
            }
            _ => {}
        };
        parts.addresses = Some(per_link(scope, "address", &mut dump, request, keep)?);
    }
    if kinds.contains(Kinds::ROUTES) {
        let request = |i| {
            let mut m = RouteMessage::default();
            m.attributes.push(RouteAttribute::Oif(i));
            RouteNetlinkMessage::GetRoute(m)
        };
        let keep = |r, i, out: &mut Vec<_>| {
            if let RouteNetlinkMessage::NewRoute(m) = r {
                let oif = m.attributes.iter().find_map(|a| match a {
                    RouteAttribute::Oif(o) => Some(*o),
                    _ => None,
                });
                if oif == Some(i) {
                    out.extend(route_from(&m, name_of));
                }
            }
        };
        parts.routes = Some(per_link(scope, "route", &mut dump, request, keep)?);
    }
    if kinds.contains(Kinds::NEIGHBORS) {
        let request = |i| {
            let mut m = NeighbourMessage::default();
            m.attributes.push(NeighbourAttribute::IfIndex(i));
            RouteNetlinkMessage::GetNeighbour(m)
        };
        let keep = |r, i, out: &mut Vec<_>| match r {
            RouteNetlinkMessage::NewNeighbour(m) if m.header.ifindex == i => {
                out.extend(neighbor_from(&m, name_of))
            }
            _ => {}
        };
        parts.neighbors = Some(per_link(scope, "neighbour", &mut dump, request, keep)?);
    }
    Ok(())
}

/// A dump request for a link, its answer or why it failed.
type Dump<'a> =
    dyn FnMut(&str, u32, RouteNetlinkMessage) -> Result<Vec<RouteNetlinkMessage>, String> + 'a;

/// One filtered dump per link of `scope` (`request(ifindex)`), what `keep` takes of each
/// answer gathered.
fn per_link<T>(
    scope: &BTreeSet<u32>,
    what: &str,
    dump: &mut Dump<'_>,
    request: impl Fn(u32) -> RouteNetlinkMessage,
    keep: impl Fn(RouteNetlinkMessage, u32, &mut Vec<T>),
) -> Result<Vec<T>, String> {
    let mut out = Vec::new();
    for &i in scope {
        for r in dump(what, i, request(i))? {
            keep(r, i, &mut out);
        }
    }
    Ok(out)
}

/// Links with those of the scope replaced (kept in ifindex order, as a dump sorts them),
/// masters and ports named again as a whole read names them.
pub fn splice_links(links: &mut Vec<Link>, fresh: &[(u32, Option<Link>)]) {
    let scope: HashSet<u32> = fresh.iter().map(|(i, _)| *i).collect();
    links.retain(|l| !scope.contains(&l.index));
    for l in fresh.iter().filter_map(|(_, l)| l.as_ref()) {
        let at = links.partition_point(|x| x.index <= l.index);
        links.insert(at, l.clone());
    }
    // Masters and ports again, as a whole read names them, but written only where they
    // differ: on the host every veth is a port of the one bridge, and renaming all of them
    // (a String each) per patch of one link was most of a host patch's allocations.
    let at: HashMap<u32, usize> = links
        .iter()
        .enumerate()
        .map(|(p, l)| (l.index, p))
        .collect();
    let mut ports: HashMap<u32, Vec<usize>> = HashMap::new();
    for p in 0..links.len() {
        let Some(m) = links[p].master_index else {
            continue;
        };
        ports.entry(m).or_default().push(p);
        let master = at.get(&m).copied();
        let same = match master {
            Some(q) => links[p].master.as_deref() == Some(links[q].name.as_str()),
            None => links[p].master.is_none(),
        };
        if !same {
            links[p].master = master.map(|q| links[q].name.clone());
        }
    }
    for p in 0..links.len() {
        let of = ports.get(&links[p].index).map_or(&[][..], Vec::as_slice);
        let same = links[p].ports.len() == of.len()
            && links[p]
                .ports
                .iter()
                .zip(of)
                .all(|(n, &q)| *n == links[q].name);
        if !same {
            links[p].ports = of.iter().map(|&q| links[q].name.clone()).collect();
        }
    }
}

/// Replaces the objects of the scope's links in `ns` by what was read.
pub fn patch(ns: &mut Namespace, parts: &LinkParts) {
    if let Some(fresh) = &parts.links {
        splice_links(&mut ns.links, fresh);
    }
    if let Some(new) = &parts.addresses {
        ns.addresses.retain(|a| !parts.scope.contains(&a.ifindex));
        let order = |a: &Address| (a.address.is_ipv6(), a.ifindex);
        for a in new {
            let at = ns.addresses.partition_point(|x| order(x) <= order(a));
            ns.addresses.insert(at, a.clone());
        }
    }
    if let Some(new) = &parts.routes {
        // Routes name their device: the scope's links by their names before the read.
        let mut devs: HashSet<String> = HashSet::new();
        for (i, name) in &parts.old_names {
            devs.extend(name.clone());
            devs.insert(format!("if{i}"));
        }
        let of_scope =
            |r: &Route| r.nexthops.is_empty() && r.dev.as_ref().is_some_and(|d| devs.contains(d));
        let key = |r: &Route| {
            (
                r.family == RouteFamily::Inet6,
                r.table,
                r.dst.clone(),
                r.metric,
            )
        };
        let group = |r: &Route| (r.family == RouteFamily::Inet6, r.table);
        replace(&mut ns.routes, new, of_scope, key, group);
    }
    if let Some(new) = &parts.neighbors {
        let of_scope = |n: &Neighbor| parts.scope.contains(&n.ifindex);
        let key = |n: &Neighbor| (n.ifindex, n.address);
        let group = |n: &Neighbor| n.address.is_ipv6();
        replace(&mut ns.neighbors, new, of_scope, key, group);
    }
}

/// `v` without the objects `of_scope` says were re-read, and with `new`: each new object
/// where the old one of the same key was, else after the last object of its group (or at
/// the end of the groups before it). In place: the host holds thousands of routes and a
/// patch re-reads a few, so the others are neither copied nor moved but by the inserts.
fn replace<T: Clone, K: std::hash::Hash + Eq, G: Ord>(
    v: &mut Vec<T>,
    new: &[T],
    of_scope: impl Fn(&T) -> bool,
    key: impl Fn(&T) -> K,
    group: impl Fn(&T) -> G,
) {
    let mut fresh: HashMap<K, Vec<&T>> = HashMap::new();
    for t in new.iter().rev() {
        fresh.entry(key(t)).or_default().push(t);
    }
    // `retain_mut` visits each object once, in order: the same walk as building a new list.
    v.retain_mut(|t| {
        if !of_scope(t) {
            return true;
        }
        match fresh.get_mut(&key(t)).and_then(Vec::pop) {
            Some(n) => {
                t.clone_from(n);
                true
            }
            None => false,
        }
    });
    for t in new {
        let Some(n) = fresh.get_mut(&key(t)).and_then(Vec::pop) else {
            continue;
        };
        let g = group(n);
        let at = v.iter().rposition(|x| group(x) <= g).map_or(0, |p| p + 1);
        v.insert(at, n.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LinkKind, NeighborState};

    fn link(index: u32, name: &str, master: Option<u32>) -> Link {
        let mut l = Link::new(index, name, LinkKind::Veth);
        l.master_index = master;
        l
    }

    fn neigh(ifindex: u32, addr: &str) -> Neighbor {
        Neighbor {
            ifindex,
            dev: format!("v{ifindex}"),
            address: addr.parse().expect("ip"),
            lladdr: None,
            state: NeighborState::Reachable,
            router: false,
        }
    }

    /// A port renamed and one gone: the bridge's ports and the masters follow, the order
    /// by ifindex is kept.
    #[test]
    fn splicing_links_names_masters_and_ports_again() {
        let mut links = vec![
            link(1, "br0", None),
            link(2, "a", Some(1)),
            link(3, "b", Some(1)),
        ];
        splice_links(&mut links, &[]);
        assert_eq!(links[0].ports, ["a", "b"]);
        let fresh = [
            (2, Some(link(2, "a2", Some(1)))),
            (3, None),
            (5, Some(link(5, "c", Some(1)))),
        ];
        splice_links(&mut links, &fresh);
        let names: Vec<&str> = links.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["br0", "a2", "c"]);
        assert_eq!(links[0].ports, ["a2", "c"]);
        assert_eq!(links[2].master.as_deref(), Some("br0"));
    }

    /// Re-read objects take their old place, new ones go after their group, gone ones go,
    /// and objects of other links are left as they were.
    #[test]
    fn replacing_keeps_places_and_other_links() {
        let old = vec![
            neigh(2, "10.0.0.2"),
            neigh(3, "10.0.0.3"),
            neigh(2, "10.0.0.9"),
            neigh(4, "fe80::4"),
        ];
        let new = vec![
            neigh(2, "10.0.0.7"),
            neigh(2, "10.0.0.2"),
            neigh(2, "fe80::2"),
        ];
        let of = |n: &Neighbor| n.ifindex == 2;
        let mut out = old.clone();
        replace(
            &mut out,
            &new,
            of,
            |n| (n.ifindex, n.address),
            |n| n.address.is_ipv6(),
        );
        let got: Vec<String> = out.iter().map(|n| n.address.to_string()).collect();
        assert_eq!(
            got,
            ["10.0.0.2", "10.0.0.3", "10.0.0.7", "fe80::4", "fe80::2"]
        );
    }

    /// The list-building replace this module had before it worked in place: the oracle.
    fn copying_replace<T: Clone, K: std::hash::Hash + Eq, G: Ord>(
        old: &[T],
        new: &[T],
        of_scope: impl Fn(&T) -> bool,
        key: impl Fn(&T) -> K,
        group: impl Fn(&T) -> G,
    ) -> Vec<T> {
        let mut fresh: HashMap<K, Vec<&T>> = HashMap::new();
        for t in new.iter().rev() {
            fresh.entry(key(t)).or_default().push(t);
        }
        let mut out: Vec<T> = Vec::new();
        for t in old {
            if !of_scope(t) {
                out.push(t.clone());
            } else if let Some(n) = fresh.get_mut(&key(t)).and_then(Vec::pop) {
                out.push(n.clone());
            }
        }
        for t in new {
            let Some(n) = fresh.get_mut(&key(t)).and_then(Vec::pop) else {
                continue;
            };
            let g = group(n);
            let at = out.iter().rposition(|x| group(x) <= g).map_or(0, |p| p + 1);
            out.insert(at, n.clone());
        }
        out
    }

    /// Masters and ports named from scratch, as this module did before it wrote only what
    /// differs: the oracle.
    fn renamed_from_scratch(links: &mut [Link]) {
        let names: HashMap<u32, String> = links.iter().map(|l| (l.index, l.name.clone())).collect();
        let mut ports: HashMap<u32, Vec<String>> = HashMap::new();
        for l in links.iter_mut() {
            l.ports.clear();
            if let Some(m) = l.master_index {
                l.master = names.get(&m).cloned();
                ports.entry(m).or_default().push(l.name.clone());
            }
        }
        for l in links.iter_mut() {
            if let Some(p) = ports.remove(&l.index) {
                l.ports = p;
            }
        }
    }

    /// Seeded lists of neighbours with repeated keys, several links and both groups, and
    /// random re-reads of random scopes: in place == building a new list.
    #[test]
    fn replacing_in_place_equals_building_a_new_list() {
        let mut rng = crate::test_rng::Rng(0x5eed_1a2b);
        for _ in 0..500 {
            let random = |rng: &mut crate::test_rng::Rng, n: usize| -> Vec<Neighbor> {
                (0..n)
                    .map(|_| {
                        let ifindex = 1 + rng.below(4) as u32;
                        let a = match rng.below(2) {
                            0 => format!("10.0.0.{}", rng.below(5)),
                            _ => format!("fe80::{}", rng.below(5)),
                        };
                        let mut n = neigh(ifindex, &a);
                        n.router = rng.below(2) == 0;
                        n
                    })
                    .collect()
            };
            let old = random(&mut rng, 12);
            let scope: Vec<u32> = (1..=4).filter(|_| rng.below(2) == 0).collect();
            let new: Vec<Neighbor> = random(&mut rng, 6)
                .into_iter()
                .filter(|n| scope.contains(&n.ifindex))
                .collect();
            let of = |n: &Neighbor| scope.contains(&n.ifindex);
            let key = |n: &Neighbor| (n.ifindex, n.address);
            let group = |n: &Neighbor| n.address.is_ipv6();
            let want = copying_replace(&old, &new, of, key, group);
            let mut got = old.clone();
            replace(&mut got, &new, of, key, group);
            assert_eq!(got, want);
        }
    }

    /// Seeded links (bridges, ports moving between them, masters that are gone, stale
    /// names and ports left from before): writing only what differs == naming from scratch.
    #[test]
    fn masters_and_ports_written_where_they_differ_equal_named_from_scratch() {
        let mut rng = crate::test_rng::Rng(0xb41d_9e55);
        for _ in 0..300 {
            let n = 1 + rng.below(10);
            let mut links: Vec<Link> = (1..=n as u32)
                .map(|i| {
                    let master = (rng.below(3) == 0).then(|| 1 + rng.below(n + 2) as u32);
                    let mut l = link(i, &format!("l{}", rng.below(4)), master);
                    if rng.below(3) == 0 {
                        l.master = Some(format!("stale{}", rng.below(2)));
                    }
                    if rng.below(4) == 0 {
                        l.ports = vec![format!("l{}", rng.below(4))];
                    }
                    l
                })
                .collect();
            let mut want = links.clone();
            renamed_from_scratch(&mut want);
            splice_links(&mut links, &[]);
            assert_eq!(links, want);
        }
    }
}
