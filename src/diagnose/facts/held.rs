//! Who holds which address: look-ups by link, by address and by namespace, built once so
//! rules ask per link or per address instead of walking every address of the snapshot.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::{subnet, Facts, Held, LinkKey};
use crate::model::{Link, Namespace};

impl<'a> Facts<'a> {
    pub(super) fn build_lookups(&mut self) {
        for (i, h) in self.held.iter().enumerate() {
            if let Some(ni) = self.ns_idx(&h.ns.name) {
                self.held_on.entry((ni, h.link.index)).or_default().push(i);
            }
            self.held_at.entry(h.ip()).or_default().push(i);
        }
        for &(ni, ns) in &self.namespaces {
            for l in &ns.links {
                if let Some(m) = l.master_index {
                    self.ports.entry((ni, m)).or_default().push(l);
                }
            }
        }
    }

    /// Addresses held by link `ifindex` of `ns`.
    pub fn held_on<'s>(
        &'s self,
        ns: &Namespace,
        ifindex: u32,
    ) -> impl Iterator<Item = &'s Held<'a>> + 's {
        let at = self
            .ns_idx(&ns.name)
            .and_then(|ni| self.held_on.get(&(ni, ifindex)))
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        at.iter().map(|&i| &self.held[i])
    }

    /// Addresses held by the link at `key`.
    pub fn held_at_key<'s>(&'s self, key: LinkKey) -> impl Iterator<Item = &'s Held<'a>> + 's {
        let at = self.held_on.get(&key).map(Vec::as_slice).unwrap_or(&[]);
        at.iter().map(|&i| &self.held[i])
    }

    /// The links of `ns` whose master is `bridge`, in link order.
    pub fn ports_of(&self, ns: &Namespace, bridge: &Link) -> &[&'a Link] {
        self.ns_idx(&ns.name)
            .and_then(|ni| self.ports.get(&(ni, bridge.index)))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Who holds `ip` (any link state).
    pub fn holders(&self, ip: Ipv4Addr) -> impl Iterator<Item = &Held<'a>> {
        let at = self.held_at.get(&ip).map(Vec::as_slice).unwrap_or(&[]);
        at.iter().map(|&i| &self.held[i])
    }

    /// The namespace holding `ip` on an up link, if any.
    pub fn live_holder(&self, ip: Ipv4Addr) -> Option<&Held<'a>> {
        self.holders(ip).find(|h| h.live())
    }

    /// Addresses held in namespace `ns`.
    pub fn held_in<'s>(&'s self, ns: &'s Namespace) -> impl Iterator<Item = &'s Held<'a>> + 's {
        let range = self
            .held_range
            .get(ns.name.as_str())
            .cloned()
            .unwrap_or(0..0);
        self.held[range].iter()
    }

    /// Live subnets of `ns` (distinct, from its addresses).
    pub fn live_subnets(&self, ns: &Namespace) -> Vec<Ipv4Net> {
        let mut nets: Vec<Ipv4Net> = self
            .held_in(ns)
            .filter(|h| h.live())
            .map(|h| subnet(h.net))
            .collect();
        nets.sort();
        nets.dedup();
        nets
    }
}
