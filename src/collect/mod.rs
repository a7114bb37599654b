//! Collectors: one reader per source, all feeding the snapshot model.
pub mod conntrack;
mod ip_state;
pub mod netconf;
mod parallel;
pub mod partial;
mod partial_deltas;
mod partial_full;
mod partial_light;
mod partial_links;
mod partial_new;
mod partial_patch;
mod partial_read;
pub mod peers;
mod peers_touched;
pub mod read_laps;
pub mod snapshot;
pub mod sockets;
pub mod sysctl;
pub mod touched;

#[cfg(test)]
pub(crate) use partial_links::splice_links;
pub use partial_links::LinkParts;
pub use partial_patch::{NsDelta, Patch};
pub use snapshot::{collect, snapshot, Options, SnapshotError};
