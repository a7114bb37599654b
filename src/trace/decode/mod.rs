//! Decoding a captured frame into layers, outermost first: Ethernet, 802.1Q VLAN, ARP,
//! IPv4/IPv6, ICMP/ICMPv6, TCP, UDP, and VXLAN with the frame it carries (so an overlay's pod
//! traffic is readable on the node's uplink). Pure: bytes in, layers out; never panics on a
//! short or malformed frame — what cannot be read is reported as an `Other` layer that says
//! `(truncated)`.
//!
//! One file per protocol layer, each pushing its layer and handing the payload inward:
//! - `layer`: what decoding yields ([`Layer`], [`Decoded`], [`Mac`]);
//! - `link`: Ethernet, VLAN tags and ARP;
//! - `ip`: IPv4 and IPv6 headers;
//! - `transport`: TCP, UDP, ICMP/ICMPv6, and VXLAN, which carries a whole frame back to `link`;
//! - `summary`: the tcpdump-like one line a [`Decoded`] prints as.

mod ip;
mod layer;
mod link;
mod summary;
#[cfg(test)]
mod tests;
mod transport;

pub use layer::{Decoded, Layer, Mac};
use link::ethernet;

/// The IANA VXLAN port; Linux's own default (8472, flannel) is recognised too.
pub const VXLAN_PORTS: [u16; 2] = [4789, 8472];
/// Encapsulation deeper than this is not followed (a crafted frame could nest forever).
const MAX_DEPTH: usize = 4;

/// Decodes an Ethernet frame.
pub fn decode(frame: &[u8]) -> Decoded {
    let mut d = Decoded::default();
    ethernet(frame, 0, &mut d.layers);
    d
}

fn short(what: &str, layers: &mut Vec<Layer>) {
    layers.push(Layer::Other {
        what: format!("{what} (truncated)"),
    });
}
