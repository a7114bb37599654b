//! One leg of the path (the request, or the reply), hop by hop: in each namespace the stages
//! of [`Walk::through`] — netfilter before routing, the kernel's route, local delivery or the
//! filter and NAT after routing, then layer 2 to the next namespace — until one of them ends
//! the leg.

use std::collections::HashSet;
use std::net::IpAddr;

use super::{Binding, Hop, Leg, Outcome, Walk, MAX_HOPS};
use crate::firewall::eval::{Pkt, Verdict};
use crate::firewall::Firewall;
use crate::model::{Namespace, RouteKind};

/// Where a delivered packet arrived: (namespace, src, dst) as it looked there.
pub(super) type Arrival = (String, IpAddr, IpAddr);

/// The packet as it enters a namespace.
pub(super) struct At {
    pub(super) ns: String,
    pub(super) iif: Option<String>,
    pub(super) src: Option<IpAddr>,
    pub(super) dst: IpAddr,
    pub(super) port: Option<u16>,
}

/// The namespace being crossed, as its netfilter sees the packet.
pub(super) struct Here<'a> {
    pub(super) ns: &'a Namespace,
    pub(super) fw: &'a Firewall,
    pub(super) iif: Option<String>,
    pub(super) reply: bool,
    pub(super) proto: &'a str,
    /// The mark is the packet's own within one namespace: crossing a veth clears it.
    pub(super) mark: u32,
}

impl Here<'_> {
    pub(super) fn ct(&self) -> &'static str {
        if self.reply {
            "ESTABLISHED"
        } else {
            "NEW"
        }
    }

    pub(super) fn pkt(
        &self,
        src: IpAddr,
        dst: IpAddr,
        port: Option<u16>,
        oif: Option<&str>,
    ) -> Pkt {
        Pkt {
            src,
            dst,
            proto: self.proto.to_string(),
            dport: port,
            iif: self.iif.clone(),
            oif: oif.map(str::to_string),
            ct: self.ct(),
            mark: self.mark,
        }
    }

    /// `chain` of `tables` here for `pkt` (see [`super::nf::judge`]).
    pub(super) fn judge(
        &self,
        tables: &[&str],
        chain: &str,
        pkt: &Pkt,
        hop: &mut Hop,
    ) -> (Verdict, Option<u32>) {
        let is_local = |ip: IpAddr| super::holds(self.ns, ip);
        super::nf::judge(self.fw, tables, chain, pkt, &is_local, hop)
    }
}

/// How a stage ends the leg at the hop being walked.
pub(super) enum End {
    /// Dropped here: the hop's verdict becomes `dropped`, the leg is broken at `at`.
    Dropped {
        at: String,
        cause: String,
        finding: Option<String>,
    },
    /// The stage set the hop's verdict; the leg ends with this outcome (boxed: it is large).
    Outcome(Box<(Outcome, Option<Arrival>)>),
}

impl End {
    pub(super) fn dropped(at: &str, cause: String, finding: Option<String>) -> End {
        End::Dropped {
            at: at.to_string(),
            cause,
            finding,
        }
    }

    pub(super) fn outcome(outcome: Outcome, arrival: Option<Arrival>) -> End {
        End::Outcome(Box::new((outcome, arrival)))
    }
}

fn broken(namespace: String, cause: String, finding: Option<String>) -> Outcome {
    Outcome::Broken {
        namespace,
        cause,
        finding,
        no_fix: None,
    }
}

impl Walk<'_> {
    /// Walks one direction. Returns the leg and, when it was delivered, (namespace, src, dst)
    /// as the packet arrived.
    pub(super) fn leg(
        &self,
        direction: &str,
        at: At,
        reply: bool,
        bindings: &mut Vec<Binding>,
    ) -> (Leg, Option<Arrival>) {
        let mut at = at;
        let mut hops: Vec<Hop> = Vec::new();
        let mut seen = HashSet::new();
        let mut ending = None;
        for _ in 0..MAX_HOPS {
            ending = self.hop(&mut at, reply, &mut seen, bindings, &mut hops);
            if ending.is_some() {
                break;
            }
        }
        let (outcome, arrival) = ending.unwrap_or_else(|| {
            let cause = format!("more than {MAX_HOPS} hops: a routing loop");
            (broken(at.ns, cause, None), None)
        });
        let leg = Leg {
            direction: direction.into(),
            hops,
            outcome,
        };
        (leg, arrival)
    }

    /// Crosses the namespace `at` names, recording its hop; `None` when the packet goes on
    /// (`at` is then the next namespace).
    fn hop(
        &self,
        at: &mut At,
        reply: bool,
        seen: &mut HashSet<(String, Option<String>, Option<IpAddr>, IpAddr)>,
        bindings: &mut Vec<Binding>,
        hops: &mut Vec<Hop>,
    ) -> Option<(Outcome, Option<Arrival>)> {
        let Some(ns) = self.ns(&at.ns) else {
            let cause = format!("namespace {} is not in the snapshot", at.ns);
            return Some((broken(at.ns.clone(), cause, None), None));
        };
        if !seen.insert((at.ns.clone(), at.iif.clone(), at.src, at.dst)) {
            let cause = "routing loop: the packet came back here unchanged".into();
            let finding = self.finding(&at.ns, &["no-route"], Some(at.dst));
            return Some((broken(at.ns.clone(), cause, finding), None));
        }
        let mut hop = Hop {
            namespace: at.ns.clone(),
            in_iface: at.iif.clone(),
            out_iface: None,
            // Before the kernel picks one: the address it would likely use, never `dst`.
            src: at.src.unwrap_or_else(|| super::own_source(ns, at.dst)),
            dst: at.dst,
            route: None,
            nat: Vec::new(),
            via: Vec::new(),
            verdict: String::new(),
            notes: Vec::new(),
        };
        let end = self.through(ns, at, reply, bindings, &mut hop).err();
        let ending = match end {
            None => None,
            Some(End::Dropped { at, cause, finding }) => {
                hop.verdict = "dropped".into();
                Some((broken(at, cause, finding), None))
            }
            Some(End::Outcome(ending)) => Some(*ending),
        };
        hops.push(hop);
        ending
    }

    /// The stages of one namespace, in the kernel's order.
    fn through(
        &self,
        ns: &Namespace,
        at: &mut At,
        reply: bool,
        bindings: &mut Vec<Binding>,
        hop: &mut Hop,
    ) -> Result<(), End> {
        let empty = Firewall {
            backends: Vec::new(),
            iptables: Vec::new(),
            nft: Vec::new(),
            errors: Vec::new(),
        };
        let fw = ns.firewall.as_ref().unwrap_or(&empty);
        // ip/ip6/inet tables are evaluated; bridge and netdev (ingress) ones are not.
        if fw
            .nft
            .iter()
            .any(|t| matches!(t.family.as_str(), "bridge" | "netdev") && t.holds_rules())
        {
            hop.notes
                .push("nftables bridge/netdev tables here are not evaluated".into());
        }
        let mut here = Here {
            ns,
            fw,
            iif: at.iif.clone(),
            reply,
            proto: &self.proto,
            mark: 0,
        };
        // 1. Before routing: DNAT, or conntrack's un-SNAT on a reply.
        let first_src = self.before_routing(&mut here, at, bindings, hop)?;
        // 2. The kernel's route.
        let (ans, src_now) = self.route_here(&here, at, first_src, hop)?;
        // 3. Local delivery.
        if ans.kind == RouteKind::Local {
            return Err(self.deliver(&here, at, src_now, bindings, hop));
        }
        if ans.kind != RouteKind::Unicast {
            let cause = format!(
                "the route to {} in {} is of type {}",
                at.dst, ns.name, ans.kind
            );
            let finding = self.finding(&at.ns, &["no-route"], Some(at.dst));
            return Err(End::dropped(&at.ns, cause, finding));
        }
        let oif = ans.oif.clone().unwrap_or_default();
        hop.out_iface = Some(oif.clone());
        // 4. The filter: FORWARD when passing through, OUTPUT for our own packets.
        self.filter(&mut here, at, src_now, &oif, hop)?;
        // 5. After routing: SNAT/MASQUERADE, or conntrack's un-DNAT on a reply.
        self.after_routing(&here, at, src_now, &oif, bindings, hop)?;
        // 6. Layer 2 to the next namespace.
        let nh = ans.gateway.unwrap_or(at.dst);
        self.cross(&here, at, (&oif, nh), bindings, hop)
    }
}
