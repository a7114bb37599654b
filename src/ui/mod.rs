//! The terminal UI, as actions and effects (gitui's shape): a keymap turns keys into
//! [`keymap::Action`]s, `App::update` applies them and returns [`effect::Effect`]s, and the
//! event loop runs those on threads whose answers come back as [`Msg`]s. Views only read the
//! app. All I/O (collecting snapshots, reading the terminal, captures, plans) happens on other
//! threads that send messages to the loop, which blocks until something arrives: no busy
//! polling, and rendering never waits on the network.
//!
//! Where things go: a key → its line in `keymap.rs` (or its component's `KEYS`); what it does
//! → `app.rs` (common keys) or the component's `update`; a background job → `effect.rs` +
//! `jobs.rs` + `event_loop.rs`; a tab → `tabs.rs` + `components/`; a text → `strings.rs`.
pub mod app;
mod app_patch;
mod columns;
pub mod components;
mod debug_timing;
pub mod effect;
mod event_loop;
mod jobs;
pub mod keymap;
pub mod layout;
pub mod marks;
mod marks_delta;
mod marks_trim;
mod options;
mod sanitize;
pub mod save;
mod selection;
pub mod strings;
mod tab_rows;
pub mod tabs;
mod terminal;
#[cfg(test)]
mod test_support;
pub mod theme;
pub mod topo;
pub mod view;
pub mod watch;
mod watch_events;
mod watch_procs;

pub use event_loop::run;
pub use options::Options;

use crossterm::event::Event;

use crate::model::Snapshot;

/// What wakes the loop.
pub enum Msg {
    Input(Event),
    Snapshot(Box<Snapshot>),
    /// A live snapshot with the doctor's findings, both made on other threads: the rules
    /// cost milliseconds on a big node, which the render thread does not pay.
    Collected(Box<Snapshot>, Vec<crate::diagnose::Finding>),
    /// A patch of the live snapshot (`collect::Patch`): its namespaces replace those of
    /// the same inode (or are new), keeping what it left out of them; a namespace not in
    /// its `present` is gone; everything else is as before. A partial read costs the UI
    /// what it changed, not the node. It carries no findings: the doctor sends each of its
    /// results as `Findings` when it has them, so the UI's are the latest already (a copy of
    /// a thousand findings in every patch was most of what a patch cost the collector).
    Patched(Box<crate::collect::Patch>),
    /// The doctor's findings on the live model, run again after patches that came without
    /// it (the collector runs the rules at most once a second during churn).
    Findings(Vec<crate::diagnose::Finding>),
    LoadFailed(String),
    /// A line for the status bar (a save finished, …).
    Status(String),
    /// The kernel reported a change (or namespaces came or went): read again what it names.
    Changed(crate::collect::touched::Touched),
    /// Packets from the Capture tab's capture, and its counters.
    Packets(
        Vec<crate::trace::capture::Packet>,
        crate::trace::capture::Stats,
    ),
    /// The capture ended (stopped, or the error that ended it).
    CaptureEnded(Option<String>),
    /// A text to show in an overlay (a path or a trace), with its title.
    Report(String, Vec<String>),
}

/// Reads a saved snapshot for `--snapshot FILE`: one clear error line on failure. The same
/// loader as `diff` and `doctor --snapshot` (regular files only, size-capped, schema-checked).
pub fn load_snapshot_file(path: &std::path::Path) -> anyhow::Result<Snapshot> {
    crate::saved::snapshot::load(path).map_err(anyhow::Error::msg)
}
