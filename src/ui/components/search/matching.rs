//! What `/` finds: every namespace, process, interface, address (an IP also inside a prefix),
//! route, neighbour and listening socket whose text or value matches the query, as small
//! [`Hit`]s (a namespace and a row, no text): the list shown formats only the hits on screen,
//! so a query matching thousands of rows costs one `Vec` of hits, not a string each.

use std::fmt::Write as _;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::model::{Namespace, Snapshot};
use crate::ui::tabs::Tab;

/// What a namespace is known by beyond its rows: its name, the pod or container in it (name,
/// pod namespace, runtime id) and the processes in it. Another name the collector learns
/// becomes searchable — and shown as the hit's place — with one more `.chain(…)` here.
pub fn search_terms(ns: &Namespace) -> impl Iterator<Item = (&'static str, &str)> {
    let w = ns.workload.as_ref();
    std::iter::once(("namespace", ns.name.as_str()))
        // The workload's name first (index 1: `find` also matches `namespace/name` there).
        .chain(w.map(|w| (w.what_noun(), w.name.as_str())))
        .chain(w.and_then(|w| w.pod_namespace.as_deref().map(|n| ("pod namespace", n))))
        .chain(w.map(|w| ("runtime id", w.id.as_str())))
        .chain(ns.processes.iter().map(|p| ("process", p.comm.as_str())))
}

/// One match: the namespace (index in the snapshot) and what in it matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub ns: usize,
    pub what: What,
}

/// What matched, by index in the namespace's lists (rows of their tab).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum What {
    /// The `n`th of [`search_terms`] (its name, a process).
    Term(usize),
    LinkName(usize),
    LinkMac(usize),
    Address(usize),
    /// A row of the Routes tab (the routes it shows: `Namespace::shown_routes`).
    Route(usize),
    Neighbor(usize),
    Socket(usize),
}

impl Hit {
    /// The tab the hit is a row of (none for a name or a process: the namespace itself).
    pub fn tab(&self) -> Option<Tab> {
        match self.what {
            What::Term(_) => None,
            What::LinkName(_) | What::LinkMac(_) => Some(Tab::Links),
            What::Address(_) => Some(Tab::Addresses),
            What::Route(_) => Some(Tab::Routes),
            What::Neighbor(_) => Some(Tab::Neighbors),
            What::Socket(_) => Some(Tab::Sockets),
        }
    }

    /// The row of that tab.
    pub fn row(&self) -> usize {
        match self.what {
            What::Term(i)
            | What::LinkName(i)
            | What::LinkMac(i)
            | What::Address(i)
            | What::Route(i)
            | What::Neighbor(i)
            | What::Socket(i) => i,
        }
    }

    /// (where, what) as the list shows them: `Addresses`, `10.0.0.5/24 on veth-red`. Not
    /// escaped: the view escapes what it draws.
    pub fn describe(&self, ns: &Namespace) -> (&'static str, String) {
        let place = self.tab().map_or("", Tab::title);
        let text = match self.what {
            What::Term(k) => {
                let (label, term) = search_terms(ns).nth(k).unwrap_or(("", ""));
                return (label, term.to_string());
            }
            What::LinkName(i) => ns.links.get(i).map(|l| l.name.clone()),
            What::LinkMac(i) => ns
                .links
                .get(i)
                .map(|l| format!("{} on {}", l.mac.as_deref().unwrap_or(""), l.name)),
            What::Address(i) => ns
                .addresses
                .get(i)
                .map(|a| format!("{} on {}", a.cidr(), a.ifname)),
            What::Route(i) => ns.shown_routes().nth(i).map(|r| {
                let mut s = r.dst.to_string();
                if let Some(g) = r.gateway {
                    let _ = write!(s, " via {g}");
                }
                if let Some(d) = &r.dev {
                    let _ = write!(s, " dev {d}");
                }
                s
            }),
            What::Neighbor(i) => ns.neighbors.get(i).map(|n| {
                let ll = n.lladdr.as_deref().unwrap_or("");
                format!("{} {ll} on {}", n.address, n.dev)
            }),
            What::Socket(i) => ns.sockets.get(i).map(|s| {
                let who: Vec<&str> = s.processes.iter().map(|p| p.comm.as_str()).collect();
                format!(
                    "{} port {} on {} {}",
                    s.proto,
                    s.port,
                    s.address,
                    who.join(",")
                )
            }),
        };
        (place, text.unwrap_or_default())
    }
}

/// The query, read once per keystroke: its text lowercased, and what else it can be.
pub struct Query<'q> {
    text: &'q str,
    ip: Option<IpAddr>,
    port: Option<u16>,
    mac: Hex,
}

/// The hex digits of a query that can be (part of) a MAC address, lowercased, on the stack.
#[derive(Clone, Copy)]
struct Hex {
    digits: [u8; 40],
    len: usize,
}

impl<'q> Query<'q> {
    /// `lower` is the query lowercased (the caller keeps the buffer).
    pub fn new(lower: &'q str) -> Self {
        let text = lower.trim();
        Query {
            text,
            ip: text.parse().ok(),
            port: text.parse().ok(),
            mac: Hex::of(text),
        }
    }
}

impl Hex {
    /// `aa:bb:cc`, `AABB.CC`, `aa-bb`: at least four hex digits once `:`, `-` and `.` are
    /// dropped (fewer would hit half the MACs of a node), else none.
    fn of(text: &str) -> Self {
        let mut hex = Hex {
            digits: [0; 40],
            len: 0,
        };
        for c in text.bytes().filter(|c| !matches!(c, b':' | b'-' | b'.')) {
            if !c.is_ascii_hexdigit() || hex.len == hex.digits.len() {
                return Hex { len: 0, ..hex };
            }
            hex.digits[hex.len] = c.to_ascii_lowercase();
            hex.len += 1;
        }
        if hex.len < 4 {
            hex.len = 0;
        }
        hex
    }

    /// Whether `mac` (any case and separators) holds these digits.
    fn in_mac(&self, mac: &str) -> bool {
        if self.len == 0 {
            return false;
        }
        let mut buf = [0u8; 64];
        let mut n = 0;
        for c in mac.bytes().filter(u8::is_ascii_hexdigit).take(buf.len()) {
            buf[n] = c.to_ascii_lowercase();
            n += 1;
        }
        let needle = &self.digits[..self.len];
        buf[..n].windows(self.len).any(|w| w == needle)
    }
}

/// Whether `hay` contains `needle` (already lowercase), ASCII case ignored; no allocation.
fn contains(hay: &str, needle: &str) -> bool {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    n.is_empty()
        || h.windows(n.len())
            .any(|w| w.iter().zip(n).all(|(a, b)| a.to_ascii_lowercase() == *b))
}

/// `text` written into the reused `buf`, then searched: addresses and routes are values, and
/// their text is made without a new string per row.
fn shown_contains(buf: &mut String, text: impl std::fmt::Display, needle: &str) -> bool {
    buf.clear();
    let _ = write!(buf, "{text}");
    contains(buf, needle)
}

/// Appends the hits of `q` in `snap` to `hits` (in the snapshot's order, then by tab), and
/// marks in `ns_hit` (one per namespace) those with any.
pub fn find(
    snap: &Snapshot,
    q: &Query,
    hits: &mut Vec<Hit>,
    ns_hit: &mut Vec<bool>,
    buf: &mut String,
) {
    ns_hit.clear();
    ns_hit.resize(snap.namespaces.len(), false);
    if q.text.is_empty() {
        return;
    }
    for (i, ns) in snap.namespaces.iter().enumerate() {
        let before = hits.len();
        let mut hit = |what| hits.push(Hit { ns: i, what });
        let mut named = false;
        for (k, (_, term)) in search_terms(ns).enumerate() {
            if contains(term, q.text) {
                hit(What::Term(k));
                named |= k == 1;
            }
        }
        // A pod as kubectl writes it, `shop/web`, lands on the pod's name.
        if let Some(w) = ns.workload.as_ref().filter(|_| !named) {
            if w.pod_namespace.is_some() && contains(&w.display_name(), q.text) {
                hit(What::Term(1));
            }
        }
        find_links(ns, q, &mut hit);
        find_addresses(ns, q, buf, &mut hit);
        find_routes(ns, q, buf, &mut hit);
        find_neighbors(ns, q, buf, &mut hit);
        find_sockets(ns, q, buf, &mut hit);
        ns_hit[i] = hits.len() > before;
    }
}

fn find_links(ns: &Namespace, q: &Query, hit: &mut impl FnMut(What)) {
    for (j, l) in ns.links.iter().enumerate() {
        if contains(&l.name, q.text) {
            hit(What::LinkName(j));
        } else if l.mac.as_deref().is_some_and(|m| q.mac.in_mac(m)) {
            hit(What::LinkMac(j));
        }
    }
}

/// An address matches by its text (`10.0.0.1/24` holds `10.0.`) or, for an IP, when its
/// subnet holds the IP: `10.0.0.5` finds the namespace that has `10.0.0.1/24`.
fn find_addresses(ns: &Namespace, q: &Query, buf: &mut String, hit: &mut impl FnMut(What)) {
    for (j, a) in ns.addresses.iter().enumerate() {
        let holds = q.ip.is_some_and(|ip| {
            IpNet::new(a.address, a.prefix_len).is_ok_and(|net| net.contains(&ip))
        });
        if holds || shown_contains(buf, format_args!("{}/{}", a.address, a.prefix_len), q.text) {
            hit(What::Address(j));
        }
    }
}

/// A route matches by its destination or gateway text, or when its destination holds the IP
/// (not a default route: it holds every address, and every namespace has one).
fn find_routes(ns: &Namespace, q: &Query, buf: &mut String, hit: &mut impl FnMut(What)) {
    for (j, r) in ns.shown_routes().enumerate() {
        let holds = match (&r.dst, q.ip) {
            (crate::model::RouteDst::Net(net), Some(ip)) => {
                net.prefix_len() > 0 && net.contains(&ip)
            }
            _ => false,
        };
        let via = r.gateway.is_some_and(|g| Some(g) == q.ip);
        if holds || via || shown_contains(buf, &r.dst, q.text) {
            hit(What::Route(j));
        }
    }
}

fn find_neighbors(ns: &Namespace, q: &Query, buf: &mut String, hit: &mut impl FnMut(What)) {
    for (j, n) in ns.neighbors.iter().enumerate() {
        let mac = n.lladdr.as_deref().is_some_and(|m| q.mac.in_mac(m));
        if Some(n.address) == q.ip || mac || shown_contains(buf, n.address, q.text) {
            hit(What::Neighbor(j));
        }
    }
}

/// A listening socket matches by its port (exactly), its address, or a process holding it.
fn find_sockets(ns: &Namespace, q: &Query, buf: &mut String, hit: &mut impl FnMut(What)) {
    for (j, s) in ns.sockets.iter().enumerate() {
        let port = q.port == Some(s.port);
        let addr =
            Some(s.address) == q.ip || (q.port.is_none() && shown_contains(buf, s.address, q.text));
        let who = s.processes.iter().any(|p| contains(&p.comm, q.text));
        if port || addr || who {
            hit(What::Socket(j));
        }
    }
}
