//! The network layer: IPv4 (payload bounded by the total length, later fragments stop here)
//! and IPv6 (extension headers are not walked); the payload goes on to `transport`.

use std::net::IpAddr;

use pnet_packet::ipv4::Ipv4Packet;
use pnet_packet::ipv6::Ipv6Packet;

use super::layer::Layer;
use super::short;
use super::transport::transport;

pub(super) fn ipv4(bytes: &[u8], depth: usize, layers: &mut Vec<Layer>) {
    let Some(ip) = Ipv4Packet::new(bytes) else {
        return short("ipv4", layers);
    };
    let hl = usize::from(ip.get_header_length()) * 4;
    let total = usize::from(ip.get_total_length());
    layers.push(Layer::Ip {
        version: 4,
        src: IpAddr::V4(ip.get_source()),
        dst: IpAddr::V4(ip.get_destination()),
        ttl: ip.get_ttl(),
        protocol: ip.get_next_level_protocol().0,
        length: total,
    });
    if hl < 20 || bytes.len() < hl {
        return short("ipv4 header", layers);
    }
    // The payload as the header says (a frame may carry Ethernet padding), clipped to what
    // was captured. Later fragments carry no transport header.
    let end = total.clamp(hl, bytes.len());
    if ip.get_fragment_offset() != 0 {
        layers.push(Layer::Other {
            what: format!(
                "fragment offset {}",
                u32::from(ip.get_fragment_offset()) * 8
            ),
        });
        return;
    }
    transport(
        ip.get_next_level_protocol(),
        false,
        &bytes[hl..end],
        depth,
        layers,
    );
}

pub(super) fn ipv6(bytes: &[u8], depth: usize, layers: &mut Vec<Layer>) {
    let Some(ip) = Ipv6Packet::new(bytes) else {
        return short("ipv6", layers);
    };
    layers.push(Layer::Ip {
        version: 6,
        src: IpAddr::V6(ip.get_source()),
        dst: IpAddr::V6(ip.get_destination()),
        ttl: ip.get_hop_limit(),
        protocol: ip.get_next_header().0,
        length: 40 + usize::from(ip.get_payload_length()),
    });
    let end = (40 + usize::from(ip.get_payload_length())).min(bytes.len());
    // Extension headers are not walked: the next-header number is shown instead.
    transport(
        ip.get_next_header(),
        true,
        &bytes[40.min(end)..end],
        depth,
        layers,
    );
}
