//! The netfilter stages of a hop: before routing (raw, mangle, DNAT — or conntrack's un-SNAT
//! on a reply), the filter (FORWARD or OUTPUT), and after routing (SNAT/MASQUERADE — or
//! conntrack's un-DNAT on a reply). Each records its rewrites in the walk's bindings, so the
//! reply can undo them where conntrack would.

use std::net::IpAddr;

use super::leg::{At, End, Here};
use super::{Binding, Hop, Walk};
use crate::firewall::eval::{self, Verdict};
use crate::model::{Namespace, RouteScope};
use crate::trace::fib::Query;

fn primary_addr(ns: &Namespace, link: &str, v4: bool) -> Option<IpAddr> {
    ns.addresses
        .iter()
        .find(|a| a.ifname == link && a.address.is_ipv4() == v4 && a.scope == RouteScope::Global)
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

/// A chain's DROP as the end of the leg, with the doctor's `forward-drop` finding.
fn drop_by(w: &Walk<'_>, at: &At, chain: &str, by: &str) -> End {
    let finding = w.finding(&at.ns, &["forward-drop"], None);
    End::dropped(&at.ns, format!("{chain} drops it: {by}"), finding)
}

impl Walk<'_> {
    /// 1. Before routing: DNAT (PREROUTING for arriving packets, OUTPUT for our own); on a
    ///    reply, conntrack undoes this namespace's SNAT instead. raw and mangle come first
    ///    and may drop it (also a reply). Returns the source a local process's packet gets
    ///    from the first route lookup.
    pub(super) fn before_routing(
        &self,
        here: &mut Here<'_>,
        at: &mut At,
        bindings: &mut Vec<Binding>,
        hop: &mut Hop,
    ) -> Result<Option<IpAddr>, End> {
        let (iif, reply, dst) = (here.iif.is_some(), here.reply, at.dst);
        let (chain, tables) = match (iif, reply) {
            (true, false) => ("PREROUTING", eval::PREROUTING),
            (false, false) => ("OUTPUT", eval::OUTPUT_PRE),
            (true, true) => ("PREROUTING", &["raw", "mangle"][..]),
            (false, true) => ("OUTPUT", &["raw", "mangle"][..]),
        };
        // A local process's packet has its source from a first route lookup before
        // OUTPUT runs (the kernel routes again after a DNAT there).
        let first_src = at.src.or_else(|| {
            let q = Query {
                dst,
                src: None,
                iif: None,
            };
            (!iif && !reply)
                .then(|| self.kernel.route(&at.ns, &q).ok())
                .flatten()
                .and_then(|a| a.prefsrc)
        });
        let pre = match first_src {
            Some(s) => here.judge(tables, chain, &here.pkt(s, dst, at.port, None), hop),
            None => (Verdict::Accept, Some(0)),
        };
        here.mark = pre.1.unwrap_or(0);
        if let Verdict::Drop { by } = &pre.0 {
            return Err(drop_by(self, at, chain, by));
        }
        if reply {
            if let Some(b) = bindings
                .iter_mut()
                .find(|b| b.ns == at.ns && b.snat && b.new == dst)
            {
                hop.nat.push(format!(
                    "reply to {} goes back to {} (un-SNAT)",
                    b.new, b.orig
                ));
                b.undone = true;
                at.dst = b.orig;
            }
        } else if let Verdict::Nat {
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
                        ns: at.ns.clone(),
                        snat: false,
                        orig: dst,
                        new: a,
                        undone: false,
                    });
                    at.dst = a;
                    at.port = p.or(at.port);
                }
            }
        }
        hop.dst = at.dst;
        Ok(first_src)
    }

    /// 4. The filter: FORWARD when passing through, OUTPUT for our own packets.
    pub(super) fn filter(
        &self,
        here: &mut Here<'_>,
        at: &At,
        src_now: IpAddr,
        oif: &str,
        hop: &mut Hop,
    ) -> Result<(), End> {
        let (chain, tables) = if here.iif.is_some() {
            ("FORWARD", eval::FORWARD)
        } else {
            ("OUTPUT", eval::OUTPUT_FILTER)
        };
        let p = here.pkt(src_now, at.dst, at.port, Some(oif));
        let (v, m) = here.judge(tables, chain, &p, hop);
        here.mark = m.unwrap_or(here.mark);
        match v {
            Verdict::Drop { by } => Err(drop_by(self, at, chain, &by)),
            _ => Ok(()),
        }
    }

    /// 5. After routing: SNAT/MASQUERADE; on a reply, conntrack undoes this namespace's DNAT
    ///    on the source instead.
    pub(super) fn after_routing(
        &self,
        here: &Here<'_>,
        at: &mut At,
        src_now: IpAddr,
        oif: &str,
        bindings: &mut Vec<Binding>,
        hop: &mut Hop,
    ) -> Result<(), End> {
        let tables = if here.reply {
            &["mangle"][..]
        } else {
            eval::POSTROUTING
        };
        let p = here.pkt(src_now, at.dst, at.port, Some(oif));
        let post = here.judge(tables, "POSTROUTING", &p, hop).0;
        if let Verdict::Drop { by } = &post {
            return Err(drop_by(self, at, "POSTROUTING", by));
        }
        if here.reply {
            if let Some(b) = bindings
                .iter_mut()
                .find(|b| b.ns == at.ns && !b.snat && b.new == src_now)
            {
                hop.nat.push(format!(
                    "reply from {} shows {} again (un-DNAT)",
                    b.new, b.orig
                ));
                b.undone = true;
                at.src = Some(b.orig);
                hop.src = b.orig;
            }
        } else if let Verdict::Nat { target, to, by } = post {
            let new = match (target.as_str(), to) {
                ("MASQUERADE", _) => primary_addr(here.ns, oif, at.dst.is_ipv4()),
                ("SNAT", Some(to)) => nat_to(&to).0,
                _ => None,
            };
            if let Some(new) = new {
                hop.nat.push(format!("{target} {src_now} → {new} ({by})"));
                bindings.push(Binding {
                    ns: at.ns.clone(),
                    snat: true,
                    orig: src_now,
                    new,
                    undone: false,
                });
                at.src = Some(new);
                hop.src = new;
            }
        }
        Ok(())
    }
}
