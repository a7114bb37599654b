//! Collectors: one reader per source, all feeding the snapshot model.
pub mod conntrack;
mod ip_state;
pub mod netconf;
pub mod peers;
pub mod snapshot;
pub mod sockets;
pub mod sysctl;

pub use snapshot::{collect, snapshot, Options, SnapshotError};

/// Transitional (src/plan imports these paths; the plan engine is being rewritten): the
/// netlink socket lives in [`crate::netlink`].
pub mod netlink {
    pub use crate::netlink::socket::{NlSocket, RtSocket};
}

/// Transitional (src/plan imports these paths): message conversions live in
/// [`crate::netlink::convert`].
pub mod rtnl {
    pub(crate) use crate::netlink::convert::rule_from;
    pub use crate::netlink::convert::{hex_mac, protocol_name};
}
