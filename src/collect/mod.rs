//! Collectors: one reader per source, all feeding the snapshot model.
pub mod conntrack;
pub mod netconf;
pub mod netlink;
pub mod peers;
pub mod rtnl;
pub mod snapshot;
pub mod sockets;
pub mod sysctl;

pub use snapshot::{collect, snapshot, Options, SnapshotError};
