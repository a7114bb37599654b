//! What the app asks the event loop to do. Every side effect of a key or a message is one of
//! these, returned by `App::update`/`App::handle`; the loop (`event_loop.rs`) runs it on a
//! thread of its own (`jobs.rs`), and the answer comes back as a [`Msg`](super::Msg).
//!
//! A new background job is three edits: a variant here, the `update` arm that returns it, and
//! its arm in `event_loop::Runner::run` (with its thread in `jobs.rs`).

use crate::diagnose::Finding;
use crate::model::Snapshot;
use crate::plan::Plan;

#[derive(Debug)]
pub enum Effect {
    /// Read the host again (live mode): what changed, or everything; reads asked for during
    /// one are folded into the next.
    Reread(crate::collect::touched::Touched),
    /// Write this snapshot to a JSON file (`path` as typed: a directory takes the default
    /// name, a relative path is from the current directory).
    Save {
        snapshot: Box<Snapshot>,
        path: std::path::PathBuf,
    },
    /// Apply a plan the user confirmed (all or nothing, journaled).
    Apply(Plan),
    /// Capture on `iface` in `ns`, stopping any capture running.
    StartCapture {
        ns: String,
        iface: String,
        /// Parsed once when it was set: the capture thread never parses the text again.
        filter: Option<crate::trace::filter::Filter>,
    },
    StopCapture,
    /// Work out the path of `probe` over this snapshot (and with `live`, send it for real).
    Path {
        snapshot: Box<Snapshot>,
        findings: Vec<Finding>,
        probe: crate::trace::path::Probe,
        live: bool,
    },
    /// Resolve a name as glibc would (real queries: it may wait for timeouts).
    Resolve(crate::dns::ExplainRequest),
}
