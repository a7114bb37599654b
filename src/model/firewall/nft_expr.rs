//! Native nftables rules as typed statements (the snapshot's form of an `nft -j` rule): the
//! matches, marks, verdicts and NAT statements the evaluator can walk. Anything else is
//! [`NftStmt::Unmodeled`]. Parsed by `crate::firewall::nft_expr`, walked by
//! `crate::firewall::eval`.

use serde::{Deserialize, Serialize};

/// What a match looks at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NftKey {
    /// `ip saddr` (v6 false) / `ip6 saddr` (v6 true): never matches the other family.
    Saddr {
        v6: bool,
    },
    Daddr {
        v6: bool,
    },
    Iifname,
    Oifname,
    Iif,
    Oif,
    /// `meta l4proto`, `ip protocol`, `ip6 nexthdr`.
    L4proto,
    /// `meta nfproto`: `ipv4` / `ipv6`.
    Nfproto,
    /// `meta mark [& mask]`.
    Mark {
        mask: u32,
    },
    /// `ct mark [& mask]`.
    CtMark {
        mask: u32,
    },
    CtState,
    /// `tcp|udp|sctp|th dport`: also requires that protocol (`th`: tcp or udp).
    Dport {
        proto: String,
    },
    Sport {
        proto: String,
    },
    /// `icmp type` / `icmpv6 type`.
    IcmpType {
        proto: String,
    },
}

/// The comparison of a match; `in` (flags, sets) is [`NftOp::Eq`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NftOp {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

/// One value on the right of a match, or one element of an anonymous set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NftAtom {
    Text(String),
    Num(u64),
    /// `10.0.0.0/8`.
    Prefix {
        addr: String,
        len: u8,
    },
    /// `1000-2000`, `10.0.0.1-10.0.0.9`.
    Range {
        lo: String,
        hi: String,
    },
    /// `@name`: a named set of the rule's table, looked up when the rule is walked.
    SetRef(String),
}

/// A named set or verdict map of a table, as far as the evaluator can use it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NftNamedSet {
    pub name: String,
    /// A set's elements; `None` when not usable (dynamic or timed: packets change it, and
    /// the snapshot's copy is stale; too large; elements not understood; a data map).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elems: Option<Vec<NftAtom>>,
    /// A verdict map's entries, when usable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdicts: Option<Vec<NftVmapEntry>>,
}

/// One element of a verdict map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NftVmapEntry {
    pub when: NftAtom,
    /// `accept`, `drop`, `continue`, `return`, `jump`, `goto`.
    pub verdict: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

/// One statement of a rule, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "stmt", rename_all = "snake_case")]
pub enum NftStmt {
    /// The rule goes on only if it holds; the right side is one value or a set (any of).
    Match {
        key: NftKey,
        op: NftOp,
        right: Vec<NftAtom>,
    },
    /// `accept`, `drop`, `continue`, `return`, `jump` / `goto` (with `target`).
    Verdict {
        verdict: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target: Option<String>,
    },
    Reject,
    /// `KEY vmap { VALUE : VERDICT, … }` (firewalld dispatches zones this way): the first
    /// entry whose value the packet's key equals gives the verdict; none ends the rule.
    Vmap {
        key: NftKey,
        entries: Vec<NftVmapEntry>,
        /// `vmap @name`: the entries are the named map's, looked up when walked.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        named: Option<String>,
    },
    /// `masquerade`, `snat`, `dnat`, `redirect`, with `to` as iptables writes it
    /// (`10.0.0.2:80`, `:8080`).
    Nat {
        nat: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<String>,
    },
    /// `meta mark set V` (ct false) or `ct mark set V` (ct true).
    SetMark {
        ct: bool,
        value: u32,
    },
    /// `counter`, `log`, `limit`, dynamic set updates: nothing the packet's fate depends on.
    Nop,
    /// A match or statement not modelled (named sets, maps, fib, …): why.
    Unmodeled {
        what: String,
    },
}
