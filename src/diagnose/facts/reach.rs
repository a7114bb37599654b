//! Reachability over layer-2 segments: a gateway address counts only when a frame can get to
//! whoever holds it. Two segments that reuse one subnet (container hosts do it all the time)
//! hold the same addresses, and the holder on the other segment is of no use to anybody here.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::{default_route, route_gw, subnet, Facts, Held};
use crate::model::RouteKind;
use crate::model::{Link, Namespace};

impl<'a> Facts<'a> {
    /// Whether `ns` can send to anything in `dst`: a route covers it, or it holds an address
    /// in it (a missing connected route is then a link or address problem, reported by those
    /// rules), or one of its links shares a segment with a live holder of an address in `dst`
    /// (the bridge rules report the missing address).
    pub fn covers(&self, ns: &Namespace, dst: Ipv4Net) -> bool {
        if self
            .route_to(ns, dst.network())
            .is_some_and(|r| r.kind == RouteKind::Unicast || r.kind == RouteKind::Local)
        {
            return true;
        }
        if self
            .held_in(ns)
            .any(|h| h.net.trunc().contains(&dst.network()))
        {
            return true;
        }
        self.held
            .iter()
            .filter(|h| h.live() && dst.contains(&h.ip()))
            .any(|h| {
                ns.links
                    .iter()
                    .any(|l| self.same_segment((ns, l), (h.ns, h.link)))
            })
    }

    /// Whether a frame that `ns` sends out of its up links can reach `h`'s link: one of them
    /// shares `h`'s segment. When both sides continue into what netlens cannot see (NICs on
    /// one LAN), a link of `ns` on `h`'s subnet is taken to reach it: nothing proves otherwise.
    pub fn reaches(&self, ns: &Namespace, h: &Held) -> bool {
        let (Some(ni), Some(theirs)) = (self.ns_idx(&ns.name), self.segment_id(h.ns, h.link))
        else {
            return false;
        };
        if self
            .up_segments
            .get(&ni)
            .is_some_and(|s| s.contains(&theirs))
        {
            return true;
        }
        !self.segment(theirs).closed
            && self.up_open.get(&ni).is_some_and(|links| {
                links.iter().any(|&ix| {
                    self.held_on(ns, ix)
                        .any(|o| subnet(o.net).contains(&h.ip()))
                })
            })
    }

    /// The live holder of `ip` that `ns` reaches on layer 2 (itself included), if any.
    pub fn holder_near(&self, ns: &Namespace, ip: Ipv4Addr) -> Option<&Held<'a>> {
        let mut live = self.holders(ip).filter(|h| h.live());
        live.find(|h| h.ns.name == ns.name || self.reaches(ns, h))
    }

    /// The namespace a packet from `from` to `ip` ends in, following each namespace's routes
    /// and only gateways on the segment the route leaves by; `None` when it gets lost.
    pub fn delivers_to(&self, from: &'a Namespace, ip: Ipv4Addr) -> Option<&'a Namespace> {
        let mut at = from;
        // A routing loop, or a path longer than any real one, ends the walk.
        for _ in 0..16 {
            if self.held_in(at).any(|h| h.ip() == ip) {
                return Some(at);
            }
            let r = self.route_to(at, ip)?;
            if r.kind != RouteKind::Unicast {
                return None;
            }
            let next = route_gw(r).unwrap_or(ip);
            let holder = self.holder_near(at, next)?;
            if route_gw(r).is_none() {
                return (holder.ip() == ip).then_some(holder.ns);
            }
            if holder.ns.name == at.name {
                return None;
            }
            at = holder.ns;
        }
        None
    }

    /// A gateway `ns` could use on `link`'s segment: another namespace there, holding an
    /// address on the subnet of one of `link`'s addresses (in any state: the link may be down
    /// and its routes flushed), that leads somewhere: it forwards and has a default route of
    /// its own through somebody other than `ns`, or, failing such a router, it is the end of
    /// the line ([`Facts::segment_end`]).
    pub fn segment_gateway(&self, ns: &Namespace, link: &Link) -> Option<&Held<'a>> {
        let own = |ip: Ipv4Addr| self.held_in(ns).any(|h| h.ip() == ip);
        let there = self.on_segment(ns, link);
        let router = there.iter().find(|o| {
            o.ns.sysctls.ip_forward == Some(1)
                && default_route(o.ns)
                    .and_then(route_gw)
                    .is_some_and(|g| !own(g))
        });
        router.copied().or_else(|| self.end_among(ns, link, there))
    }

    /// The end of the line on `link`'s segment: a namespace with no default route that
    /// nobody uses as a gateway, holding live addresses beyond the segment that `ns` has no
    /// route to (an upstream, or a server, holding what lies beyond). Oracle seed 132: `r0` lost its default route towards
    /// `inet`, which holds 203.0.113.10 on lo. A router others use that lost its own default
    /// route is no end: it is the one missing a way out.
    pub fn segment_end(&self, ns: &Namespace, link: &Link) -> Option<&Held<'a>> {
        self.end_among(ns, link, self.on_segment(ns, link))
    }

    fn end_among<'s>(
        &'s self,
        ns: &Namespace,
        link: &Link,
        there: Vec<&'s Held<'a>>,
    ) -> Option<&'s Held<'a>> {
        if there.is_empty() {
            return None;
        }
        let mine: Vec<_> = self
            .held_on(ns, link.index)
            .map(|h| subnet(h.net))
            .collect();
        there.into_iter().find(|o| {
            default_route(o.ns).is_none()
                && self.transit_uses(o.ns).is_empty()
                && self.holds_beyond(o.ns, &mine)
                && self.holds_unrouted(ns, o)
        })
    }

    /// Whether `o` holds a live address outside every one of `nets`.
    pub fn holds_beyond(&self, o: &Namespace, nets: &[Ipv4Net]) -> bool {
        self.held_in(o)
            .any(|x| x.live() && !nets.iter().any(|n| n.contains(&x.ip())))
    }

    /// Whether `end` holds a live address `ns` has no route to at all.
    pub fn holds_unrouted(&self, ns: &Namespace, end: &Held) -> bool {
        self.held_in(end.ns)
            .any(|x| x.live() && self.route_to(ns, x.ip()).is_none())
    }

    /// The live addresses of other namespaces on `link`'s segment, on a subnet of `link`.
    fn on_segment(&self, ns: &Namespace, link: &Link) -> Vec<&Held<'a>> {
        let Some(seg) = self.segment_id(ns, link) else {
            return Vec::new();
        };
        let mine: Vec<_> = self
            .held_on(ns, link.index)
            .map(|h| subnet(h.net))
            .collect();
        self.segment(seg)
            .links
            .iter()
            .flat_map(|k| self.held_at_key(*k))
            .filter(|o| o.ns.name != ns.name && o.live())
            .filter(|o| mine.iter().any(|n| n.contains(&o.ip())))
            .collect()
    }

    /// Someone other than `via` routing a destination holding `ip` through an address of
    /// `via`: they expect `via` to deliver to `ip`.
    pub fn routed_through(&self, via: &'a Namespace, ip: Ipv4Addr) -> Option<&'a Namespace> {
        self.held_in(via).filter(|h| h.live()).find_map(|h| {
            let uses = self.gw_uses.get(&h.ip())?;
            uses.iter()
                .find(|(from, dst)| {
                    from.name != via.name && dst.prefix_len() > 0 && dst.contains(&ip)
                })
                .map(|(from, _)| *from)
        })
    }
}
