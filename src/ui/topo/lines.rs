//! The topology graph laid out as text lines: each hub namespace a box, its bridges and direct
//! veths as buses under it, and every namespace at the far end of a veth one line on its bus.
//! Pure: the view only paints these lines, so the picture is testable without a terminal.
//!
//! Legibility at 100+ namespaces comes from folding (`fold.rs`); the doctor's findings and
//! the change marks are put on the lines last (`mark.rs`), from what each line is about.

use std::collections::HashSet;

use unicode_width::UnicodeWidthStr;

use super::child::child_line;
use super::fold::{collapsed_line, isolated_lines, shown_children};
use super::graph::{Bus, Graph, Hub};
use super::mark::{About, Placed};
use super::state::link_state_word;

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
    /// Down links, lost peers, unreadable namespaces, a FORWARD policy that drops.
    Bad,
    Dim,
    /// A doctor's finding, by severity: its mark in the gutter and its title.
    Error,
    Warn,
    Info,
    /// The change mark.
    Changed,
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
    /// What the line stands for, so a finding lands on the line of its object.
    pub about: Vec<About>,
    /// Every finding on the line, whole (`✗ title · ! title`), for the view to show in full
    /// when the line is selected: the end of a long line is cut on a narrow terminal.
    pub note: Option<Seg>,
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

/// Lays out `graph`; groups named in `expanded` are shown whole; `placed` marks the lines.
pub(super) fn lines(graph: &Graph, expanded: &HashSet<String>, placed: &Placed) -> Vec<TopoLine> {
    let mut out = Vec::new();
    for hub in &graph.hubs {
        hub_lines(hub, expanded, placed, &mut out);
        out.push(TopoLine::default());
    }
    isolated_lines(&graph.isolated, expanded, placed, &mut out);
    if out.last().is_some_and(|l| l.segs.is_empty()) {
        out.pop();
    }
    placed.apply(&mut out);
    out
}

fn hub_lines(hub: &Hub, expanded: &HashSet<String>, placed: &Placed, out: &mut Vec<TopoLine>) {
    // The box's content first, so the frame can be as wide as its widest line.
    let inner = super::hub_box::content(hub);
    super::hub_box::frame(hub, inner, out);
    for (i, bus) in hub.buses.iter().enumerate() {
        let last = i + 1 == hub.buses.len();
        bus_lines(hub, bus, last, expanded, placed, out);
    }
}

fn bus_head(hub: &Hub, bus: &Bus, last: bool) -> TopoLine {
    let mut head = line(vec![seg(
        if last { "  └─◉ " } else { "  ├─◉ " }.into(),
        Tone::Frame,
    )]);
    head.ns = Some(hub.ns.name.clone());
    match bus.bridge {
        Some(b) => {
            head.about = vec![About::Link(hub.ns.name.clone(), b.name.clone())];
            head.push(format!("bridge {}", b.name), Tone::Bridge);
            for a in &bus.addrs {
                head.push(format!(" {a}"), Tone::Plain);
            }
            if bus.addrs.is_empty() {
                head.push(" (no address)", Tone::Dim);
            }
            if let Some(word) = link_state_word(b) {
                head.push(format!(" {word}"), Tone::Bad);
            }
            head.push(format!(" · {}", plural(b.ports.len(), "port")), Tone::Dim);
        }
        None => {
            head.push("veths to other namespaces", Tone::Bridge);
        }
    }
    head
}

fn bus_lines(
    hub: &Hub,
    bus: &Bus,
    last: bool,
    expanded: &HashSet<String>,
    placed: &Placed,
    out: &mut Vec<TopoLine>,
) {
    out.push(bus_head(hub, bus, last));
    let stem = if last { "      " } else { "  │   " };
    let n = bus.children.len();
    let key = bus_key(hub, bus);
    let folded = shown_children(hub, bus, expanded.contains(&key), placed);
    // An expanded big group ends with a line that collapses it again.
    let collapse_line = folded.foldable && !folded.collapsed;
    let trailing_ports = !bus.other_ports.is_empty();
    let mut toggle_written = false;
    for (i, child) in bus.children.iter().enumerate() {
        if !folded.shown[i] {
            if !toggle_written {
                toggle_written = true;
                out.push(collapsed_line(stem, &folded.hidden(bus), &key, bus, placed));
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
        out.push(child_line(hub, stem, last_child, child, &addrs));
    }
    if collapse_line {
        let mut l = line(vec![seg(format!("{stem}┆ "), Tone::Frame)]);
        l.push(format!("all {n} shown — Enter collapses"), Tone::Dim);
        l.toggle = Some(key);
        out.push(l);
    }
    if trailing_ports {
        let mut l = line(vec![
            seg(format!("{stem}└── "), Tone::Frame),
            seg(
                format!("other ports: {}", bus.other_ports.join(", ")),
                Tone::Plain,
            ),
        ]);
        l.about = bus
            .other_ports
            .iter()
            .map(|p| About::Link(hub.ns.name.clone(), p.clone()))
            .collect();
        out.push(l);
    }
}

pub(super) use crate::text::plural;
