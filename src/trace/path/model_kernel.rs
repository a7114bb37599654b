//! A [`Kernel`] that answers from a snapshot instead of the live kernel: the local table, then
//! the longest IPv4 prefix of the main table through an up link, the forwarding switch for
//! packets that arrived. It exists to re-walk a path over a snapshot a fix was simulated on
//! ([`crate::plan::simulate`]), where no kernel holds the changed state. What it does not model
//! (policy rules, IPv6, rp_filter) it answers with [`Refusal::Other`], so a walk that meets it
//! is known not to be comparable rather than wrong.

use ipnet::IpNet;

use super::Kernel;
use crate::model::RouteFamily;
use crate::model::{Namespace, Route, RouteKind, Snapshot};
use crate::trace::fib::{Answer, Query, Refusal};

pub struct ModelKernel<'a> {
    pub snap: &'a Snapshot,
}

/// A route's destination as a prefix (`default` is 0.0.0.0/0).
fn dst_net(r: &Route) -> Option<IpNet> {
    if r.dst.is_default() {
        return "0.0.0.0/0".parse().ok();
    }
    r.dst.net()
}

fn link_up(ns: &Namespace, dev: Option<&str>) -> bool {
    dev.is_none_or(|d| ns.links.iter().any(|l| l.name == d && l.is_up()))
}

/// The kernel installs three rules; any other one may send a packet elsewhere.
fn has_own_policy_rules(ns: &Namespace) -> bool {
    ns.rules
        .iter()
        .any(|r| r.family == RouteFamily::Inet && !r.is_kernel_default())
}

fn answer(r: &Route, ns: &Namespace, kind: RouteKind) -> Answer {
    let prefsrc = r.prefsrc.or_else(|| {
        ns.addresses
            .iter()
            .find(|a| Some(&a.ifname) == r.dev.as_ref() && a.address.is_ipv4())
            .map(|a| a.address)
    });
    Answer {
        kind,
        oif: r.dev.clone(),
        gateway: r.gateway,
        prefsrc,
        table: r.table,
    }
}

impl Kernel for ModelKernel<'_> {
    fn route(&self, ns: &str, q: &Query) -> Result<Answer, Refusal> {
        let n = self
            .snap
            .namespace(ns)
            .ok_or_else(|| Refusal::Other(format!("{ns} is not in the snapshot")))?;
        if !q.dst.is_ipv4() || has_own_policy_rules(n) {
            return Err(Refusal::Other("not modelled".into()));
        }
        let best = |table: u32| {
            n.routes
                .iter()
                .filter(|r| r.table == table && r.family == RouteFamily::Inet)
                .filter(|r| link_up(n, r.dev.as_deref()))
                .filter_map(|r| dst_net(r).filter(|d| d.contains(&q.dst)).map(|d| (r, d)))
                .max_by_key(|(r, d)| (d.prefix_len(), std::cmp::Reverse(r.metric.unwrap_or(0))))
                .map(|(r, _)| r)
        };
        if let Some(r) = best(255).filter(|r| r.kind == RouteKind::Local) {
            let mut a = answer(r, n, RouteKind::Local);
            a.prefsrc = Some(q.dst);
            return Ok(a);
        }
        let Some(r) = best(254) else {
            return Err(Refusal::NoRoute);
        };
        if q.iif.is_some() && n.sysctls.ip_forward != Some(1) {
            return Err(Refusal::NotForwarded);
        }
        match &r.kind {
            RouteKind::Unicast => Ok(answer(r, n, RouteKind::Unicast)),
            RouteKind::Unreachable | RouteKind::Prohibit if q.iif.is_some() => {
                Err(Refusal::NotForwarded)
            }
            other => Ok(answer(r, n, other.clone())),
        }
    }
}
