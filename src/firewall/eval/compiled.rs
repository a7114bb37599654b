//! A namespace's iptables read once for the walk: each table's chains by name, and each
//! rule's address, protocol and port matches parsed. The doctor walks kube-proxy's chains
//! (≈ 1600 chains, 5000 rules) once per flow and per pod; re-reading each `-d 10.96.0.1/32`
//! on every match and finding jump targets by scanning every chain made a 1000-pod node
//! take seconds. Tables are compiled on first use, so a one-off walk pays only for the tables
//! at its hook.

use crate::model::fast_hash::FxHashMap;
use std::cell::OnceCell;
use std::net::IpAddr;
use std::sync::Arc;

use ipnet::IpNet;

use super::memo::{Memo, Tested};
use super::{decide_in, Decision, Pkt};
use crate::firewall::{Cond, Firewall, XtRule, XtTable};

/// One namespace's firewall as a walk reads it: its iptables tables, each compiled on first
/// use. Build it once per snapshot and namespace and walk it many times
/// ([`Compiled::decide_at`], always with the firewall it was built from). It does not
/// borrow the firewall, so an index that holds it stays covariant in its lifetime.
pub struct Compiled {
    tables: Vec<OnceCell<CTable>>,
    memo: OnceCell<Memo>,
    /// Whether tables jump through runs of one-host rules ([`Run`]); off only in tests, as the
    /// reference the runs are checked against.
    runs: bool,
}

/// A table's chains by name, each chain compiled on first use: a walk meets a few dozen of
/// kube-proxy's 1600 chains (a pod's packet passes `KUBE-SERVICES` without matching a VIP),
/// and compiling every rule of the table on a fresh `Facts` was 12% of a doctor run.
pub(super) struct CTable {
    /// Which of the firewall's iptables tables this is.
    pub idx: usize,
    index: FxHashMap<String, usize>,
    /// Parallel to `XtTable::chains`.
    chains: Vec<OnceCell<CChain>>,
    runs: bool,
}

/// One chain's rules' parsed matches, and the runs of one-host rules among them.
pub(super) struct CChain {
    pub rules: Vec<CRule>,
    /// Per rule: the [`Run`] (index into `runs`) the rule belongs to.
    run_at: Vec<Option<u32>>,
    runs: Vec<Run>,
}

/// A stretch of consecutive rules in one chain that each match exactly one host address by
/// source (or each by destination) and can never be "cannot judge": kube-proxy's
/// `KUBE-SERVICES` (`-d VIP/32 …`, 500 of them) and the bridge plugin's per-pod
/// `POSTROUTING -s POD/32 -j CNI-…` (one per pod). A packet can only match the rules of
/// its own address there, so the walk jumps straight to them instead of testing every one:
/// each skipped rule is a certain "no match", which the walk passes over without effect.
pub(super) struct Run {
    /// One past the run's last rule.
    end: usize,
    /// Keyed by the packet's source (else its destination).
    pub by_src: bool,
    /// The rules (indexes in the chain, ascending) of each host.
    at: FxHashMap<IpAddr, Vec<usize>>,
}

/// Runs shorter than this are walked rule by rule: the jump saves nothing there.
const MIN_RUN: usize = 8;

impl Run {
    /// The first rule at or after `from` that `ip` can match, else the run's end.
    pub fn next(&self, from: usize, ip: IpAddr) -> usize {
        let Some(rules) = self.at.get(&ip) else {
            return self.end;
        };
        let i = rules.partition_point(|&r| r < from);
        rules.get(i).copied().unwrap_or(self.end)
    }
}

/// The fixed matches of one rule, parsed: `None` where the rule has no such match.
#[derive(Default)]
pub(super) struct CRule {
    pub src: Option<(Vec<IpNet>, bool)>,
    pub dst: Option<(Vec<IpNet>, bool)>,
    /// Lower-cased, as `proto_is` compares.
    pub proto: Option<(String, bool)>,
    pub dport: Option<(Vec<(u16, u16)>, bool)>,
    /// Positions in the rule's `matches` of the options `matches_but_src` reads one by one
    /// (every option but those above and those that match everything): a kube-proxy rule's
    /// `-m comment --comment …` was compared with each parsed option name per rule per walk.
    /// Found when the rule is first tested: most rules of a run of one-host rules never are,
    /// and reading every compiled rule's options was most of compiling a table.
    pub rest: OnceCell<Vec<usize>>,
    /// The rule as a verdict names it (`TABLE CHAIN: RULE`), made on first use.
    pub name: OnceCell<String>,
}

impl Compiled {
    pub fn new(fw: &Firewall) -> Self {
        Compiled {
            tables: fw.iptables.iter().map(|_| OnceCell::new()).collect(),
            memo: OnceCell::new(),
            runs: true,
        }
    }

    /// [`Compiled::new`] walking every rule one by one: the reference for the runs.
    #[cfg(test)]
    pub(super) fn without_runs(fw: &Firewall) -> Self {
        Compiled {
            runs: false,
            ..Compiled::new(fw)
        }
    }

    /// The `i`th iptables table of `fw`, compiled.
    pub(super) fn table(&self, fw: &Firewall, i: usize) -> &CTable {
        self.tables[i].get_or_init(|| CTable::new(&fw.iptables[i], i, self.runs))
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
        decide_in((fw, self), (tables, chain), pkt, is_local, None)
    }

    /// [`Compiled::decide_at`], remembered: a packet that differs from one walked before
    /// only in its source, where every source match that walk reached answers the same for
    /// it, gets the same decision without a walk (see [`super::memo`]).
    /// `is_local` must be the same for every call on one `Compiled` (the namespace's own
    /// addresses): it is part of what is remembered. Shared with the memo, not copied: the
    /// doctor recalls tens of thousands a run.
    pub fn decide_remembered(
        &self,
        fw: &Firewall,
        tables: &[&str],
        chain: &str,
        pkt: &Pkt,
        is_local: &dyn Fn(IpAddr) -> bool,
    ) -> Arc<Decision> {
        assert_eq!(self.tables.len(), fw.iptables.len(), "not this firewall's");
        let memo = self.memo.get_or_init(|| Memo::new(fw));
        memo.get(
            (tables, chain),
            pkt,
            is_local,
            |test, (src, dst)| self.answer(fw, test, (src, dst)),
            |rec| decide_in((fw, self), (tables, chain), pkt, is_local, Some(rec)),
        )
    }

    /// What an address test a walk noted answers for a packet `src → dst`.
    fn answer(&self, fw: &Firewall, test: Tested, (src, dst): (IpAddr, IpAddr)) -> u32 {
        let inside = |hit: Option<(bool, bool)>| hit.map_or(0, |(_, inside)| u32::from(inside));
        let chain = |t: usize, c: usize| self.table(fw, t).at(&fw.iptables[t], c);
        match test {
            Tested::Src(t, c, r) => inside(super::matches::src_hit(&chain(t, c).rules[r], src)),
            Tested::Dst(t, c, r) => inside(super::matches::dst_hit(&chain(t, c).rules[r], dst)),
            Tested::Run(t, c, from) => {
                let cc = chain(t, c);
                let by_src = cc.run_at(from).is_some_and(|r| r.by_src);
                cc.run_next(from, if by_src { src } else { dst }) as u32
            }
        }
    }
}

impl CTable {
    fn new(t: &XtTable, idx: usize, with_runs: bool) -> Self {
        let mut index = FxHashMap::with_capacity_and_hasher(t.chains.len(), Default::default());
        for (i, c) in t.chains.iter().enumerate() {
            // The first chain of a name wins, as a linear search found it.
            index.entry(c.name.clone()).or_insert(i);
        }
        CTable {
            idx,
            index,
            chains: t.chains.iter().map(|_| OnceCell::new()).collect(),
            runs: with_runs,
        }
    }

    /// Chain `ci` of `t` (the table this was built from), compiled.
    pub fn at(&self, t: &XtTable, ci: usize) -> &CChain {
        self.chains[ci].get_or_init(|| CChain::new(&t.chains[ci].rules, self.runs))
    }

    /// The index of chain `name`.
    pub fn chain(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }
}

impl CChain {
    fn new(rules: &[XtRule], with_runs: bool) -> Self {
        let compiled: Vec<CRule> = rules.iter().map(compile_rule).collect();
        let mut runs = Vec::new();
        // A chain shorter than a run holds none (a bridge plugin's per-pod chain has two
        // rules, and a thousand of them are compiled on a node).
        let run_at = match with_runs && rules.len() >= MIN_RUN {
            true => find_runs(rules, &compiled, &mut runs),
            false => vec![None; rules.len()],
        };
        CChain {
            rules: compiled,
            run_at,
            runs,
        }
    }

    /// The run rule `ri` belongs to.
    pub fn run_at(&self, ri: usize) -> Option<&Run> {
        let at = (*self.run_at.get(ri)?)?;
        Some(&self.runs[at as usize])
    }

    /// [`Run::next`] of the run holding rule `from` (`from` itself when none).
    pub fn run_next(&self, from: usize, ip: IpAddr) -> usize {
        self.run_at(from).map_or(from, |r| r.next(from, ip))
    }
}

/// The one host address rule `cr` matches by source and by destination, where that is the
/// only address it takes there, not negated, and the rule can never be "cannot judge".
fn single_hosts(r: &XtRule, cr: &CRule) -> [Option<IpAddr>; 2] {
    let one = |c: &Option<(Vec<IpNet>, bool)>| {
        let (nets, negated) = c.as_ref()?;
        let [n] = nets.as_slice() else { return None };
        (!negated && n.prefix_len() == n.max_prefix_len()).then_some(n.addr())
    };
    let hosts = [one(&cr.src), one(&cr.dst)];
    if hosts == [None, None] || !super::matches::never_unsure(r) {
        return [None, None];
    }
    hosts
}

/// The runs of one chain's rules (pushed to `runs`), and each rule's run.
fn find_runs(rules: &[XtRule], cr: &[CRule], runs: &mut Vec<Run>) -> Vec<Option<u32>> {
    let hosts: Vec<[Option<IpAddr>; 2]> = rules
        .iter()
        .zip(cr)
        .map(|(r, c)| single_hosts(r, c))
        .collect();
    // How many one-host rules by source ([0]) and by destination ([1]) start at each rule.
    let mut left = vec![[0usize; 2]; rules.len() + 1];
    for i in (0..rules.len()).rev() {
        for k in 0..2 {
            left[i][k] = if hosts[i][k].is_some() {
                left[i + 1][k] + 1
            } else {
                0
            };
        }
    }
    let mut at = vec![None; rules.len()];
    let mut i = 0;
    while i < rules.len() {
        // The longer of the source run and the destination run starting here.
        let [s, d] = left[i];
        let (k, n) = if s >= d { (0, s) } else { (1, d) };
        if n < MIN_RUN {
            i += 1;
            continue;
        }
        let by_src = k == 0;
        let mut by_host: FxHashMap<IpAddr, Vec<usize>> = FxHashMap::default();
        for j in i..i + n {
            if let Some(ip) = hosts[j][k] {
                by_host.entry(ip).or_default().push(j);
            }
            at[j] = Some(runs.len() as u32);
        }
        runs.push(Run {
            end: i + n,
            by_src,
            at: by_host,
        });
        i += n;
    }
    at
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
        rest: OnceCell::new(),
        name: OnceCell::new(),
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
