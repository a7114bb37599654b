//! The parts of the TUI with state or keys of their own, one file each: its state, the
//! actions it handles (`update`, returning `None` for an action that is not its own, so the
//! app falls back to the common handling: moving, tabs, quitting), its help line(s) in the
//! keymap, and its view, which draws from `&App` only.
//!
//! A new tab: its title/header in `tabs.rs`, a file here (state in `App`, `update`, `draw`),
//! and one arm in `App::tab_update` and `view::draw_details`.

pub mod actions;
pub mod capture;
pub mod details;
pub mod problems;
pub mod search;
pub mod topology;
