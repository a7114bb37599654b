//! Per-interface forwarding and rp_filter over rtnetlink (RTM_GETNETCONF), as `ip netconf`
//! shows them.
//!
//! One dump per family replaces a `/proc/sys/net/ipv4/conf/IFACE/...` file read per link and
//! setting; those opens cost ~30 µs each and dominated a namespace's collection time.
//! netlink-packet-route has no netconf messages, so this is the minimal typed message.

use std::collections::BTreeMap;
use std::io;

use netlink_packet_core::{
    NetlinkDeserializable, NetlinkHeader, NetlinkSerializable, NLM_F_DUMP, NLM_F_REQUEST,
};

use crate::netlink::NlSocket;

const RTM_NEWNETCONF: u16 = 80;
const RTM_GETNETCONF: u16 = 82;
const NETCONFA_IFINDEX: u16 = 1;
const NETCONFA_FORWARDING: u16 = 2;
const NETCONFA_RP_FILTER: u16 = 3;
/// Pseudo interface indexes for `conf/all` and `conf/default`.
pub const IFINDEX_ALL: i32 = -1;
pub const IFINDEX_DEFAULT: i32 = -2;

/// One netconf entry: an interface (or all/default) of one family.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetconfEntry {
    pub family: u8,
    pub ifindex: Option<i32>,
    pub forwarding: Option<i32>,
    pub rp_filter: Option<i32>,
}

#[derive(Debug)]
pub enum NetconfMessage {
    Get { family: u8 },
    New(NetconfEntry),
    Other,
}

#[derive(Debug, thiserror::Error)]
#[error("malformed netconf message")]
pub struct NetconfDecodeError;

impl NetlinkSerializable for NetconfMessage {
    fn message_type(&self) -> u16 {
        match self {
            NetconfMessage::Get { .. } => RTM_GETNETCONF,
            _ => RTM_NEWNETCONF,
        }
    }

    fn buffer_len(&self) -> usize {
        4 // struct netconfmsg { u8 family } padded to NLMSG_ALIGNTO
    }

    fn serialize(&self, buffer: &mut [u8]) {
        buffer[..4].fill(0);
        if let NetconfMessage::Get { family } = self {
            buffer[0] = *family;
        }
    }
}

impl NetlinkDeserializable for NetconfMessage {
    type Error = NetconfDecodeError;

    fn deserialize(header: &NetlinkHeader, payload: &[u8]) -> Result<Self, Self::Error> {
        if header.message_type != RTM_NEWNETCONF {
            return Ok(NetconfMessage::Other);
        }
        let family = *payload.first().ok_or(NetconfDecodeError)?;
        let mut entry = NetconfEntry {
            family,
            ..NetconfEntry::default()
        };
        let mut attrs = payload.get(4..).unwrap_or(&[]);
        // Attributes: u16 len, u16 type, value, padded to 4 bytes.
        while attrs.len() >= 4 {
            let len = usize::from(u16::from_ne_bytes([attrs[0], attrs[1]]));
            let kind = u16::from_ne_bytes([attrs[2], attrs[3]]) & 0x3fff;
            if len < 4 || len > attrs.len() {
                return Err(NetconfDecodeError);
            }
            let value = &attrs[4..len];
            if value.len() == 4 {
                let v = i32::from_ne_bytes([value[0], value[1], value[2], value[3]]);
                match kind {
                    NETCONFA_IFINDEX => entry.ifindex = Some(v),
                    NETCONFA_FORWARDING => entry.forwarding = Some(v),
                    NETCONFA_RP_FILTER => entry.rp_filter = Some(v),
                    _ => {}
                }
            }
            attrs = attrs.get((len + 3) & !3..).unwrap_or(&[]);
        }
        Ok(NetconfMessage::New(entry))
    }
}

/// Forwarding and rp_filter of a namespace, keyed by ifindex (`IFINDEX_ALL`, `IFINDEX_DEFAULT`
/// for the pseudo entries).
#[derive(Debug, Default)]
pub struct Netconf {
    pub v4: BTreeMap<i32, NetconfEntry>,
    pub v6: BTreeMap<i32, NetconfEntry>,
}

pub fn dump(sock: &mut NlSocket) -> io::Result<Netconf> {
    let mut out = Netconf::default();
    for (family, map) in [
        (libc::AF_INET as u8, &mut out.v4),
        (libc::AF_INET6 as u8, &mut out.v6),
    ] {
        // IPv6 may be disabled: then the dump fails and only IPv4 is reported.
        let Ok(replies) = sock.exchange(NetconfMessage::Get { family }, NLM_F_REQUEST | NLM_F_DUMP)
        else {
            continue;
        };
        for reply in replies {
            if let NetconfMessage::New(e) = reply {
                if let Some(i) = e.ifindex {
                    map.insert(i, e);
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(kind: u16, v: i32) -> Vec<u8> {
        let mut a = 8u16.to_ne_bytes().to_vec();
        a.extend(kind.to_ne_bytes());
        a.extend(v.to_ne_bytes());
        a
    }

    #[test]
    fn decodes_entry() {
        let mut payload = vec![2, 0, 0, 0];
        payload.extend(attr(NETCONFA_IFINDEX, -1));
        payload.extend(attr(NETCONFA_FORWARDING, 1));
        payload.extend(attr(NETCONFA_RP_FILTER, 2));
        let mut header = NetlinkHeader::default();
        header.message_type = RTM_NEWNETCONF;
        let NetconfMessage::New(e) = NetconfMessage::deserialize(&header, &payload).unwrap() else {
            panic!("not decoded")
        };
        assert_eq!(
            e,
            NetconfEntry {
                family: 2,
                ifindex: Some(-1),
                forwarding: Some(1),
                rp_filter: Some(2)
            }
        );
    }

    #[test]
    fn rejects_truncated_attribute() {
        let mut payload = vec![2, 0, 0, 0];
        payload.extend(&attr(NETCONFA_FORWARDING, 1)[..6]);
        let mut header = NetlinkHeader::default();
        header.message_type = RTM_NEWNETCONF;
        assert!(NetconfMessage::deserialize(&header, &payload).is_err());
        // Any byte soup must decode or fail, never panic.
        for n in 0..payload.len() {
            let _ = NetconfMessage::deserialize(&header, &payload[..n]);
        }
    }
}
