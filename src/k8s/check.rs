//! The ports table checked against one namespace of a snapshot. Pure.

use std::net::IpAddr;

use super::input::{is_local, judge_with, representative_peers, InputVerdict};
use super::route_index::RouteIndex;
use super::table::{rows_for, PortSpec, Role};
use super::{identity, proxy, NodePortCheck, PortCheck, PortsOptions, PortsReport, Process};
use crate::firewall::eval::Compiled;
use crate::model::{ListeningSocket, Namespace, NamespaceKind, Snapshot};

/// Processes whose listeners make a namespace a Kubernetes node (`comm`, as the kernel keeps
/// it: at most 15 characters).
const K8S_COMMS: [&str; 4] = ["kubelet", "kube-apiserver", "etcd", "kube-proxy"];

/// Checks the host namespace (or `opts.namespace`) of `snap`.
pub fn check(snap: &Snapshot, opts: &PortsOptions) -> PortsReport {
    let ns = match &opts.namespace {
        Some(name) => snap.namespace(name),
        None => snap
            .namespaces
            .iter()
            .find(|n| n.kind == NamespaceKind::Host),
    };
    match ns {
        Some(ns) => check_namespace(snap, ns, opts),
        None => {
            let name = opts.namespace.clone().unwrap_or_else(|| "host".into());
            let mut empty = Namespace::new(name.clone(), NamespaceKind::Named, 0);
            empty.status = crate::model::NsStatus::Gone;
            let mut r = check_namespace(snap, &empty, opts);
            r.notes
                .push(format!("namespace {name} is not in the snapshot"));
            r
        }
    }
}

/// Why `ns` looks like a Kubernetes node (a kubelet, kube-apiserver, etcd or kube-proxy
/// listener, or kube-proxy's rules), or `None`.
pub fn looks_like_node(ns: &Namespace) -> Option<String> {
    for s in &ns.sockets {
        if let Some(p) = s
            .processes
            .iter()
            .find(|p| K8S_COMMS.contains(&p.comm.as_str()))
        {
            return Some(format!("{} listens on {}/{}", p.comm, proto_of(s), s.port));
        }
    }
    if ns.firewall.as_ref().is_some_and(proxy::has_kube_rules) {
        return Some("kube-proxy's KUBE-* rules are present".into());
    }
    if proxy::mode(ns) == proxy::ProxyMode::Ipvs {
        return Some("kube-proxy's kube-ipvs0 link is present".into());
    }
    None
}

pub fn check_namespace(snap: &Snapshot, ns: &Namespace, opts: &PortsOptions) -> PortsReport {
    check_namespace_with(snap, ns, opts, None)
}

/// [`check_namespace`], judging INPUT by walking `compiled` (`ns`'s firewall compiled once, as
/// the doctor holds it) instead of compiling the tables for every judgement.
pub fn check_namespace_with(
    snap: &Snapshot,
    ns: &Namespace,
    opts: &PortsOptions,
    compiled: Option<&Compiled>,
) -> PortsReport {
    let (role, role_detected, role_reason) = match opts.role {
        Some(r) => (r, false, "given with --role".to_string()),
        None => {
            let (r, why) = detect_role(ns);
            (r, true, why)
        }
    };
    // A peer that is one of this namespace's own addresses is the node itself (a `--from`
    // test from a pod of this node, say): it says nothing about what other nodes get.
    let remote: Vec<IpAddr> = opts
        .peers
        .iter()
        .copied()
        .filter(|p| !is_local(ns, *p))
        .collect();
    let sources = if remote.is_empty() {
        representative_peers(ns)
    } else {
        remote
    };
    let mode = proxy::mode(ns);
    let rules = ns
        .firewall
        .as_ref()
        .map(proxy::nodeports)
        .unwrap_or_default();
    // Every row and NodePort is judged from every peer, each looking up routes: index them
    // once (the host holds a route per pod).
    let routes = RouteIndex::new(ns);
    let ports = rows_for(role)
        .iter()
        .map(|spec| check_row(ns, compiled, &routes, spec, &rules, &sources, mode))
        .collect();
    let kubernetes = looks_like_node(ns);
    let mut notes = Vec::new();
    if kubernetes.is_none() {
        notes.push(format!(
            "{} does not look like a Kubernetes node (no kubelet, kube-apiserver, etcd or \
             kube-proxy listener, no KUBE-* rules)",
            ns.name
        ));
    }
    if sources.is_empty() {
        notes.push("no peer address to judge INPUT from (no default route, no subnet)".into());
    }
    let mut r = PortsReport {
        namespace: ns.name.clone(),
        role,
        role_detected,
        role_reason,
        kubernetes,
        kube_proxy: mode,
        identity: identity::from_snapshot(&snap.hostname, ns),
        ports,
        probed_from: None,
        notes,
        ok: true,
    };
    r.update_ok();
    r
}

fn proto_of(s: &ListeningSocket) -> &str {
    s.proto.trim_end_matches('6')
}

fn detect_role(ns: &Namespace) -> (Role, String) {
    let tcp = || ns.sockets.iter().filter(|s| proto_of(s) == "tcp");
    for (port, comm) in [(6443, "kube-apiserver"), (2379, "etcd")] {
        if let Some(s) = tcp().find(|s| s.processes.iter().any(|p| p.comm == comm)) {
            return (
                Role::ControlPlane,
                format!("{comm} listens on tcp/{}: control plane", s.port),
            );
        }
        if let Some(s) = tcp().find(|s| s.port == port) {
            let who = s
                .processes
                .first()
                .map(|p| p.comm.as_str())
                .unwrap_or("a process");
            return (
                Role::ControlPlane,
                format!("{who} listens on tcp/{port} ({comm}'s port): control plane"),
            );
        }
    }
    (
        Role::Worker,
        "no kube-apiserver or etcd listener: worker".into(),
    )
}

/// Loopback last, unspecified first: the order in which an address exposes a port.
fn exposure(ip: IpAddr) -> u8 {
    if ip.is_unspecified() {
        0
    } else if ip.is_loopback() {
        2
    } else {
        1
    }
}

fn sockets_on<'a>(ns: &'a Namespace, proto: &str, port: u16) -> Vec<&'a ListeningSocket> {
    ns.sockets
        .iter()
        .filter(|s| proto_of(s) == proto && s.port == port)
        .collect()
}

fn process_of(socks: &[&ListeningSocket]) -> Option<Process> {
    socks
        .iter()
        .find_map(|s| s.processes.first())
        .map(Process::from)
}

fn judge_all(
    ns: &Namespace,
    compiled: Option<&Compiled>,
    routes: &RouteIndex,
    sources: &[IpAddr],
    proto: &str,
    port: u16,
) -> InputVerdict {
    InputVerdict::worst(
        sources
            .iter()
            .map(|src| judge_with(ns, compiled, Some(routes), *src, proto, port))
            .collect(),
    )
}

fn check_row(
    ns: &Namespace,
    compiled: Option<&Compiled>,
    routes: &RouteIndex,
    spec: &PortSpec,
    rules: &[proxy::NodePortRule],
    sources: &[IpAddr],
    mode: proxy::ProxyMode,
) -> PortCheck {
    let mut socks: Vec<&ListeningSocket> = ns
        .sockets
        .iter()
        .filter(|s| proto_of(s) == spec.protocol && spec.contains(s.port))
        .collect();
    socks.sort_by_key(|s| (exposure(s.address), s.port));
    let listening = !socks.is_empty();
    let mut addresses: Vec<String> = socks
        .iter()
        .map(|s| std::net::SocketAddr::new(s.address, s.port).to_string())
        .collect();
    addresses.dedup();
    let loopback_only = listening && socks.iter().all(|s| s.address.is_loopback());

    let mut nodeports = Vec::new();
    let mut notes = Vec::new();
    if spec.is_nodeport() {
        notes.push(mode.nodeport_note().to_string());
        for r in rules.iter().filter(|r| r.protocol == spec.protocol) {
            let on = sockets_on(ns, spec.protocol, r.port);
            nodeports.push(NodePortCheck {
                port: r.port,
                protocol: r.protocol.clone(),
                service: r.service.clone(),
                rule: r.rule.clone(),
                listening: !on.is_empty(),
                process: process_of(&on),
                in_default_range: spec.contains(r.port),
                input: judge_all(ns, compiled, routes, sources, spec.protocol, r.port),
            });
        }
    }

    // The ports INPUT is judged on: the whole range when it is small (etcd's two), else its
    // first port and those in use.
    let input = if spec.is_nodeport() && !nodeports.is_empty() {
        InputVerdict::worst(nodeports.iter().map(|n| n.input.clone()).collect())
    } else {
        let end = spec.end_port.unwrap_or(spec.port);
        let mut ports: Vec<u16> = if end - spec.port < 16 {
            (spec.port..=end).collect()
        } else {
            vec![spec.port]
        };
        ports.extend(socks.iter().map(|s| s.port));
        ports.sort_unstable();
        ports.dedup();
        InputVerdict::worst(
            ports
                .iter()
                .map(|p| judge_all(ns, compiled, routes, sources, spec.protocol, *p))
                .collect(),
        )
    };

    let mut check = PortCheck {
        port: spec.port,
        end_port: spec.end_port,
        protocol: spec.protocol.into(),
        component: spec.component.into(),
        used_by: spec.used_by.to_vec(),
        required: spec.required,
        listening,
        process: process_of(&socks),
        address: socks.first().map(|s| s.address),
        addresses,
        loopback_only,
        input,
        nodeports,
        peers: Vec::new(),
        problems: Vec::new(),
        notes,
    };
    check.problems = problems(&check);
    check
}

fn who_needs(c: &PortCheck) -> String {
    c.used_by
        .iter()
        .filter(|u| **u != super::User::SelfNode)
        .map(|u| u.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn dropped(v: &InputVerdict) -> String {
    format!(
        "INPUT drops a new connection from {}{}: {}",
        v.from.map(|f| f.to_string()).unwrap_or_default(),
        v.iif
            .as_deref()
            .map(|i| format!(" (in on {i})"))
            .unwrap_or_default(),
        v.rule.as_deref().unwrap_or("?")
    )
}

fn problems(c: &PortCheck) -> Vec<String> {
    let mut out = Vec::new();
    let what = format!("{}/{}", c.protocol, c.port_text());
    if c.required && !c.listening {
        out.push(format!("nothing listens on {what} ({})", c.component));
    }
    if c.peers_need() && c.loopback_only {
        out.push(format!(
            "{what} is bound to {} only, but {} must reach it",
            c.addresses.join(", "),
            who_needs(c)
        ));
    }
    if c.peers_need() && c.nodeports.is_empty() && c.input.is_drop() && (c.listening || c.required)
    {
        out.push(format!("{what}: {}", dropped(&c.input)));
    }
    for n in c.nodeports.iter().filter(|n| n.input.is_drop()) {
        out.push(format!(
            "NodePort {}/{}: {}",
            n.protocol,
            n.port,
            dropped(&n.input)
        ));
    }
    out
}
