//! Conntrack table fill (`nf_conntrack_count` / `_max`) over ctnetlink.
//!
//! The `/proc/sys/net/netfilter` files would do, but every `/proc/sys/net` path lookup walks a
//! dentry hash chain holding one entry per network namespace (sysctl dentries are per
//! namespace and share names), so on a node with 1000 namespaces each read cost ~0.5 ms and
//! the snapshot grew quadratically. One IPCTNL_MSG_CT_GET_STATS request costs the same in
//! every namespace.

use std::io;

use netlink_packet_core::{
    NetlinkDeserializable, NetlinkHeader, NetlinkSerializable, NLM_F_REQUEST,
};
use netlink_sys::protocols::NETLINK_NETFILTER;

use crate::netlink::NlSocket;

/// (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET_STATS
const CT_GET_STATS: u16 = (1 << 8) | 5;
const CTA_STATS_GLOBAL_ENTRIES: u16 = 1;
const CTA_STATS_GLOBAL_MAX_ENTRIES: u16 = 2;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CtStats {
    pub count: Option<u64>,
    pub max: Option<u64>,
}

#[derive(Debug)]
pub enum CtMessage {
    GetStats,
    Stats(CtStats),
}

#[derive(Debug, thiserror::Error)]
#[error("malformed ctnetlink message")]
pub struct CtDecodeError;

impl NetlinkSerializable for CtMessage {
    fn message_type(&self) -> u16 {
        CT_GET_STATS
    }

    fn buffer_len(&self) -> usize {
        4 // struct nfgenmsg
    }

    fn serialize(&self, buffer: &mut [u8]) {
        // family AF_UNSPEC, version NFNETLINK_V0, res_id 0
        buffer[..4].fill(0);
    }
}

impl NetlinkDeserializable for CtMessage {
    type Error = CtDecodeError;

    fn deserialize(_header: &NetlinkHeader, payload: &[u8]) -> Result<Self, Self::Error> {
        let mut stats = CtStats::default();
        let mut attrs = payload.get(4..).ok_or(CtDecodeError)?;
        while attrs.len() >= 4 {
            let len = usize::from(u16::from_ne_bytes([attrs[0], attrs[1]]));
            let kind = u16::from_ne_bytes([attrs[2], attrs[3]]) & 0x3fff;
            if len < 4 || len > attrs.len() {
                return Err(CtDecodeError);
            }
            // ctnetlink attributes are big-endian.
            if let Ok(v) = <[u8; 4]>::try_from(&attrs[4..len]) {
                let v = u64::from(u32::from_be_bytes(v));
                match kind {
                    CTA_STATS_GLOBAL_ENTRIES => stats.count = Some(v),
                    CTA_STATS_GLOBAL_MAX_ENTRIES => stats.max = Some(v),
                    _ => {}
                }
            }
            attrs = attrs.get((len + 3) & !3..).unwrap_or(&[]);
        }
        Ok(CtMessage::Stats(stats))
    }
}

/// Asks the calling thread's namespace for its conntrack fill. Call it only where conntrack
/// is known to be loaded: the request would otherwise make the kernel load ctnetlink.
pub fn stats() -> io::Result<CtStats> {
    let mut sock = NlSocket::open_protocol(NETLINK_NETFILTER)?;
    let replies = sock.exchange(CtMessage::GetStats, NLM_F_REQUEST)?;
    Ok(replies
        .into_iter()
        .find_map(|m| match m {
            CtMessage::Stats(s) => Some(s),
            CtMessage::GetStats => None,
        })
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_big_endian_stats_and_survives_garbage() {
        let mut payload = vec![0, 0, 0, 0];
        for (kind, v) in [
            (CTA_STATS_GLOBAL_ENTRIES, 12u32),
            (CTA_STATS_GLOBAL_MAX_ENTRIES, 262_144),
        ] {
            payload.extend(8u16.to_ne_bytes());
            payload.extend(kind.to_ne_bytes());
            payload.extend(v.to_be_bytes());
        }
        let header = NetlinkHeader::default();
        let CtMessage::Stats(s) = CtMessage::deserialize(&header, &payload).unwrap() else {
            panic!("not stats")
        };
        assert_eq!(
            s,
            CtStats {
                count: Some(12),
                max: Some(262_144)
            }
        );
        for n in 0..payload.len() {
            let _ = CtMessage::deserialize(&header, &payload[..n]);
        }
    }
}

/// Sum of the per-CPU `insert_failed` counters of the calling thread's namespace, from
/// `/proc/thread-self/net/stat/nf_conntrack` (`/proc/net` would show the process's namespace,
/// not the thread's). `None` if the file is absent or unreadable.
pub fn insert_failed() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/net/stat/nf_conntrack").ok()?;
    parse_insert_failed(&text)
}

/// The file is a header line of column names, then one line of hex numbers per CPU.
pub fn parse_insert_failed(text: &str) -> Option<u64> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next()?.split_whitespace().collect();
    let col = header.iter().position(|h| *h == "insert_failed")?;
    let mut sum = 0u64;
    for line in lines {
        let v = line.split_whitespace().nth(col)?;
        sum = sum.saturating_add(u64::from_str_radix(v, 16).ok()?);
    }
    Some(sum)
}

#[cfg(test)]
mod insert_failed_tests {
    use super::parse_insert_failed;

    #[test]
    fn sums_cpus_in_hex() {
        let text = "entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete search_restart clash_resolve chaintoolong\n\
0000000c  00000000 00000000 00000000 00000003 00000000 00000000 00000000 00000000 0000000a 00000000 00000000 00000000  00000000 00000000 00000000 00000000 00000000 00000000\n\
0000000c  00000000 00000000 00000000 00000003 00000000 00000000 00000000 00000000 00000001 00000000 00000000 00000000  00000000 00000000 00000000 00000000 00000000 00000000\n";
        assert_eq!(parse_insert_failed(text), Some(11));
        assert_eq!(parse_insert_failed("garbage"), None);
        assert_eq!(parse_insert_failed(""), None);
    }
}
