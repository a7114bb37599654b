//! The Topology tab: the node's virtual network as a picture, and a map of its problems.
//! `graph` finds the structure (hub namespaces, their bridges and veths, a router's FORWARD
//! policy and NAT); `lines` lays it out as text, with `hub_box` (a hub's box), `child` (a
//! namespace on a bus), `fold` (big groups folded without hiding what matters) and `state`
//! (names and link states); `fit` cuts a line to the terminal's width; `mark` puts the doctor's findings and the change marks on the
//! lines they are about. All pure, so the picture is built once per snapshot and the view
//! only paints the lines on screen.
mod child;
mod fit;
mod fold;
pub mod graph;
mod hub_box;
pub mod lines;
mod mark;
mod state;

use std::collections::HashSet;

use crate::model::Snapshot;
pub use fit::fit;
pub use fold::COLLAPSE_ABOVE;
pub use lines::{Seg, Tone, TopoLine};
pub use mark::{severity_mark, About, Notes};
pub use state::link_state_word;

/// The laid-out picture of one snapshot, without findings or change marks.
pub fn layout(snap: &Snapshot, expanded: &HashSet<String>) -> Vec<TopoLine> {
    let changed = HashSet::new();
    let notes = Notes {
        findings: &[],
        changed: &changed,
    };
    layout_marked(snap, notes, expanded)
}

/// The picture with the doctor's `findings` on the lines they are about and the namespaces
/// in `changed` marked.
pub fn layout_marked(
    snap: &Snapshot,
    notes: Notes<'_>,
    expanded: &HashSet<String>,
) -> Vec<TopoLine> {
    let placed = mark::Placed::new(snap, notes);
    lines::lines(&graph::build(snap), expanded, &placed)
}
