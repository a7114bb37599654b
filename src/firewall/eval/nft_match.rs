//! Whether one typed nft match ([`NftKey`] op atoms) holds for a packet. Anything the packet
//! does not tell (a source port, a mark after an unjudged rule, a service name) is "cannot
//! judge" with the reason.

use std::net::IpAddr;

use ipnet::IpNet;

use super::matches::{iface, Ctx, Hit};
use super::Pkt;
use crate::firewall::nft_expr::{NftAtom, NftKey, NftOp};

/// Whether `key op right` holds for `pkt`.
pub(super) fn holds(key: &NftKey, op: NftOp, right: &[NftAtom], pkt: &Pkt, cx: &Ctx) -> Hit {
    match key {
        NftKey::Saddr { v6 } | NftKey::Daddr { v6 } => {
            let ip = if matches!(key, NftKey::Saddr { .. }) {
                pkt.src
            } else {
                pkt.dst
            };
            // `ip saddr` in an inet chain never matches an IPv6 packet, whatever the op.
            if ip.is_ipv6() != *v6 {
                return Ok(false);
            }
            member(op, right, |a| addr_has(a, ip))
        }
        NftKey::Iifname | NftKey::Iif => match pkt.iif.as_deref() {
            // No input interface (a local packet): the expression breaks, the rule ends.
            None => Ok(false),
            Some(name) => member(op, right, |a| name_is(a, name)),
        },
        NftKey::Oifname | NftKey::Oif => match pkt.oif.as_deref() {
            None => Ok(false),
            Some(name) => member(op, right, |a| name_is(a, name)),
        },
        NftKey::L4proto => {
            let have = proto_num(&pkt.proto, pkt.dst.is_ipv6());
            member(op, right, |a| match a {
                NftAtom::Num(n) => Ok(*n == u64::from(have)),
                NftAtom::Text(t) => Ok(proto_num(t, pkt.dst.is_ipv6()) == have),
                other => Err(format!("protocol {other:?}")),
            })
        }
        NftKey::Nfproto => {
            let have = if pkt.dst.is_ipv6() { "ipv6" } else { "ipv4" };
            member(op, right, |a| match a {
                NftAtom::Text(t) => Ok(t == have),
                NftAtom::Num(n) => Ok(*n == if pkt.dst.is_ipv6() { 10 } else { 2 }),
                other => Err(format!("nfproto {other:?}")),
            })
        }
        NftKey::Mark { mask } | NftKey::CtMark { mask } => {
            let have = if matches!(key, NftKey::Mark { .. }) {
                cx.mark
            } else {
                cx.ctmark
            };
            let have = have.ok_or("the packet's mark is not known here")?;
            number(op, right, u64::from(have & mask))
        }
        NftKey::CtState => {
            let have = pkt.ct.to_ascii_lowercase();
            member(op, right, |a| match a {
                NftAtom::Text(t)
                    if ["new", "established", "related", "invalid", "untracked"]
                        .contains(&t.as_str()) =>
                {
                    Ok(*t == have)
                }
                other => Err(format!("conntrack state {other:?} is not modelled")),
            })
        }
        NftKey::Dport { proto } => {
            if !proto_is(proto, &pkt.proto) {
                return Ok(false);
            }
            let port = pkt.dport.ok_or("the destination port is not known")?;
            number(op, right, u64::from(port))
        }
        NftKey::Sport { proto } => {
            if !proto_is(proto, &pkt.proto) {
                return Ok(false);
            }
            Err("a source-port match (the client's port is not known)".into())
        }
        NftKey::IcmpType { proto } => {
            let v6 = pkt.dst.is_ipv6();
            if pkt.proto != "icmp" || (proto == "icmpv6") != v6 {
                return Ok(false);
            }
            let request = pkt.ct == "NEW";
            member(op, right, |a| match a {
                NftAtom::Text(t) if t == "echo-request" => Ok(request),
                NftAtom::Text(t) if t == "echo-reply" => Ok(!request),
                other => Err(format!("icmp type {other:?} is not modelled")),
            })
        }
    }
}

/// `==`/`!=` against one value or any element of a set; order comparisons are not modelled
/// for anything but numbers.
fn member(op: NftOp, right: &[NftAtom], test: impl Fn(&NftAtom) -> Hit) -> Hit {
    let mut hit = false;
    for a in right {
        hit |= test(a)?;
    }
    match op {
        NftOp::Eq => Ok(hit),
        NftOp::Ne => Ok(!hit),
        other => Err(format!("the {other:?} comparison is not modelled here")),
    }
}

/// A numeric match: ports, marks. Ranges and sets of them too.
fn number(op: NftOp, right: &[NftAtom], have: u64) -> Hit {
    let num = |s: &str| -> Result<u64, String> {
        match s.strip_prefix("0x") {
            Some(h) => u64::from_str_radix(h, 16),
            None => s.parse(),
        }
        .map_err(|_| format!("value {s:?} is not a number"))
    };
    if let (NftOp::Lt | NftOp::Gt | NftOp::Le | NftOp::Ge, [NftAtom::Num(v)]) = (op, right) {
        return Ok(match op {
            NftOp::Lt => have < *v,
            NftOp::Gt => have > *v,
            NftOp::Le => have <= *v,
            _ => have >= *v,
        });
    }
    member(op, right, |a| match a {
        NftAtom::Num(v) => Ok(have == *v),
        NftAtom::Text(t) => Ok(have == num(t)?),
        NftAtom::Range { lo, hi } => Ok((num(lo)?..=num(hi)?).contains(&have)),
        NftAtom::Prefix { .. } => Err("a prefix on a number".into()),
        NftAtom::SetRef(n) => Err(format!("set @{n} is not known")),
    })
}

fn addr_has(a: &NftAtom, ip: IpAddr) -> Hit {
    let parse = |s: &str| {
        s.parse::<IpAddr>()
            .map_err(|_| format!("address {s:?} is not understood"))
    };
    match a {
        NftAtom::Text(t) => Ok(parse(t)? == ip),
        NftAtom::Prefix { addr, len } => {
            let net = IpNet::new(parse(addr)?, *len).map_err(|e| e.to_string())?;
            Ok(net.contains(&ip))
        }
        NftAtom::Range { lo, hi } => Ok((parse(lo)?..=parse(hi)?).contains(&ip)),
        NftAtom::Num(_) => Err("a number as an address".into()),
        NftAtom::SetRef(n) => Err(format!("set @{n} is not known")),
    }
}

/// nft interface names: a trailing `*` is a prefix wildcard (iptables writes `+`).
fn name_is(a: &NftAtom, name: &str) -> Hit {
    match a {
        NftAtom::Text(t) => Ok(match t.strip_suffix('*') {
            Some(p) if !p.ends_with('\\') => iface(&format!("{p}+"), Some(name)),
            _ => t == name,
        }),
        other => Err(format!("interface {other:?} is not modelled")),
    }
}

fn proto_num(name: &str, v6: bool) -> u8 {
    match name {
        "tcp" => 6,
        "udp" => 17,
        "icmp" if v6 => 58,
        "icmp" => 1,
        "icmpv6" | "ipv6-icmp" => 58,
        "sctp" => 132,
        other => other.parse().unwrap_or(255),
    }
}

/// `th` (transport header) matches tcp and udp; others name their protocol.
fn proto_is(key_proto: &str, pkt_proto: &str) -> bool {
    match key_proto {
        "th" => matches!(pkt_proto, "tcp" | "udp"),
        p => p == pkt_proto,
    }
}
