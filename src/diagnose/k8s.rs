//! Kubernetes node ports (the "Ports and Protocols" table, via [`crate::k8s::check`]): a port
//! other nodes need bound to loopback only, or dropped by INPUT; a component's port with no
//! listener (information only: the component may run elsewhere, or on another port).
//!
//! Only namespaces that look like a node (a kubelet/kube-apiserver/etcd/kube-proxy listener,
//! kube-proxy's rules) are checked, so plain hosts, container hosts and the labs get nothing.
//! Every namespace is a candidate, not just the host's: kind and other containerised nodes
//! are namespaces of their own.

use super::facts::Facts;
use super::{Finding, Severity};
use crate::k8s::{check_namespace_with, looks_like_node, PortCheck, PortsOptions};

pub fn check(f: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    for (_, ns) in &f.namespaces {
        let Some(why) = looks_like_node(ns) else {
            continue;
        };
        // The firewall compiled once in `Facts` (compiling it per judgement cost ~95 ms at 1000
        // pods); `judge_with` gives the same verdicts as `judge`.
        let rep = check_namespace_with(f.snap, ns, &PortsOptions::default(), f.compiled(ns));
        let context = format!(
            "{} looks like a Kubernetes {} node ({why}; role {}).",
            ns.name,
            rep.role.as_str(),
            rep.role_reason
        );
        for p in &rep.ports {
            out.extend(port_findings(&ns.name, p, &context));
        }
    }
    out
}

fn port_findings(ns: &str, p: &PortCheck, context: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    let key = format!("{}/{}", p.protocol, p.port_text());
    let needs: Vec<&str> = p
        .used_by
        .iter()
        .map(|u| u.as_str())
        .filter(|u| *u != "self")
        .collect();
    if p.peers_need() && p.loopback_only {
        out.push(
            Finding::new(
                "k8s-port-loopback",
                Severity::Warning,
                ns,
                Some(&key),
                format!("{} ({key}) listens on loopback only in {ns}", p.component),
                format!(
                    "{context} {} listens on {} only, but {} must reach {key} from other \
                     hosts, so they get connection refused. Bind it to the node's address \
                     or 0.0.0.0 (its --bind-address / --listen-client-urls / --advertise \
                     flag).",
                    p.process
                        .as_ref()
                        .map(|pr| format!("{} (pid {})", pr.name, pr.pid))
                        .unwrap_or_else(|| "a process".into()),
                    p.addresses.join(", "),
                    needs.join(", ")
                ),
            )
            .object("port", ns, key.clone()),
        );
    }
    let mut blocked: Vec<(String, &crate::k8s::InputVerdict)> = Vec::new();
    if p.peers_need() && p.nodeports.is_empty() && p.input.is_drop() && (p.listening || p.required)
    {
        blocked.push((key.clone(), &p.input));
    }
    for n in p.nodeports.iter().filter(|n| n.input.is_drop()) {
        blocked.push((format!("{}/{}", n.protocol, n.port), &n.input));
    }
    for (port, v) in blocked {
        let rule = v.rule.clone().unwrap_or_default();
        out.push(
            Finding::new(
                "k8s-port-blocked",
                Severity::Warning,
                ns,
                Some(&port),
                format!("INPUT drops {} ({port}) in {ns}", p.component),
                format!(
                    "{context} A new connection to {port} from {}{} is dropped by `{rule}`, \
                     but {} must reach it. Accept it before that rule for the nodes' \
                     subnet.",
                    v.from.map(|a| a.to_string()).unwrap_or_default(),
                    v.iif
                        .as_deref()
                        .map(|i| format!(" (in on {i})"))
                        .unwrap_or_default(),
                    needs.join(", ")
                ),
            )
            .object("rule", ns, rule),
        );
    }
    if p.required && !p.listening {
        out.push(
            Finding::new(
                "k8s-port-missing",
                Severity::Info,
                ns,
                Some(&key),
                format!("nothing listens on {key} ({}) in {ns}", p.component),
                format!(
                    "{context} The Ports and Protocols table has {} on {key}, and nothing \
                     listens there. That is fine if it runs elsewhere or on another port; \
                     otherwise it is not running.",
                    p.component
                ),
            )
            .object("port", ns, key.clone()),
        );
    }
    out
}
