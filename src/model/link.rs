use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::{LinkFlag, LinkFlags, LinkKind, OperState, StpPortState};

/// The other end of a veth pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerRef {
    /// Display name of the namespace holding the peer; `None` when it could not be identified
    /// (its namespace is not visible to us, e.g. held by a process we cannot see).
    pub namespace: Option<String>,
    pub ifindex: u32,
    /// Peer interface name, when its namespace was read.
    pub name: Option<String>,
}

/// A network interface.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Link {
    pub index: u32,
    pub name: String,
    /// `veth`, `bridge`, `vxlan`, `dummy`, … ; `device` for links with no rtnl kind
    /// (physical NICs), `loopback` for lo.
    pub kind: LinkKind,
    /// Interface flags as `ip` names them: UP, LOWER_UP, BROADCAST, NOARP, …
    pub flags: LinkFlags,
    /// RFC 2863 operational state: UP, DOWN, UNKNOWN, LOWERLAYERDOWN, …
    pub oper_state: OperState,
    pub mtu: u32,
    /// Hardware address as `aa:bb:cc:dd:ee:ff`, when the link has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    /// Index of the bridge/bond this link is enslaved to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master_index: Option<u32>,
    /// Name of that master (same namespace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master: Option<String>,
    /// For veth: the other end, possibly in another namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<PeerRef>,
    /// For bridges: names of the ports enslaved to it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<String>,
    /// Raw IFLA_LINK (peer/lower index; for a vxlan IFLA_VXLAN_LINK, its underlay, when in
    /// the same namespace) and IFLA_LINK_NETNSID, kept for diagnosis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_index: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_netnsid: Option<i32>,
    /// For a bridge port: the port's own flags (`bridge -d link`), which decide what the
    /// bridge forwards through it. Absent for other links and in old snapshots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bridge_port: Option<BridgePort>,
    /// For a bridge: `stp_state` (0 no STP, 1 the kernel's STP, 2 a user-space daemon's),
    /// which decides who owns its ports' states. Absent for other links and in old snapshots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stp_state: Option<u32>,
}

/// A bridge port's forwarding flags, as `bridge -d link` shows them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BridgePort {
    /// STP state: `disabled`, `listening`, `learning`, `forwarding`, `blocking`; only
    /// `forwarding` passes frames.
    pub state: StpPortState,
    /// `isolated on`: frames from it never go to another isolated port.
    #[serde(default)]
    pub isolated: bool,
    /// Learns source MACs into the FDB.
    #[serde(default = "yes")]
    pub learning: bool,
    /// Gets unknown-unicast floods.
    #[serde(default = "yes")]
    pub flood: bool,
}

fn yes() -> bool {
    true
}

impl BridgePort {
    /// Why frames arriving on this port are dropped, if they are: only a forwarding port
    /// passes them on (a learning port learns from them, then drops them).
    pub fn blocks_from(&self) -> Option<String> {
        (self.state != StpPortState::Forwarding).then(|| format!("its state is {}", self.state))
    }
    /// Why no frame to a host behind this port gets through it, if none does: a state
    /// other than forwarding, or a port that neither learns nor floods (the bridge never
    /// knows the host's MAC, and floods unknown unicast everywhere but here).
    pub fn blocks_to(&self) -> Option<String> {
        if self.state != StpPortState::Forwarding {
            return Some(format!("its state is {}", self.state));
        }
        if !self.learning && !self.flood {
            // Until the entry it learnt before ages out (300 s): the snapshot has no FDB.
            return Some("it neither learns MACs nor receives floods".into());
        }
        None
    }
}

impl Link {
    /// A link with nothing known beyond its identity; collectors and tests fill in the rest.
    pub fn new(index: u32, name: impl Into<String>, kind: impl Into<LinkKind>) -> Self {
        Link {
            index,
            name: name.into(),
            kind: kind.into(),
            flags: LinkFlags::default(),
            oper_state: OperState::Unknown,
            mtu: 0,
            mac: None,
            master_index: None,
            master: None,
            peer: None,
            ports: Vec::new(),
            link_index: None,
            link_netnsid: None,
            bridge_port: None,
            stp_state: None,
        }
    }

    pub fn is_up(&self) -> bool {
        self.flags.contains(LinkFlag::Up)
    }
}

/// An address on an interface.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Address {
    pub ifindex: u32,
    pub ifname: String,
    pub address: IpAddr,
    pub prefix_len: u8,
    /// `global`, `link`, `host`, …: the kernel's `rt_scope_t`, the same names as a route's.
    pub scope: super::RouteScope,
    /// Peer address on point-to-point links (IFA_ADDRESS differing from IFA_LOCAL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<IpAddr>,
}

impl Address {
    /// `192.168.15.1/24`
    pub fn cidr(&self) -> String {
        format!("{}/{}", self.address, self.prefix_len)
    }
}
