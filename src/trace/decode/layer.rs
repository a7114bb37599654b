//! What decoding a frame yields: its layers, outermost first, and the hardware address type
//! they hold. Plain data with serde; the one-line text is in `summary`.

use std::fmt;
use std::net::IpAddr;

use serde::Serialize;

/// A hardware address, kept as bytes (decoding runs for every frame at line rate) and
/// written as `aa:bb:cc:dd:ee:ff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mac(pub [u8; 6]);

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl Serialize for Mac {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One protocol layer of a frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "layer", rename_all = "snake_case")]
pub enum Layer {
    Ethernet {
        src: Mac,
        dst: Mac,
        ethertype: u16,
    },
    Vlan {
        id: u16,
    },
    Arp {
        op: &'static str,
        sender_mac: Mac,
        sender_ip: IpAddr,
        target_ip: IpAddr,
    },
    Ip {
        version: u8,
        src: IpAddr,
        dst: IpAddr,
        ttl: u8,
        protocol: u8,
        length: usize,
    },
    Icmp {
        v6: bool,
        kind: String,
    },
    Tcp {
        sport: u16,
        dport: u16,
        flags: String,
        seq: u32,
        ack: u32,
        payload: usize,
    },
    Udp {
        sport: u16,
        dport: u16,
        payload: usize,
    },
    Vxlan {
        vni: u32,
    },
    /// A protocol netlens does not decode (its number) or bytes too short for their header.
    Other {
        what: String,
    },
}

/// A decoded frame.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Decoded {
    pub layers: Vec<Layer>,
}

impl Decoded {
    /// The innermost IP layer's addresses (an overlay's pod addresses, not the nodes').
    pub fn inner_ip(&self) -> Option<(IpAddr, IpAddr)> {
        self.layers.iter().rev().find_map(|l| match l {
            Layer::Ip { src, dst, .. } => Some((*src, *dst)),
            _ => None,
        })
    }

    /// The outermost IP layer's addresses.
    pub fn outer_ip(&self) -> Option<(IpAddr, IpAddr)> {
        self.layers.iter().find_map(|l| match l {
            Layer::Ip { src, dst, .. } => Some((*src, *dst)),
            _ => None,
        })
    }
}
