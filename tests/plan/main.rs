//! The plan engine and the lab it builds: apply/undo/confirm/journal end to end, every step
//! kind and its inverse, validation, undo safety, the confirm watchdog, user namespaces.
//!
//! One test binary of a few grouped by subject (docs/testing.md); each module was a binary of
//! its own. World tests name themselves `module::test` (see `common::world`).

#[path = "../common/mod.rs"]
mod common;

mod journal_safety;
mod lab;
mod plan_cli;
mod plan_steps;
mod plan_tty;
mod plan_undo_safety;
mod plan_user_namespace;
mod plan_validate;
mod plan_watchdog;
mod watchdog_pid_reuse;
