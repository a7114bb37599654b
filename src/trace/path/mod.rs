//! The path a packet takes across the node's namespaces, worked out from the configuration:
//! in each namespace the kernel's own route lookup ([`Kernel`]), then netfilter (DNAT before
//! routing, the filter verdict, SNAT/MASQUERADE after), then layer 2 to the next namespace —
//! through a veth to its peer, or across a bridge to the port whose far end holds the next hop
//! — until the namespace that owns the destination, or the link that leaves the node. The
//! reply is walked back the same way, with the NAT undone where conntrack would undo it, since
//! a request that arrives but cannot be answered (no masquerade) is a broken path too.
//!
//! The first broken hop names its cause and, when the doctor has one, the finding that fixes
//! it. Everything but [`Kernel`] is pure, so the walk is the same over any snapshot.

use std::collections::HashSet;
use std::net::IpAddr;

use super::fib::{Answer, Query, Refusal};
use crate::diagnose::Finding;
use crate::firewall::eval::{self, Pkt, Verdict};
use crate::model::{Namespace, Snapshot};
use nf::{hairpin, judge};

/// Hops walked before giving up (a routing loop).
const MAX_HOPS: usize = 32;

/// Asks a namespace's kernel for a route.
pub trait Kernel {
    fn route(&self, ns: &str, q: &Query) -> Result<Answer, Refusal>;
}

/// Address rewrites done along the request, to undo on the reply.
#[derive(Debug, Clone)]
struct Binding {
    ns: String,
    snat: bool,
    orig: IpAddr,
    new: IpAddr,
    /// Set when the reply passed the namespace that made it and conntrack undid it.
    undone: bool,
}

struct Walk<'a> {
    snap: &'a Snapshot,
    findings: &'a [Finding],
    kernel: &'a dyn Kernel,
    proto: String,
}

/// Walks `probe` through `snap`; the first broken hop names its cause and the doctor's finding
/// for it, kept only if its fix, simulated, gets the packet past that hop.
pub fn walk(
    snap: &Snapshot,
    findings: &[Finding],
    kernel: &dyn Kernel,
    probe: &Probe,
) -> PathReport {
    let mut report = walk_raw(snap, findings, kernel, probe);
    verify::check_fix(snap, findings, probe, &mut report);
    report
}

/// The walk alone, findings matched but not checked.
fn walk_raw(
    snap: &Snapshot,
    findings: &[Finding],
    kernel: &dyn Kernel,
    probe: &Probe,
) -> PathReport {
    let w = Walk {
        snap,
        findings,
        kernel,
        proto: probe.proto.clone(),
    };
    let mut bindings = Vec::new();
    let (req, end) = w.leg(
        "request",
        &probe.from,
        probe.src,
        probe.dst,
        probe.port,
        false,
        &mut bindings,
    );
    let mut legs = vec![req];
    let mut delivers = false;
    if let Some((ns, src, dst)) = end {
        // The responder answers to where the request came from, as it arrived there.
        let (mut reply, back) = w.leg("reply", &ns, Some(dst), src, None, true, &mut bindings);
        // A reply that leaves the node instead of coming back is lost to the sender.
        delivers = back.is_some();
        if let Some((client, _, _)) = &back {
            if let Some(why) = hairpin(&bindings, &reply) {
                delivers = false;
                if let Some(last) = reply.hops.last_mut() {
                    last.verdict = "reset".into();
                }
                reply.outcome = Outcome::Broken {
                    namespace: client.clone(),
                    cause: why,
                    finding: None,
                    no_fix: None,
                };
            }
        }
        legs.push(reply);
    } else if matches!(legs[0].outcome, Outcome::LeavesNode { .. }) {
        delivers = true;
    }
    PathReport {
        probe: probe.clone(),
        legs,
        delivers,
    }
}

fn holds(ns: &Namespace, ip: IpAddr) -> bool {
    ns.addresses.iter().any(|a| a.address == ip)
}

fn holds_on(ns: &Namespace, link: &str, ip: IpAddr) -> bool {
    ns.addresses
        .iter()
        .any(|a| a.ifname == link && a.address == ip)
}

fn primary_addr(ns: &Namespace, link: &str, v4: bool) -> Option<IpAddr> {
    ns.addresses
        .iter()
        .find(|a| a.ifname == link && a.address.is_ipv4() == v4 && a.scope == "global")
        .map(|a| a.address)
}

/// `10.0.0.1:80`, `10.0.0.1`, `10.0.0.1-10.0.0.9:80-90` → (first address, first port).
fn nat_to(to: &str) -> (Option<IpAddr>, Option<u16>) {
    let (a, p) = match to.rsplit_once(':') {
        Some((a, p)) if !a.contains(':') || a.starts_with('[') => (a, Some(p)),
        _ => (to, None),
    };
    let a = a.trim_start_matches('[').trim_end_matches(']');
    let a = a.split('-').next().and_then(|x| x.parse().ok());
    let p = p
        .and_then(|p| p.split('-').next())
        .and_then(|p| p.parse().ok());
    (a, p)
}

impl Walk<'_> {
    fn ns(&self, name: &str) -> Option<&Namespace> {
        self.snap.namespace(name)
    }

    /// Walks one direction. Returns the leg and, when it was delivered, (namespace, src, dst)
    /// as the packet arrived.
    #[allow(clippy::too_many_arguments)]
    fn leg(
        &self,
        direction: &str,
        from: &str,
        src: Option<IpAddr>,
        dst: IpAddr,
        port: Option<u16>,
        reply: bool,
        bindings: &mut Vec<Binding>,
    ) -> (Leg, Option<(String, IpAddr, IpAddr)>) {
        let mut hops: Vec<Hop> = Vec::new();
        let mut ns_name = from.to_string();
        let mut iif: Option<String> = None;
        let mut src = src;
        let mut dst = dst;
        let mut port = port;
        let mut seen = HashSet::new();
        let ct = if reply { "ESTABLISHED" } else { "NEW" };
        let done = |hops: Vec<Hop>, outcome: Outcome| Leg {
            direction: direction.into(),
            hops,
            outcome,
        };
        for _ in 0..MAX_HOPS {
            let Some(ns) = self.ns(&ns_name) else {
                let outcome = Outcome::Broken {
                    namespace: ns_name.clone(),
                    cause: format!("namespace {ns_name} is not in the snapshot"),
                    finding: None,
                    no_fix: None,
                };
                return (done(hops, outcome), None);
            };
            if !seen.insert((ns_name.clone(), iif.clone(), src, dst)) {
                let outcome = Outcome::Broken {
                    namespace: ns_name.clone(),
                    cause: "routing loop: the packet came back here unchanged".into(),
                    finding: self.finding(&ns_name, &["no-route"], Some(dst)),
                    no_fix: None,
                };
                return (done(hops, outcome), None);
            }
            let mut hop = Hop {
                namespace: ns_name.clone(),
                in_iface: iif.clone(),
                out_iface: None,
                // Before the kernel picks one: the address it would likely use, never `dst`.
                src: src.unwrap_or_else(|| own_source(ns, dst)),
                dst,
                route: None,
                nat: Vec::new(),
                via: Vec::new(),
                verdict: String::new(),
                notes: Vec::new(),
            };
            let is_local = |ip: IpAddr| holds(ns, ip);
            let empty = crate::firewall::Firewall {
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
            // The mark is the packet's own within one namespace: crossing a veth clears it.
            let mut mark = 0u32;
            let pkt = |src: IpAddr, dst: IpAddr, port: Option<u16>, oif: Option<&str>, mark| Pkt {
                src,
                dst,
                proto: self.proto.clone(),
                dport: port,
                iif: iif.clone(),
                oif: oif.map(str::to_string),
                ct,
                mark,
            };
            // 1. Before routing: DNAT (PREROUTING for arriving packets, OUTPUT for our own);
            //    on a reply, conntrack undoes this namespace's SNAT instead.
            //    raw and mangle come first and may drop it (also a reply).
            let (chain, tables) = match (iif.is_some(), reply) {
                (true, false) => ("PREROUTING", eval::PREROUTING),
                (false, false) => ("OUTPUT", eval::OUTPUT_PRE),
                (true, true) => ("PREROUTING", &["raw", "mangle"][..]),
                (false, true) => ("OUTPUT", &["raw", "mangle"][..]),
            };
            // A local process's packet has its source from a first route lookup before
            // OUTPUT runs (the kernel routes again after a DNAT there).
            let first_src = src.or_else(|| {
                let q = Query {
                    dst,
                    src: None,
                    iif: None,
                };
                (iif.is_none() && !reply)
                    .then(|| self.kernel.route(&ns_name, &q).ok())
                    .flatten()
                    .and_then(|a| a.prefsrc)
            });
            let pre = match first_src {
                Some(s) => judge(
                    fw,
                    tables,
                    chain,
                    &pkt(s, dst, port, None, mark),
                    &is_local,
                    &mut hop,
                ),
                None => (Verdict::Accept, Some(0)),
            };
            mark = pre.1.unwrap_or(0);
            if let Verdict::Drop { by } = pre.0.clone() {
                let finding = self.finding(&ns_name, &["forward-drop"], None);
                let cause = format!("{chain} drops it: {by}");
                return stop(direction, hops, hop, &ns_name, cause, finding);
            }
            if reply {
                if let Some(b) = bindings
                    .iter_mut()
                    .find(|b| b.ns == ns_name && b.snat && b.new == dst)
                {
                    hop.nat.push(format!(
                        "reply to {} goes back to {} (un-SNAT)",
                        b.new, b.orig
                    ));
                    b.undone = true;
                    dst = b.orig;
                }
            } else {
                if let Verdict::Nat {
                    target,
                    to: Some(to),
                    by,
                } = pre.0
                {
                    if target == "DNAT" {
                        let (a, p) = nat_to(&to);
                        if let Some(a) = a {
                            hop.nat.push(format!("DNAT {dst} → {to} ({by})"));
                            bindings.push(Binding {
                                ns: ns_name.clone(),
                                snat: false,
                                orig: dst,
                                new: a,
                                undone: false,
                            });
                            dst = a;
                            port = p.or(port);
                        }
                    }
                }
            }
            hop.dst = dst;
            // 2. The kernel's route. A local socket's packet is routed with the source the first
            //    lookup chose (ip_route_connect looks up again with it; ping binds to it), so
            //    an `ip rule from SRC` applies to it.
            let q = Query {
                dst,
                src: if iif.is_some() {
                    src
                } else {
                    src.or(first_src).filter(|s| holds(ns, *s))
                },
                iif: iif.clone(),
            };
            // Given a source, the kernel answers without a preferred one.
            let asked_src = q.src;
            let ans = match self.kernel.route(&ns_name, &q) {
                Ok(a) => a,
                Err(r) => {
                    let (cause, finding) = self.refusal(ns, &r, dst, src, iif.as_deref(), reply);
                    return stop(direction, hops, hop, &ns_name, cause, finding);
                }
            };
            let src_now = src.or(ans.prefsrc).or(asked_src).unwrap_or(dst);
            src = Some(src_now);
            hop.src = src_now;
            hop.route = Some(describe(&ans, dst));
            // 3. Local delivery.
            if ans.kind == "local" {
                // A reply to a connection this namespace DNATed itself (OUTPUT, e.g. a
                // service address) is un-DNATed on its way in (conntrack, at INPUT).
                if let Some(b) = bindings
                    .iter_mut()
                    .filter(|_| reply)
                    .find(|b| b.ns == ns_name && !b.snat && !b.undone && b.new == src_now)
                {
                    hop.nat.push(format!(
                        "reply from {} shows {} again (un-DNAT)",
                        b.new, b.orig
                    ));
                    b.undone = true;
                    hop.src = b.orig;
                }
                if iif.is_some() {
                    let p = pkt(src_now, dst, port, None, mark);
                    if let (Verdict::Drop { by }, _) =
                        judge(fw, eval::INPUT, "INPUT", &p, &is_local, &mut hop)
                    {
                        let finding = self.finding(&ns_name, &["forward-drop"], None);
                        return stop(
                            direction,
                            hops,
                            hop,
                            &ns_name,
                            format!("INPUT drops it: {by}"),
                            finding,
                        );
                    }
                }
                hop.verdict = "delivered".into();
                let listener = if reply {
                    None
                } else {
                    self.listener(ns, dst, port)
                };
                if let Some(Err(why)) = &listener {
                    let outcome = Outcome::Broken {
                        namespace: ns_name.clone(),
                        cause: why.clone(),
                        finding: None,
                        no_fix: None,
                    };
                    hops.push(hop);
                    return (done(hops, outcome), None);
                }
                hops.push(hop);
                let outcome = Outcome::Delivered {
                    namespace: ns_name.clone(),
                    listener: listener.and_then(Result::ok),
                };
                return (done(hops, outcome), Some((ns_name, src_now, dst)));
            }
            if ans.kind != "unicast" {
                let cause = format!("the route to {dst} in {} is of type {}", ns.name, ans.kind);
                let finding = self.finding(&ns_name, &["no-route"], Some(dst));
                return stop(direction, hops, hop, &ns_name, cause, finding);
            }
            let oif = ans.oif.clone().unwrap_or_default();
            hop.out_iface = Some(oif.clone());
            // 4. The filter: FORWARD when passing through, OUTPUT for our own packets.
            let (chain, tables) = if iif.is_some() {
                ("FORWARD", eval::FORWARD)
            } else {
                ("OUTPUT", eval::OUTPUT_FILTER)
            };
            let p = pkt(src_now, dst, port, Some(&oif), mark);
            let (v, m) = judge(fw, tables, chain, &p, &is_local, &mut hop);
            mark = m.unwrap_or(mark);
            if let Verdict::Drop { by } = v {
                let finding = self.finding(&ns_name, &["forward-drop"], None);
                return stop(
                    direction,
                    hops,
                    hop,
                    &ns_name,
                    format!("{chain} drops it: {by}"),
                    finding,
                );
            }
            // 5. After routing: SNAT/MASQUERADE; on a reply, conntrack undoes this
            //    namespace's DNAT on the source instead.
            let tables = if reply {
                &["mangle"][..]
            } else {
                eval::POSTROUTING
            };
            let p = pkt(src_now, dst, port, Some(&oif), mark);
            let post = judge(fw, tables, "POSTROUTING", &p, &is_local, &mut hop).0;
            if let Verdict::Drop { by } = post {
                let finding = self.finding(&ns_name, &["forward-drop"], None);
                let cause = format!("POSTROUTING drops it: {by}");
                return stop(direction, hops, hop, &ns_name, cause, finding);
            }
            if reply {
                if let Some(b) = bindings
                    .iter_mut()
                    .find(|b| b.ns == ns_name && !b.snat && b.new == src_now)
                {
                    hop.nat.push(format!(
                        "reply from {} shows {} again (un-DNAT)",
                        b.new, b.orig
                    ));
                    b.undone = true;
                    src = Some(b.orig);
                    hop.src = b.orig;
                }
            } else {
                if let Verdict::Nat { target, to, by } = post {
                    let new = match (target.as_str(), to) {
                        ("MASQUERADE", _) => primary_addr(ns, &oif, dst.is_ipv4()),
                        ("SNAT", Some(to)) => nat_to(&to).0,
                        _ => None,
                    };
                    if let Some(new) = new {
                        hop.nat.push(format!("{target} {src_now} → {new} ({by})"));
                        bindings.push(Binding {
                            ns: ns_name.clone(),
                            snat: true,
                            orig: src_now,
                            new,
                            undone: false,
                        });
                        src = Some(new);
                        hop.src = new;
                    }
                }
            }
            // 6. Layer 2 to the next namespace.
            let nh = ans.gateway.unwrap_or(dst);
            match self.next_namespace(ns, &oif, nh, &mut hop.via) {
                Next::Namespace(next, next_iif) => {
                    let flow = (src.unwrap_or(src_now), dst, port);
                    if let Some((at, cause)) =
                        self.bridged_drop(ns, &oif, &next, &next_iif, flow, ct, &mut hop)
                    {
                        let finding = self.finding(&at, &["forward-drop"], None);
                        return stop(direction, hops, hop, &at, cause, finding);
                    }
                    if reply {
                        let at = (next.as_str(), next_iif.as_str());
                        let now = src.unwrap_or(src_now);
                        if let Some(orig) =
                            self.bridged_undnat(ns, &oif, at, now, bindings, &mut hop)
                        {
                            src = Some(orig);
                        }
                    }
                    hop.verdict = if iif.is_some() { "forwarded" } else { "sent" }.into();
                    hops.push(hop);
                    ns_name = next;
                    iif = Some(next_iif);
                }
                Next::Leaves => {
                    hop.verdict = "leaves the node".into();
                    hops.push(hop);
                    let outcome = Outcome::LeavesNode {
                        namespace: ns_name.clone(),
                        iface: oif,
                    };
                    return (done(hops, outcome), None);
                }
                Next::Broken(cause, rules, at) => {
                    let wrong_mac =
                        rules.contains(&"neigh-mac") || rules.contains(&l2::NEIGH_LEARNED);
                    if wrong_mac && !reply {
                        let flow = (src.unwrap_or(src_now), dst, port);
                        if let Some((next, next_iif)) = self.flooded_dnat(ns, &oif, flow, &mut hop)
                        {
                            hop.verdict = if iif.is_some() { "forwarded" } else { "sent" }.into();
                            hops.push(hop);
                            ns_name = next;
                            iif = Some(next_iif);
                            continue;
                        }
                    }
                    let ns_name = at.unwrap_or(ns_name);
                    // A cause across a veth is found by the finding's object there.
                    let finding = self.finding(&ns_name, &rules, None);
                    return stop(direction, hops, hop, &ns_name, cause, finding);
                }
            }
        }
        let outcome = Outcome::Broken {
            namespace: ns_name,
            cause: format!("more than {MAX_HOPS} hops: a routing loop"),
            finding: None,
            no_fix: None,
        };
        (done(hops, outcome), None)
    }

    /// Why the kernel refused, in words, and the doctor's finding for it.
    fn refusal(
        &self,
        ns: &Namespace,
        r: &Refusal,
        dst: IpAddr,
        src: Option<IpAddr>,
        iif: Option<&str>,
        reply: bool,
    ) -> (String, Option<String>) {
        let n = &ns.name;
        match r {
            Refusal::NoRoute => {
                if !reply {
                    // A link that went down takes its routes with it.
                    let rules = ["no-route", "no-default", "link-down", "peer-down"];
                    return (
                        format!("{n} has no route to {dst}"),
                        self.finding(n, &rules, Some(dst)),
                    );
                }
                // A reply to a private source a gateway did not masquerade: the cause is that
                // gateway's, named as such; otherwise this namespace's missing route.
                if let Some(f) = self.unmasqueraded(dst) {
                    return (
                        format!(
                            "the reply to {dst} has no route back in {n}: {} sent the request \
                             out without masquerading {dst}",
                            f.namespace
                        ),
                        Some(f.id.clone()),
                    );
                }
                (
                    format!("the reply to {dst} has no route back in {n}"),
                    self.finding(n, &["no-route", "no-default"], Some(dst)),
                )
            }
            Refusal::NotForwarded if ns.sysctls.ip_forward == Some(0) => (
                format!(
                    "{n} does not forward: net.ipv4.ip_forward=0 (arrived on {})",
                    iif.unwrap_or("?")
                ),
                self.finding(n, &["forwarding-off"], None),
            ),
            Refusal::NotForwarded => (
                format!("{n} refuses to forward to {dst} (an unreachable route)"),
                self.finding(n, &["no-route"], Some(dst)),
            ),
            Refusal::SourceRejected => (
                format!(
                    "{n} drops source {} on {}: reverse path filtering (rp_filter) finds its \
                     way back through another link",
                    src.map(|s| s.to_string()).unwrap_or_default(),
                    iif.unwrap_or("?")
                ),
                self.finding(n, &["rp-filter-strict"], None),
            ),
            Refusal::Other(e) => (format!("the kernel in {n} says: {e}"), None),
        }
    }

    /// `Ok(Some(who))` when a process listens, `Err(why)` when a TCP/UDP port has nobody.
    fn listener(
        &self,
        ns: &Namespace,
        dst: IpAddr,
        port: Option<u16>,
    ) -> Option<Result<String, String>> {
        let port = port?;
        if self.proto == "icmp" {
            return None;
        }
        let s = ns.sockets.iter().find(|s| {
            s.proto.starts_with(&self.proto)
                && s.port == port
                && (s.address == dst || s.address.is_unspecified())
        });
        Some(match s {
            Some(s) => Ok(s
                .processes
                .first()
                .map(|p| format!("{} (pid {})", p.comm, p.pid))
                .unwrap_or_else(|| format!("{}/{port}", self.proto))),
            None => Err(format!(
                "nothing listens on {}/{port} at {dst} in {} (the connection is refused)",
                self.proto, ns.name
            )),
        })
    }
}

/// Ends a leg at `hop`: the packet is dropped there.
fn stop(
    direction: &str,
    mut hops: Vec<Hop>,
    mut hop: Hop,
    namespace: &str,
    cause: String,
    finding: Option<String>,
) -> (Leg, Option<(String, IpAddr, IpAddr)>) {
    hop.verdict = "dropped".into();
    hops.push(hop);
    let outcome = Outcome::Broken {
        namespace: namespace.to_string(),
        cause,
        finding,
        no_fix: None,
    };
    (
        Leg {
            direction: direction.into(),
            hops,
            outcome,
        },
        None,
    )
}

fn describe(a: &Answer, dst: IpAddr) -> String {
    let mut s = if a.kind == "unicast" {
        dst.to_string()
    } else {
        format!("{} {dst}", a.kind)
    };
    if let Some(g) = a.gateway {
        s.push_str(&format!(" via {g}"));
    }
    if let Some(o) = &a.oif {
        s.push_str(&format!(" dev {o}"));
    }
    if a.table != 254 && a.table != 255 {
        s.push_str(&format!(" table {}", crate::model::table_name(a.table)));
    }
    s
}

mod bridged;
mod cause;
mod kernel;
mod l2;
mod model_kernel;
mod nf;
mod report;
mod verify;

use cause::own_source;
pub use kernel::LiveKernel;
use l2::Next;
pub use model_kernel::ModelKernel;
pub use report::{probe_for, Hop, Leg, Outcome, PathReport, Probe};
