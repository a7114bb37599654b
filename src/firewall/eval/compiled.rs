//! A namespace's iptables read once for the walk: each table's chains by name, and each
//! rule's address, protocol and port matches parsed. The doctor walks kube-proxy's chains
//! (≈ 1600 chains, 5000 rules) once per flow and per pod; re-reading each `-d 10.96.0.1/32`
//! on every match and finding jump targets by scanning every chain made a 1000-pod node
//! take seconds. Tables are compiled on first use, so a one-off walk pays only for the tables
//! at its hook.

use std::cell::OnceCell;
use std::collections::HashMap;
use std::net::IpAddr;

use ipnet::IpNet;

use super::memo::Memo;
use super::{decide_in, Decision, Pkt};
use crate::firewall::{Cond, Firewall, XtRule, XtTable};

/// One namespace's firewall as a walk reads it: its iptables tables, each compiled on first
/// use. Build it once per snapshot and namespace and walk it many times
/// ([`Compiled::decide_at`], always with the firewall it was built from). It does not
/// borrow the firewall, so an index that holds it stays covariant in its lifetime.
pub struct Compiled {
    tables: Vec<OnceCell<CTable>>,
    memo: OnceCell<Memo>,
}

/// A table's chains by name and its rules' parsed matches, parallel to `XtTable::chains`.
pub(super) struct CTable {
    index: HashMap<String, usize>,
    pub rules: Vec<Vec<CRule>>,
}

/// The fixed matches of one rule, parsed: `None` where the rule has no such match.
#[derive(Default)]
pub(super) struct CRule {
    pub src: Option<(Vec<IpNet>, bool)>,
    pub dst: Option<(Vec<IpNet>, bool)>,
    /// Lower-cased, as `proto_is` compares.
    pub proto: Option<(String, bool)>,
    pub dport: Option<(Vec<(u16, u16)>, bool)>,
}

impl Compiled {
    pub fn new(fw: &Firewall) -> Self {
        Compiled {
            tables: fw.iptables.iter().map(|_| OnceCell::new()).collect(),
            memo: OnceCell::new(),
        }
    }

    /// The `i`th iptables table of `fw`, compiled.
    pub(super) fn table(&self, fw: &Firewall, i: usize) -> &CTable {
        self.tables[i].get_or_init(|| CTable::new(&fw.iptables[i]))
    }

    /// [`super::decide_at`] over the compiled tables: the same decision. `fw` is the
    /// firewall this was built from.
    pub fn decide_at(
        &self,
        fw: &Firewall,
        tables: &[&str],
        chain: &str,
        pkt: &Pkt,
        is_local: &dyn Fn(IpAddr) -> bool,
    ) -> Decision {
        assert_eq!(self.tables.len(), fw.iptables.len(), "not this firewall's");
        decide_in((fw, self), tables, chain, pkt, is_local)
    }

    /// [`Compiled::decide_at`], remembered: a packet that differs from one walked before
    /// only in a source no rule tells apart gets the same decision without a walk.
    /// `is_local` must be the same for every call on one `Compiled` (the namespace's own
    /// addresses): it is part of what is remembered.
    pub fn decide_remembered(
        &self,
        fw: &Firewall,
        tables: &[&str],
        chain: &str,
        pkt: &Pkt,
        is_local: &dyn Fn(IpAddr) -> bool,
    ) -> Decision {
        let memo = self.memo.get_or_init(|| Memo::new(fw));
        memo.get((tables, chain), pkt, is_local, || {
            self.decide_at(fw, tables, chain, pkt, is_local)
        })
    }
}

impl CTable {
    fn new(t: &XtTable) -> Self {
        let mut index = HashMap::with_capacity(t.chains.len());
        for (i, c) in t.chains.iter().enumerate() {
            // The first chain of a name wins, as a linear search found it.
            index.entry(c.name.clone()).or_insert(i);
        }
        let rules = t
            .chains
            .iter()
            .map(|c| c.rules.iter().map(compile_rule).collect())
            .collect();
        CTable { index, rules }
    }

    /// The index of chain `name`.
    pub fn chain(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }
}

/// One rule's fixed matches, parsed.
pub(super) fn compile_rule(r: &XtRule) -> CRule {
    let net = |c: &Option<Cond>| c.as_ref().map(|c| (nets(&c.value), c.negated));
    CRule {
        src: net(&r.source),
        dst: net(&r.destination),
        proto: r
            .protocol
            .as_ref()
            .map(|c| (c.value.to_ascii_lowercase(), c.negated)),
        dport: r.dport.as_ref().map(|c| (ports(&c.value), c.negated)),
    }
}

/// `10.0.0.0/8`, `10.0.0.1`, or a comma list of them; an entry that is neither matches
/// nothing (as `net_has` reads it).
pub(super) fn nets(v: &str) -> Vec<IpNet> {
    v.split(',')
        .filter_map(|v| {
            v.parse::<IpNet>()
                .ok()
                .or_else(|| v.parse::<IpAddr>().ok().map(IpNet::from))
        })
        .collect()
}

/// `80`, `80:90`, `80,443,8000:8080` as ranges; a single port that does not parse matches
/// nothing (as `ports_have` reads it).
pub(super) fn ports(v: &str) -> Vec<(u16, u16)> {
    v.split(',')
        .filter_map(|part| match part.split_once(':') {
            Some((a, b)) => Some((a.parse().unwrap_or(0), b.parse().unwrap_or(u16::MAX))),
            None => part.parse().ok().map(|p| (p, p)),
        })
        .collect()
}

pub(super) fn nets_have(n: &[IpNet], ip: IpAddr) -> bool {
    n.iter().any(|n| n.contains(&ip))
}

pub(super) fn ranges_have(r: &[(u16, u16)], p: u16) -> bool {
    r.iter().any(|&(a, b)| (a..=b).contains(&p))
}
