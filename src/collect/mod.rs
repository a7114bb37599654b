//! Collectors: one reader per source, all feeding the snapshot model.
pub mod conntrack;
mod ip_state;
pub mod netconf;
pub mod peers;
pub mod snapshot;
pub mod sockets;
pub mod sysctl;

pub use snapshot::{collect, snapshot, Options, SnapshotError};
