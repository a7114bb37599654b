//! The in-process filter, judging a frame where it lies in the kernel's ring: for the frames the
//! BPF program leaves to it (VLAN-tagged, VXLAN — see [`super::bpf::passthrough`]) and for
//! filters too large to compile, on every frame. It must cost no allocation per frame: at line
//! rate a `Vec` of layers and a `String` per frame (what [`decode`](crate::trace::decode::decode)
//! builds for display) is most of the work.
//!
//! So the frame is walked once, layer by layer exactly as `decode` walks it (same minimum
//! lengths, same VLAN/VXLAN nesting cap, same IPv4 fragment and length rules), keeping only what
//! a [`Filter`] can ask about — protocols seen, address pairs, port pairs — in fixed arrays on
//! the stack; then the filter is evaluated over those facts as [`Filter::matches`] evaluates
//! it over decoded layers. `tests/trace/capture_match.rs` checks both agree on random frames
//! and filters, and that judging allocates nothing.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use pnet_packet::ethernet::EtherTypes;

use crate::trace::decode::VXLAN_PORTS;
use crate::trace::filter::{Dir, Filter, Proto};

/// `decode`'s cap on encapsulation (VLAN tags and VXLAN, counted together).
const MAX_DEPTH: usize = 4;
/// Address and port pairs kept: one per IP (or ARP) layer and one per TCP/UDP layer. With at
/// most [`MAX_DEPTH`] encapsulations a frame holds at most 5 of each; 8 leaves room.
const SLOTS: usize = 8;

/// What a filter can ask of a frame, gathered without allocating.
#[derive(Debug, Clone, Copy)]
pub struct Facts {
    /// One bit per [`Proto`] seen in some layer.
    protos: u16,
    addrs: [(IpAddr, IpAddr); SLOTS],
    n_addrs: usize,
    ports: [(u16, u16); SLOTS],
    n_ports: usize,
}

fn bit(p: &Proto) -> u16 {
    1 << match p {
        Proto::Tcp => 0,
        Proto::Udp => 1,
        Proto::Icmp => 2,
        Proto::Icmp6 => 3,
        Proto::Arp => 4,
        Proto::Ip => 5,
        Proto::Ip6 => 6,
        Proto::Vlan => 7,
        Proto::Vxlan => 8,
    }
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn v4(b: &[u8], at: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(b[at], b[at + 1], b[at + 2], b[at + 3]))
}

fn v6(b: &[u8], at: usize) -> IpAddr {
    let mut o = [0u8; 16];
    o.copy_from_slice(&b[at..at + 16]);
    IpAddr::V6(Ipv6Addr::from(o))
}

impl Facts {
    /// Walks an Ethernet frame.
    pub fn of(frame: &[u8]) -> Facts {
        let none = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        let mut f = Facts {
            protos: 0,
            addrs: [(none, none); SLOTS],
            n_addrs: 0,
            ports: [(0, 0); SLOTS],
            n_ports: 0,
        };
        f.ethernet(frame, 0);
        f
    }

    fn saw(&mut self, p: Proto) {
        self.protos |= bit(&p);
    }

    fn addr(&mut self, src: IpAddr, dst: IpAddr) {
        // Cannot overflow (see SLOTS); if it ever did, the extra pair is not looked at.
        if let Some(slot) = self.addrs.get_mut(self.n_addrs) {
            *slot = (src, dst);
            self.n_addrs += 1;
        }
    }

    fn port(&mut self, sport: u16, dport: u16) {
        if let Some(slot) = self.ports.get_mut(self.n_ports) {
            *slot = (sport, dport);
            self.n_ports += 1;
        }
    }

    fn ethernet(&mut self, b: &[u8], depth: usize) {
        if b.len() < 14 {
            return;
        }
        self.by_ethertype(be16(b, 12), &b[14..], depth);
    }

    fn by_ethertype(&mut self, t: u16, b: &[u8], depth: usize) {
        match t {
            t if t == EtherTypes::Ipv4.0 => self.ipv4(b, depth),
            t if t == EtherTypes::Ipv6.0 => self.ipv6(b, depth),
            // pnet's ARP layout: sender IPv4 at 14, target at 24, 28 bytes in all.
            t if t == EtherTypes::Arp.0 && b.len() >= 28 => {
                self.saw(Proto::Arp);
                self.addr(v4(b, 14), v4(b, 24));
            }
            t if t == EtherTypes::Vlan.0 || t == EtherTypes::QinQ.0 => {
                if b.len() < 4 {
                    return;
                }
                self.saw(Proto::Vlan);
                if depth < MAX_DEPTH {
                    self.by_ethertype(be16(b, 2), &b[4..], depth + 1);
                }
            }
            _ => {}
        }
    }

    fn ipv4(&mut self, b: &[u8], depth: usize) {
        if b.len() < 20 {
            return;
        }
        self.saw(Proto::Ip);
        self.addr(v4(b, 12), v4(b, 16));
        let hl = usize::from(b[0] & 0x0f) * 4;
        if hl < 20 || b.len() < hl {
            return;
        }
        // Later fragments carry no transport header.
        if be16(b, 6) & 0x1fff != 0 {
            return;
        }
        let end = usize::from(be16(b, 2)).clamp(hl, b.len());
        self.transport(b[9], false, &b[hl..end], depth);
    }

    fn ipv6(&mut self, b: &[u8], depth: usize) {
        if b.len() < 40 {
            return;
        }
        self.saw(Proto::Ip6);
        self.addr(v6(b, 8), v6(b, 24));
        let end = (40 + usize::from(be16(b, 4))).min(b.len());
        self.transport(b[6], true, &b[40.min(end)..end], depth);
    }

    fn transport(&mut self, proto: u8, is_v6: bool, b: &[u8], depth: usize) {
        match proto {
            6 if b.len() >= 20 => {
                self.saw(Proto::Tcp);
                self.port(be16(b, 0), be16(b, 2));
            }
            17 if b.len() >= 8 => {
                self.saw(Proto::Udp);
                let dport = be16(b, 2);
                self.port(be16(b, 0), dport);
                if VXLAN_PORTS.contains(&dport) && depth < MAX_DEPTH {
                    self.vxlan(&b[8..], depth + 1);
                }
            }
            1 if !is_v6 && b.len() >= 4 => self.saw(Proto::Icmp),
            58 if is_v6 && b.len() >= 4 => self.saw(Proto::Icmp6),
            _ => {}
        }
    }

    fn vxlan(&mut self, b: &[u8], depth: usize) {
        // The I flag says the VNI is valid; without it this is some other protocol.
        if b.len() < 8 || b[0] & 0x08 == 0 {
            return;
        }
        self.saw(Proto::Vxlan);
        self.ethernet(&b[8..], depth);
    }

    fn addrs(&self) -> &[(IpAddr, IpAddr)] {
        &self.addrs[..self.n_addrs]
    }

    /// Whether the frame these facts came from matches `f` (as [`Filter::matches`] would say
    /// of it decoded). Recursion is bounded by the filter's own nesting cap.
    pub fn satisfy(&self, f: &Filter) -> bool {
        match f {
            Filter::Not(f) => !self.satisfy(f),
            Filter::And(all) => all.iter().all(|f| self.satisfy(f)),
            Filter::Or(any) => any.iter().any(|f| self.satisfy(f)),
            Filter::Host(d, ip) => self.addrs().iter().any(|(s, t)| pick(*d, s == ip, t == ip)),
            Filter::Net(d, net) => self
                .addrs()
                .iter()
                .any(|(s, t)| pick(*d, net.contains(s), net.contains(t))),
            Filter::Port(d, lo, hi) => self.ports[..self.n_ports]
                .iter()
                .any(|(s, t)| pick(*d, (*lo..=*hi).contains(s), (*lo..=*hi).contains(t))),
            Filter::Proto(p) => self.protos & bit(p) != 0,
        }
    }
}

fn pick(dir: Dir, src: bool, dst: bool) -> bool {
    match dir {
        Dir::Src => src,
        Dir::Dst => dst,
        Dir::Either => src || dst,
    }
}

/// Whether `frame` (an Ethernet frame's bytes, e.g. borrowed from the ring) matches `f`,
/// without decoding it and without allocating.
pub fn matches(f: &Filter, frame: &[u8]) -> bool {
    Facts::of(frame).satisfy(f)
}
