//! What an IP packet carries: TCP, UDP, ICMP and ICMPv6, and VXLAN on its UDP ports, whose
//! inner frame is decoded again from `link` (nesting capped at [`super::MAX_DEPTH`]).

use pnet_packet::icmp::{IcmpPacket, IcmpTypes};
use pnet_packet::icmpv6::{Icmpv6Packet, Icmpv6Types};
use pnet_packet::ip::{IpNextHeaderProtocol, IpNextHeaderProtocols};
use pnet_packet::tcp::TcpPacket;
use pnet_packet::udp::UdpPacket;
use pnet_packet::vxlan::VxlanPacket;
use pnet_packet::Packet;

use super::layer::Layer;
use super::link::ethernet;
use super::{short, MAX_DEPTH, VXLAN_PORTS};

pub(super) fn transport(
    proto: IpNextHeaderProtocol,
    v6: bool,
    bytes: &[u8],
    depth: usize,
    layers: &mut Vec<Layer>,
) {
    match proto {
        IpNextHeaderProtocols::Tcp => {
            let Some(t) = TcpPacket::new(bytes) else {
                return short("tcp", layers);
            };
            let off = usize::from(t.get_data_offset()) * 4;
            layers.push(Layer::Tcp {
                sport: t.get_source(),
                dport: t.get_destination(),
                flags: tcp_flags(t.get_flags()),
                seq: t.get_sequence(),
                ack: t.get_acknowledgement(),
                payload: bytes.len().saturating_sub(off),
            });
        }
        IpNextHeaderProtocols::Udp => {
            let Some(u) = UdpPacket::new(bytes) else {
                return short("udp", layers);
            };
            let payload = u.payload();
            layers.push(Layer::Udp {
                sport: u.get_source(),
                dport: u.get_destination(),
                payload: payload.len(),
            });
            if VXLAN_PORTS.contains(&u.get_destination()) && depth < MAX_DEPTH {
                vxlan(payload, depth + 1, layers);
            }
        }
        IpNextHeaderProtocols::Icmp if !v6 => {
            let Some(i) = IcmpPacket::new(bytes) else {
                return short("icmp", layers);
            };
            let t = i.get_icmp_type();
            // Echo id and sequence sit right after type, code and checksum.
            let echo = |name: &str| match bytes.get(4..8) {
                Some(b) => format!(
                    "{name} id {} seq {}",
                    u16::from_be_bytes([b[0], b[1]]),
                    u16::from_be_bytes([b[2], b[3]])
                ),
                None => name.to_string(),
            };
            let kind = match t {
                IcmpTypes::EchoRequest => echo("echo request"),
                IcmpTypes::EchoReply => echo("echo reply"),
                IcmpTypes::DestinationUnreachable => {
                    format!("unreachable code {}", i.get_icmp_code().0)
                }
                IcmpTypes::TimeExceeded => "time exceeded".into(),
                IcmpTypes::RedirectMessage => "redirect".into(),
                other => format!("type {}", other.0),
            };
            layers.push(Layer::Icmp { v6: false, kind });
        }
        IpNextHeaderProtocols::Icmpv6 if v6 => {
            let Some(i) = Icmpv6Packet::new(bytes) else {
                return short("icmp6", layers);
            };
            let kind = match i.get_icmpv6_type() {
                Icmpv6Types::EchoRequest => "echo request".to_string(),
                Icmpv6Types::EchoReply => "echo reply".into(),
                Icmpv6Types::NeighborSolicit => "neighbor solicitation".into(),
                Icmpv6Types::NeighborAdvert => "neighbor advertisement".into(),
                Icmpv6Types::RouterSolicit => "router solicitation".into(),
                Icmpv6Types::RouterAdvert => "router advertisement".into(),
                Icmpv6Types::DestinationUnreachable => "unreachable".into(),
                other => format!("type {}", other.0),
            };
            layers.push(Layer::Icmp { v6: true, kind });
        }
        other => layers.push(Layer::Other {
            what: format!("ip protocol {}", other.0),
        }),
    }
}

fn vxlan(bytes: &[u8], depth: usize, layers: &mut Vec<Layer>) {
    let Some(v) = VxlanPacket::new(bytes) else {
        return short("vxlan", layers);
    };
    // The I flag says the VNI is valid; without it this is some other protocol on the port.
    if v.get_flags() & 0x08 == 0 {
        return;
    }
    layers.push(Layer::Vxlan { vni: v.get_vni() });
    ethernet(v.payload(), depth, layers);
}

fn tcp_flags(f: u8) -> String {
    let names = [
        (0x02, 'S'),
        (0x01, 'F'),
        (0x04, 'R'),
        (0x08, 'P'),
        (0x10, '.'),
        (0x20, 'U'),
    ];
    let s: String = names
        .iter()
        .filter(|(bit, _)| f & bit != 0)
        .map(|(_, c)| *c)
        .collect();
    if s.is_empty() {
        "none".into()
    } else {
        s
    }
}
