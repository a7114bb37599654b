//! Folding big groups: a bus (or the isolated namespaces) with many namespaces shows its first
//! and last few, and every one an engineer must see — a link down, a peer lost, a namespace
//! unreadable, a warning or error of the doctor landing on it, a change since the baseline —
//! with one line standing for the rest that says truthfully what it hides. Enter expands it.

use super::graph::{addrs_by_link, Bus, Child, Hub};
use super::lines::{line, plural, seg, Tone, TopoLine, ISOLATED_KEY};
use super::mark::{About, Placed};
use super::state::{link_state_bad, ns_title, ns_unreadable};
use crate::model::{LinkKind, Namespace};
use std::collections::HashSet;

/// Groups with more namespaces than this are folded until expanded.
pub const COLLAPSE_ABOVE: usize = 8;
const SHOW_FIRST: usize = 3;
const SHOW_LAST: usize = 2;

/// Which children of a bus are drawn.
pub(super) struct Folded {
    /// The group is big enough to fold.
    pub foldable: bool,
    /// It is folded (not expanded by the user).
    pub collapsed: bool,
    /// Per child, whether it has a line of its own.
    pub shown: Vec<bool>,
}

impl Folded {
    pub fn hidden<'b, 'a>(&self, bus: &'b Bus<'a>) -> Vec<&'b Child<'a>> {
        bus.children
            .iter()
            .zip(&self.shown)
            .filter(|(_, s)| !**s)
            .map(|(c, _)| c)
            .collect()
    }
}

/// A child an engineer must see even when its group is folded.
fn child_must_show(hub: &Hub, c: &Child, placed: &Placed) -> bool {
    link_state_bad(c.port)
        || c.peer.is_none_or(link_state_bad)
        || c.ns
            .is_some_and(|n| ns_unreadable(n).is_some() || placed.keeps(&n.name))
        || placed.keeps_link(&hub.ns.name, &c.port.name)
}

pub(super) fn shown_children(hub: &Hub, bus: &Bus, expanded: bool, placed: &Placed) -> Folded {
    let n = bus.children.len();
    let foldable = n > COLLAPSE_ABOVE;
    let collapsed = foldable && !expanded;
    let shown = bus
        .children
        .iter()
        .enumerate()
        .map(|(i, c)| {
            !collapsed || i < SHOW_FIRST || i + SHOW_LAST >= n || child_must_show(hub, c, placed)
        })
        .collect();
    Folded {
        foldable,
        collapsed,
        shown,
    }
}

/// What a fold hides, in words: `all up, no findings`, or the info notes it still holds
/// (warnings and errors are never hidden), and `unchanged` while changes are marked.
fn hides(namespaces: &[&Namespace], placed: &Placed) -> String {
    let infos: usize = namespaces.iter().map(|n| placed.infos(&n.name)).sum();
    let mut s = if infos == 0 {
        "all up, no findings".to_string()
    } else {
        format!("all up, no warnings, {}", plural(infos, "info note"))
    };
    if placed.marking_changes() {
        s.push_str(", unchanged");
    }
    s
}

/// The line standing for the namespaces a folded bus does not show.
pub(super) fn collapsed_line(
    stem: &str,
    hidden: &[&Child],
    key: &str,
    bus: &Bus,
    placed: &Placed,
) -> TopoLine {
    let namespaces: Vec<&Namespace> = hidden.iter().filter_map(|c| c.ns).collect();
    let span = match (namespaces.first(), namespaces.last()) {
        (Some(a), Some(b)) if a.name != b.name => format!(" ({} … {})", a.name, b.name),
        (Some(a), _) => format!(" ({})", a.name),
        _ => String::new(),
    };
    let on = bus
        .bridge
        .map(|b| format!(" on {}", b.name))
        .unwrap_or_default();
    let mut l = line(vec![seg(format!("{stem}┆ "), Tone::Frame)]);
    l.push(
        format!(
            "… {} more {}{on}{span}: {} — Enter expands",
            hidden.len(),
            if hidden.len() == 1 {
                "namespace"
            } else {
                "namespaces"
            },
            hides(&namespaces, placed)
        ),
        Tone::Dim,
    );
    l.toggle = Some(key.to_string());
    l
}

/// One line of a namespace joined to nothing: its links and addresses.
fn isolated_line(ns: &Namespace) -> TopoLine {
    let mut l = line(vec![seg("  [ ".into(), Tone::Frame)]);
    l.ns = Some(ns.name.clone());
    l.about = vec![About::Ns(ns.name.clone())];
    l.push(ns_title(ns), Tone::Ns);
    if let Some(why) = ns_unreadable(ns) {
        l.push(format!(" ! {why}"), Tone::Bad);
    }
    let shown = addrs_by_link(ns);
    let links: Vec<String> = ns
        .links
        .iter()
        .filter(|l| l.kind != LinkKind::Loopback)
        .map(|lk| {
            l.about.push(About::Link(ns.name.clone(), lk.name.clone()));
            let addrs = shown
                .get(lk.name.as_str())
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            if addrs.is_empty() {
                lk.name.clone()
            } else {
                format!("{} {}", lk.name, addrs.join(" "))
            }
        })
        .collect();
    if links.is_empty() {
        l.push(" lo only", Tone::Dim);
    } else {
        l.push(format!(" {}", links.join(", ")), Tone::Plain);
    }
    l.push(" ]", Tone::Frame);
    l
}

pub(super) fn isolated_lines(
    isolated: &[&Namespace],
    expanded: &HashSet<String>,
    placed: &Placed,
    out: &mut Vec<TopoLine>,
) {
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
    let n = isolated.len();
    let collapsed = n > COLLAPSE_ABOVE && !expanded.contains(ISOLATED_KEY);
    let shown: Vec<bool> = isolated
        .iter()
        .enumerate()
        .map(|(i, ns)| {
            !collapsed
                || i < SHOW_FIRST
                || i + SHOW_LAST >= n
                || ns_unreadable(ns).is_some()
                || placed.keeps(&ns.name)
                || ns
                    .links
                    .iter()
                    .any(|l| l.kind != LinkKind::Loopback && link_state_bad(l))
        })
        .collect();
    let hidden: Vec<&Namespace> = isolated
        .iter()
        .zip(&shown)
        .filter(|(_, s)| !**s)
        .map(|(ns, _)| *ns)
        .collect();
    let mut toggle_written = false;
    for (ns, shown) in isolated.iter().zip(&shown) {
        if *shown {
            out.push(isolated_line(ns));
        } else if !toggle_written {
            toggle_written = true;
            let mut l = line(vec![seg("  ┆ ".into(), Tone::Frame)]);
            l.push(
                format!(
                    "… {} more: {} — Enter expands",
                    hidden.len(),
                    hides(&hidden, placed)
                ),
                Tone::Dim,
            );
            l.toggle = Some(ISOLATED_KEY.into());
            out.push(l);
        }
    }
    if n > COLLAPSE_ABOVE && !collapsed {
        let mut l = line(vec![seg("  ┆ ".into(), Tone::Frame)]);
        l.push(format!("all {n} shown — Enter collapses"), Tone::Dim);
        l.toggle = Some(ISOLATED_KEY.into());
        out.push(l);
    }
}
