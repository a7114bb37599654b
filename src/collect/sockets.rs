//! Listening TCP and bound UDP sockets of the namespace the calling thread is in, and the
//! processes holding them.
//!
//! `/proc/self/net/*` shows the namespace of the *process*; `/proc/thread-self/net/*` the
//! namespace of the calling thread, which is what a collector thread that entered a namespace
//! needs. procfs-core parses the tables.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::BufReader;

use procfs_core::net::{TcpNetEntries, TcpState, UdpNetEntries};
use procfs_core::{ExplicitSystemInfo, FromBufReadSI};

use crate::model::{ListeningSocket, ProcessRef};

fn system_info() -> ExplicitSystemInfo {
    ExplicitSystemInfo {
        boot_time_secs: 0,
        ticks_per_second: 100,
        page_size: 4096,
        is_little_endian: cfg!(target_endian = "little"),
    }
}

pub fn read_listening() -> Vec<ListeningSocket> {
    let info = system_info();
    let mut out = Vec::new();
    for proto in ["tcp", "tcp6"] {
        let Ok(file) = fs::File::open(format!("/proc/thread-self/net/{proto}")) else {
            continue;
        };
        if let Ok(TcpNetEntries(entries)) =
            TcpNetEntries::from_buf_read(BufReader::new(file), &info)
        {
            for e in entries.into_iter().filter(|e| e.state == TcpState::Listen) {
                out.push(ListeningSocket {
                    proto: proto.into(),
                    address: e.local_address.ip(),
                    port: e.local_address.port(),
                    inode: e.inode,
                    processes: Vec::new(),
                });
            }
        }
    }
    for proto in ["udp", "udp6"] {
        let Ok(file) = fs::File::open(format!("/proc/thread-self/net/{proto}")) else {
            continue;
        };
        if let Ok(UdpNetEntries(entries)) =
            UdpNetEntries::from_buf_read(BufReader::new(file), &info)
        {
            // An unconnected UDP socket (remote port 0) is the one that receives datagrams.
            for e in entries.into_iter().filter(|e| e.remote_address.port() == 0) {
                out.push(ListeningSocket {
                    proto: proto.into(),
                    address: e.local_address.ip(),
                    port: e.local_address.port(),
                    inode: e.inode,
                    processes: Vec::new(),
                });
            }
        }
    }
    out.sort_by(|a, b| (&a.proto, a.port, a.address).cmp(&(&b.proto, b.port, b.address)));
    out
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
