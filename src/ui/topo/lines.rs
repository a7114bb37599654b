//! The topology graph laid out as text lines: each hub namespace a box, its bridges and direct
//! veths as buses under it, and every namespace at the far end of a veth one line on its bus.
//! Pure: the view only paints these lines, so the picture is testable without a terminal.
//!
//! Legibility at 100+ namespaces comes from collapsing: a bus with many namespaces shows its
//! first and last few, every one that looks broken, and one line standing for the rest, which
//! Enter expands. Nothing broken is ever hidden in a collapsed group.

use std::collections::HashSet;

use unicode_width::UnicodeWidthStr;

use super::graph::{addrs_by_link, shown_addrs, Bus, Child, Graph, Hub};
use crate::model::{Link, LinkKind, Namespace, NamespaceKind, NsStatus};

/// Buses with more namespaces than this are collapsed until expanded.
pub const COLLAPSE_ABOVE: usize = 8;
const SHOW_FIRST: usize = 3;
const SHOW_LAST: usize = 2;

/// What a piece of text is, for the view to colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Plain,
    /// Box lines and tree connectors.
    Frame,
    /// A namespace name.
    Ns,
    Bridge,
    /// Uplink and NAT markings.
    Nat,
    /// Down links, lost peers, unreadable namespaces.
    Bad,
    Dim,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seg(pub String, pub Tone);

/// A segment of the picture, its text escaped before it is measured: names come from the
/// kernel and from containers (see `text::escape`), and boxes are sized by what is shown.
/// Clean text, nearly all of it, is moved, not copied.
pub(super) fn seg(text: String, tone: Tone) -> Seg {
    match crate::text::escape(&text) {
        std::borrow::Cow::Borrowed(_) => Seg(text, tone),
        std::borrow::Cow::Owned(e) => Seg(e, tone),
    }
}

/// One line of the picture.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TopoLine {
    pub segs: Vec<Seg>,
    /// The namespace this line is about: Enter opens it, selecting it on the left scrolls here.
    pub ns: Option<String>,
    /// The group this line expands or collapses (Enter).
    pub toggle: Option<String>,
}

impl TopoLine {
    pub fn text(&self) -> String {
        self.segs.iter().map(|s| s.0.as_str()).collect()
    }

    pub(super) fn width(&self) -> usize {
        self.segs.iter().map(|s| s.0.width()).sum()
    }

    pub(super) fn push(&mut self, text: impl Into<String>, tone: Tone) -> &mut Self {
        self.segs.push(seg(text.into(), tone));
        self
    }
}

pub(super) fn line(segs: Vec<Seg>) -> TopoLine {
    TopoLine {
        segs,
        ..TopoLine::default()
    }
}

/// The key `expanded` holds for a bus.
pub fn bus_key(hub: &Hub, bus: &Bus) -> String {
    format!(
        "{}/{}",
        hub.ns.name,
        bus.bridge.map(|b| b.name.as_str()).unwrap_or("")
    )
}

/// The key of the group of namespaces joined to nothing.
pub const ISOLATED_KEY: &str = "\u{0}isolated";

/// Lays out `graph`; groups named in `expanded` are shown whole.
pub fn lines(graph: &Graph, expanded: &HashSet<String>) -> Vec<TopoLine> {
    let mut out = Vec::new();
    for hub in &graph.hubs {
        hub_lines(hub, expanded, &mut out);
        out.push(TopoLine::default());
    }
    isolated_lines(&graph.isolated, expanded, &mut out);
    if out.last().is_some_and(|l| l.segs.is_empty()) {
        out.pop();
    }
    out
}

pub(super) fn link_state_bad(l: &Link) -> bool {
    crate::ui::tabs::link_is_down(l)
}

pub(super) fn ns_title(ns: &Namespace) -> String {
    match ns.kind {
        NamespaceKind::Process => match ns.processes.first() {
            Some(p) => format!("{} {}", ns.name, p.comm),
            None => ns.name.clone(),
        },
        _ => ns.name.clone(),
    }
}

pub(super) fn ns_unreadable(ns: &Namespace) -> Option<String> {
    match &ns.status {
        NsStatus::Gone => Some("gone".into()),
        NsStatus::Inaccessible(why) => Some(format!("not readable: {why}")),
        NsStatus::Ok | NsStatus::Partial(_) => None,
    }
}

fn hub_lines(hub: &Hub, expanded: &HashSet<String>, out: &mut Vec<TopoLine>) {
    // The box's content first, so the frame can be as wide as its widest line.
    let inner = super::hub_box::content(hub);
    super::hub_box::frame(hub, inner, out);
    for (i, bus) in hub.buses.iter().enumerate() {
        let last = i + 1 == hub.buses.len();
        bus_lines(hub, bus, last, expanded, out);
    }
}

fn bus_lines(
    hub: &Hub,
    bus: &Bus,
    last: bool,
    expanded: &HashSet<String>,
    out: &mut Vec<TopoLine>,
) {
    let mut head = line(vec![seg(
        if last { "  └─◉ " } else { "  ├─◉ " }.into(),
        Tone::Frame,
    )]);
    head.ns = Some(hub.ns.name.clone());
    match bus.bridge {
        Some(b) => {
            head.push(format!("bridge {}", b.name), Tone::Bridge);
            for a in &bus.addrs {
                head.push(format!(" {a}"), Tone::Plain);
            }
            if bus.addrs.is_empty() {
                head.push(" (no address)", Tone::Dim);
            }
            if link_state_bad(b) {
                head.push(" DOWN", Tone::Bad);
            }
            head.push(format!(" · {} ports", b.ports.len()), Tone::Dim);
        }
        None => {
            head.push("veths to other namespaces", Tone::Bridge);
        }
    }
    out.push(head);
    let stem = if last { "      " } else { "  │   " };
    let n = bus.children.len();
    let key = bus_key(hub, bus);
    let collapsed = n > COLLAPSE_ABOVE && !expanded.contains(&key);
    // An expanded big group ends with a line that collapses it again.
    let collapse_line = n > COLLAPSE_ABOVE && !collapsed;
    let shown: Vec<bool> = bus
        .children
        .iter()
        .enumerate()
        .map(|(i, c)| !collapsed || i < SHOW_FIRST || i + SHOW_LAST >= n || child_is_bad(c))
        .collect();
    let hidden: Vec<&Child> = bus
        .children
        .iter()
        .zip(&shown)
        .filter(|(_, s)| !**s)
        .map(|(c, _)| c)
        .collect();
    let trailing_ports = !bus.other_ports.is_empty();
    let mut toggle_written = false;
    for (i, child) in bus.children.iter().enumerate() {
        if !shown[i] {
            if !toggle_written {
                toggle_written = true;
                out.push(collapsed_line(stem, &hidden, &key, bus));
            }
            continue;
        }
        let last_child = i + 1 == n && !trailing_ports && !collapse_line;
        // A port on a bridge has no address of its own worth showing; a direct veth does.
        let addrs = match bus.bridge {
            Some(_) => Vec::new(),
            None => hub
                .addrs
                .get(child.port.name.as_str())
                .cloned()
                .unwrap_or_default(),
        };
        out.push(child_line(stem, last_child, child, &addrs));
    }
    if collapse_line {
        let mut l = line(vec![seg(format!("{stem}┆ "), Tone::Frame)]);
        l.push(format!("all {n} shown — Enter collapses"), Tone::Dim);
        l.toggle = Some(key);
        out.push(l);
    }
    if trailing_ports {
        out.push(line(vec![
            seg(format!("{stem}└── "), Tone::Frame),
            seg(
                format!("other ports: {}", bus.other_ports.join(", ")),
                Tone::Plain,
            ),
        ]));
    }
}

/// The line standing for the namespaces a collapsed bus does not show.
fn collapsed_line(stem: &str, hidden: &[&Child], key: &str, bus: &Bus) -> TopoLine {
    let names: Vec<&str> = hidden
        .iter()
        .filter_map(|c| c.ns.map(|n| n.name.as_str()))
        .collect();
    let span = match (names.first(), names.last()) {
        (Some(a), Some(b)) if a != b => format!(" ({a} … {b})"),
        (Some(a), _) => format!(" ({a})"),
        _ => String::new(),
    };
    let on = bus
        .bridge
        .map(|b| format!(" on {}", b.name))
        .unwrap_or_default();
    let mut l = line(vec![seg(format!("{stem}┆ "), Tone::Frame)]);
    l.push(
        format!(
            "… {} more {}{on}{span}, all up — Enter expands",
            hidden.len(),
            if hidden.len() == 1 {
                "namespace"
            } else {
                "namespaces"
            }
        ),
        Tone::Dim,
    );
    l.toggle = Some(key.to_string());
    l
}

/// A namespace on a bus that an engineer must see even when its group is collapsed.
fn child_is_bad(c: &Child) -> bool {
    link_state_bad(c.port)
        || c.peer.is_none_or(link_state_bad)
        || c.ns.is_some_and(|n| ns_unreadable(n).is_some())
}

fn child_line(stem: &str, last: bool, c: &Child, port_addrs: &[String]) -> TopoLine {
    let mut l = line(vec![seg(
        format!("{stem}{}", if last { "└── " } else { "├── " }),
        Tone::Frame,
    )]);
    l.ns = c.ns.map(|n| n.name.clone());
    l.push(c.port.name.clone(), Tone::Plain);
    for a in port_addrs {
        l.push(format!(" {a}"), Tone::Plain);
    }
    if link_state_bad(c.port) {
        l.push(" DOWN", Tone::Bad);
    }
    l.push(" ══ ", Tone::Frame);
    let Some(ns) = c.ns else {
        let what = match c.port.peer.as_ref().and_then(|p| p.namespace.as_deref()) {
            Some(n) => format!("peer in {n}, not read"),
            None if c.port.peer.is_some() => "peer in a namespace netlens cannot see".into(),
            None => "peer gone".into(),
        };
        l.push(format!("✗ {what}"), Tone::Bad);
        return l;
    };
    match c.peer {
        Some(p) => {
            l.push(p.name.clone(), Tone::Plain);
            if link_state_bad(p) {
                l.push(" DOWN", Tone::Bad);
            }
        }
        None => {
            l.push("✗ peer not found", Tone::Bad);
        }
    }
    l.push(" ▸ ", Tone::Frame);
    if c.is_hub {
        l.push(format!("⟦{}⟧", ns_title(ns)), Tone::Ns)
            .push(" (its own box)", Tone::Dim);
        return l;
    }
    l.push("[ ", Tone::Frame).push(ns_title(ns), Tone::Ns);
    if let Some(why) = ns_unreadable(ns) {
        l.push(format!(" ! {why}"), Tone::Bad);
    }
    if let Some(p) = c.peer {
        for a in shown_addrs(ns, &p.name) {
            l.push(format!(" {a}"), Tone::Plain);
        }
    }
    let gw = ns
        .routes
        .iter()
        .find(|r| r.table == 254 && r.dst.is_default())
        .and_then(|r| r.gateway);
    if let Some(gw) = gw {
        l.push(format!(" → via {gw}"), Tone::Dim);
    }
    l.push(" ]", Tone::Frame);
    l
}

fn isolated_lines(isolated: &[&Namespace], expanded: &HashSet<String>, out: &mut Vec<TopoLine>) {
    if isolated.is_empty() {
        return;
    }
    out.push(line(vec![seg(
        format!(
            "○ {} joined to no other by a veth",
            plural(isolated.len(), "namespace")
        ),
        Tone::Dim,
    )]));
    let collapsed = isolated.len() > COLLAPSE_ABOVE && !expanded.contains(ISOLATED_KEY);
    let n = isolated.len();
    let mut toggle_written = false;
    for (i, ns) in isolated.iter().enumerate() {
        let bad = ns_unreadable(ns).is_some();
        if collapsed && !(i < SHOW_FIRST || i + SHOW_LAST >= n || bad) {
            if !toggle_written {
                toggle_written = true;
                let hidden = (0..n)
                    .filter(|&j| !(j < SHOW_FIRST || j + SHOW_LAST >= n))
                    .filter(|&j| ns_unreadable(isolated[j]).is_none())
                    .count();
                let mut l = line(vec![seg("  ┆ ".into(), Tone::Frame)]);
                l.push(format!("… {hidden} more — Enter expands"), Tone::Dim);
                l.toggle = Some(ISOLATED_KEY.into());
                out.push(l);
            }
            continue;
        }
        let mut l = line(vec![seg("  [ ".into(), Tone::Frame)]);
        l.ns = Some(ns.name.clone());
        l.push(ns_title(ns), Tone::Ns);
        if let Some(why) = ns_unreadable(ns) {
            l.push(format!(" ! {why}"), Tone::Bad);
        }
        let shown = addrs_by_link(ns);
        let links: Vec<String> = ns
            .links
            .iter()
            .filter(|l| l.kind != LinkKind::Loopback)
            .map(|l| {
                let addrs = shown.get(l.name.as_str()).map(Vec::as_slice).unwrap_or(&[]);
                if addrs.is_empty() {
                    l.name.clone()
                } else {
                    format!("{} {}", l.name, addrs.join(" "))
                }
            })
            .collect();
        if links.is_empty() {
            l.push(" lo only", Tone::Dim);
        } else {
            l.push(format!(" {}", links.join(", ")), Tone::Plain);
        }
        l.push(" ]", Tone::Frame);
        out.push(l);
    }
    if n > COLLAPSE_ABOVE && !collapsed {
        let mut l = line(vec![seg("  ┆ ".into(), Tone::Frame)]);
        l.push(format!("all {n} shown — Enter collapses"), Tone::Dim);
        l.toggle = Some(ISOLATED_KEY.into());
        out.push(l);
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}
