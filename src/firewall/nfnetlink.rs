//! A cheap "does this namespace have any nftables tables?" check over netlink.
//!
//! Spawning `nft` costs 2–4 ms per namespace; one `NFT_MSG_GETTABLE` dump on a
//! `NETLINK_NETFILTER` socket costs microseconds and tells us every table's family and name,
//! which is all we need to decide what (if anything) to spawn. The socket is bound to the
//! namespace of the thread that creates it, so this must run on the thread that did `setns`.

use netlink_sys::{protocols::NETLINK_NETFILTER, Socket};

/// `NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_GETTABLE`.
const GETTABLE: u16 = (10 << 8) | 1;
/// `NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWTABLE` (the type of each dump reply).
const NEWTABLE: u16 = 10 << 8;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_DUMP: u16 = 0x300;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NFTA_TABLE_NAME: u16 = 1;
/// Attribute type bits; the top two are the nested / byte-order flags.
const NLA_TYPE_MASK: u16 = 0x3fff;
const NLMSG_HDRLEN: usize = 16;
const NFGENMSG_LEN: usize = 4;

/// Errors from the netlink table check.
#[derive(Debug, thiserror::Error)]
pub enum NfnlError {
    #[error("netlink socket: {0}")]
    Io(#[from] std::io::Error),
    #[error("kernel answered the nftables table dump with error {0}")]
    Kernel(i32),
}

/// One table as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelTable {
    /// `ip`, `ip6`, `inet`, `arp`, `bridge`, `netdev`, or the number for anything else.
    pub family: String,
    pub name: String,
}

/// Names an `NFPROTO_*` value the way nft does.
pub fn family_name(nfproto: u8) -> String {
    match nfproto {
        1 => "inet".into(),
        2 => "ip".into(),
        3 => "arp".into(),
        5 => "netdev".into(),
        7 => "bridge".into(),
        10 => "ip6".into(),
        other => other.to_string(),
    }
}

/// Lists the nftables tables of the calling thread's network namespace.
///
/// A kernel without nf_tables answers `EOPNOTSUPP`/`EPROTONOSUPPORT`; that means "no tables",
/// not an error.
pub fn list_tables() -> Result<Vec<KernelTable>, NfnlError> {
    // Unbound and unconnected on purpose: sends go to the kernel and the first one binds.
    let socket = match Socket::new(NETLINK_NETFILTER) {
        Ok(s) => s,
        Err(e) if e.raw_os_error() == Some(libc::EPROTONOSUPPORT) => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };

    let seq: u32 = 1;
    let mut req = Vec::with_capacity(NLMSG_HDRLEN + NFGENMSG_LEN);
    req.extend_from_slice(&((NLMSG_HDRLEN + NFGENMSG_LEN) as u32).to_ne_bytes());
    req.extend_from_slice(&GETTABLE.to_ne_bytes());
    req.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    req.extend_from_slice(&seq.to_ne_bytes());
    req.extend_from_slice(&0u32.to_ne_bytes());
    // nfgenmsg: family AF_UNSPEC (all families), version NFNETLINK_V0, res_id 0 (big endian).
    req.extend_from_slice(&[0, 0, 0, 0]);
    socket.send(&req, 0)?;

    let mut tables = Vec::new();
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 16);
    loop {
        buf.clear();
        let n = socket.recv(&mut buf, 0)?;
        if n == 0 {
            return Ok(tables);
        }
        match parse_batch(&buf, seq, &mut tables) {
            Batch::More => {}
            Batch::Done => return Ok(tables),
            Batch::Error(0) => return Ok(tables),
            Batch::Error(code) if code == -libc::EOPNOTSUPP || code == -libc::EPROTONOSUPPORT => {
                return Ok(Vec::new())
            }
            Batch::Error(code) => return Err(NfnlError::Kernel(code)),
        }
    }
}

/// `NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_GETGEN` and its reply, `NFT_MSG_NEWGEN`.
const GETGEN: u16 = (10 << 8) | 16;
const NEWGEN: u16 = (10 << 8) | 15;
/// `NFTA_GEN_ID`: the ruleset generation, a big-endian u32.
const NFTA_GEN_ID: u16 = 1;

/// The nftables ruleset generation of the calling thread's namespace: the kernel bumps it
/// with every committed change to any table, chain, rule or set (iptables-nft's included),
/// and never for counters. Equal generations mean the same rules, so a periodic re-read can
/// skip spawning the save tools (`partial_light.rs`). `None` when the kernel has no
/// nf_tables.
pub fn generation() -> Result<Option<u32>, NfnlError> {
    let socket = match Socket::new(NETLINK_NETFILTER) {
        Ok(s) => s,
        Err(e) if e.raw_os_error() == Some(libc::EPROTONOSUPPORT) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let seq: u32 = 1;
    let mut req = Vec::with_capacity(NLMSG_HDRLEN + NFGENMSG_LEN);
    req.extend_from_slice(&((NLMSG_HDRLEN + NFGENMSG_LEN) as u32).to_ne_bytes());
    req.extend_from_slice(&GETGEN.to_ne_bytes());
    req.extend_from_slice(&NLM_F_REQUEST.to_ne_bytes());
    req.extend_from_slice(&seq.to_ne_bytes());
    req.extend_from_slice(&0u32.to_ne_bytes());
    req.extend_from_slice(&[0, 0, 0, 0]);
    socket.send(&req, 0)?;
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    // One reply (no ACK was asked for); a few tries in case of a stray message.
    for _ in 0..4 {
        buf.clear();
        if socket.recv(&mut buf, 0)? == 0 {
            break;
        }
        match parse_gen(&buf, seq) {
            Some(Ok(g)) => return Ok(Some(g)),
            Some(Err(code)) if code == -libc::EOPNOTSUPP || code == -libc::EPROTONOSUPPORT => {
                return Ok(None)
            }
            Some(Err(code)) => return Err(NfnlError::Kernel(code)),
            None => {}
        }
    }
    Err(NfnlError::Kernel(-libc::EIO))
}

/// The generation in a NEWGEN reply to `seq` (or the kernel's error code), if `buf` holds one.
fn parse_gen(buf: &[u8], seq: u32) -> Option<Result<u32, i32>> {
    let mut off = 0;
    while off + NLMSG_HDRLEN <= buf.len() {
        let len = u32_at(buf, off)? as usize;
        let ty = u16_at(buf, off + 4)?;
        let msg_seq = u32_at(buf, off + 8)?;
        if len < NLMSG_HDRLEN || off + len > buf.len() {
            return None;
        }
        let body = &buf[off + NLMSG_HDRLEN..off + len];
        if msg_seq == seq {
            match ty {
                NLMSG_ERROR => {
                    let code = body.get(0..4).and_then(|b| b.try_into().ok());
                    return Some(Err(code.map(i32::from_ne_bytes).unwrap_or(-libc::EIO)));
                }
                NEWGEN => {
                    let mut at = NFGENMSG_LEN;
                    while at + 4 <= body.len() {
                        let alen = u16_at(body, at)? as usize;
                        let aty = u16_at(body, at + 2)? & NLA_TYPE_MASK;
                        if alen < 4 || at + alen > body.len() {
                            break;
                        }
                        if aty == NFTA_GEN_ID && alen >= 8 {
                            let raw: [u8; 4] = body[at + 4..at + 8].try_into().ok()?;
                            return Some(Ok(u32::from_be_bytes(raw)));
                        }
                        at += align4(alen);
                    }
                    return Some(Err(-libc::EIO));
                }
                _ => {}
            }
        }
        off += align4(len);
    }
    None
}

#[derive(Debug, PartialEq)]
enum Batch {
    More,
    Done,
    Error(i32),
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

const fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// Walks the netlink messages of one datagram, appending NEWTABLE entries to `out`.
fn parse_batch(buf: &[u8], seq: u32, out: &mut Vec<KernelTable>) -> Batch {
    let mut off = 0;
    while off + NLMSG_HDRLEN <= buf.len() {
        let (Some(len), Some(ty), Some(msg_seq)) =
            (u32_at(buf, off), u16_at(buf, off + 4), u32_at(buf, off + 8))
        else {
            return Batch::Done;
        };
        let len = len as usize;
        if len < NLMSG_HDRLEN || off + len > buf.len() {
            // Malformed: stop rather than loop forever.
            return Batch::Done;
        }
        let body = &buf[off + NLMSG_HDRLEN..off + len];
        if msg_seq == seq {
            match ty {
                NLMSG_DONE => return Batch::Done,
                NLMSG_ERROR => {
                    let code = body
                        .get(0..4)
                        .and_then(|b| b.try_into().ok())
                        .map(i32::from_ne_bytes)
                        .unwrap_or(-libc::EIO);
                    return Batch::Error(code);
                }
                NEWTABLE => {
                    if let Some(t) = parse_table(body) {
                        out.push(t);
                    }
                }
                _ => {}
            }
        }
        off += align4(len);
    }
    Batch::More
}

fn parse_table(body: &[u8]) -> Option<KernelTable> {
    let family = *body.first()?;
    let mut off = NFGENMSG_LEN;
    let mut name = None;
    while off + 4 <= body.len() {
        let len = u16_at(body, off)? as usize;
        let ty = u16_at(body, off + 2)? & NLA_TYPE_MASK;
        if len < 4 || off + len > body.len() {
            break;
        }
        if ty == NFTA_TABLE_NAME {
            let raw = &body[off + 4..off + len];
            let raw = raw.split(|b| *b == 0).next().unwrap_or(raw);
            name = Some(String::from_utf8_lossy(raw).into_owned());
        }
        off += align4(len);
    }
    Some(KernelTable {
        family: family_name(family),
        name: name?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(ty: u16, seq: u32, body: &[u8]) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&((NLMSG_HDRLEN + body.len()) as u32).to_ne_bytes());
        m.extend_from_slice(&ty.to_ne_bytes());
        m.extend_from_slice(&2u16.to_ne_bytes());
        m.extend_from_slice(&seq.to_ne_bytes());
        m.extend_from_slice(&0u32.to_ne_bytes());
        m.extend_from_slice(body);
        while m.len() % 4 != 0 {
            m.push(0);
        }
        m
    }

    fn table_body(family: u8, name: &str) -> Vec<u8> {
        let mut b = vec![family, 0, 0, 0];
        let attr_len = 4 + name.len() + 1;
        b.extend_from_slice(&(attr_len as u16).to_ne_bytes());
        b.extend_from_slice(&NFTA_TABLE_NAME.to_ne_bytes());
        b.extend_from_slice(name.as_bytes());
        b.push(0);
        while b.len() % 4 != 0 {
            b.push(0);
        }
        b
    }

    #[test]
    fn parses_a_generation_reply_and_errors() {
        let mut body = vec![0, 0, 0, 0];
        body.extend_from_slice(&8u16.to_ne_bytes());
        body.extend_from_slice(&NFTA_GEN_ID.to_ne_bytes());
        body.extend_from_slice(&0x0102_0304u32.to_be_bytes());
        assert_eq!(parse_gen(&msg(NEWGEN, 1, &body), 1), Some(Ok(0x0102_0304)));
        // Another request's reply is not ours; a cut message is nothing.
        assert_eq!(parse_gen(&msg(NEWGEN, 2, &body), 1), None);
        let whole = msg(NEWGEN, 1, &body);
        assert_eq!(parse_gen(&whole[..whole.len() - 6], 1), None);
        let err = msg(NLMSG_ERROR, 1, &(-libc::EPERM).to_ne_bytes());
        assert_eq!(parse_gen(&err, 1), Some(Err(-libc::EPERM)));
        // A NEWGEN without the attribute is an error, not generation 0.
        assert_eq!(
            parse_gen(&msg(NEWGEN, 1, &[0, 0, 0, 0]), 1),
            Some(Err(-libc::EIO))
        );
    }

    #[test]
    fn parses_tables_then_done() {
        let mut buf = msg(NEWTABLE, 1, &table_body(2, "nat"));
        buf.extend(msg(NEWTABLE, 1, &table_body(1, "nltest")));
        let mut out = Vec::new();
        assert_eq!(parse_batch(&buf, 1, &mut out), Batch::More);
        assert_eq!(
            out,
            vec![
                KernelTable {
                    family: "ip".into(),
                    name: "nat".into()
                },
                KernelTable {
                    family: "inet".into(),
                    name: "nltest".into()
                }
            ]
        );
        assert_eq!(
            parse_batch(&msg(NLMSG_DONE, 1, &[0; 4]), 1, &mut out),
            Batch::Done
        );
    }

    #[test]
    fn truncated_input_does_not_panic() {
        let buf = msg(NEWTABLE, 1, &table_body(10, "filter"));
        for cut in 0..buf.len() {
            let mut out = Vec::new();
            let _ = parse_batch(&buf[..cut], 1, &mut out);
        }
        let err = msg(NLMSG_ERROR, 1, &(-libc::EPERM).to_ne_bytes());
        assert_eq!(
            parse_batch(&err, 1, &mut Vec::new()),
            Batch::Error(-libc::EPERM)
        );
    }
}
