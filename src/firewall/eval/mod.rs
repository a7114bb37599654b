//! The one netfilter evaluator of netlens, iptables and native nftables: what the rules a
//! snapshot holds do to one packet. `path`, `trace`, `ports` and the doctor's NAT and FORWARD rules all ask it, so they cannot
//! disagree. Pure: a packet and a firewall in, a decision out.
//!
//! At a hook it walks the tables the kernel walks there, in the kernel's order (raw → mangle
//! → nat → filter), follows jumps, gotos, RETURN and built-in policies, and carries the
//! packet mark (`MARK`, `CONNMARK`, `-m mark`) from table to table. A rule whose match it
//! does not model is tried both ways: when that changes the outcome, the answer is
//! [`Verdict::CannotJudge`] naming the rule and why, never a guess. Native nft base chains
//! (tables of family ip/ip6/inet that iptables-nft did not create) are walked too, at their
//! priority among the iptables tables; `bridge`, `arp` and `netdev` tables are not.

mod compiled;
mod matches;
mod memo;
mod nft_match;
mod nft_walk;
mod units;
mod walk;

use std::net::IpAddr;

use crate::firewall::{Firewall, IpFamily};
pub use compiled::Compiled;
use matches::Ctx;
pub use nft_walk::chain_name as nft_chain_name;
pub use units::claimed_by_iptables_nft;
use units::{units, Unit};
pub use walk::rule_text;

/// The packet as one namespace's netfilter sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pkt {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// `tcp`, `udp` or `icmp`.
    pub proto: String,
    pub dport: Option<u16>,
    pub iif: Option<String>,
    pub oif: Option<String>,
    /// Conntrack state: `NEW` for a probe's first packet, `ESTABLISHED` for its reply.
    pub ct: &'static str,
    /// The packet mark when it reaches the hook (0 for a fresh packet).
    pub mark: u32,
}

/// The end of a walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    Drop {
        by: String,
    },
    /// A NAT target: `DNAT`, `SNAT`, `MASQUERADE`, `REDIRECT` (with its arguments) and the rule.
    Nat {
        target: String,
        to: Option<String>,
        by: String,
    },
    /// A rule the evaluator does not model decides the outcome: which, and why.
    CannotJudge {
        by: String,
        why: String,
    },
}

/// A verdict and what the walk could not judge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub verdict: Verdict,
    /// What the rules say when every rule that cannot be judged is taken as not matching:
    /// the same as `verdict` unless that is `CannotJudge`. For display only.
    pub assumed: Verdict,
    /// Rules that could not be judged (whether or not they changed the outcome).
    pub unsure: Vec<String>,
    /// The packet mark after the walk; `None` when it depends on a rule not judged.
    pub mark: Option<u32>,
}

impl Decision {
    /// True when the packet is dropped for sure.
    pub fn drops(&self) -> bool {
        matches!(self.verdict, Verdict::Drop { .. })
    }
}

/// Tables in the kernel's order at each hook (iptables priorities: raw -300, mangle -150,
/// dst-nat -100, filter 0, src-nat 100). `security` is left out: nothing we read uses it.
pub const PREROUTING: &[&str] = &["raw", "mangle", "nat"];
pub const INPUT: &[&str] = &["mangle", "filter"];
pub const FORWARD: &[&str] = &["mangle", "filter"];
/// A local process's packet before its route is final: raw, mangle, then DNAT.
pub const OUTPUT_PRE: &[&str] = &["raw", "mangle", "nat"];
pub const OUTPUT_FILTER: &[&str] = &["filter"];
pub const POSTROUTING: &[&str] = &["mangle", "nat"];

/// Whether `fw` holds nothing a walk could meet: no rule, and no chain policy but accept,
/// in any table. Every packet passes it as it came (accepted, its mark kept, nothing
/// unsure), so a caller judging many packets may skip the walks: a node's pods each hold
/// such an empty firewall, and the doctor judged every one of them neighbour by neighbour.
pub fn passes_everything(fw: &Firewall) -> bool {
    fw.iptables.iter().all(|t| !t.holds_rules()) && fw.nft.iter().all(|t| !t.holds_rules())
}

fn family(ip: IpAddr) -> IpFamily {
    if ip.is_ipv4() {
        IpFamily::V4
    } else {
        IpFamily::V6
    }
}

/// Walks chain `chain` of one table (every iptables backend holding it: nft and legacy both
/// hook in) for `pkt`. `is_local(ip)` says whether the namespace holds `ip`.
pub fn decide(
    fw: &Firewall,
    table: &str,
    chain: &str,
    pkt: &Pkt,
    is_local: &dyn Fn(IpAddr) -> bool,
) -> Decision {
    decide_at(fw, &[table], chain, pkt, is_local)
}

/// Walks `chain` in each of `tables`, in that order, as the kernel does at one hook, with
/// the native nft base chains on that hook interleaved by priority (see [`units`]): the
/// first that drops (or cannot be judged) ends it; `accept` ends only its own table or base
/// chain; the first NAT decides the translation and later NAT chains are skipped, while
/// filter chains after it still run; the mark carries over.
///
/// This compiles the tables it walks for one call; a caller that walks one firewall many
/// times builds a [`Compiled`] once and calls [`Compiled::decide_at`].
pub fn decide_at(
    fw: &Firewall,
    tables: &[&str],
    chain: &str,
    pkt: &Pkt,
    is_local: &dyn Fn(IpAddr) -> bool,
) -> Decision {
    decide_in(
        (fw, &Compiled::new(fw)),
        (tables, chain),
        pkt,
        is_local,
        None,
    )
}

fn decide_in(
    (fw, c): (&Firewall, &Compiled),
    (tables, chain): (&[&str], &str),
    pkt: &Pkt,
    is_local: &dyn Fn(IpAddr) -> bool,
    rec: matches::Rec,
) -> Decision {
    let mut cx = Ctx {
        mark: Some(pkt.mark),
        // A new connection's conntrack mark starts at 0; a reply's was set earlier.
        ctmark: (pkt.ct == "NEW").then_some(0),
        is_local,
        rec,
    };
    let mut unsure = Vec::new();
    let mut assumed = Verdict::Accept;
    let mut verdict = Verdict::Accept;
    let mut nat: Option<Verdict> = None;
    for unit in units(fw, tables, chain, pkt) {
        if nat.is_some() && unit.is_nat() {
            continue;
        }
        let r = match unit {
            Unit::Xt(t, i) => walk::table((t, c.table(fw, i)), chain, pkt, &mut cx, &mut unsure),
            Unit::Nft(t, ci, _) => nft_walk::base_chain(t, ci, pkt, &mut cx, &mut unsure),
        };
        if assumed == Verdict::Accept {
            assumed = r.assumed.clone();
        }
        match r.verdict {
            Verdict::Accept => {}
            v @ Verdict::Nat { .. } => nat = Some(v),
            v => {
                verdict = v;
                break;
            }
        }
    }
    if verdict == Verdict::Accept {
        if let Some(n) = nat {
            verdict = n;
        }
    }
    if !matches!(verdict, Verdict::CannotJudge { .. }) {
        assumed = verdict.clone();
    }
    unsure.dedup();
    Decision {
        verdict,
        assumed,
        unsure,
        mark: cx.mark,
    }
}

#[cfg(test)]
mod compiled_tests;
#[cfg(test)]
mod memo_tests;
#[cfg(test)]
mod nft_tests;
#[cfg(test)]
mod passes_tests;
#[cfg(test)]
mod tests;
