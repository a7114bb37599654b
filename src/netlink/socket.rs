//! A thin synchronous netlink client for typed protocols (rtnetlink, sock_diag).
//!
//! Snapshot collection happens on short-lived threads that have entered a namespace; a
//! blocking socket per namespace is simpler and faster there than an async connection.
//! The socket stays bound to the namespace it was opened in, so it can be kept and used later
//! from any thread (for example to ask that namespace for the nsid of another one).

use std::io;
use std::os::fd::AsRawFd;

use netlink_packet_core::{
    NetlinkDeserializable, NetlinkHeader, NetlinkMessage, NetlinkPayload, NetlinkSerializable,
    NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket};

/// A netlink socket bound to the namespace of the thread that opened it.
pub struct NlSocket {
    socket: Socket,
    seq: u32,
    /// Trouble that did not fail a request: an interrupted dump, undecodable messages.
    warnings: Vec<String>,
}

thread_local! {
    /// One receive buffer per thread, reused by every socket that thread drives: a fresh
    /// 64 KiB buffer per namespace costs page faults that showed up in snapshot timings.
    static RECV_BUF: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0; 64 * 1024]);
}

/// The rtnetlink socket every namespace gets.
pub type RtSocket = NlSocket;

impl NlSocket {
    /// Opens a NETLINK_ROUTE socket in the calling thread's network namespace.
    pub fn open() -> io::Result<Self> {
        Self::open_protocol(NETLINK_ROUTE)
    }

    /// Opens a socket of another netlink protocol (NETLINK_SOCK_DIAG, …).
    pub fn open_protocol(protocol: isize) -> io::Result<Self> {
        // No bind or connect: an unconnected netlink socket sends to the kernel (port 0) and
        // the kernel binds it on first send. Three syscalls fewer per socket, and a snapshot
        // opens three sockets in every namespace.
        let socket = Socket::new(protocol)?;
        // Large dumps (thousands of routes) arrive faster with a bigger receive buffer; the
        // kernel caps it at rmem_max without failing.
        let _ = socket.set_rx_buf_sz(1 << 20);
        Ok(NlSocket {
            socket,
            seq: 0,
            warnings: Vec::new(),
        })
    }

    pub fn raw_fd(&self) -> i32 {
        self.socket.as_raw_fd()
    }

    /// Turns NETLINK_GET_STRICT_CHK on or off: on, the kernel honours the filters of a dump
    /// request (an address dump's `ifa_index`, a route dump's RTA_OIF, a neighbour dump's
    /// NDA_IFINDEX) instead of ignoring them. An error means the kernel predates it (4.20):
    /// the caller then filters what a whole dump returns.
    pub fn set_strict_check(&mut self, on: bool) -> io::Result<()> {
        /// From <linux/netlink.h>; the `libc` crate does not name it.
        const NETLINK_GET_STRICT_CHK: libc::c_int = 12;
        let value: libc::c_int = on.into();
        // SAFETY: a valid fd and a pointer to a c_int that lives across the call.
        let rc = unsafe {
            libc::setsockopt(
                self.socket.as_raw_fd(),
                libc::SOL_NETLINK,
                NETLINK_GET_STRICT_CHK,
                std::ptr::addr_of!(value).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// Sends a dump request and collects every reply until NLMSG_DONE.
    pub fn dump(&mut self, msg: RouteNetlinkMessage) -> io::Result<Vec<RouteNetlinkMessage>> {
        self.exchange(msg, NLM_F_REQUEST | NLM_F_DUMP)
    }

    /// Sends a plain request and returns its replies (one message, or an error).
    pub fn request(&mut self, msg: RouteNetlinkMessage) -> io::Result<Vec<RouteNetlinkMessage>> {
        self.exchange(msg, NLM_F_REQUEST)
    }

    /// Sends `msg` with `flags` and collects the replies of that sequence number.
    pub fn exchange<I>(&mut self, msg: I, flags: u16) -> io::Result<Vec<I>>
    where
        I: NetlinkSerializable + NetlinkDeserializable + std::fmt::Debug,
    {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let mut packet =
            NetlinkMessage::new(NetlinkHeader::default(), NetlinkPayload::InnerMessage(msg));
        packet.header.flags = flags;
        packet.header.sequence_number = seq;
        packet.finalize();
        let mut out = vec![0u8; packet.buffer_len()];
        packet.serialize(&mut out);
        let is_dump = flags & NLM_F_DUMP == NLM_F_DUMP;
        // A dump the kernel marks NLM_F_DUMP_INTR changed while it was read (a pod came or
        // went): read it once more, as iproute2 would advise, and say so if it happens again.
        let mut replies = self.exchange_once::<I>(&out, seq, is_dump)?;
        if replies.1 {
            replies = self.exchange_once::<I>(&out, seq, is_dump)?;
            if replies.1 {
                self.warnings
                    .push("dump was interrupted twice and may be inconsistent".into());
            }
        }
        Ok(replies.0)
    }

    /// Drains the warnings gathered so far.
    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    /// Sends `out` and reads replies of `seq`; the flag says the dump was interrupted.
    fn exchange_once<I>(
        &mut self,
        out: &[u8],
        seq: u32,
        is_dump: bool,
    ) -> io::Result<(Vec<I>, bool)>
    where
        I: NetlinkSerializable + NetlinkDeserializable + std::fmt::Debug,
    {
        self.socket.send(out, 0)?;
        let mut interrupted = false;
        let mut skipped = 0usize;
        let result = RECV_BUF.with(|buf| {
            let mut buf = buf.borrow_mut();
            let mut replies = Vec::new();
            loop {
                let n = self.socket.recv(&mut &mut buf[..], 0)?;
                let mut offset = 0;
                while offset + 16 <= n {
                    let bytes = &buf[offset..n];
                    let len = u32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
                    if len < 16 || len > bytes.len() {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            "truncated netlink message",
                        ));
                    }
                    offset += (len + 3) & !3;
                    let flags = u16::from_ne_bytes([bytes[6], bytes[7]]);
                    interrupted |= flags & NLM_F_DUMP_INTR != 0;
                    // One message the crate cannot decode (a new attribute layout) must not
                    // lose the rest of the dump: skip it, and count it.
                    let Ok(reply) = NetlinkMessage::<I>::deserialize(&bytes[..len]) else {
                        skipped += 1;
                        continue;
                    };
                    if reply.header.sequence_number != seq {
                        continue; // a late reply to an earlier request
                    }
                    match reply.payload {
                        NetlinkPayload::Done(_) => return Ok(replies),
                        NetlinkPayload::Error(err) => {
                            return match err.code {
                                None => Ok(replies), // an ACK
                                Some(_) => Err(err.to_io()),
                            };
                        }
                        NetlinkPayload::InnerMessage(inner) => {
                            replies.push(inner);
                            if !is_dump {
                                return Ok(replies);
                            }
                        }
                        _ => {}
                    }
                }
            }
        });
        if skipped > 0 {
            self.warnings.push(format!(
                "{skipped} netlink messages could not be decoded and were skipped"
            ));
        }
        result.map(|r| (r, interrupted))
    }
}
