//! Bridged traffic through netfilter: with br_netfilter loaded and
//! `net.bridge.bridge-nf-call-iptables=1` in the bridge's namespace, a frame bridged from one
//! port to another passes that namespace's PREROUTING (raw, mangle) and FORWARD chains as if
//! routed, with the bridge as both in and out interface. A FORWARD policy DROP in a "switch"
//! namespace then cuts its ports off from each other.

use std::net::IpAddr;

use super::nf::judge;
use super::{Binding, Hop, Walk};
use crate::firewall::eval::{self, Pkt, Verdict};
use crate::model::{Link, LinkKind, Namespace};

impl Walk<'_> {
    /// The namespace and bridge a frame crossed port to port on its way from `oif` in `ns`
    /// to `next_iif` in `next`, if it did.
    fn bridged_in(
        &self,
        ns: &Namespace,
        oif: &str,
        next: &str,
        next_iif: &str,
    ) -> Option<(&Namespace, String)> {
        let (sw, port) = self.far_end(ns.link(oif)?)?;
        let bridge = port.master.clone()?;
        let (sw2, port2) = self.far_end(self.ns(next)?.link(next_iif)?)?;
        (sw2.name == sw.name && port2.master.as_deref() == Some(&bridge) && port2.name != port.name)
            .then_some((sw, bridge))
    }

    /// A reply bridged port to port in the namespace that DNATed its request, with
    /// bridge-nf-call-iptables=1 there, passes that namespace's conntrack (br_netfilter runs
    /// the nat hooks too), which un-DNATs its source on the bridge: no hairpin. Returns the
    /// address the reply shows from then on.
    pub(super) fn bridged_undnat(
        &self,
        ns: &Namespace,
        oif: &str,
        (next, next_iif): (&str, &str),
        src: IpAddr,
        bindings: &mut [Binding],
        hop: &mut Hop,
    ) -> Option<IpAddr> {
        let (sw, bridge) = self.bridged_in(ns, oif, next, next_iif)?;
        if sw.sysctls.bridge_nf_call_iptables != Some(1) {
            return None;
        }
        let b = bindings
            .iter_mut()
            .find(|b| b.ns == sw.name && !b.snat && !b.undone && b.new == src)?;
        hop.nat.push(format!(
            "reply from {} shows {} again while {} bridges it across {bridge} (un-DNAT, \
             net.bridge.bridge-nf-call-iptables=1)",
            b.new, b.orig, sw.name
        ));
        b.undone = true;
        Some(b.orig)
    }

    fn far_end(&self, link: &Link) -> Option<(&Namespace, &Link)> {
        if link.kind != LinkKind::Veth {
            return None;
        }
        let p = link.peer.as_ref()?;
        let ns = self.ns(p.namespace.as_deref()?)?;
        Some((ns, ns.link_by_index(p.ifindex)?))
    }

    /// Why the bridge's namespace drops the bridged packet, if it does: (namespace, cause).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn bridged_drop(
        &self,
        ns: &Namespace,
        oif: &str,
        next: &str,
        next_iif: &str,
        (src, dst, port): (IpAddr, IpAddr, Option<u16>),
        ct: &'static str,
        hop: &mut Hop,
    ) -> Option<(String, String)> {
        let (sw, bridge) = self.bridged_in(ns, oif, next, next_iif)?;
        if sw.sysctls.bridge_nf_call_iptables != Some(1) {
            return None;
        }
        let fw = sw.firewall.as_ref()?;
        let is_local = |ip: IpAddr| sw.addresses.iter().any(|a| a.address == ip);
        let mut pkt = Pkt {
            src,
            dst,
            proto: self.proto.clone(),
            dport: port,
            iif: Some(bridge.clone()),
            oif: None,
            ct,
            mark: 0,
        };
        let pre = ["raw", "mangle"];
        let (v, mark) = judge(fw, &pre, "PREROUTING", &pkt, &is_local, hop);
        let (chain, v) = match v {
            Verdict::Drop { .. } => ("PREROUTING", v),
            _ => {
                pkt.oif = Some(bridge.clone());
                pkt.mark = mark.unwrap_or(0);
                let v = judge(fw, eval::FORWARD, "FORWARD", &pkt, &is_local, hop).0;
                ("FORWARD", v)
            }
        };
        let Verdict::Drop { by } = v else {
            return None;
        };
        Some((
            sw.name.clone(),
            format!(
                "{chain} in {} drops it while bridging it across {bridge} \
                 (net.bridge.bridge-nf-call-iptables=1 sends bridged traffic through iptables): {by}",
                sw.name
            ),
        ))
    }
}

impl Walk<'_> {
    /// A frame a permanent neighbour entry sends to a MAC nobody on the bridge has is flooded
    /// to every port and dropped everywhere — unless bridge-nf-call-iptables=1 in the bridge's
    /// namespace and its PREROUTING DNATs the packet: br_netfilter runs PREROUTING on bridged
    /// frames, and a packet whose destination changed there is routed by the bridge's
    /// namespace whatever its MAC said (oracle seeds 301, 339: a port-forward reached with a
    /// wrong gateway MAC). Returns where the walk goes on: that namespace, in on the bridge.
    pub(super) fn flooded_dnat(
        &self,
        ns: &Namespace,
        oif: &str,
        (src, dst, port): (IpAddr, IpAddr, Option<u16>),
        hop: &mut Hop,
    ) -> Option<(String, String)> {
        let (sw, p) = self.far_end(ns.link(oif)?)?;
        let bridge = p.master.clone()?;
        if sw.sysctls.bridge_nf_call_iptables != Some(1) {
            return None;
        }
        let fw = sw.firewall.as_ref()?;
        let is_local = |ip: IpAddr| sw.addresses.iter().any(|a| a.address == ip);
        let pkt = Pkt {
            src,
            dst,
            proto: self.proto.clone(),
            dport: port,
            iif: Some(bridge.clone()),
            oif: None,
            ct: "NEW",
            mark: 0,
        };
        let mut scratch = hop.clone();
        let (v, _) = judge(
            fw,
            eval::PREROUTING,
            "PREROUTING",
            &pkt,
            &is_local,
            &mut scratch,
        );
        matches!(v, Verdict::Nat { ref target, .. } if target == "DNAT").then(|| {
            hop.via.push(format!(
                "flooded across {bridge} ({}): no port has that MAC, but br_netfilter \
                 DNATs it in PREROUTING (net.bridge.bridge-nf-call-iptables=1) and {} routes it",
                sw.name, sw.name
            ));
            (sw.name.clone(), bridge)
        })
    }
}
