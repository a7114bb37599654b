//! Sending queries to one nameserver: UDP from a socket of the calling thread's network
//! namespace (the caller runs this on a thread that entered it), TCP when a reply is
//! truncated. The only network I/O of `dns`.
//!
//! glibc sends the A and AAAA queries of one name together on one connected UDP socket and
//! waits for both until the server's timeout; so does this. A connected socket is also what
//! turns an ICMP port unreachable into ECONNREFUSED, which glibc (and we) count as "refused".

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use hickory_proto::rr::RecordType;

use super::plan::PlannedServer;
use super::wire::{self, Reply};

/// What became of one query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Reply(Reply),
    /// No reply within the wait.
    Timeout,
    /// ICMP port unreachable (nothing listens on port 53 there).
    Refused,
    /// The query could not be sent: no route, network unreachable, …
    Unreachable(String),
    /// A reply that could not be read, or a local failure.
    Error(String),
}

/// One query's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub rt: RecordType,
    pub outcome: Outcome,
    pub elapsed: Duration,
    /// `udp`, or `tcp` after a truncated reply.
    pub transport: &'static str,
}

/// Sends the queries for one name to one server and waits at most `wait`.
pub trait Transport {
    fn exchange(
        &mut self,
        server: &PlannedServer,
        name: &str,
        types: &[RecordType],
        wait: Duration,
    ) -> Vec<Sent>;
}

/// The real transport: sockets in the calling thread's namespace.
pub struct SocketTransport {
    pub edns0: bool,
    next_id: u16,
}

impl SocketTransport {
    pub fn new(edns0: bool) -> Self {
        // Ids only need to differ between outstanding queries; a clock-based start keeps two
        // runs from reusing the same ones.
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        SocketTransport {
            edns0,
            next_id: (seed & 0xffff) as u16,
        }
    }

    fn id(&mut self) -> u16 {
        self.next_id = self.next_id.wrapping_add(1);
        self.next_id
    }
}

pub fn server_addr(server: &PlannedServer) -> SocketAddr {
    match server.addr {
        IpAddr::V4(v4) => SocketAddr::new(IpAddr::V4(v4), 53),
        IpAddr::V6(v6) => {
            let scope = server.scope.as_deref().map(scope_id).unwrap_or(0);
            SocketAddr::V6(SocketAddrV6::new(v6, 53, 0, scope))
        }
    }
}

/// `fe80::1%eth0` → the index of eth0 in this namespace (or the number as written).
fn scope_id(scope: &str) -> u32 {
    if let Ok(n) = scope.parse() {
        return n;
    }
    let Ok(c) = std::ffi::CString::new(scope) else {
        return 0;
    };
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call.
    unsafe { libc::if_nametoindex(c.as_ptr()) }
}

/// Queries sent and not answered yet: (id, type, the query as sent).
type Pending = Vec<(u16, RecordType, Vec<u8>)>;

/// Reads replies on `sock` until each pending query has one or `deadline` passes (what is
/// left pending then timed out); a truncated reply is asked again over TCP.
fn receive(
    sock: &UdpSocket,
    to: SocketAddr,
    (start, deadline): (Instant, Instant),
    pending: &mut Pending,
    done: &mut Vec<Sent>,
) {
    let mut buf = vec![0u8; 65535];
    while !pending.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        if sock.set_read_timeout(Some(left)).is_err() {
            break;
        }
        match sock.recv(&mut buf) {
            Ok(n) => {
                // Replies to other ids (a late answer to an earlier try) are ignored, as
                // glibc does.
                let Some(id) = (n >= 2).then(|| u16::from_be_bytes([buf[0], buf[1]])) else {
                    continue;
                };
                let Some(pos) = pending.iter().position(|(pid, _, _)| *pid == id) else {
                    continue;
                };
                let (_, rt, query) = pending.remove(pos);
                let outcome = match wire::decode(&buf[..n], rt) {
                    Ok(r) if r.truncated => {
                        done.push(tcp_retry(to, &query, rt, start, deadline));
                        continue;
                    }
                    Ok(r) => Outcome::Reply(r),
                    Err(e) => Outcome::Error(e),
                };
                done.push(Sent {
                    rt,
                    outcome,
                    elapsed: start.elapsed(),
                    transport: "udp",
                });
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => break,
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => {
                for (_, rt, _) in pending.drain(..) {
                    done.push(Sent {
                        rt,
                        outcome: Outcome::Refused,
                        elapsed: start.elapsed(),
                        transport: "udp",
                    });
                }
            }
            Err(e) => {
                let outcome = send_error(&e);
                for (_, rt, _) in pending.drain(..) {
                    done.push(Sent {
                        rt,
                        outcome: outcome.clone(),
                        elapsed: start.elapsed(),
                        transport: "udp",
                    });
                }
            }
        }
    }
}

impl Transport for SocketTransport {
    fn exchange(
        &mut self,
        server: &PlannedServer,
        name: &str,
        types: &[RecordType],
        wait: Duration,
    ) -> Vec<Sent> {
        let start = Instant::now();
        let deadline = start + wait;
        let to = server_addr(server);
        let all = |outcome: Outcome| -> Vec<Sent> {
            types
                .iter()
                .map(|rt| Sent {
                    rt: *rt,
                    outcome: outcome.clone(),
                    elapsed: start.elapsed(),
                    transport: "udp",
                })
                .collect()
        };
        let local: SocketAddr = match to {
            SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
            SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
        };
        let sock = match UdpSocket::bind(local).and_then(|s| s.connect(to).map(|_| s)) {
            Ok(s) => s,
            Err(e) => return all(send_error(&e)),
        };
        let mut pending: Pending = Vec::new();
        let mut done: Vec<Sent> = Vec::new();
        for rt in types {
            let id = self.id();
            match wire::encode(id, name, *rt, self.edns0) {
                Ok(bytes) => match sock.send(&bytes) {
                    Ok(_) => pending.push((id, *rt, bytes)),
                    Err(e) => done.push(Sent {
                        rt: *rt,
                        outcome: send_error(&e),
                        elapsed: start.elapsed(),
                        transport: "udp",
                    }),
                },
                Err(e) => done.push(Sent {
                    rt: *rt,
                    outcome: Outcome::Error(e),
                    elapsed: start.elapsed(),
                    transport: "udp",
                }),
            }
        }
        receive(&sock, to, (start, deadline), &mut pending, &mut done);
        for (_, rt, _) in pending {
            done.push(Sent {
                rt,
                outcome: Outcome::Timeout,
                elapsed: start.elapsed(),
                transport: "udp",
            });
        }
        // Report in the order sent.
        done.sort_by_key(|s| types.iter().position(|t| *t == s.rt));
        done
    }
}

fn send_error(e: &std::io::Error) -> Outcome {
    match e.kind() {
        ErrorKind::ConnectionRefused => Outcome::Refused,
        ErrorKind::NetworkUnreachable | ErrorKind::HostUnreachable => {
            Outcome::Unreachable(e.to_string())
        }
        _ => match e.raw_os_error() {
            Some(libc::ENETUNREACH | libc::EHOSTUNREACH | libc::EADDRNOTAVAIL) => {
                Outcome::Unreachable(e.to_string())
            }
            _ => Outcome::Error(e.to_string()),
        },
    }
}

/// The same query over TCP (RFC 1035 4.2.2: two length bytes, then the message), within what
/// is left of the wait.
fn tcp_retry(
    to: SocketAddr,
    query: &[u8],
    rt: RecordType,
    start: Instant,
    deadline: Instant,
) -> Sent {
    let run = || -> Result<Outcome, std::io::Error> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(Outcome::Timeout);
        }
        let mut s = TcpStream::connect_timeout(&to, left)?;
        let left = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        s.set_read_timeout(Some(left))?;
        s.set_write_timeout(Some(left))?;
        let len = u16::try_from(query.len()).unwrap_or(u16::MAX);
        let mut framed = len.to_be_bytes().to_vec();
        framed.extend_from_slice(query);
        s.write_all(&framed)?;
        let mut len_buf = [0u8; 2];
        read_by(&mut s, &mut len_buf, deadline)?;
        let mut reply = vec![0u8; usize::from(u16::from_be_bytes(len_buf))];
        read_by(&mut s, &mut reply, deadline)?;
        Ok(match wire::decode(&reply, rt) {
            Ok(r) => Outcome::Reply(r),
            Err(e) => Outcome::Error(e),
        })
    };
    let outcome = match run() {
        Ok(o) => o,
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            Outcome::Timeout
        }
        Err(e) => send_error(&e),
    };
    Sent {
        rt,
        outcome,
        elapsed: start.elapsed(),
        transport: "tcp",
    }
}

/// `read_exact` that gives up at `deadline`. A socket's read timeout bounds each `read`, not
/// the whole: a server (a container's own) that sends one byte just before every timeout
/// would keep `read_exact` going for up to 65535 timeouts.
fn read_by(s: &mut TcpStream, buf: &mut [u8], deadline: Instant) -> std::io::Result<()> {
    let mut got = 0;
    while got < buf.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ErrorKind::TimedOut.into());
        }
        s.set_read_timeout(Some(left))?;
        match s.read(&mut buf[got..]) {
            Ok(0) => return Err(ErrorKind::UnexpectedEof.into()),
            Ok(n) => got += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
