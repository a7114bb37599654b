//! NAT and the FORWARD chain: a private subnet leaving through an uplink with nothing to
//! masquerade it, a FORWARD policy of DROP with nothing accepting the traffic the namespace is
//! a gateway for, and NAT rules left behind for addresses nobody holds any more.

use std::cell::OnceCell;
use std::collections::BTreeSet;

use crate::model::fast_hash::FxHashSet;
use std::net::{IpAddr, Ipv4Addr};

use ipnet::Ipv4Net;

mod dnat_rules;
mod forward_drop;
mod masquerade;
mod probe;
#[cfg(test)]
mod senders_tests;
mod stale_group;
mod stale_nat;

use super::facts::{subnet, Facts};
use super::Finding;
use crate::firewall::eval::{Compiled, Verdict};
use crate::firewall::{Cond, Firewall, IpFamily, XtRuleRef};
use crate::model::Namespace;
use forward_drop::forward_drop;
pub use masquerade::masquerade_step;
use masquerade::no_masquerade;
pub(super) use probe::{forward_only, postrouted};
use stale_nat::stale_nat;

/// Every rule netlens adds is tagged, so it can be told apart and removed later.
const TAG: [&str; 4] = crate::plan::RULE_TAG;

pub fn check(f: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    for (_, ns) in &f.namespaces {
        // Both rules read `ns`'s senders (a node's bridge has a thousand): found once, when
        // the first asks.
        let senders = Senders::new(f, ns);
        if ns.sysctls.ip_forward == Some(1) {
            no_masquerade(f, ns, &senders, &mut out);
        }
        // A "switch" namespace forwards too when its bridge sends frames through iptables.
        if ns.sysctls.ip_forward == Some(1) || ns.sysctls.bridge_nf_call_iptables == Some(1) {
            forward_drop(f, ns, &senders, &mut out);
        }
        stale_nat(f, ns, &mut out);
    }
    out
}

pub(super) fn v4_rules(fw: &Firewall) -> impl Iterator<Item = XtRuleRef<'_>> {
    fw.xt_rules().filter(|r| r.table.family == IpFamily::V4)
}

pub(super) fn parse_net(c: &Cond) -> Option<Ipv4Net> {
    c.value.parse::<Ipv4Net>().ok().or_else(|| {
        c.value
            .parse::<Ipv4Addr>()
            .ok()
            .and_then(|a| Ipv4Net::new(a, 32).ok())
    })
}

/// A host that sends traffic through `ns`: its address, subnet, the link of `ns` it arrives
/// on, and where it sends it (`0.0.0.0/0` for a default route).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Sender {
    pub host: Ipv4Addr,
    pub net: Ipv4Net,
    pub link: String,
    pub dst: Ipv4Net,
}

/// Every address that really leaves through `ns`: each host using it as a gateway.
pub(super) fn senders(f: &Facts, ns: &Namespace) -> BTreeSet<Sender> {
    let mut set = BTreeSet::new();
    for u in f.transit_uses(ns) {
        for h in f
            .held_in(u.from)
            .filter(|h| h.live() && h.net.trunc().contains(&u.gw))
        {
            set.insert(Sender {
                host: h.ip(),
                net: subnet(h.net),
                link: u.link.name.clone(),
                dst: u.dst,
            });
        }
    }
    set
}

/// [`senders`] of one namespace, found on first use and kept for the other rule.
pub(super) struct Senders<'f, 'a> {
    f: &'f Facts<'a>,
    ns: &'f Namespace,
    set: OnceCell<BTreeSet<Sender>>,
}

impl<'f, 'a> Senders<'f, 'a> {
    pub fn new(f: &'f Facts<'a>, ns: &'f Namespace) -> Self {
        Senders {
            f,
            ns,
            set: OnceCell::new(),
        }
    }

    pub fn get(&self) -> &BTreeSet<Sender> {
        self.set.get_or_init(|| senders(self.f, self.ns))
    }
}

/// [`senders`] and the hosts behind a plain router among them, in order, each once (what the
/// one set of both held, iterated).
pub(super) fn senders_through<'s>(
    senders: &'s BTreeSet<Sender>,
    behind: &'s BTreeSet<Sender>,
) -> impl Iterator<Item = &'s Sender> {
    senders.union(behind)
}

/// [`senders`] and [`behind_routers`] in one set: what `no-masquerade` read before the senders
/// were shared, the reference of the tests.
#[cfg(test)]
pub(super) fn senders_through_ref(f: &Facts, ns: &Namespace) -> BTreeSet<Sender> {
    let mut set = senders(f, ns);
    set.extend(behind_routers(f, ns));
    set
}

/// The hosts behind a plain router among [`senders`] (it forwards and translates nothing, a
/// few hops deep): their packets arrive at `ns` with their own source addresses, on the link
/// that router sends through.
pub(super) fn behind_routers(f: &Facts, ns: &Namespace) -> BTreeSet<Sender> {
    let mut set = BTreeSet::new();
    for u in f.transit_uses(ns) {
        let mut seen = FxHashSet::default();
        let mut todo = vec![(u.from, u.gw, 0)];
        while let Some((m, gw, depth)) = todo.pop() {
            if depth >= 4
                || !seen.insert(m.name.as_str())
                || m.sysctls.ip_forward != Some(1)
                || super::nat_evidence::translates_any(m)
            {
                continue;
            }
            for v in f.transit_uses(m) {
                // Only what `m` sends on through `ns`.
                let onwards = super::facts::lookup(m, v.dst.network())
                    .and_then(super::facts::route_gw)
                    == Some(gw);
                if v.from.name == ns.name || !onwards {
                    continue;
                }
                let dst = if u.dst.contains(&v.dst) { v.dst } else { u.dst };
                for h in f
                    .held_in(v.from)
                    .filter(|h| h.live() && h.net.trunc().contains(&v.gw))
                {
                    set.insert(Sender {
                        host: h.ip(),
                        net: subnet(h.net),
                        link: u.link.name.clone(),
                        dst,
                    });
                }
                todo.push((v.from, v.gw, depth + 1));
            }
        }
    }
    set
}

/// `ns`'s firewall and its compiled form: the one `f` holds, or (for a namespace `f` does not
/// hold, or no rules read) compiled into `slot` here.
pub(super) fn compiled<'s>(
    f: &'s Facts,
    ns: &'s Namespace,
    slot: &'s mut Option<(Compiled, FxHashSet<IpAddr>)>,
    empty: &'s Firewall,
) -> Nf<'s> {
    let fw = ns.firewall.as_ref().unwrap_or(empty);
    if let (Some(c), Some(l)) = (f.compiled(ns), f.local_addrs(ns)) {
        return (fw, c, l);
    }
    let (c, l) = slot.insert((Compiled::new(fw), local_addrs(ns)));
    (fw, c, l)
}

/// A namespace's firewall, compiled, and its own addresses (what `--src-type LOCAL` and the
/// memo ask about every packet: a node's host holds a link-local per veth, thousands).
pub(super) type Nf<'s> = (&'s Firewall, &'s Compiled, &'s FxHashSet<IpAddr>);

/// `ns`'s own addresses.
pub(super) fn local_addrs(ns: &Namespace) -> FxHashSet<IpAddr> {
    ns.addresses.iter().map(|a| a.address).collect()
}

/// An address standing for "the internet" beyond an uplink (TEST-NET-2: never a real host,
/// and outside every private range that rules exempt from masquerading).
pub(super) const OUTSIDE: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);

/// The rule's arguments after `-A CHAIN`, as an argv for a delete: quoted with iptables-save's
/// `\"` and `\\` escapes resolved, so `iptables -D` matches a comment like podman's
/// `name: "podman" id: "…"`.
pub fn rule_args(raw: &str) -> Vec<String> {
    let words = crate::firewall::iptables_save::rule_words(raw);
    // Drop `[packets:bytes]` counters and `-A CHAIN`.
    let mut rest: &[String] = &words;
    if rest.first().is_some_and(|w| w.starts_with('[')) {
        rest = &rest[1..];
    }
    if rest.first().is_some_and(|w| w == "-A") && rest.len() >= 2 {
        rest = &rest[2..];
    }
    rest.to_vec()
}

#[cfg(test)]
mod rule_args_tests {
    use super::rule_args;

    /// A stale podman rule is deleted with the argv iptables got: escaped quotes resolved, the
    /// comment one word.
    #[test]
    fn podman_comment_is_one_argument() {
        let raw = r#"[0:0] -A CNI-abc -d 10.88.0.0/16 -m comment --comment "name: \"podman\" id: \"0b1a\"" -j ACCEPT"#;
        assert_eq!(
            rule_args(raw),
            [
                "-d",
                "10.88.0.0/16",
                "-m",
                "comment",
                "--comment",
                r#"name: "podman" id: "0b1a""#,
                "-j",
                "ACCEPT"
            ]
        );
    }
}
