//! Links by (namespace, ifindex), built once per snapshot.
//!
//! `Namespace::link_by_index` walks the namespace's links. Called once per link (peers,
//! masters, addresses), that is quadratic in the size of one namespace, and a container owns
//! its namespace: 100,000 dummy links or veths (or a saved snapshot claiming them) made
//! `doctor` run for minutes and would stall collection and the report for every other
//! namespace. Callers that look up per link use this map instead.

use super::fast_hash::FxHashMap;

use super::{Link, Namespace};

pub struct LinkIndex<'a> {
    by_key: FxHashMap<(usize, u32), &'a Link>,
}

impl<'a> LinkIndex<'a> {
    /// Every link of `namespaces`, keyed by (position of its namespace, ifindex). Where a
    /// (hostile or damaged) snapshot repeats an index, the first link wins, as
    /// `link_by_index` would find it.
    pub fn new(namespaces: &'a [Namespace]) -> Self {
        let mut by_key = FxHashMap::default();
        for (ni, ns) in namespaces.iter().enumerate() {
            for l in &ns.links {
                by_key.entry((ni, l.index)).or_insert(l);
            }
        }
        LinkIndex { by_key }
    }

    pub fn get(&self, ns: usize, ifindex: u32) -> Option<&'a Link> {
        self.by_key.get(&(ns, ifindex)).copied()
    }
}
