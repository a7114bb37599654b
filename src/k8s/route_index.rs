//! [`super::input::route_to`] answered from an index built once: a node's host holds a route
//! per pod (and an IPv6 one per veth), and the ports check judges every table row and
//! NodePort from every peer, each judgement scanning all of them (≈ 7% of the doctor's run
//! at 1000 pods). Routes are kept by prefix length, longest first, each length a hash map
//! from network to its best route, so a look-up is one hash probe per length present.

use std::net::IpAddr;

use super::input::{route_net, routed};
use crate::model::fast_hash::FxHashMap;
use crate::model::{Namespace, Route};

/// One namespace's routes as [`super::input::route_to`] reads them, by index into its
/// `routes` (indexes, not borrows, so a holder of both stays simple).
pub struct RouteIndex {
    v4: Vec<(u8, FxHashMap<u32, usize>)>,
    v6: Vec<(u8, FxHashMap<u128, usize>)>,
    /// How many routes `ns` had: a look-up in another namespace is a caller's bug.
    len: usize,
}

fn mask4(a: u32, len: u8) -> u32 {
    a & u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0)
}

fn mask6(a: u128, len: u8) -> u128 {
    a & u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0)
}

/// `r` wins over `than` on the same network: a lower metric, or the same and later in the
/// table (`max_by_key` in the scan keeps the last of equals).
fn better(routes: &[Route], r: usize, than: usize) -> bool {
    routes[r].metric.unwrap_or(0) <= routes[than].metric.unwrap_or(0)
}

fn insert<K: std::hash::Hash + Eq>(
    by_len: &mut Vec<(u8, FxHashMap<K, usize>)>,
    routes: &[Route],
    len: u8,
    key: K,
    i: usize,
) {
    let pos = match by_len.iter().position(|(l, _)| *l == len) {
        Some(p) => p,
        None => {
            by_len.push((len, FxHashMap::default()));
            by_len.len() - 1
        }
    };
    let slot = by_len[pos].1.entry(key).or_insert(i);
    if *slot != i && better(routes, i, *slot) {
        *slot = i;
    }
}

impl RouteIndex {
    pub fn new(ns: &Namespace) -> Self {
        let mut ix = RouteIndex {
            v4: Vec::new(),
            v6: Vec::new(),
            len: ns.routes.len(),
        };
        for (i, r) in ns.routes.iter().enumerate().filter(|(_, r)| routed(r)) {
            let Some(net) = route_net(r) else {
                continue;
            };
            let len = net.prefix_len();
            match net.network() {
                IpAddr::V4(a) => insert(&mut ix.v4, &ns.routes, len, u32::from(a), i),
                IpAddr::V6(a) => insert(&mut ix.v6, &ns.routes, len, u128::from(a), i),
            }
        }
        ix.v4.sort_unstable_by_key(|(l, _)| std::cmp::Reverse(*l));
        ix.v6.sort_unstable_by_key(|(l, _)| std::cmp::Reverse(*l));
        ix
    }

    /// The route `ip` takes from `ns` (the namespace this index was built from): the same
    /// route as [`super::input::route_to`].
    pub fn route_to<'n>(&self, ns: &'n Namespace, ip: IpAddr) -> Option<&'n Route> {
        debug_assert_eq!(
            self.len,
            ns.routes.len(),
            "a route index of another namespace"
        );
        let i = match ip {
            IpAddr::V4(a) => {
                let a = u32::from(a);
                self.v4.iter().find_map(|(len, m)| m.get(&mask4(a, *len)))
            }
            IpAddr::V6(a) => {
                let a = u128::from(a);
                self.v6.iter().find_map(|(len, m)| m.get(&mask6(a, *len)))
            }
        };
        i.map(|&i| &ns.routes[i])
    }
}

#[cfg(test)]
#[path = "route_index_tests.rs"]
mod tests;
