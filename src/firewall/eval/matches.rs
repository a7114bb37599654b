//! Whether one iptables rule matches a packet: the matches Docker, podman (netavark and CNI),
//! kube-proxy and hand-written rules use. Anything else is "cannot judge", with the reason,
//! never a guess.

use std::net::IpAddr;

use super::compiled::{nets_have, ranges_have, CRule};
use super::Pkt;
use crate::firewall::{Cond, XtRule};

/// Yes, no, or why it cannot be told.
pub(super) type Hit = Result<bool, String>;

/// What the rule walk knows besides the packet: the marks so far (`None` once a branch the
/// walk could not judge may have changed them) and which addresses are the namespace's own.
pub(super) struct Ctx<'a> {
    pub mark: Option<u32>,
    pub ctmark: Option<u32>,
    pub is_local: &'a dyn Fn(IpAddr) -> bool,
    /// Where the walk notes each source test it makes, for the memo.
    pub rec: Rec<'a>,
}

/// The source tests of a walk, in order, and what each answered (see [`super::memo`]).
pub(super) type Rec<'a> = Option<&'a std::cell::RefCell<Vec<(super::memo::Tested, u32)>>>;

/// Whether `r` matches `pkt`.
/// `cr` is `r`'s parsed matches ([`CRule`]).
#[cfg(test)]
pub(super) fn matches(r: &XtRule, cr: &CRule, pkt: &Pkt, cx: &Ctx) -> Hit {
    Ok(matches_but_src(r, cr, pkt, cx)?
        && dst_hit(cr, pkt.dst).is_none_or(|(hit, _)| hit)
        && src_hit(cr, pkt.src).is_none_or(|(hit, _)| hit))
}

/// The rule's source match for `src`: `None` when it has none, else (whether it matches,
/// whether `src` is in its addresses before negation).
pub(super) fn src_hit(cr: &CRule, src: IpAddr) -> Option<(bool, bool)> {
    let (nets, negated) = cr.src.as_ref()?;
    let inside = nets_have(nets, src);
    Some((inside != *negated, inside))
}

/// The rule's destination match for `dst`, as [`src_hit`] for the source.
pub(super) fn dst_hit(cr: &CRule, dst: IpAddr) -> Option<(bool, bool)> {
    let (nets, negated) = cr.dst.as_ref()?;
    let inside = nets_have(nets, dst);
    Some((inside != *negated, inside))
}

/// Whether `r` matches `pkt` apart from its address matches (`-d`, `-s`): the walk tests
/// those last, and only when everything else matches, so the memo ([`super::memo`]) learns
/// which address matches a decision really depended on. Whether the rule can be judged
/// never depends on the addresses (`--dst-type` reads only the address's kind, which the
/// memo keys by), so `matches_but_src(…)? && dst_hit(…) && src_hit(…)` is the whole match.
pub(super) fn matches_but_src(r: &XtRule, cr: &CRule, pkt: &Pkt, cx: &Ctx) -> Hit {
    let mut ok = true;
    ok &= cond(&r.in_iface, |v| iface(v, pkt.iif.as_deref()));
    ok &= cond(&r.out_iface, |v| iface(v, pkt.oif.as_deref()));
    ok &= parsed(&cr.proto, |v| proto_lower_is(v, &pkt.proto));
    ok &= parsed(&cr.dport, |r| pkt.dport.is_some_and(|p| ranges_have(r, p)));
    if r.sport.is_some() {
        // A probe's source port is ephemeral.
        return Err("a source-port match (the client's port is not known)".into());
    }
    // The module the current option belongs to (`--mark` of `-m mark` or `-m connmark`).
    let mut module = "";
    // Only the options the loop reads (`read_one_by_one`): the others would `continue`.
    let rest = cr.rest.get_or_init(|| read_one_by_one(r));
    for m in rest.iter().filter_map(|&i| r.matches.get(i)) {
        let hit = match m.option.as_str() {
            o if is_parsed(o) => continue,
            "-m" | "--match" => {
                module = m.value.as_str();
                if !KNOWN_MODULES.contains(&module) {
                    return Err(format!("the `-m {module}` match is not modelled"));
                }
                continue;
            }
            "--ctstate" | "--state" => ct_state(&m.value, pkt)?,
            "--mark" => {
                let have = if module == "connmark" {
                    cx.ctmark
                } else {
                    cx.mark
                };
                let Some(have) = have else {
                    return Err("the packet's mark is not known here".into());
                };
                mark_is(&m.value, have)?
            }
            "--dst-type" => addr_type(&m.value, pkt.dst, cx)?,
            "--src-type" => addr_type(&m.value, pkt.src, cx)?,
            "--icmp-type" => icmp_type(&m.value, pkt)?,
            "--syn" => pkt.proto == "tcp" && pkt.ct == "NEW",
            // One probe stays within any rate limit's burst.
            "--limit" | "--limit-burst" => true,
            other => return Err(format!("the `{other}` option is not modelled")),
        };
        ok &= hit != m.negated;
    }
    Ok(ok)
}

/// The positions of `r`'s match options that [`matches_but_src`] reads one by one: all but
/// [`PARSED`], in order.
pub(super) fn read_one_by_one(r: &XtRule) -> Vec<usize> {
    (0..r.matches.len())
        .filter(|&i| !is_parsed(&r.matches[i].option))
        .collect()
}

/// Whether `o` is one of [`PARSED`]: by its length and bytes, where a scan of the list
/// compared each of its 19 names in turn, for every option of every rule compiled.
pub(super) fn is_parsed(o: &str) -> bool {
    matches!(
        o,
        "-s" | "--source"
            | "--src"
            | "-d"
            | "--destination"
            | "--dst"
            | "-i"
            | "--in-interface"
            | "-o"
            | "--out-interface"
            | "-p"
            | "--protocol"
            | "--dport"
            | "--dports"
            | "--destination-port"
            | "--destination-ports"
            | "--comment"
            | "--limit-iface-in"
            | "--limit-iface-out"
    )
}

/// Options [`CRule`] holds parsed (or that match everything): the loop passes over them.
/// [`is_parsed`] is this list as a `match`; a test holds the two together.
#[cfg_attr(not(test), allow(dead_code))]
pub(super) const PARSED: [&str; 19] = [
    "-s",
    "--source",
    "--src",
    "-d",
    "--destination",
    "--dst",
    "-i",
    "--in-interface",
    "-o",
    "--out-interface",
    "-p",
    "--protocol",
    "--dport",
    "--dports",
    "--destination-port",
    "--destination-ports",
    "--comment",
    "--limit-iface-in",
    "--limit-iface-out",
];

/// Whether [`matches_but_src`] can only answer yes or no for `r`, whatever the packet and
/// marks: no source port, only options it holds parsed and modules it knows.
pub(super) fn never_unsure(r: &XtRule) -> bool {
    r.sport.is_none()
        && r.matches.iter().all(|m| match m.option.as_str() {
            "-m" | "--match" => KNOWN_MODULES.contains(&m.value.as_str()),
            o => is_parsed(o),
        })
}

const KNOWN_MODULES: [&str; 11] = [
    "tcp",
    "udp",
    "icmp",
    "comment",
    "multiport",
    "conntrack",
    "state",
    "addrtype",
    "mark",
    "connmark",
    "limit",
];

fn cond(c: &Option<Cond>, test: impl Fn(&str) -> bool) -> bool {
    match c {
        None => true,
        Some(c) => test(&c.value) != c.negated,
    }
}

fn parsed<T>(c: &Option<(T, bool)>, test: impl Fn(&T) -> bool) -> bool {
    match c {
        None => true,
        Some((v, negated)) => test(v) != *negated,
    }
}

/// `v` already lower-cased ([`CRule::proto`]).
fn proto_lower_is(v: &str, proto: &str) -> bool {
    v == "all"
        || v == "0"
        || v == proto
        || (proto == "icmp" && v == "1")
        || (proto == "tcp" && v == "6")
        || (proto == "udp" && v == "17")
}

/// `10.0.0.0/8`, `10.0.0.1`, or a comma list of them. The walk uses the parsed form
/// ([`CRule`]); this text reading is its reference in tests.
#[cfg(test)]
pub(super) fn net_has(v: &str, ip: IpAddr) -> bool {
    v.split(',').any(|v| {
        if let Ok(n) = v.parse::<ipnet::IpNet>() {
            return n.contains(&ip);
        }
        v.parse::<IpAddr>().is_ok_and(|a| a == ip)
    })
}

/// iptables interface names: `+` at the end is a prefix wildcard.
pub(super) fn iface(v: &str, name: Option<&str>) -> bool {
    let Some(name) = name else { return false };
    match v.strip_suffix('+') {
        Some(prefix) => name.starts_with(prefix),
        None => name == v,
    }
}

/// `80`, `80:90`, `80,443,8000:8080` (the parsed form's reference in tests).
#[cfg(test)]
pub(super) fn ports_have(v: &str, p: u16) -> bool {
    v.split(',').any(|part| match part.split_once(':') {
        Some((a, b)) => {
            let a = a.parse().unwrap_or(0);
            let b = b.parse().unwrap_or(u16::MAX);
            (a..=b).contains(&p)
        }
        None => part.parse() == Ok(p),
    })
}

/// A probe's first packet is NEW, its reply ESTABLISHED; other states (DNAT, INVALID, …)
/// depend on conntrack details the walk does not have.
fn ct_state(v: &str, pkt: &Pkt) -> Hit {
    let mut hit = false;
    for s in v.split(',') {
        match s {
            "NEW" | "ESTABLISHED" | "RELATED" | "INVALID" | "UNTRACKED" => hit |= s == pkt.ct,
            other => return Err(format!("conntrack state {other} is not modelled")),
        }
    }
    Ok(hit)
}

/// `0x2000/0x2000` or `0x1`: (mark & mask) == value.
pub(super) fn mark_is(v: &str, have: u32) -> Hit {
    let (val, mask) = parse_mark(v).ok_or_else(|| format!("mark {v:?} is not understood"))?;
    Ok(have & mask == val & mask)
}

/// `value[/mask]`, hex or decimal; the mask defaults to all bits.
pub(super) fn parse_mark(v: &str) -> Option<(u32, u32)> {
    let num = |s: &str| match s.strip_prefix("0x") {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    };
    match v.split_once('/') {
        Some((a, m)) => Some((num(a)?, num(m)?)),
        None => Some((num(v)?, u32::MAX)),
    }
}

fn addr_type(v: &str, ip: IpAddr, cx: &Ctx) -> Hit {
    match v {
        "LOCAL" => Ok((cx.is_local)(ip) || ip.is_loopback()),
        "UNICAST" => Ok(!ip.is_multicast() && !(cx.is_local)(ip) && !is_broadcast(ip)),
        other => Err(format!("address type {other} is not modelled")),
    }
}

fn is_broadcast(ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V4(a) if a.is_broadcast())
}

/// A probe's request is an echo request, its reply an echo reply.
fn icmp_type(v: &str, pkt: &Pkt) -> Hit {
    if pkt.proto != "icmp" {
        return Ok(false);
    }
    let request = pkt.ct == "NEW";
    match v {
        "8" | "echo-request" => Ok(request),
        "0" | "echo-reply" => Ok(!request),
        "any" => Ok(true),
        other => Err(format!("icmp type {other} is not modelled")),
    }
}
