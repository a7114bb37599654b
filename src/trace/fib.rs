//! Asking a namespace's kernel where a packet goes (RTM_GETROUTE, `ip route get`), rather than
//! re-implementing the FIB: policy rules, every table, rp_filter and the forwarding switch are
//! the kernel's, answered exactly.
//!
//! With `iif` the kernel routes the packet as if it had arrived on that interface (input
//! routing): it refuses with EHOSTUNREACH when forwarding is off, and with EINVAL when reverse
//! path filtering drops the source. Without `iif` it is the output routing of a packet sent
//! from the namespace.

use std::ffi::CString;
use std::fs::File;
use std::net::IpAddr;

use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use crate::model::RouteKind;
use crate::netlink::convert::route_kind;
use crate::netlink::NlSocket;
use crate::netns::enter::{run_in_netns_file, EnterError};

/// The kernel's route for one packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// Unicast, local, broadcast, unreachable, blackhole, prohibit, …
    pub kind: RouteKind,
    pub oif: Option<String>,
    pub gateway: Option<IpAddr>,
    pub prefsrc: Option<IpAddr>,
    pub table: u32,
}

/// Why the kernel would not route it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// ENETUNREACH: no route matches.
    NoRoute,
    /// EHOSTUNREACH on input routing: forwarding is off (or an `unreachable` route).
    NotForwarded,
    /// EINVAL on input routing: reverse path filtering (or a martian source).
    SourceRejected,
    /// Anything else, with the kernel's words.
    Other(String),
}

/// One question: where does a packet to `dst` (from `src`, arriving on `iif`) go?
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub dst: IpAddr,
    pub src: Option<IpAddr>,
    pub iif: Option<String>,
}

fn addr(ip: IpAddr) -> RouteAddress {
    match ip {
        IpAddr::V4(a) => RouteAddress::Inet(a),
        IpAddr::V6(a) => RouteAddress::Inet6(a),
    }
}

fn ip_of(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(a) => Some(IpAddr::V4(*a)),
        RouteAddress::Inet6(a) => Some(IpAddr::V6(*a)),
        _ => None,
    }
}

fn index_of(name: &str) -> Option<u32> {
    let c = CString::new(name).ok()?;
    // SAFETY: a valid NUL-terminated string; the call only reads it.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    (i != 0).then_some(i)
}

fn name_of(index: u32) -> String {
    let mut buf = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: the buffer has IF_NAMESIZE bytes, as if_indextoname requires.
    let p = unsafe { libc::if_indextoname(index, buf.as_mut_ptr()) };
    if p.is_null() {
        return format!("if{index}");
    }
    // SAFETY: if_indextoname wrote a NUL-terminated name into buf.
    unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

/// Asks the kernel of the calling thread's namespace.
fn ask_here(q: &Query) -> Result<Answer, Refusal> {
    let mut msg = RouteMessage::default();
    msg.header.address_family = if q.dst.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    };
    msg.header.destination_prefix_length = if q.dst.is_ipv4() { 32 } else { 128 };
    msg.attributes
        .push(RouteAttribute::Destination(addr(q.dst)));
    if let Some(src) = q.src {
        msg.header.source_prefix_length = if src.is_ipv4() { 32 } else { 128 };
        msg.attributes.push(RouteAttribute::Source(addr(src)));
    }
    if let Some(iif) = &q.iif {
        let Some(i) = index_of(iif) else {
            return Err(Refusal::Other(format!("no interface {iif}")));
        };
        msg.attributes.push(RouteAttribute::Iif(i));
    }
    let mut sock = NlSocket::open().map_err(|e| Refusal::Other(e.to_string()))?;
    let replies = match sock.request(RouteNetlinkMessage::GetRoute(msg)) {
        Ok(r) => r,
        Err(e) => {
            return Err(match e.raw_os_error() {
                Some(libc::ENETUNREACH) => Refusal::NoRoute,
                Some(libc::EHOSTUNREACH) if q.iif.is_some() => Refusal::NotForwarded,
                Some(libc::EINVAL) if q.iif.is_some() => Refusal::SourceRejected,
                _ => Refusal::Other(e.to_string()),
            })
        }
    };
    let Some(RouteNetlinkMessage::NewRoute(m)) = replies.into_iter().next() else {
        return Err(Refusal::Other("the kernel sent no route".into()));
    };
    let mut a = Answer {
        kind: route_kind(m.header.kind),
        oif: None,
        gateway: None,
        prefsrc: None,
        table: u32::from(m.header.table),
    };
    for attr in &m.attributes {
        match attr {
            RouteAttribute::Oif(i) => a.oif = Some(name_of(*i)),
            RouteAttribute::Gateway(g) => a.gateway = ip_of(g),
            RouteAttribute::PrefSource(s) => a.prefsrc = ip_of(s),
            RouteAttribute::Table(t) => a.table = *t,
            _ => {}
        }
    }
    Ok(a)
}

/// Asks the kernel of namespace `ns` (opened file, `label` for errors).
pub fn route_get(ns: &File, label: &str, q: &Query) -> Result<Result<Answer, Refusal>, EnterError> {
    run_in_netns_file(ns, label, || ask_here(q))
}
