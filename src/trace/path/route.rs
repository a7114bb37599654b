//! The routing stage of a hop: the namespace's kernel asked for its route, and when it
//! refuses, why in words and the doctor's finding for it.

use std::net::IpAddr;

use super::leg::{At, End, Here};
use super::{holds, Hop, Walk};
use crate::model::{Namespace, RouteKind};
use crate::trace::fib::{Answer, Query, Refusal};

impl Walk<'_> {
    /// 2. The kernel's route. A local socket's packet is routed with the source the first
    ///    lookup chose (ip_route_connect looks up again with it; ping binds to it), so an
    ///    `ip rule from SRC` applies to it. Returns the answer and the packet's source now.
    pub(super) fn route_here(
        &self,
        here: &Here<'_>,
        at: &mut At,
        first_src: Option<IpAddr>,
        hop: &mut Hop,
    ) -> Result<(Answer, IpAddr), End> {
        let (ns, src, dst) = (here.ns, at.src, at.dst);
        let q = Query {
            dst,
            src: if here.iif.is_some() {
                src
            } else {
                src.or(first_src).filter(|s| holds(ns, *s))
            },
            iif: here.iif.clone(),
        };
        // Given a source, the kernel answers without a preferred one.
        let asked_src = q.src;
        let ans = match self.kernel.route(&at.ns, &q) {
            Ok(a) => a,
            Err(r) => {
                let iif = here.iif.as_deref();
                let (cause, finding) = self.refusal(ns, &r, dst, src, iif, here.reply);
                return Err(End::dropped(&at.ns, cause, finding));
            }
        };
        let src_now = src.or(ans.prefsrc).or(asked_src).unwrap_or(dst);
        at.src = Some(src_now);
        hop.src = src_now;
        hop.route = Some(describe(&ans, dst));
        Ok((ans, src_now))
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
            Refusal::NoRoute if !reply => {
                // A link that went down takes its routes with it.
                let rules = ["no-route", "no-default", "link-down", "peer-down"];
                (
                    format!("{n} has no route to {dst}"),
                    self.finding(n, &rules, Some(dst)),
                )
            }
            Refusal::NoRoute => self.reply_unrouted(n, dst),
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

    /// A reply to a private source a gateway did not masquerade: the cause is that gateway's,
    /// named as such; otherwise this namespace's missing route.
    fn reply_unrouted(&self, n: &str, dst: IpAddr) -> (String, Option<String>) {
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
}

fn describe(a: &Answer, dst: IpAddr) -> String {
    let mut s = if a.kind == RouteKind::Unicast {
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
