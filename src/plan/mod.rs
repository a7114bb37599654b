//! Plans: the only way netlens changes a network. A plan is a list of typed [`Step`]s that is
//! shown (as shell commands) before it runs, applied all or nothing, and journaled for undo.

mod step;

pub use step::{RouteSpec, Step};
