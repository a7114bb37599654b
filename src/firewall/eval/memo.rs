//! Decisions remembered per flow, with senders the walk did not tell apart sharing one: the
//! doctor asks the same question for every pod behind a bridge (1000 pods, each walking
//! kube-proxy's chains), and only the rules' source matches (`-s`, `--src-type`) see the
//! sender.
//!
//! A walk is a function of the packet, and it reads the source only through the source
//! tests it makes (a rule's `-s` once everything else in the rule matched, a run of one-host
//! rules by source) and `--src-type` (the source's kind, part of the key). So the walk notes
//! each source test and its answer, in order; for another packet with the same key, the walk
//! would make the same first test, and while the answers agree, the same next one — and end
//! with the same decision. The memo is that tree of tests per key: a lookup replays the tests
//! on the new source and follows the answers down to a decision, or walks (and grows the
//! tree) where no walk went yet. A bridge plugin's per-pod `-s POD/32` rule is a test only
//! for the walks that reach it, so pods share decisions wherever their rules do not differ.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::IpAddr;

use super::{Decision, Pkt};
use crate::firewall::Firewall;

/// A source test a walk made: rule `-s` (table, chain, rule indexes; answered 1 when the
/// source is among the rule's addresses, before negation) or the jump through a run of
/// one-host rules by source (table, chain, first rule; answered with the rule jumped to).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Tested {
    Src(usize, usize, usize),
    Run(usize, usize, usize),
}

/// What a walk's outcome can depend on besides its source tests.
#[derive(PartialEq, Eq, Hash)]
struct Key {
    hook: String,
    /// The exact source when a native nft table is walked too (its matches are not noted).
    exact: Option<IpAddr>,
    /// `is_local`, loopback, multicast, broadcast: what `--src-type` reads.
    src_kind: [bool; 4],
    dst: IpAddr,
    proto: String,
    dport: Option<u16>,
    iif: Option<String>,
    oif: Option<String>,
    ct: &'static str,
    mark: u32,
}

/// The tree of one key's walks.
enum Node {
    /// Where a walk is being added.
    Empty,
    Decided(Decision),
    /// The next test every walk that got here made, and where each answer leads.
    Test(Tested, HashMap<u32, Node>),
}

/// The memo of one compiled firewall.
#[derive(Default)]
pub(super) struct Memo {
    /// A native nft table is walked too.
    native: bool,
    seen: RefCell<HashMap<Key, Node>>,
}

impl Memo {
    pub(super) fn new(fw: &Firewall) -> Self {
        Memo {
            native: fw
                .nft
                .iter()
                .any(|t| !super::claimed_by_iptables_nft(fw, t)),
            seen: RefCell::default(),
        }
    }

    /// The decision for `pkt` at `hook` (tables and chain), from memory or from `walk`
    /// (which notes its source tests); `answer(test, src)` replays a noted test.
    pub(super) fn get(
        &self,
        hook: (&[&str], &str),
        pkt: &Pkt,
        is_local: &dyn Fn(IpAddr) -> bool,
        answer: impl Fn(Tested, IpAddr) -> u32,
        walk: impl FnOnce(&RefCell<Vec<(Tested, u32)>>) -> Decision,
    ) -> Decision {
        let key = Key {
            hook: format!("{} {}", hook.0.join(","), hook.1),
            exact: self.native.then_some(pkt.src),
            src_kind: [
                is_local(pkt.src),
                pkt.src.is_loopback(),
                pkt.src.is_multicast(),
                matches!(pkt.src, IpAddr::V4(a) if a.is_broadcast()),
            ],
            dst: pkt.dst,
            proto: pkt.proto.clone(),
            dport: pkt.dport,
            iif: pkt.iif.clone(),
            oif: pkt.oif.clone(),
            ct: pkt.ct,
            mark: pkt.mark,
        };
        if let Some(d) = self.recall(&key, |t| answer(t, pkt.src)) {
            return d;
        }
        let rec = RefCell::new(Vec::new());
        let d = walk(&rec);
        let mut seen = self.seen.borrow_mut();
        let mut node = seen.entry(key).or_insert(Node::Empty);
        for (test, got) in rec.into_inner() {
            if let Node::Empty = node {
                *node = Node::Test(test, HashMap::new());
            }
            node = match node {
                Node::Test(t, next) if *t == test => next.entry(got).or_insert(Node::Empty),
                // Walks are deterministic, so this cannot happen; if it did, not
                // remembering is always right.
                _ => return d,
            };
        }
        if let Node::Empty = node {
            *node = Node::Decided(d.clone());
        }
        d
    }

    /// The decision a walk with the same key and the same answers reached, if any.
    fn recall(&self, key: &Key, answer: impl Fn(Tested) -> u32) -> Option<Decision> {
        let seen = self.seen.borrow();
        let mut node = seen.get(key)?;
        loop {
            match node {
                Node::Decided(d) => return Some(d.clone()),
                Node::Test(t, next) => node = next.get(&answer(*t))?,
                Node::Empty => return None,
            }
        }
    }
}
