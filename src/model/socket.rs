use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::ProcessRef;

/// A socket waiting for connections (TCP LISTEN) or datagrams (bound UDP).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListeningSocket {
    /// `tcp`, `tcp6`, `udp`, `udp6`.
    pub proto: String,
    pub address: IpAddr,
    pub port: u16,
    pub inode: u64,
    /// Processes holding the socket, when they could be found.
    #[serde(default)]
    pub processes: Vec<ProcessRef>,
}
