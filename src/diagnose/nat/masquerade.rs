//! `no-masquerade`: a private subnet leaves through an uplink with nothing to masquerade it.

use super::super::facts::{default_route, is_private, route_gw, Facts};
use super::super::{Finding, Severity};
use super::*;
use crate::firewall::Firewall;
use crate::model::Namespace;
use crate::plan::Step;

/// `no-masquerade`
pub(super) fn no_masquerade(f: &Facts, ns: &Namespace, out: &mut Vec<Finding>) {
    let Some(def) = default_route(ns) else { return };
    let (Some(gw), Some(uplink)) = (route_gw(def), def.dev.as_deref()) else {
        return;
    };
    let upstream = f.live_holder(gw).map(|h| h.ns);
    let empty = Firewall::default();
    let fw = ns.firewall.as_ref().unwrap_or(&empty);
    for (net, link) in downstream(f, ns) {
        if link == uplink || !is_private(net) || nat_covers(fw, net, uplink) {
            continue;
        }
        // A plain router's upstream missing the route back is `no-route` there (routing.rs):
        // masquerading here would repair outbound traffic and leave inbound broken.
        if super::super::routing::plain_router_upstream(f, ns).is_some() {
            continue;
        }
        let (severity, why) = match upstream {
            Some(up) if f.covers(up, net) => continue,
            Some(up) => (
                Severity::Error,
                format!("{} (which holds {gw}) has no route back to {net}", up.name),
            ),
            None => (
                Severity::Warning,
                format!(
                    "{net} is private, so the network beyond {gw} is unlikely to route it back"
                ),
            ),
        };
        let rule: Vec<String> = ["-s", &net.to_string(), "-o", uplink]
            .into_iter()
            .chain(TAG)
            .chain(["-j", "MASQUERADE"])
            .map(str::to_string)
            .collect();
        out.push(
            Finding::new(
                "no-masquerade",
                severity,
                &ns.name,
                Some(&net.to_string()),
                format!("{net} leaves {} through {uplink} without NAT", ns.name),
                format!(
                    "Namespaces on {net} ({link}) go out via {}; {} forwards them out of \
                     {uplink} via {gw} with their own source addresses, because no MASQUERADE \
                     or SNAT rule in its nat table matches {net}; {why}.",
                    ns.name, ns.name
                ),
            )
            .object("route", &ns.name, "default")
            .object("link", &ns.name, uplink.to_string())
            .fix(
                format!("masquerade {net} out of {uplink}"),
                vec![Step::AddIptablesRule {
                    ns: ns.name.clone(),
                    table: "nat".into(),
                    chain: "POSTROUTING".into(),
                    rule,
                }],
            ),
        );
    }
}
