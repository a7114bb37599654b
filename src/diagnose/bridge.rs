//! Bridges: a veth that belongs on a bridge but is not on it, a bridge that is its
//! namespaces' gateway without holding the gateway address, and br_netfilter settings that
//! let NATed traffic between two ports of one bridge skip iptables.

use super::facts::{gateway_routes, subnet, Facts};
use super::{Finding, Severity};
use crate::model::{Link, LinkKind, Namespace};
use crate::plan::Step;

pub fn check(f: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    for (_, ns) in &f.namespaces {
        for link in &ns.links {
            if link.kind == LinkKind::Veth && link.master.is_none() {
                if let Some(finding) = detached(f, ns, link) {
                    out.push(finding);
                }
            }
            if link.kind == LinkKind::Bridge {
                if let Some(finding) = no_gateway_addr(f, ns, link) {
                    out.push(finding);
                }
                if let Some(finding) = br_netfilter(ns, link) {
                    out.push(finding);
                }
            }
        }
    }
    out
}

/// `port-detached`: a veth with no address and no master whose peer's subnet is the subnet of
/// a bridge in the same namespace (its address, or its ports' peers').
fn detached(f: &Facts, ns: &Namespace, link: &Link) -> Option<Finding> {
    if f.held_on(ns, link.index).next().is_some() {
        return None;
    }
    let (pns, peer) = f.peer(ns, link)?;
    let peer_net = f.held_on(pns, peer.index).next().map(|h| subnet(h.net))?;
    for bridge in ns.links.iter().filter(|l| l.kind == LinkKind::Bridge) {
        let own = f
            .held_on(ns, bridge.index)
            .find(|h| subnet(h.net) == peer_net)
            .map(|h| format!("bridge {} has {}", bridge.name, h.net));
        let sibling = f.ports_of(ns, bridge).iter().find_map(|p| {
            let (sns, speer) = f.peer(ns, p)?;
            let h = f
                .held_on(sns, speer.index)
                .find(|h| subnet(h.net) == peer_net)?;
            Some(format!(
                "its port {} leads to {} {} with {}",
                p.name, sns.name, speer.name, h.net
            ))
        });
        let evidence: Vec<String> = own.into_iter().chain(sibling).collect();
        if evidence.is_empty() {
            continue;
        }
        return Some(
            Finding::new(
                "port-detached",
                Severity::Error,
                &ns.name,
                Some(&link.name),
                format!("{} is not attached to bridge {}", link.name, bridge.name),
                format!(
                    "{} in {} leads to {} {} on {peer_net}, the subnet of bridge {} ({}), but \
                     {} is not a port of any bridge, so frames from {} go nowhere.",
                    link.name,
                    ns.name,
                    pns.name,
                    peer.name,
                    bridge.name,
                    evidence.join("; "),
                    link.name,
                    pns.name
                ),
            )
            .object("link", &ns.name, link.name.clone())
            .object("link", &ns.name, bridge.name.clone())
            .object("namespace", &pns.name, "")
            .fix(
                format!("attach {} to {}", link.name, bridge.name),
                vec![Step::SetMaster {
                    ns: ns.name.clone(),
                    link: link.name.clone(),
                    master: Some(bridge.name.clone()),
                }],
            ),
        );
    }
    None
}

/// `bridge-no-addr`: namespaces behind the bridge's ports route through a gateway on their
/// subnet that nobody on the (fully visible) segment holds, and the bridge has no address on
/// that subnet.
fn no_gateway_addr(f: &Facts, ns: &Namespace, bridge: &Link) -> Option<Finding> {
    let seg = f.segment_id(ns, bridge)?;
    if !f.segment(seg).closed {
        return None;
    }
    for port in f.ports_of(ns, bridge) {
        let Some((pns, peer)) = f.peer(ns, port) else {
            continue;
        };
        let Some(h) = f.held_on(pns, peer.index).find(|h| h.live()).copied() else {
            continue;
        };
        let net = subnet(h.net);
        for (_, dst, gw) in gateway_routes(pns) {
            if !net.contains(&gw) {
                continue;
            }
            let held_on_segment = f
                .holders(gw)
                .any(|g| f.same_segment((ns, bridge), (g.ns, g.link)));
            let bridge_on_net = f.held_on(ns, bridge.index).any(|b| subnet(b.net) == net);
            if held_on_segment || bridge_on_net {
                continue;
            }
            let addr = ipnet::Ipv4Net::new(gw, h.net.prefix_len()).ok()?;
            return Some(
                Finding::new(
                    "bridge-no-addr",
                    Severity::Error,
                    &ns.name,
                    Some(&bridge.name),
                    format!(
                        "bridge {} has no address on {net}, the gateway subnet of its ports",
                        bridge.name
                    ),
                    format!(
                        "{} ({} {}, behind port {}) routes {} via {gw}, but nothing on bridge \
                         {}'s segment holds {gw} and {} has no address on {net}.",
                        pns.name,
                        peer.name,
                        h.net,
                        port.name,
                        super::facts::show_dst(dst),
                        bridge.name,
                        bridge.name
                    ),
                )
                .object("link", &ns.name, bridge.name.clone())
                .object("route", &pns.name, super::facts::show_dst(dst))
                .fix(
                    format!("give {} the gateway address {addr}", bridge.name),
                    vec![Step::AddAddress {
                        ns: ns.name.clone(),
                        link: bridge.name.clone(),
                        addr: ipnet::IpNet::V4(addr),
                    }],
                ),
            );
        }
    }
    None
}

/// `br-netfilter`: DNAT rules in a namespace whose bridge connects several ports, while
/// bridged frames skip iptables (br_netfilter not loaded, or bridge-nf-call-iptables=0): a
/// NATed connection between two ports of the bridge gets its reply un-NATed never. Kubernetes
/// (kube-proxy's KUBE-SERVICES) requires it, so there it is a warning; elsewhere, information.
fn br_netfilter(ns: &Namespace, bridge: &Link) -> Option<Finding> {
    if bridge.ports.len() < 2 || ns.sysctls.bridge_nf_call_iptables == Some(1) {
        return None;
    }
    let fw = ns.firewall.as_ref()?;
    let dnat = fw
        .nat_rules()
        .find(|r| r.rule.target.as_deref() == Some("DNAT"))?;
    let kube = fw
        .iptables
        .iter()
        .any(|t| t.chain("KUBE-SERVICES").is_some());
    let state = match ns.sysctls.bridge_nf_call_iptables {
        None => "br_netfilter is not loaded (net.bridge.bridge-nf-call-iptables is absent)".into(),
        Some(v) => format!("net.bridge.bridge-nf-call-iptables={v}"),
    };
    let finding = Finding::new(
        "br-netfilter",
        if kube {
            Severity::Warning
        } else {
            Severity::Info
        },
        &ns.name,
        Some(&bridge.name),
        format!("traffic between ports of {} skips iptables", bridge.name),
        format!(
            "{} has DNAT rules (`{}`) and bridge {} joins {} ports, but {state}: a DNATed \
             connection between two of its ports gets replies that are never un-NATed.",
            ns.name,
            dnat.rule.raw.trim(),
            bridge.name,
            bridge.ports.len()
        ),
    )
    .object("link", &ns.name, bridge.name.clone())
    .object("sysctl", &ns.name, "net.bridge.bridge-nf-call-iptables");
    // Loading the module is a host-wide change, outside what a plan step does.
    let steps = if ns.sysctls.bridge_nf_call_iptables.is_some() {
        vec![Step::SetSysctl {
            ns: ns.name.clone(),
            key: "net/bridge/bridge-nf-call-iptables".into(),
            value: "1".into(),
            persist: false,
        }]
    } else {
        Vec::new()
    };
    Some(finding.fix("send bridged IPv4 traffic through iptables", steps))
}
