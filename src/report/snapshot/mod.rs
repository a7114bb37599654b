//! `netlens snapshot` as text: grouped by namespace, then the topology across them.

use std::fmt::Write;

use crate::model::{LinkKind, RouteFamily, RouteKind, RouteProtocol, RouteScope};
use crate::put;

use crate::model::topology::{describe_pair, veth_pairs};
use crate::model::{Namespace, NamespaceKind, NsStatus, Route, Snapshot, Sysctls};

pub fn render(snap: &Snapshot) -> String {
    let mut out = String::new();
    for w in &snap.warnings {
        put!(out, "warning: {w}");
    }
    for ns in &snap.namespaces {
        render_namespace(&mut out, ns);
    }
    let pairs = veth_pairs(snap);
    let bridges: Vec<(String, String, Vec<String>)> = snap
        .namespaces
        .iter()
        .flat_map(|ns| {
            ns.links
                .iter()
                .filter(|l| l.kind == LinkKind::Bridge)
                .map(|l| (ns.name.clone(), l.name.clone(), l.ports.clone()))
        })
        .collect();
    if !pairs.is_empty() || !bridges.is_empty() {
        out.push('\n');
        put!(out, "== topology");
        for p in &pairs {
            put!(out, "  {}", describe_pair(p));
        }
        for (ns, name, ports) in &bridges {
            // A node's cni0 can hold hundreds of ports: name the first ones, count the rest.
            let list = match ports.len() {
                0 => "no ports".to_string(),
                n if n <= MAX_PORTS => ports.join(", "),
                n => format!(
                    "{} (+{} more)",
                    ports[..MAX_PORTS].join(", "),
                    n - MAX_PORTS
                ),
            };
            put!(out, "  bridge {name} ({ns}): {list}");
        }
    }
    out
}

fn header(ns: &Namespace) -> String {
    let mut h = format!("== {}", ns.label_and_name());
    let kind = match ns.kind {
        NamespaceKind::Host => "host".to_string(),
        NamespaceKind::Named => format!("named: {}", ns.paths.join(", ")),
        NamespaceKind::Process => "held by process".to_string(),
    };
    let _ = write!(h, "  [{kind}; inode {}]", ns.inode);
    if let Some(w) = &ns.workload {
        // By characters, as below: a saved snapshot's id may be anything.
        let id: String = w.id.chars().take(12).collect();
        let _ = write!(h, " {} {} (id {id})", w.what(), w.display_name());
    }
    if !ns.processes.is_empty() {
        let procs: Vec<String> = ns
            .processes
            .iter()
            .take(5)
            .map(|p| match &p.container_id {
                // By characters: a saved snapshot's id may be anything, and a byte slice
                // could cut a character in two (a panic).
                Some(c) => format!(
                    "{} {} (container {})",
                    p.pid,
                    p.comm,
                    c.chars().take(12).collect::<String>()
                ),
                None => format!("{} {}", p.pid, p.comm),
            })
            .collect();
        let more = ns.processes.len().saturating_sub(5);
        let _ = write!(h, " processes: {}", procs.join(", "));
        if more > 0 {
            let _ = write!(h, " (+{more} more)");
        }
    }
    h
}

fn render_namespace(out: &mut String, ns: &Namespace) {
    out.push('\n');
    put!(out, "{}", header(ns));
    if !render_status(out, ns) {
        return;
    }
    render_links(out, ns);
    if !ns.addresses.is_empty() {
        put!(out, "  addresses");
        for a in &ns.addresses {
            put!(out, "    {:<15} {} scope {}", a.ifname, a.cidr(), a.scope);
        }
    }
    let routes: Vec<&Route> = ns.shown_routes().collect();
    if !routes.is_empty() {
        put!(out, "  routes");
        for r in routes {
            put!(out, "    {}", route_line(r));
        }
    }
    render_rules(out, ns);
    render_neighbors(out, ns);
    put!(out, "{}", sysctl_line(&ns.sysctls));
    if let Some(fw) = &ns.firewall {
        render_firewall(out, fw);
    }
    if let Some(dns) = &ns.dns {
        render_dns(out, dns);
    }
    render_sockets(out, ns);
}

/// The namespace's problems while read; false when nothing more of it can be shown.
fn render_status(out: &mut String, ns: &Namespace) -> bool {
    match &ns.status {
        NsStatus::Ok => {}
        NsStatus::Partial(problems) => {
            for p in problems {
                put!(out, "  ! {p}");
            }
        }
        NsStatus::Gone => {
            put!(
                out,
                "  ! gone: the namespace disappeared while it was being read"
            );
            return false;
        }
        NsStatus::Inaccessible(why) => {
            put!(out, "  ! {why}");
            return false;
        }
    }
    true
}

fn render_links(out: &mut String, ns: &Namespace) {
    put!(out, "  links");
    for l in &ns.links {
        let state = if l.is_up() {
            l.oper_state.as_str()
        } else {
            "DOWN"
        };
        let mut line = format!(
            "    {:<3} {:<15} {:<9} {:<8} mtu {:<5}",
            l.index,
            l.name,
            // The kind's Display ignores widths: padded as text so the columns line up.
            l.kind.to_string(),
            state,
            l.mtu
        );
        if let Some(mac) = &l.mac {
            let _ = write!(line, " {mac}");
        }
        if let Some(m) = &l.master {
            let _ = write!(line, "  master {m}");
        }
        if let Some(p) = &l.peer {
            let name = p.name.clone().unwrap_or_else(|| format!("if{}", p.ifindex));
            let pns = p
                .namespace
                .clone()
                .unwrap_or_else(|| "unknown namespace".into());
            let _ = write!(line, "  ⇄ {name} ({pns})");
        }
        if !l.ports.is_empty() {
            let _ = write!(line, "  ports: {}", l.ports.join(", "));
        }
        put!(out, "{}", line.trim_end());
    }
}

/// Policy rules other than the kernel's defaults, and a warning when `lookup main` is gone.
fn render_rules(out: &mut String, ns: &Namespace) {
    let custom_rules: Vec<_> = ns.rules.iter().filter(|r| !r.is_kernel_default()).collect();
    // A deleted `32766 lookup main` silently breaks all routing: say so.
    let v4_rules: Vec<_> = ns
        .rules
        .iter()
        .filter(|r| r.family == RouteFamily::Inet)
        .collect();
    let main_missing = !v4_rules.is_empty()
        && !v4_rules
            .iter()
            .any(|r| r.is_kernel_default() && r.table == 254);
    if !custom_rules.is_empty() || main_missing {
        put!(out, "  rules");
        if main_missing {
            put!(out, "    ! no IPv4 rule `32766: lookup main`: the main table is not consulted by default");
        }
        for r in custom_rules {
            let not = if r.invert { " not" } else { "" };
            let mut line = format!("    {} {}:{not}", r.family, r.priority);
            for (k, v) in [
                ("from", &r.src),
                ("to", &r.dst),
                ("iif", &r.iif),
                ("oif", &r.oif),
            ] {
                if let Some(v) = v {
                    let _ = write!(line, " {k} {v}");
                }
            }
            if let Some(m) = r.fwmark_text() {
                let _ = write!(line, " fwmark {m}");
            }
            let _ = write!(line, " {}", r.action_text());
            if let Some(p) = r
                .protocol
                .as_ref()
                .filter(|p| !matches!(p, RouteProtocol::Kernel | RouteProtocol::Unspec))
            {
                let _ = write!(line, " proto {p}");
            }
            if let Some(p) = r.suppress_prefixlen {
                let _ = write!(line, " suppress_prefixlength {p}");
            }
            put!(out, "{line}");
        }
    }
}

fn render_neighbors(out: &mut String, ns: &Namespace) {
    if !ns.neighbors.is_empty() {
        put!(out, "  neighbors");
        for n in &ns.neighbors {
            let ll = n.lladdr.clone().unwrap_or_else(|| "-".into());
            put!(
                out,
                "    {} dev {} lladdr {} {}",
                n.address,
                n.dev,
                ll,
                n.state
            );
        }
    }
}

/// The forwarding, rp_filter, bridge-netfilter and conntrack sysctls on one line.
fn sysctl_line(s: &Sysctls) -> String {
    let show = |v: Option<u8>| v.map(|v| v.to_string()).unwrap_or_else(|| "-".into());
    let mut line = format!(
        "  sysctl  ip_forward={} ipv6.forwarding={} rp_filter(all)={}",
        show(s.ip_forward),
        show(s.ipv6_forwarding),
        show(s.rp_filter_all)
    );
    // The kernel applies max(all, iface): list interfaces where that is stricter than `all`.
    let all = s.rp_filter_all.unwrap_or(0);
    let strict: Vec<String> = s
        .rp_filter
        .iter()
        .filter(|(_, v)| **v > all)
        .map(|(i, v)| format!("{i}={v}"))
        .collect();
    if !strict.is_empty() {
        let _ = write!(line, " rp_filter[{}]", strict.join(","));
    }
    if let Some(v) = s.bridge_nf_call_iptables {
        let _ = write!(line, " bridge-nf-call-iptables={v}");
    }
    if let Some(v) = s.bridge_nf_call_ip6tables {
        let _ = write!(line, " bridge-nf-call-ip6tables={v}");
    }
    if let (Some(c), Some(m)) = (s.conntrack_count, s.conntrack_max) {
        let _ = write!(line, " conntrack={c}/{m}");
    }
    line
}

fn render_sockets(out: &mut String, ns: &Namespace) {
    if !ns.sockets.is_empty() {
        put!(out, "  listening");
        for sock in &ns.sockets {
            let who: Vec<String> = sock
                .processes
                .iter()
                .map(|p| format!("{}({})", p.comm, p.pid))
                .collect();
            let addr = match sock.address {
                std::net::IpAddr::V6(a) => format!("[{a}]:{}", sock.port),
                a => format!("{a}:{}", sock.port),
            };
            put!(out, "    {:<5} {:<24} {}", sock.proto, addr, who.join(", "));
        }
    }
}

fn route_line(r: &Route) -> String {
    let mut line = String::new();
    if r.kind != RouteKind::Unicast {
        let _ = write!(line, "{} ", r.kind);
    }
    line.push_str(&r.dst.to_string());
    if let Some(g) = r.gateway {
        let _ = write!(line, " via {g}");
    }
    if let Some(d) = &r.dev {
        let _ = write!(line, " dev {d}");
    }
    for hop in &r.nexthops {
        let _ = write!(line, " nexthop {hop}");
    }
    if !matches!(r.protocol, RouteProtocol::Boot | RouteProtocol::Unspec) {
        let _ = write!(line, " proto {}", r.protocol);
    }
    if r.scope != RouteScope::Global {
        let _ = write!(line, " scope {}", r.scope);
    }
    if let Some(s) = r.prefsrc {
        let _ = write!(line, " src {s}");
    }
    if let Some(m) = r.metric {
        let _ = write!(line, " metric {m}");
    }
    if r.table != 254 {
        let _ = write!(line, " table {}", r.table_name);
    }
    if r.family == RouteFamily::Inet6 {
        line = format!("[v6] {line}");
    }
    line
}

/// Bridge ports named in the topology section; the JSON has all of them.
const MAX_PORTS: usize = 16;

mod dns_files;
mod firewall;

use dns_files::render_dns;
use firewall::render_firewall;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ProcessRef;

    fn demo() -> Snapshot {
        serde_json::from_str(include_str!("../../../assets/demo-bridge.json")).expect("demo")
    }

    /// A saved snapshot is untrusted: names with ESC and newlines stay escaped on their line,
    /// and an odd container id does not panic.
    #[test]
    fn hostile_saved_snapshot_renders_inert() {
        let mut snap = demo();
        let ns = &mut snap.namespaces[1];
        ns.name = "n\u{1b}[2J\nfake".into();
        ns.processes = vec![ProcessRef {
            pid: 7,
            comm: "c\u{9b}1m".into(),
            container_id: Some("aéééééééééééé".into()),
        }];
        let text = render(&snap);
        assert!(
            !text
                .chars()
                .any(|c| c != '\n' && crate::text::escape::is_unsafe_char(c)),
            "{text}"
        );
        assert!(text.contains("== n\\x1b[2J\\nfake"), "{text}");
        assert!(
            text.contains("7 c\\u{9b}1m (container aééééééééééé)"),
            "{text}"
        );
        assert!(!text.lines().any(|l| l.starts_with("fake")), "{text}");
    }
}
