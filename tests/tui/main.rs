//! The TUI: screens drawn into a TestBackend (insta snapshots in `snapshots/`), actions,
//! the topology tab, and the real binary in tmux.
//!
//! One test binary of a few grouped by subject (docs/testing.md); each module was a binary of
//! its own. World tests name themselves `module::test` (see `common::world`).

#[path = "../common/mod.rs"]
mod common;

mod live_model;
mod live_safety_net;
mod live_watch;
mod topo_build;
mod tui_actions;
mod tui_e2e;
mod tui_forms;
mod tui_layout;
mod tui_render;
mod tui_search;
mod tui_topology;
mod tui_topology_map;
mod tui_topology_sizes;
