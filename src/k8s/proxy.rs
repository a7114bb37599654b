//! What kube-proxy left in a namespace's firewall: which mode it runs in, and the NodePorts
//! its rules serve. In iptables mode kube-proxy does not listen on NodePorts (it used to hold
//! them open before Kubernetes 1.26); the `nat KUBE-NODEPORTS` chain is where they exist.

use serde::{Deserialize, Serialize};

use crate::firewall::Firewall;
use crate::model::{LinkKind, Namespace};

/// How Services are implemented on this node, as far as the rules show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProxyMode {
    /// `KUBE-SERVICES` / `KUBE-NODEPORTS` chains in iptables' nat table.
    Iptables,
    /// `KUBE-NODE-PORT` ipset chains or the `kube-ipvs0` dummy link.
    Ipvs,
    /// The nftables `kube-proxy` table.
    Nftables,
    /// No kube-proxy state: it does not run here, or something replaces it (Cilium, …).
    None,
}

impl ProxyMode {
    /// What netlens can say about NodePorts in this mode.
    pub fn nodeport_note(self) -> &'static str {
        match self {
            ProxyMode::Iptables => {
                "kube-proxy iptables mode: NodePorts are the nat KUBE-NODEPORTS rules; \
                 kube-proxy does not listen on them"
            }
            ProxyMode::Ipvs => {
                "kube-proxy IPVS mode: NodePorts are IPVS virtual services (ipvsadm -Ln), \
                 which netlens does not read"
            }
            ProxyMode::Nftables => {
                "kube-proxy nftables mode: NodePorts are elements of the map \
                 kube-proxy service-nodeports, which netlens does not read (nft list map ip \
                 kube-proxy service-nodeports)"
            }
            ProxyMode::None => {
                "no kube-proxy rules here: NodePorts, if any, are served by something else \
                 (eBPF kube-proxy replacement) or a listener"
            }
        }
    }
}

/// A NodePort a kube-proxy rule serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodePortRule {
    pub port: u16,
    /// `tcp` or `udp`.
    pub protocol: String,
    /// The rule's comment: `namespace/service:port-name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The rule, as `iptables-save` prints it.
    pub rule: String,
}

pub fn mode(ns: &Namespace) -> ProxyMode {
    let Some(fw) = &ns.firewall else {
        return if has_ipvs_link(ns) {
            ProxyMode::Ipvs
        } else {
            ProxyMode::None
        };
    };
    if fw
        .nft
        .iter()
        .any(|t| t.name == "kube-proxy" && matches!(t.family.as_str(), "ip" | "ip6" | "inet"))
    {
        return ProxyMode::Nftables;
    }
    let has_chain = |name: &str| {
        fw.iptables
            .iter()
            .any(|t| t.name == "nat" && t.chain(name).is_some())
    };
    if has_ipvs_link(ns) || has_chain("KUBE-NODE-PORT") {
        return ProxyMode::Ipvs;
    }
    if has_chain("KUBE-SERVICES") || has_chain("KUBE-NODEPORTS") {
        return ProxyMode::Iptables;
    }
    ProxyMode::None
}

/// kube-proxy's IPVS mode holds every Service address on this dummy link (a fixed name).
fn has_ipvs_link(ns: &Namespace) -> bool {
    ns.links
        .iter()
        .any(|l| l.name == "kube-ipvs0" && l.kind == LinkKind::Dummy)
}

/// Whether any iptables chain or nft table is kube-proxy's (`KUBE-…`, `kube-proxy`).
pub fn has_kube_rules(fw: &Firewall) -> bool {
    fw.iptables
        .iter()
        .any(|t| t.chains.iter().any(|c| c.name.starts_with("KUBE-")))
        || fw.nft.iter().any(|t| t.name == "kube-proxy")
}

/// NodePorts from `nat KUBE-NODEPORTS` (v4 and v6, nft and legacy), one per protocol and
/// port. The filter table's `KUBE-NODEPORTS` holds health-check ports only, so it is skipped.
pub fn nodeports(fw: &Firewall) -> Vec<NodePortRule> {
    let mut out: Vec<NodePortRule> = Vec::new();
    for t in fw.iptables.iter().filter(|t| t.name == "nat") {
        let Some(chain) = t.chain("KUBE-NODEPORTS") else {
            continue;
        };
        for r in &chain.rules {
            let Some(proto) = r.protocol.as_ref().filter(|p| !p.negated) else {
                continue;
            };
            let Some(port) = r
                .dport
                .as_ref()
                .filter(|d| !d.negated)
                .and_then(|d| d.value.parse::<u16>().ok())
            else {
                continue;
            };
            if out
                .iter()
                .any(|n| n.port == port && n.protocol == proto.value)
            {
                continue;
            }
            out.push(NodePortRule {
                port,
                protocol: proto.value.clone(),
                service: r.comment.clone(),
                rule: crate::model::diff::strip_xt_counters(&r.raw),
            });
        }
    }
    out.sort_by(|a, b| (a.port, &a.protocol).cmp(&(b.port, &b.protocol)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::firewall::{iptables_save, IpFamily, XtSource};
    use crate::model::NamespaceKind;

    fn ns_with(text: &str) -> Namespace {
        let (tables, errors) = iptables_save::parse(text, IpFamily::V4, XtSource::Nft);
        assert!(errors.is_empty(), "{errors:?}");
        let mut ns = Namespace::new("host".into(), NamespaceKind::Host, 1);
        ns.firewall = Some(Firewall {
            backends: Vec::new(),
            iptables: tables,
            nft: Vec::new(),
            errors: Vec::new(),
        });
        ns
    }

    #[test]
    fn nodeports_of_a_real_kube_proxy_rule_set() {
        let ns = ns_with(include_str!(
            "../../tests/samples/iptables/kube-proxy/iptables-nft-save.txt"
        ));
        assert_eq!(mode(&ns), ProxyMode::Iptables);
        let fw = ns.firewall.as_ref().expect("firewall");
        assert!(has_kube_rules(fw));
        let rules = nodeports(fw);
        let found: Vec<(u16, &str, Option<&str>)> = rules
            .iter()
            .map(|n| (n.port, n.protocol.as_str(), n.service.as_deref()))
            .collect();
        // The test cluster uses a custom NodePort range; the filter-table health-check port
        // 30000 is not a NodePort.
        assert_eq!(
            found,
            [
                (3001, "tcp", Some("ns2/svc2:p80")),
                (3002, "tcp", Some("ns5/svc5:p80")),
                (3003, "tcp", Some("ns3/svc3:p80")),
            ]
        );
    }

    #[test]
    fn a_plain_host_has_no_kube_proxy() {
        let ns =
            ns_with("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n");
        assert_eq!(mode(&ns), ProxyMode::None);
        assert!(!has_kube_rules(ns.firewall.as_ref().expect("fw")));
    }
}
