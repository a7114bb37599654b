//! The one netlink layer: everything that speaks rtnetlink to the kernel, for reading (the
//! collectors' dumps) and for writing (the plan engine's session).
//!
//! - [`socket`]: [`NlSocket`], a blocking socket bound to the namespace it was opened in, for
//!   dumps and single requests (rtnetlink, sock_diag); what the collectors use.
//! - [`session`]: [`Session`], one async rtnetlink connection per namespace, for changes.
//! - [`query`]: typed look-ups on the session's link and route messages.
//! - [`convert`]: rtnetlink messages turned into model types.
//! - [`nsid_of`]: how one namespace names another.
//!
//! Nothing outside this module opens a netlink route socket or builds a raw netlink message.
pub mod convert;
mod nsid;
pub mod query;
pub mod session;
pub mod socket;

pub use convert::hex_mac;
pub use nsid::nsid_of;
pub use session::Session;
pub use socket::{NlSocket, RtSocket};
