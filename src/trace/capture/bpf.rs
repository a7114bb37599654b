//! The capture filter as a classic BPF program, attached with SO_ATTACH_FILTER so the kernel
//! drops what does not match before it reaches the ring: a filtered-out frame costs no copy,
//! no wake-up and no decoding.
//!
//! netlens' filter matches any layer of a frame (a pod's address inside VXLAN, a VLAN's
//! payload); classic BPF sees fixed offsets. So the program first accepts every frame whose
//! inner layers could matter — VLAN-tagged, or UDP to a VXLAN port — and leaves those to the
//! in-process filter ([`passthrough`] says which they are); every other frame has only its
//! outer layers, which the program judges exactly as [`Filter::matches`] would (tcpdump's
//! offsets: IPv4 options via the header length, later fragments carry no ports, IPv6
//! extension headers not walked).

use std::io;

use crate::trace::decode::VXLAN_PORTS;
use crate::trace::filter::{Dir, Filter, Proto};

use super::bpf_expr::{Cond, Load};

/// The largest program the kernel takes (BPF_MAXINSNS).
const MAX_INSNS: usize = 4096;

const ETH_VLAN: u32 = 0x8100;
const ETH_QINQ: u32 = 0x88a8;
/// The older Q-in-Q tag, which the decoder (pnet's `QinQ`) reads as a VLAN tag too.
const ETH_QINQ_OLD: u32 = 0x9100;
const ETH_IP: u32 = 0x0800;
const ETH_IP6: u32 = 0x86dd;
const ETH_ARP: u32 = 0x0806;

fn eth(t: u32) -> Cond {
    Cond::eq(Load::Abs(2, 12), t)
}

/// An IPv4 first fragment (or whole packet) carrying `proto`.
fn v4_l4(proto: u32) -> Cond {
    Cond::All(vec![
        eth(ETH_IP),
        Cond::eq(Load::Abs(1, 23), proto),
        Cond::masked(Load::Abs(2, 20), 0x1fff, 0),
    ])
}

fn v6_l4(nh: u32) -> Cond {
    Cond::All(vec![eth(ETH_IP6), Cond::eq(Load::Abs(1, 20), nh)])
}

/// TCP or UDP over IPv4 (ports after the variable header) and over IPv6 (fixed offset).
fn ports(test: impl Fn(Load) -> Cond) -> Cond {
    Cond::Any(vec![
        Cond::All(vec![
            Cond::Any(vec![v4_l4(6), v4_l4(17)]),
            test(Load::Ind(2, 14)),
        ]),
        Cond::All(vec![
            Cond::Any(vec![v6_l4(6), v6_l4(17)]),
            test(Load::Abs(2, 54)),
        ]),
    ])
}

fn dir(d: Dir, src: Cond, dst: Cond) -> Cond {
    match d {
        Dir::Src => src,
        Dir::Dst => dst,
        Dir::Either => Cond::Any(vec![src, dst]),
    }
}

/// The bytes at `off` equal `addr` under the first `prefix` bits.
fn addr_at(off: u32, addr: &[u8], prefix: u8) -> Cond {
    let mut all = Vec::new();
    for (i, w) in addr.chunks(4).enumerate() {
        let bits = u32::from(prefix).saturating_sub(i as u32 * 32).min(32);
        if bits == 0 {
            break;
        }
        let mask = if bits == 32 {
            u32::MAX
        } else {
            !(u32::MAX >> bits)
        };
        let word = u32::from_be_bytes([w[0], w[1], w[2], w[3]]);
        all.push(Cond::masked(
            Load::Abs(4, off + 4 * i as u32),
            mask,
            word & mask,
        ));
    }
    Cond::All(all)
}

fn addr(d: Dir, ip: std::net::IpAddr, prefix: u8) -> Cond {
    match ip {
        std::net::IpAddr::V4(a) => {
            let a = a.octets();
            Cond::Any(vec![
                Cond::All(vec![
                    eth(ETH_IP),
                    dir(d, addr_at(26, &a, prefix), addr_at(30, &a, prefix)),
                ]),
                // The decoder reads ARP's sender and target as addresses too.
                Cond::All(vec![
                    eth(ETH_ARP),
                    Cond::ge(Load::Len, 42),
                    dir(d, addr_at(28, &a, prefix), addr_at(38, &a, prefix)),
                ]),
            ])
        }
        std::net::IpAddr::V6(a) => {
            let a = a.octets();
            Cond::All(vec![
                eth(ETH_IP6),
                dir(d, addr_at(22, &a, prefix), addr_at(38, &a, prefix)),
            ])
        }
    }
}

/// The filter over a frame's outer layers (see the module's note on inner ones).
fn cond(f: &Filter) -> Cond {
    match f {
        Filter::Not(f) => Cond::Not(Box::new(cond(f))),
        Filter::And(all) => Cond::All(all.iter().map(cond).collect()),
        Filter::Or(any) => Cond::Any(any.iter().map(cond).collect()),
        Filter::Host(d, ip) => addr(*d, *ip, if ip.is_ipv4() { 32 } else { 128 }),
        Filter::Net(d, net) => addr(*d, net.network(), net.prefix_len()),
        Filter::Port(d, lo, hi) => ports(|l| {
            let sport = l;
            let dport = match l {
                Load::Ind(s, o) => Load::Ind(s, o + 2),
                Load::Abs(s, o) => Load::Abs(s, o + 2),
                Load::Len => Load::Len,
            };
            let range = |l| {
                Cond::All(vec![
                    Cond::ge(l, u32::from(*lo)),
                    Cond::Not(Box::new(Cond::gt(l, u32::from(*hi)))),
                ])
            };
            dir(*d, range(sport), range(dport))
        }),
        Filter::Proto(p) => match p {
            Proto::Tcp => Cond::Any(vec![v4_l4(6), v6_l4(6)]),
            Proto::Udp => Cond::Any(vec![v4_l4(17), v6_l4(17)]),
            Proto::Icmp => v4_l4(1),
            Proto::Icmp6 => v6_l4(58),
            Proto::Arp => Cond::All(vec![eth(ETH_ARP), Cond::ge(Load::Len, 42)]),
            Proto::Ip => Cond::All(vec![eth(ETH_IP), Cond::ge(Load::Len, 34)]),
            Proto::Ip6 => Cond::All(vec![eth(ETH_IP6), Cond::ge(Load::Len, 54)]),
            // Frames with these layers never reach the program's body.
            Proto::Vlan | Proto::Vxlan => Cond::Const(false),
        },
    }
}

/// UDP to a VXLAN port, over IPv4 or IPv6.
fn vxlan() -> Cond {
    let to = |l| {
        Cond::Any(
            VXLAN_PORTS
                .iter()
                .map(|&p| Cond::eq(l, u32::from(p)))
                .collect(),
        )
    };
    Cond::Any(vec![
        Cond::All(vec![v4_l4(17), to(Load::Ind(2, 16))]),
        Cond::All(vec![v6_l4(17), to(Load::Abs(2, 56))]),
    ])
}

/// Compiles `f`; `None` when the program would be too large for the kernel (the in-process
/// filter then does all the work).
pub fn compile(f: &Filter, snaplen: u32) -> Option<Vec<libc::sock_filter>> {
    // The kernel usually takes a VLAN tag out of the frame before the program runs; it says
    // so in an ancillary field (the ring puts the tag back, see `rx_ring`).
    let tagged = Cond::Not(Box::new(Cond::eq(
        Load::Abs(4, (libc::SKF_AD_OFF + libc::SKF_AD_VLAN_TAG_PRESENT) as u32),
        0,
    )));
    let whole = Cond::Any(vec![
        tagged,
        eth(ETH_VLAN),
        eth(ETH_QINQ),
        eth(ETH_QINQ_OLD),
        vxlan(),
        cond(f),
    ]);
    let prog = super::bpf_expr::assemble(&whole, snaplen)?;
    (prog.len() <= MAX_INSNS).then_some(prog)
}

/// Whether a frame the program accepted still needs the in-process filter: the frames whose
/// inner layers the program does not look at. Reads a few bytes; no decoding, no allocation.
pub fn passthrough(frame: &[u8]) -> bool {
    let be16 = |o: usize| {
        frame
            .get(o..o + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
    };
    match be16(12).map(u32::from) {
        Some(ETH_VLAN | ETH_QINQ | ETH_QINQ_OLD) => true,
        Some(ETH_IP) => {
            let hl = frame.get(14).map_or(0, |b| usize::from(b & 0xf) * 4);
            frame.get(23) == Some(&17)
                && be16(20).is_some_and(|f| f & 0x1fff == 0)
                && be16(14 + hl + 2).is_some_and(|p| VXLAN_PORTS.contains(&p))
        }
        Some(ETH_IP6) => {
            frame.get(20) == Some(&17) && be16(56).is_some_and(|p| VXLAN_PORTS.contains(&p))
        }
        _ => false,
    }
}

/// Attaches `prog` to the socket: from then on the kernel only queues frames it accepts.
pub fn attach(fd: i32, prog: &[libc::sock_filter]) -> io::Result<()> {
    let fprog = libc::sock_fprog {
        len: prog.len() as u16,
        filter: prog.as_ptr().cast_mut(),
    };
    // SAFETY: `fprog` points to `prog`, alive for the call; the kernel copies the program.
    let r = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            (&fprog as *const libc::sock_fprog).cast(),
            std::mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
