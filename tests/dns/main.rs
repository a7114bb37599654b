//! `netlens dns` against real DNS servers, friendly and hostile.
//!
//! One test binary of a few grouped by subject (docs/testing.md); each module was a binary of
//! its own. World tests name themselves `module::test` (see `common::world`).

#[path = "../common/mod.rs"]
mod common;

mod dns;
mod dns_hostile_server;
