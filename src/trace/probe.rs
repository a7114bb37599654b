//! Sending one real probe from inside a namespace: an ICMP echo request, a TCP SYN (a
//! non-blocking connect) or a UDP datagram, from a socket made on a thread that entered the
//! namespace. The probe's identity (echo id, or source port) is what the captures along the
//! path look for, since NAT may rewrite the addresses on the way.

use std::fs::File;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Instant;

use crate::netns::enter::run_in_netns_file;

/// What identifies the probe's packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ident {
    Echo { id: u16 },
    Port { proto: &'static str, sport: u16 },
}

/// A probe on its way: its identity, when it left, and the socket (kept open so a TCP
/// handshake is not torn down before the reply is seen).
pub struct Sent {
    pub ident: Ident,
    pub at: Instant,
    _sock: OwnedFd,
}

fn os_err(what: &str) -> String {
    format!("{what}: {}", std::io::Error::last_os_error())
}

fn sockaddr(ip: IpAddr, port: u16) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: an all-zero sockaddr_storage is a valid (unspecified) address.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match ip {
        IpAddr::V4(a) => {
            // SAFETY: sockaddr_storage is large and aligned enough for sockaddr_in.
            let sin = unsafe { &mut *(&mut ss as *mut _ as *mut libc::sockaddr_in) };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = port.to_be();
            sin.sin_addr.s_addr = u32::from_ne_bytes(a.octets());
            std::mem::size_of::<libc::sockaddr_in>()
        }
        IpAddr::V6(a) => {
            // SAFETY: sockaddr_storage is large and aligned enough for sockaddr_in6.
            let sin6 = unsafe { &mut *(&mut ss as *mut _ as *mut libc::sockaddr_in6) };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = port.to_be();
            sin6.sin6_addr.s6_addr = a.octets();
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (ss, len as libc::socklen_t)
}

fn socket(domain: i32, ty: i32, proto: i32) -> Result<OwnedFd, String> {
    // SAFETY: plain socket(2); the fd is owned by the OwnedFd from here on.
    let fd = unsafe { libc::socket(domain, ty | libc::SOCK_CLOEXEC, proto) };
    if fd < 0 {
        return Err(os_err("cannot open a socket (sending a probe needs root)"));
    }
    // SAFETY: fd is a fresh, valid descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn bind_src(fd: &OwnedFd, src: Option<IpAddr>) -> Result<(), String> {
    let Some(src) = src else { return Ok(()) };
    let (ss, len) = sockaddr(src, 0);
    // SAFETY: ss holds a valid address of length len.
    let r = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            &ss as *const _ as *const libc::sockaddr,
            len,
        )
    };
    if r != 0 {
        return Err(os_err(&format!("cannot bind to {src}")));
    }
    Ok(())
}

fn local_port(fd: &OwnedFd) -> Result<u16, String> {
    // SAFETY: zeroed storage and its size, for getsockname to fill.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: ss and len are valid for writing.
    let r = unsafe {
        libc::getsockname(
            fd.as_raw_fd(),
            &mut ss as *mut _ as *mut libc::sockaddr,
            &mut len,
        )
    };
    if r != 0 {
        return Err(os_err("getsockname"));
    }
    // Both sockaddr_in and sockaddr_in6 keep the port right after the family.
    // SAFETY: the kernel filled an AF_INET or AF_INET6 address.
    let port = unsafe { (*(&ss as *const _ as *const libc::sockaddr_in)).sin_port };
    Ok(u16::from_be(port))
}

/// An echo request with `id`, sequence 1 and a recognisable payload.
fn echo_request(id: u16, v6: bool) -> Vec<u8> {
    let mut p = vec![if v6 { 128 } else { 8 }, 0, 0, 0];
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&1u16.to_be_bytes());
    p.extend_from_slice(b"netlens trace probe");
    if !v6 {
        // ICMPv6's checksum covers a pseudo-header: the kernel fills it for raw ICMPv6.
        let c = pnet_packet::util::checksum(&p, 1);
        p[2..4].copy_from_slice(&c.to_be_bytes());
    }
    p
}

/// Sends one probe from the namespace `ns` (opened), as `proto` to `dst[:port]`.
pub fn send(
    ns: &File,
    label: &str,
    proto: &str,
    src: Option<IpAddr>,
    dst: IpAddr,
    port: Option<u16>,
) -> Result<Sent, String> {
    let proto = proto.to_string();
    run_in_netns_file(ns, label, move || -> Result<Sent, String> {
        let v6 = dst.is_ipv6();
        let domain = if v6 { libc::AF_INET6 } else { libc::AF_INET };
        let (ss, len) = sockaddr(dst, port.unwrap_or(0));
        let to = &ss as *const _ as *const libc::sockaddr;
        match proto.as_str() {
            "icmp" => {
                let ip_proto = if v6 {
                    libc::IPPROTO_ICMPV6
                } else {
                    libc::IPPROTO_ICMP
                };
                let fd = socket(domain, libc::SOCK_RAW, ip_proto)?;
                bind_src(&fd, src)?;
                // Our pid, folded: unique enough among concurrent traces on one node.
                let id = (std::process::id() as u16) ^ 0x4e4c;
                let pkt = echo_request(id, v6);
                let at = Instant::now();
                // SAFETY: pkt and the address are valid for the lengths given.
                let n = unsafe {
                    libc::sendto(fd.as_raw_fd(), pkt.as_ptr().cast(), pkt.len(), 0, to, len)
                };
                if n < 0 {
                    return Err(os_err(&format!("cannot send to {dst}")));
                }
                Ok(Sent {
                    ident: Ident::Echo { id },
                    at,
                    _sock: fd,
                })
            }
            "tcp" | "udp" => {
                let (ty, name) = if proto == "tcp" {
                    (libc::SOCK_STREAM | libc::SOCK_NONBLOCK, "tcp")
                } else {
                    (libc::SOCK_DGRAM, "udp")
                };
                let fd = socket(domain, ty, 0)?;
                match src {
                    Some(_) => bind_src(&fd, src)?,
                    None => bind_src(
                        &fd,
                        Some(if v6 {
                            IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED)
                        } else {
                            IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)
                        }),
                    )?,
                }
                let sport = local_port(&fd)?;
                let at = Instant::now();
                if name == "tcp" {
                    // SAFETY: a valid address of length len; non-blocking, so this returns at
                    // once with EINPROGRESS while the SYN goes out.
                    let r = unsafe { libc::connect(fd.as_raw_fd(), to, len) };
                    let e = std::io::Error::last_os_error().raw_os_error();
                    if r != 0 && e != Some(libc::EINPROGRESS) {
                        return Err(os_err(&format!("cannot connect to {dst}")));
                    }
                } else {
                    let data = b"netlens trace probe";
                    // SAFETY: data and the address are valid for the lengths given.
                    let n = unsafe {
                        libc::sendto(fd.as_raw_fd(), data.as_ptr().cast(), data.len(), 0, to, len)
                    };
                    if n < 0 {
                        return Err(os_err(&format!("cannot send to {dst}")));
                    }
                }
                Ok(Sent {
                    ident: Ident::Port { proto: name, sport },
                    at,
                    _sock: fd,
                })
            }
            other => Err(format!("unknown protocol {other}")),
        }
    })
    .map_err(|e| e.to_string())?
}
