//! Transit: which other namespaces use this one as a gateway to somewhere beyond it.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::Facts;
use crate::model::{Link, Namespace};

/// Another namespace sending traffic through this one: `from` routes `dst` via `gw`, an
/// address this namespace holds on `link`.
#[derive(Debug, Clone, Copy)]
pub struct GatewayUse<'a> {
    pub from: &'a Namespace,
    pub dst: Ipv4Net,
    pub gw: Ipv4Addr,
    pub link: &'a Link,
}

impl<'a> Facts<'a> {
    /// Who uses `ns` as a gateway to somewhere beyond it: a default route, or a route to a
    /// destination some *other* namespace holds addresses in (a route to the gateway's own
    /// address, like 8.8.8.8/32 via the namespace holding 8.8.8.8, is not transit).
    pub fn transit_uses(&self, ns: &'a Namespace) -> Vec<GatewayUse<'a>> {
        let mut out: Vec<GatewayUse<'a>> = Vec::new();
        let mut seen: crate::model::fast_hash::FxHashSet<(&str, Ipv4Net, Ipv4Addr)> =
            Default::default();
        for h in self.held_in(ns).filter(|h| h.live()) {
            let gw = h.ip();
            for &(from, dst) in self.gw_uses.get(&gw).into_iter().flatten() {
                // Only a namespace on the segment of the link holding the address reaches
                // it: another segment reusing the subnet has a gateway of its own.
                if from.name == ns.name || !self.reaches(from, h) {
                    continue;
                }
                // An address held twice (two links) is one gateway: the first link counts.
                if !seen.insert((from.name.as_str(), dst, gw)) {
                    continue;
                }
                let beyond = dst.prefix_len() == 0
                    || self
                        .held
                        .iter()
                        .any(|o| o.ns.name != ns.name && o.live() && dst.contains(&o.ip()));
                if beyond {
                    out.push(GatewayUse {
                        from,
                        dst,
                        gw,
                        link: h.link,
                    });
                }
            }
        }
        out
    }
}
