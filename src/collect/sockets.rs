//! Listening TCP and bound UDP sockets of the namespace the calling thread is in, and the
//! processes holding them.
//!
//! Read over sock_diag netlink, as `ss` does, not from `/proc/net/tcp`: the proc file walks the
//! whole established-connection hash table of the machine on every read (7–13 ms per
//! namespace on a 24 GiB VM, measured), while an inet_diag dump asking for LISTEN only walks
//! the listening table.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io;

use netlink_packet_core::{NLM_F_DUMP, NLM_F_REQUEST};
use netlink_packet_sock_diag::inet::{ExtensionFlags, InetRequest, SocketId, StateFlags};
use netlink_packet_sock_diag::{SockDiagMessage, AF_INET, AF_INET6, IPPROTO_TCP, IPPROTO_UDP};
use netlink_sys::protocols::NETLINK_SOCK_DIAG;

use crate::model::{ListeningSocket, ProcessRef};
use crate::netlink::NlSocket;

/// Lists listening sockets of the calling thread's namespace.
///
/// A protocol the namespace holds no socket of is not dumped: each dump walks the kernel's
/// table for the whole machine (every namespace's sockets; UDP's whole hash), so on a node
/// a thousand pods' dumps cost more than everything else about their sockets. The
/// namespace's own counts (`/proc/thread-self/net/sockstat`, `sockstat6`: sockets hashed,
/// which every listening or bound one is) say which are empty; unreadable, all are dumped.
pub fn read_listening() -> io::Result<Vec<ListeningSocket>> {
    let mut sock = NlSocket::open_protocol(NETLINK_SOCK_DIAG)?;
    let counts = in_use();
    let mut out = Vec::new();
    let mut asked = 0;
    for (family, protocol, proto) in [
        (AF_INET, IPPROTO_TCP, "tcp"),
        (AF_INET6, IPPROTO_TCP, "tcp6"),
        (AF_INET, IPPROTO_UDP, "udp"),
        (AF_INET6, IPPROTO_UDP, "udp6"),
    ] {
        if counts.as_ref().is_some_and(|c| c.get(proto) == Some(&0)) {
            continue;
        }
        asked += 1;
        let tcp = protocol == IPPROTO_TCP;
        let req = SockDiagMessage::InetRequest(InetRequest {
            family,
            protocol,
            extensions: ExtensionFlags::empty(),
            // A bound, unconnected UDP socket sits in TCP_CLOSE; connected ones are not
            // servers and are skipped below by their remote port.
            states: if tcp {
                StateFlags::LISTEN
            } else {
                StateFlags::all()
            },
            socket_id: if family == AF_INET {
                SocketId::new_v4()
            } else {
                SocketId::new_v6()
            },
        });
        // udp_diag may be missing while inet_diag works: keep what the other protocols gave.
        let replies = match sock.exchange(req, NLM_F_REQUEST | NLM_F_DUMP) {
            Ok(r) => r,
            Err(e) if out.is_empty() && asked == 1 => return Err(e),
            Err(_) => continue,
        };
        for reply in replies {
            let SockDiagMessage::InetResponse(r) = reply else {
                continue;
            };
            let id = &r.header.socket_id;
            if !tcp && id.destination_port != 0 {
                continue;
            }
            out.push(ListeningSocket {
                proto: proto.into(),
                address: id.source_address,
                port: id.source_port,
                inode: u64::from(r.header.inode),
                processes: Vec::new(),
            });
        }
    }
    out.sort_by(|a, b| (&a.proto, a.port, a.address).cmp(&(&b.proto, b.port, b.address)));
    Ok(out)
}

/// Sockets in use per protocol (`tcp`, `tcp6`, `udp`, `udp6`) in the calling thread's
/// namespace, if both files read.
fn in_use() -> Option<HashMap<&'static str, u64>> {
    let v4 = fs::read_to_string("/proc/thread-self/net/sockstat").ok()?;
    let v6 = fs::read_to_string("/proc/thread-self/net/sockstat6").ok()?;
    parse_in_use(&v4, &v6)
}

/// The `inuse` counts of `sockstat` and `sockstat6`; `None` unless all four are there.
fn parse_in_use(v4: &str, v6: &str) -> Option<HashMap<&'static str, u64>> {
    let count = |text: &str, label: &str| {
        text.lines().find_map(|l| {
            let rest = l.strip_prefix(label)?.strip_prefix(": inuse ")?;
            rest.split_whitespace().next()?.parse::<u64>().ok()
        })
    };
    Some(HashMap::from([
        ("tcp", count(v4, "TCP")?),
        ("udp", count(v4, "UDP")?),
        ("tcp6", count(v6, "TCP6")?),
        ("udp6", count(v6, "UDP6")?),
    ]))
}

/// Maps socket inodes to the processes holding them by reading `/proc/*/fd` once for all
/// namespaces. Only inodes in `wanted` are kept.
pub fn socket_owners(wanted: &HashSet<u64>) -> HashMap<u64, Vec<ProcessRef>> {
    let mut owners: HashMap<u64, Vec<ProcessRef>> = HashMap::new();
    if wanted.is_empty() {
        return owners;
    }
    let Ok(procs) = fs::read_dir("/proc") else {
        return owners;
    };
    for entry in procs.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        let mut comm: Option<String> = None;
        for fd in fds.flatten() {
            let Ok(target) = fs::read_link(fd.path()) else {
                continue;
            };
            let Some(inode) = target
                .to_str()
                .and_then(|t| t.strip_prefix("socket:["))
                .and_then(|t| t.strip_suffix(']'))
                .and_then(|t| t.parse::<u64>().ok())
            else {
                continue;
            };
            if !wanted.contains(&inode) {
                continue;
            }
            let comm = comm
                .get_or_insert_with(|| {
                    fs::read_to_string(format!("/proc/{pid}/comm"))
                        .map(|s| s.trim_end().to_string())
                        .unwrap_or_default()
                })
                .clone();
            let list = owners.entry(inode).or_default();
            if !list.iter().any(|p| p.pid == pid) {
                list.push(ProcessRef {
                    pid,
                    comm,
                    container_id: None,
                });
            }
        }
    }
    owners
}

#[cfg(test)]
mod tests {
    use super::parse_in_use;

    #[test]
    fn reads_the_in_use_counts_of_both_files() {
        let v4 = "sockets: used 13\nTCP: inuse 3 orphan 0 tw 1 alloc 557 mem 202\n\
                  UDP: inuse 0 mem 0\nUDPLITE: inuse 0\nRAW: inuse 0\n";
        let v6 = "TCP6: inuse 0\nUDP6: inuse 2\nUDPLITE6: inuse 0\n";
        let c = parse_in_use(v4, v6).expect("counts");
        assert_eq!((c["tcp"], c["udp"], c["tcp6"], c["udp6"]), (3, 0, 0, 2));
        // UDPLITE is not UDP; a file without a count gates nothing.
        let lite_only = "TCP: inuse 0\nUDPLITE: inuse 4\n";
        assert_eq!(parse_in_use(lite_only, v6), None);
        assert_eq!(parse_in_use(v4, "TCP6: inuse x\nUDP6: inuse 0\n"), None);
    }
}
