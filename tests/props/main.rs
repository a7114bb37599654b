//! Property tests: every parser and check between input and root's actions survives
//! arbitrary and damaged input (regressions in `*.proptest-regressions` beside each module).
//!
//! One test binary of a few grouped by subject (docs/testing.md); each module was a binary of
//! its own. World tests name themselves `module::test` (see `common::world`).

#[path = "../common/mod.rs"]
mod common;

mod proptest_inputs;
mod proptest_parsers;
mod proptest_validate;
