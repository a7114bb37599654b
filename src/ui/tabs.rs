//! The detail tabs: for each, a header and rows built on demand, so a namespace with 10,000
//! routes only formats the rows on screen.

use crate::model::diff::{self, ObjectKind};
use crate::model::{Link, Namespace};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Links,
    Addresses,
    Routes,
    Neighbors,
    Firewall,
    Dns,
    Sockets,
    /// The whole node as a picture (not per namespace).
    Topology,
}

impl Tab {
    pub const ALL: [Tab; 8] = [
        Tab::Links,
        Tab::Addresses,
        Tab::Routes,
        Tab::Neighbors,
        Tab::Firewall,
        Tab::Dns,
        Tab::Sockets,
        Tab::Topology,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Tab::Links => "Links",
            Tab::Addresses => "Addresses",
            Tab::Routes => "Routes",
            Tab::Neighbors => "Neighbors",
            Tab::Firewall => "Firewall",
            Tab::Dns => "DNS",
            Tab::Sockets => "Sockets",
            Tab::Topology => "Topology",
        }
    }

    pub fn index(self) -> usize {
        Tab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }

    pub fn header(self) -> &'static [&'static str] {
        match self {
            Tab::Links => &["#", "name", "kind", "state", "mtu", "mac", "master", "peer"],
            Tab::Addresses => &["dev", "address", "scope"],
            Tab::Routes => &[
                "table",
                "destination",
                "via",
                "dev",
                "proto",
                "scope",
                "src",
            ],
            Tab::Neighbors => &["address", "dev", "lladdr", "state"],
            Tab::Firewall => &["table", "chain", "rule"],
            Tab::Dns => &["file", "line"],
            Tab::Sockets => &["proto", "address", "port", "process"],
            Tab::Topology => &[],
        }
    }

    /// Column widths (the last column takes the rest).
    pub fn widths(self) -> &'static [u16] {
        match self {
            Tab::Links => &[4, 16, 9, 9, 6, 18, 12, 30],
            Tab::Addresses => &[16, 42, 8],
            Tab::Routes => &[7, 24, 18, 14, 8, 7, 16],
            Tab::Neighbors => &[28, 14, 18, 11],
            Tab::Firewall => &[14, 22, 80],
            Tab::Dns => &[34, 80],
            Tab::Sockets => &[6, 40, 6, 30],
            Tab::Topology => &[],
        }
    }
}

/// Whether a link looks down (administratively or without carrier).
pub fn link_is_down(l: &Link) -> bool {
    !l.is_up() || l.oper_state == "DOWN" || l.oper_state == "LOWERLAYERDOWN"
}

fn link_state(l: &Link) -> String {
    if l.is_up() {
        l.oper_state.clone()
    } else {
        "DOWN".into()
    }
}

/// Firewall lines: (table, chain, rule) flattened in display order.
fn firewall_lines(ns: &Namespace) -> Vec<[String; 3]> {
    let mut out = Vec::new();
    let Some(fw) = &ns.firewall else { return out };
    for e in &fw.errors {
        out.push(["!".into(), "error".into(), e.clone()]);
    }
    for t in &fw.iptables {
        for c in &t.chains {
            if let Some(p) = &c.policy {
                out.push([t.name.clone(), c.name.clone(), format!("policy {p}")]);
            }
            for r in &c.rules {
                out.push([t.name.clone(), c.name.clone(), r.raw.clone()]);
            }
        }
    }
    for t in fw.nft.iter().filter(|t| !t.looks_like_iptables_nft()) {
        for c in &t.chains {
            for r in &c.rules {
                out.push([
                    format!("{} {}", t.family, t.name),
                    c.name.clone(),
                    r.expr_summary.clone(),
                ]);
            }
        }
    }
    out
}

fn dns_lines(ns: &Namespace) -> Vec<[String; 2]> {
    let mut out = Vec::new();
    let Some(dns) = &ns.dns else { return out };
    let files = [
        (
            &dns.resolv_conf.path,
            &dns.resolv_conf.raw,
            &dns.resolv_conf.error,
        ),
        (&dns.nsswitch.path, &dns.nsswitch.raw, &dns.nsswitch.error),
        (&dns.hosts.path, &dns.hosts.raw, &dns.hosts.error),
    ];
    for (path, raw, error) in files {
        match (raw, error) {
            (Some(text), _) => {
                for line in text.lines().filter(|l| !l.trim().is_empty()) {
                    out.push([path.clone(), line.to_string()]);
                }
            }
            (None, Some(e)) => out.push([path.clone(), format!("! {e}")]),
            (None, None) => {}
        }
    }
    out
}

/// The rows of `range` out of `items`: tables only ever format what is on screen.
fn page<T>(
    items: impl Iterator<Item = T>,
    range: &std::ops::Range<usize>,
) -> impl Iterator<Item = T> {
    items
        .skip(range.start)
        .take(range.end.saturating_sub(range.start))
}

/// Number of rows of `tab` for `ns`.
pub fn row_count(ns: &Namespace, tab: Tab) -> usize {
    match tab {
        Tab::Links => ns.links.len(),
        Tab::Addresses => ns.addresses.len(),
        Tab::Routes => ns.shown_routes().count(),
        Tab::Neighbors => ns.neighbors.len(),
        Tab::Firewall => firewall_lines(ns).len(),
        Tab::Dns => dns_lines(ns).len(),
        Tab::Sockets => ns.sockets.len(),
        // Node-wide: the app counts the picture's lines.
        Tab::Topology => 0,
    }
}

/// Rows `range` of `tab` for `ns`, formatted as cells.
pub fn rows(ns: &Namespace, tab: Tab, range: std::ops::Range<usize>) -> Vec<Vec<String>> {
    match tab {
        Tab::Links => page(ns.links.iter(), &range)
            .map(|l| {
                let peer = l.peer.as_ref().map(|p| {
                    let name = p.name.clone().unwrap_or_else(|| format!("if{}", p.ifindex));
                    format!("⇄ {name} ({})", p.namespace.as_deref().unwrap_or("?"))
                });
                let ports = (!l.ports.is_empty()).then(|| format!("ports: {}", l.ports.join(",")));
                vec![
                    l.index.to_string(),
                    l.name.clone(),
                    l.kind.clone(),
                    link_state(l),
                    l.mtu.to_string(),
                    l.mac.clone().unwrap_or_default(),
                    l.master.clone().unwrap_or_default(),
                    peer.or(ports).unwrap_or_default(),
                ]
            })
            .collect(),
        Tab::Addresses => page(ns.addresses.iter(), &range)
            .map(|a| vec![a.ifname.clone(), a.cidr(), a.scope.clone()])
            .collect(),
        Tab::Routes => page(ns.shown_routes(), &range)
            .map(|r| {
                vec![
                    r.table_name.clone(),
                    if r.kind == "unicast" {
                        r.dst.clone()
                    } else {
                        format!("{} {}", r.kind, r.dst)
                    },
                    r.gateway.map(|g| g.to_string()).unwrap_or_default(),
                    r.dev.clone().unwrap_or_default(),
                    r.protocol.clone(),
                    r.scope.clone(),
                    r.prefsrc.map(|s| s.to_string()).unwrap_or_default(),
                ]
            })
            .collect(),
        Tab::Neighbors => page(ns.neighbors.iter(), &range)
            .map(|n| {
                vec![
                    n.address.to_string(),
                    n.dev.clone(),
                    n.lladdr.clone().unwrap_or_default(),
                    n.state.clone(),
                ]
            })
            .collect(),
        Tab::Firewall => page(firewall_lines(ns).into_iter(), &range)
            .map(Vec::from)
            .collect(),
        Tab::Dns => page(dns_lines(ns).into_iter(), &range)
            .map(Vec::from)
            .collect(),
        Tab::Sockets => page(ns.sockets.iter(), &range)
            .map(|s| {
                let who: Vec<String> = s
                    .processes
                    .iter()
                    .map(|p| format!("{}({})", p.comm, p.pid))
                    .collect();
                vec![
                    s.proto.clone(),
                    s.address.to_string(),
                    s.port.to_string(),
                    who.join(", "),
                ]
            })
            .collect(),
        Tab::Topology => Vec::new(),
    }
}

/// The diff identity of each row in `range`, for the kinds whose rows are single objects.
pub fn row_keys(
    ns: &Namespace,
    tab: Tab,
    range: std::ops::Range<usize>,
) -> Vec<Option<(ObjectKind, String)>> {
    match tab {
        Tab::Links => page(ns.links.iter(), &range)
            .map(|l| Some((ObjectKind::Link, diff::link_key(l))))
            .collect(),
        Tab::Addresses => page(ns.addresses.iter(), &range)
            .map(|a| Some((ObjectKind::Address, diff::address_key(a))))
            .collect(),
        Tab::Routes => page(ns.shown_routes(), &range)
            .map(|r| Some((ObjectKind::Route, diff::route_key(r))))
            .collect(),
        Tab::Neighbors => page(ns.neighbors.iter(), &range)
            .map(|n| Some((ObjectKind::Neighbor, diff::neighbor_key(n))))
            .collect(),
        Tab::Firewall | Tab::Dns | Tab::Sockets | Tab::Topology => vec![None; range.len()],
    }
}
