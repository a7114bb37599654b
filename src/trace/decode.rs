//! Decoding a captured frame into layers, outermost first: Ethernet, 802.1Q VLAN, ARP,
//! IPv4/IPv6, ICMP/ICMPv6, TCP, UDP, and VXLAN with the frame it carries (so an overlay's pod
//! traffic is readable on the node's uplink). Pure: bytes in, layers out; never panics on a
//! short or malformed frame — what cannot be read is reported as a `Truncated` layer.

use std::fmt;
use std::net::IpAddr;

use pnet_packet::arp::{ArpOperations, ArpPacket};
use pnet_packet::ethernet::{EtherType, EtherTypes, EthernetPacket};
use pnet_packet::icmp::{IcmpPacket, IcmpTypes};
use pnet_packet::icmpv6::{Icmpv6Packet, Icmpv6Types};
use pnet_packet::ip::{IpNextHeaderProtocol, IpNextHeaderProtocols};
use pnet_packet::ipv4::Ipv4Packet;
use pnet_packet::ipv6::Ipv6Packet;
use pnet_packet::tcp::TcpPacket;
use pnet_packet::udp::UdpPacket;
use pnet_packet::vlan::VlanPacket;
use pnet_packet::vxlan::VxlanPacket;
use pnet_packet::Packet;
use serde::Serialize;

/// The IANA VXLAN port; Linux's own default (8472, flannel) is recognised too.
pub const VXLAN_PORTS: [u16; 2] = [4789, 8472];
/// Encapsulation deeper than this is not followed (a crafted frame could nest forever).
const MAX_DEPTH: usize = 4;

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

fn ethernet(bytes: &[u8], depth: usize, layers: &mut Vec<Layer>) {
    let Some(eth) = EthernetPacket::new(bytes) else {
        return short("ethernet", layers);
    };
    layers.push(Layer::Ethernet {
        src: Mac(eth.get_source().octets()),
        dst: Mac(eth.get_destination().octets()),
        ethertype: eth.get_ethertype().0,
    });
    by_ethertype(eth.get_ethertype(), eth.payload(), depth, layers);
}

fn by_ethertype(t: EtherType, payload: &[u8], depth: usize, layers: &mut Vec<Layer>) {
    match t {
        EtherTypes::Ipv4 => ipv4(payload, depth, layers),
        EtherTypes::Ipv6 => ipv6(payload, depth, layers),
        EtherTypes::Arp => arp(payload, layers),
        EtherTypes::Vlan | EtherTypes::QinQ => {
            let Some(v) = VlanPacket::new(payload) else {
                return short("vlan", layers);
            };
            layers.push(Layer::Vlan {
                id: v.get_vlan_identifier(),
            });
            if depth < MAX_DEPTH {
                by_ethertype(v.get_ethertype(), v.payload(), depth + 1, layers);
            }
        }
        other => layers.push(Layer::Other {
            what: format!("ethertype 0x{:04x}", other.0),
        }),
    }
}

fn arp(bytes: &[u8], layers: &mut Vec<Layer>) {
    let Some(a) = ArpPacket::new(bytes) else {
        return short("arp", layers);
    };
    let op = match a.get_operation() {
        ArpOperations::Request => "request",
        ArpOperations::Reply => "reply",
        _ => "other",
    };
    layers.push(Layer::Arp {
        op,
        sender_mac: Mac(a.get_sender_hw_addr().octets()),
        sender_ip: IpAddr::V4(a.get_sender_proto_addr()),
        target_ip: IpAddr::V4(a.get_target_proto_addr()),
    });
}

fn ipv4(bytes: &[u8], depth: usize, layers: &mut Vec<Layer>) {
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

fn ipv6(bytes: &[u8], depth: usize, layers: &mut Vec<Layer>) {
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

fn transport(
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

/// tcpdump-like one line: `IP 10.0.0.1.40000 > 10.0.0.2.80: TCP [S] seq 1 len 0`, with each
/// encapsulation as a prefix (`VXLAN 1: IP … `).
impl fmt::Display for Decoded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        let mut i = 0;
        let ls = &self.layers;
        while i < ls.len() {
            match &ls[i] {
                Layer::Ethernet { .. } => {}
                Layer::Vlan { id } => parts.push(format!("vlan {id}")),
                Layer::Arp {
                    op,
                    sender_ip,
                    target_ip,
                    sender_mac,
                } => parts.push(match *op {
                    "request" => format!("ARP who-has {target_ip} tell {sender_ip}"),
                    "reply" => format!("ARP {sender_ip} is-at {sender_mac}"),
                    _ => format!("ARP {op} {sender_ip} > {target_ip}"),
                }),
                Layer::Ip {
                    version, src, dst, ..
                } => {
                    let tag = if *version == 4 { "IP" } else { "IP6" };
                    let (sp, dp) = match ls.get(i + 1) {
                        Some(Layer::Tcp { sport, dport, .. })
                        | Some(Layer::Udp { sport, dport, .. }) => {
                            (format!(".{sport}"), format!(".{dport}"))
                        }
                        _ => (String::new(), String::new()),
                    };
                    parts.push(format!("{tag} {src}{sp} > {dst}{dp}:"));
                }
                Layer::Tcp {
                    flags,
                    seq,
                    ack,
                    payload,
                    ..
                } => parts.push(format!(
                    "TCP [{flags}] seq {seq}{} len {payload}",
                    if flags.contains('.') {
                        format!(" ack {ack}")
                    } else {
                        String::new()
                    }
                )),
                Layer::Udp { payload, .. } => parts.push(format!("UDP len {payload}")),
                Layer::Icmp { v6, kind } => {
                    parts.push(format!("{} {kind}", if *v6 { "ICMP6" } else { "ICMP" }))
                }
                Layer::Vxlan { vni } => parts.push(format!("VXLAN vni {vni}:")),
                Layer::Other { what } => parts.push(what.clone()),
            }
            i += 1;
        }
        write!(f, "{}", parts.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0a];
    const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0b];

    fn eth(ethertype: u16, payload: &[u8]) -> Vec<u8> {
        let mut f = Vec::new();
        f.extend_from_slice(&MAC_B);
        f.extend_from_slice(&MAC_A);
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    fn ipv4(proto: u8, src: [u8; 4], dst: [u8; 4], payload: &[u8]) -> Vec<u8> {
        let total = (20 + payload.len()) as u16;
        let mut p = vec![0x45, 0];
        p.extend_from_slice(&total.to_be_bytes());
        p.extend_from_slice(&[0, 1, 0x40, 0, 64, proto, 0, 0]);
        p.extend_from_slice(&src);
        p.extend_from_slice(&dst);
        p.extend_from_slice(payload);
        p
    }

    fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
        let mut u = Vec::new();
        u.extend_from_slice(&sport.to_be_bytes());
        u.extend_from_slice(&dport.to_be_bytes());
        u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        u.extend_from_slice(&[0, 0]);
        u.extend_from_slice(payload);
        u
    }

    fn tcp_syn(sport: u16, dport: u16) -> Vec<u8> {
        let mut t = Vec::new();
        t.extend_from_slice(&sport.to_be_bytes());
        t.extend_from_slice(&dport.to_be_bytes());
        t.extend_from_slice(&7u32.to_be_bytes());
        t.extend_from_slice(&0u32.to_be_bytes());
        t.extend_from_slice(&[0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0]);
        t
    }

    fn echo_request() -> Vec<u8> {
        vec![8, 0, 0, 0, 0x12, 0x34, 0, 5, b'p', b'i', b'n', b'g']
    }

    #[test]
    fn tcp_syn_over_ipv4() {
        let f = eth(
            0x0800,
            &ipv4(6, [10, 1, 0, 2], [10, 2, 0, 3], &tcp_syn(40000, 443)),
        );
        let d = decode(&f);
        assert_eq!(
            d.to_string(),
            "IP 10.1.0.2.40000 > 10.2.0.3.443: TCP [S] seq 7 len 0"
        );
        assert_eq!(
            d.outer_ip(),
            Some(("10.1.0.2".parse().unwrap(), "10.2.0.3".parse().unwrap()))
        );
    }

    #[test]
    fn icmp_echo_in_a_vlan() {
        let mut tagged = vec![0x00, 0x2a, 0x08, 0x00]; // VLAN 42, then IPv4
        tagged.extend(ipv4(1, [192, 168, 7, 1], [192, 168, 7, 9], &echo_request()));
        let d = decode(&eth(0x8100, &tagged));
        assert_eq!(
            d.to_string(),
            "vlan 42 IP 192.168.7.1 > 192.168.7.9: ICMP echo request id 4660 seq 5"
        );
    }

    #[test]
    fn arp_request_and_reply() {
        let arp = |op: u8, sip: [u8; 4], tip: [u8; 4]| {
            let mut a = vec![0, 1, 8, 0, 6, 4, 0, op];
            a.extend_from_slice(&MAC_A);
            a.extend_from_slice(&sip);
            a.extend_from_slice(&[0; 6]);
            a.extend_from_slice(&tip);
            eth(0x0806, &a)
        };
        assert_eq!(
            decode(&arp(1, [172, 20, 0, 2], [172, 20, 0, 1])).to_string(),
            "ARP who-has 172.20.0.1 tell 172.20.0.2"
        );
        assert_eq!(
            decode(&arp(2, [172, 20, 0, 1], [172, 20, 0, 2])).to_string(),
            "ARP 172.20.0.1 is-at 02:00:00:00:00:0a"
        );
    }

    #[test]
    fn vxlan_shows_the_pod_packet_inside() {
        let inner = eth(
            0x0800,
            &ipv4(6, [10, 244, 1, 2], [10, 244, 2, 7], &tcp_syn(33000, 8080)),
        );
        let mut vx = vec![0x08, 0, 0, 0, 0, 0, 0x2a, 0]; // I flag, VNI 42
        vx.extend(inner);
        let outer = eth(
            0x0800,
            &ipv4(
                17,
                [192, 168, 1, 11],
                [192, 168, 1, 12],
                &udp(51000, 4789, &vx),
            ),
        );
        let d = decode(&outer);
        assert_eq!(
            d.to_string(),
            "IP 192.168.1.11.51000 > 192.168.1.12.4789: UDP len 62 VXLAN vni 42: \
             IP 10.244.1.2.33000 > 10.244.2.7.8080: TCP [S] seq 7 len 0"
        );
        assert_eq!(
            d.inner_ip(),
            Some(("10.244.1.2".parse().unwrap(), "10.244.2.7".parse().unwrap()))
        );
    }

    #[test]
    fn ipv6_neighbour_solicitation() {
        let mut ip6 = vec![0x60, 0, 0, 0, 0, 8, 58, 255];
        ip6.extend_from_slice(&"fe80::1".parse::<std::net::Ipv6Addr>().unwrap().octets());
        ip6.extend_from_slice(
            &"ff02::1:ff00:2"
                .parse::<std::net::Ipv6Addr>()
                .unwrap()
                .octets(),
        );
        ip6.extend_from_slice(&[135, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            decode(&eth(0x86dd, &ip6)).to_string(),
            "IP6 fe80::1 > ff02::1:ff00:2: ICMP6 neighbor solicitation"
        );
    }

    #[test]
    fn short_frames_say_so_and_never_panic() {
        let full = eth(
            0x0800,
            &ipv4(6, [10, 0, 0, 1], [10, 0, 0, 2], &tcp_syn(1, 2)),
        );
        for n in 0..full.len() {
            let _ = decode(&full[..n]).to_string();
        }
        assert!(decode(&full[..20]).to_string().contains("truncated"));
        assert!(decode(&eth(0x88cc, &[1, 2, 3]))
            .to_string()
            .contains("ethertype 0x88cc"));
    }
}
