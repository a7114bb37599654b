//! Decisions remembered per flow, with packets the walk did not tell apart sharing one: the
//! doctor asks the same question for every pod behind a bridge (1000 pods, each walking
//! kube-proxy's chains), and only the rules' address matches (`-s`, `-d`, `--src-type`,
//! `--dst-type`) see which pod it is.
//!
//! A walk is a function of the packet, and it reads the addresses only through the address
//! tests it makes (a rule's `-d` and `-s` once everything else in the rule matched, a run of
//! one-host rules by source or destination) and the addresses' kinds (`--src-type`,
//! `--dst-type`, the family: part of the key). So the walk notes each address test and its
//! answer, in order; for another packet with the same key, the walk would make the same
//! first test, and while the answers agree, the same next one — and end with the same
//! decision. The memo is that tree of tests per key: a lookup replays the tests on the new
//! packet and follows the answers down to a decision, or walks (and grows the tree) where no
//! walk went yet. A bridge plugin's per-pod `-s POD/32` rule is a test only for the walks
//! that reach it, so pods share decisions wherever their rules do not differ — and so do
//! replies to them, and connections to them, which differ by destination (kube-proxy's
//! `-d VIP/32` runs are tests too).

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::sync::Arc;

use super::{Decision, Pkt};
use crate::firewall::Firewall;
use crate::model::fast_hash::{hasher, FxBuild};

/// An address test a walk made: rule `-s` or `-d` (table, chain, rule indexes; answered 1
/// when the address is among the rule's addresses, before negation) or the jump through a
/// run of one-host rules by source or by destination (table, chain, first rule; answered
/// with the rule jumped to).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Tested {
    Src(usize, usize, usize),
    Dst(usize, usize, usize),
    Run(usize, usize, usize),
}

/// What a walk's outcome can depend on besides its source tests.
#[derive(PartialEq, Eq)]
struct Key {
    tables: Vec<String>,
    chain: String,
    /// The exact addresses when a native nft table is walked too (its matches are not
    /// noted).
    exact: Option<(IpAddr, IpAddr)>,
    /// `is_local`, loopback, multicast, broadcast: what `--src-type` reads.
    src_kind: [bool; 4],
    /// The same of the destination (`--dst-type`), and its family (which tables see it).
    dst_kind: [bool; 5],
    proto: String,
    dport: Option<u16>,
    iif: Option<String>,
    oif: Option<String>,
    ct: &'static str,
    mark: u32,
}

/// [`Key`] borrowed from a call: what a look-up hashes and compares, so that a decision
/// remembered costs no allocation (the doctor asks tens of thousands of times a run).
struct KeyRef<'k> {
    tables: &'k [&'k str],
    chain: &'k str,
    exact: Option<(IpAddr, IpAddr)>,
    src_kind: [bool; 4],
    dst_kind: [bool; 5],
    pkt: &'k Pkt,
}

impl KeyRef<'_> {
    /// A hash of the key. Only `get` and `recall` use it, to find a bucket (whose keys are
    /// then compared whole), so it need not be `Hash`'s: the flags and small numbers go in as
    /// one word each, where hashing field by field cost a multiply per byte-sized field
    /// (a third of a look-up in a profile).
    fn hash(&self) -> u64 {
        let mut h = hasher();
        for t in self.tables {
            h.write(t.as_bytes());
        }
        h.write_usize(self.tables.len());
        h.write(self.chain.as_bytes());
        let p = self.pkt;
        h.write(p.proto.as_bytes());
        h.write(p.iif.as_deref().unwrap_or("").as_bytes());
        h.write(p.oif.as_deref().unwrap_or("").as_bytes());
        h.write(p.ct.as_bytes());
        let bits = |b: &[bool]| b.iter().fold(0u64, |w, &b| (w << 1) | u64::from(b));
        let flags = bits(&self.src_kind) << 9
            | bits(&self.dst_kind) << 4
            | bits(&[
                p.iif.is_some(),
                p.oif.is_some(),
                p.dport.is_some(),
                self.exact.is_some(),
            ]);
        h.write_u64(flags | u64::from(p.dport.unwrap_or(0)) << 16 | u64::from(p.mark) << 32);
        if let Some((a, b)) = self.exact {
            a.hash(&mut h);
            b.hash(&mut h);
        }
        h.finish()
    }

    fn is(&self, k: &Key) -> bool {
        let p = self.pkt;
        k.tables.len() == self.tables.len()
            && k.tables.iter().zip(self.tables).all(|(a, b)| a == b)
            && k.chain == self.chain
            && k.exact == self.exact
            && k.src_kind == self.src_kind
            && k.dst_kind == self.dst_kind
            && k.proto == p.proto
            && k.dport == p.dport
            && k.iif.as_deref() == p.iif.as_deref()
            && k.oif.as_deref() == p.oif.as_deref()
            && k.ct == p.ct
            && k.mark == p.mark
    }

    fn owned(&self) -> Key {
        let p = self.pkt;
        Key {
            tables: self.tables.iter().map(|t| t.to_string()).collect(),
            chain: self.chain.to_string(),
            exact: self.exact,
            src_kind: self.src_kind,
            dst_kind: self.dst_kind,
            proto: p.proto.clone(),
            dport: p.dport,
            iif: p.iif.clone(),
            oif: p.oif.clone(),
            ct: p.ct,
            mark: p.mark,
        }
    }
}

/// The tree of one key's walks.
enum Node {
    /// Where a walk is being added.
    Empty,
    /// Shared, not cloned, with each look-up: a verdict holds the rule's text, and the doctor
    /// recalls tens of thousands of decisions a run. `Arc`, so a compiled firewall and its
    /// memo can be kept from one live update to the next on the doctor's thread.
    Decided(Arc<Decision>),
    /// The next test every walk that got here made, and where each answer leads (a run of a
    /// thousand pods' rules has a thousand answers).
    Test(Tested, HashMap<u32, Node, FxBuild>),
}

/// The keys of one hash, each with its tree.
type Bucket = Vec<(Key, Node)>;

/// The memo of one compiled firewall.
#[derive(Default)]
pub(super) struct Memo {
    /// A native nft table is walked too.
    native: bool,
    /// By the hash of the key, each key with its tree (a bucket holds more than one only on
    /// a hash collision).
    seen: RefCell<HashMap<u64, Bucket, FxBuild>>,
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
        answer: impl Fn(Tested, (IpAddr, IpAddr)) -> u32,
        walk: impl FnOnce(&RefCell<Vec<(Tested, u32)>>) -> Decision,
    ) -> Arc<Decision> {
        let kind = |ip: IpAddr| {
            [
                is_local(ip),
                ip.is_loopback(),
                ip.is_multicast(),
                matches!(ip, IpAddr::V4(a) if a.is_broadcast()),
            ]
        };
        let [l, lo, m, b] = kind(pkt.dst);
        let key = KeyRef {
            tables: hook.0,
            chain: hook.1,
            exact: self.native.then_some((pkt.src, pkt.dst)),
            src_kind: kind(pkt.src),
            dst_kind: [l, lo, m, b, pkt.dst.is_ipv4()],
            pkt,
        };
        let h = key.hash();
        if let Some(d) = self.recall(h, &key, |t| answer(t, (pkt.src, pkt.dst))) {
            return d;
        }
        let rec = RefCell::new(Vec::new());
        let d = Arc::new(walk(&rec));
        let mut seen = self.seen.borrow_mut();
        let bucket = seen.entry(h).or_default();
        let at = match bucket.iter().position(|(k, _)| key.is(k)) {
            Some(i) => i,
            None => {
                bucket.push((key.owned(), Node::Empty));
                bucket.len() - 1
            }
        };
        let mut node = &mut bucket[at].1;
        for (test, got) in rec.into_inner() {
            if let Node::Empty = node {
                *node = Node::Test(test, HashMap::default());
            }
            node = match node {
                Node::Test(t, next) if *t == test => next.entry(got).or_insert(Node::Empty),
                // Walks are deterministic, so this cannot happen; if it did, not
                // remembering is always right.
                _ => return d,
            };
        }
        if let Node::Empty = node {
            *node = Node::Decided(Arc::clone(&d));
        }
        d
    }

    /// The decision a walk with the same key and the same answers reached, if any.
    fn recall(
        &self,
        h: u64,
        key: &KeyRef,
        answer: impl Fn(Tested) -> u32,
    ) -> Option<Arc<Decision>> {
        let seen = self.seen.borrow();
        let mut node = &seen.get(&h)?.iter().find(|(k, _)| key.is(k))?.1;
        loop {
            match node {
                Node::Decided(d) => return Some(Arc::clone(d)),
                Node::Test(t, next) => node = next.get(&answer(*t))?,
                Node::Empty => return None,
            }
        }
    }
}
