//! The node's virtual network as the topology tab draws it: hub namespaces (the host, anything
//! with a bridge, anything joined to two or more other namespaces) with their buses (one per
//! bridge, one for veths straight to other namespaces) and, on each bus, the namespaces at the
//! far ends of the veths. Pure: built from a snapshot, no I/O.
//!
//! This file holds the shapes the picture is made of; the rest is by what it finds:
//! - `build`: which namespaces are hubs (with the index that finds a veth's far end) and the
//!   order their boxes come in;
//! - `hub`: what one hub's box holds — buses, children, uplink, gateway routes;
//! - `addrs`: which addresses are worth printing;
//! - `nat`: the short NAT summary of a hub;
//! - `forward`: its FORWARD policy.

mod addrs;
mod build;
mod forward;
mod hub;
mod nat;

use std::collections::HashMap;

use crate::model::{Link, Namespace};
pub use addrs::{addrs_by_link, shown_addrs};
pub use build::build;
pub use forward::ForwardPolicy;

/// A namespace drawn as a big box with buses under it.
pub struct Hub<'a> {
    pub ns: &'a Namespace,
    /// `⇡ uplink …` line: the link carrying the main table's default route.
    pub uplink: Option<String>,
    /// The link the uplink line is about.
    pub uplink_dev: Option<String>,
    /// NAT summary (`masq 10.1.0.0/16 → !br0`, `3 DNAT`), empty when there is none.
    pub nat: Vec<String>,
    pub forwarding: Option<bool>,
    /// What the firewall does with forwarded packets no rule decides; `None` when the
    /// firewall was not read.
    pub forward: Option<ForwardPolicy>,
    /// Main-table routes through a gateway other than the default (`10.244.2.0/24 via …`):
    /// how a node reaches the other nodes' pod subnets.
    pub gateway_routes: Vec<String>,
    /// Links that are neither bridges, bridge ports, veths to other namespaces nor loopback.
    pub others: Vec<&'a Link>,
    /// veths with both ends in this namespace: (name, peer name).
    pub local_pairs: Vec<(String, String)>,
    pub buses: Vec<Bus<'a>>,
    /// [`shown_addrs`] of every link of `ns`, by link name.
    pub addrs: HashMap<&'a str, Vec<String>>,
}

/// A bridge (or the hub's direct veths) and what hangs off it.
pub struct Bus<'a> {
    /// None: veths of the hub that are not bridge ports.
    pub bridge: Option<&'a Link>,
    /// The bridge's addresses (CIDR, link-local left out).
    pub addrs: Vec<String>,
    pub children: Vec<Child<'a>>,
    /// Ports that do not lead to another namespace (physical NICs, vxlan, same-namespace veths).
    pub other_ports: Vec<String>,
}

/// The far end of one of the hub's veths.
pub struct Child<'a> {
    /// The hub's end.
    pub port: &'a Link,
    /// The namespace holding the other end; None when it is gone or unknown.
    pub ns: Option<&'a Namespace>,
    /// The other end.
    pub peer: Option<&'a Link>,
    /// The far namespace is a hub too (drawn with its own box).
    pub is_hub: bool,
}

pub struct Graph<'a> {
    pub hubs: Vec<Hub<'a>>,
    /// Namespaces joined to nothing (no veth to another namespace), in snapshot order.
    pub isolated: Vec<&'a Namespace>,
}
