//! A packet's way: `path`, `trace`, `capture` (and its limits), `ports`, and the one firewall
//! evaluator against iptables and native nftables rules in the kernel.
//!
//! One test binary of a few grouped by subject (docs/testing.md); each module was a binary of
//! its own. World tests name themselves `module::test` (see `common::world`).

#[path = "../common/mod.rs"]
mod common;

mod capture;
mod capture_bpf;
mod capture_frames;
mod capture_limits;
mod capture_match;
mod capture_ring;
mod firewall_eval;
mod nft_native;
mod path;
mod ports;
mod trace;
