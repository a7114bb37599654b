//! The Topology tab: the node's virtual network as a picture. `graph` finds the structure
//! (hub namespaces, their bridges and veths), `lines` lays it out as text; both are pure, so
//! the picture is built once per snapshot and the view only paints the lines on screen.
pub mod graph;
mod hub_box;
pub mod lines;

use std::collections::HashSet;

use crate::model::Snapshot;
pub use lines::{Seg, Tone, TopoLine};

/// The laid-out picture of one snapshot.
pub fn layout(snap: &Snapshot, expanded: &HashSet<String>) -> Vec<TopoLine> {
    lines::lines(&graph::build(snap), expanded)
}
