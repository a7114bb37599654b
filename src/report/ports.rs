//! `netlens ports` as text: who the node is, then one line per row of the table with what
//! listens, where, and what INPUT does, followed by its NodePorts, peer connects and problems.
//! The TUI's Ports tab can show the same text.

use crate::k8s::{PortCheck, PortsReport, Process};
use crate::put;

fn proc_text(p: &Option<Process>) -> String {
    p.as_ref()
        .map(|p| format!("{}/{}", p.name, p.pid))
        .unwrap_or_else(|| "-".into())
}

fn row(p: &PortCheck) -> String {
    let listen = if p.listening { "yes" } else { "no" };
    let addr = p
        .address
        .map(|a| {
            if p.loopback_only {
                format!("{a} (loopback)")
            } else {
                a.to_string()
            }
        })
        .unwrap_or_else(|| "-".into());
    format!(
        "{:<12} {:<5} {:<24} {:<6} {:<18} {:<22} {}",
        p.port_text(),
        p.protocol,
        p.component,
        listen,
        proc_text(&p.process),
        addr,
        p.input.verdict
    )
}

pub fn render_ports(r: &PortsReport) -> String {
    let mut out = header(r);
    out.push('\n');
    put!(
        out,
        "{:<12} {:<5} {:<24} {:<6} {:<18} {:<22} {}",
        "PORT",
        "PROTO",
        "COMPONENT",
        "LISTEN",
        "PROCESS",
        "ADDRESS",
        "INPUT"
    );
    for p in &r.ports {
        // Process names and rule text are the kernel's and the containers': one escaped line.
        put!(out, "{}", row(p));
        if let Some(rule) = &p.input.rule {
            put!(out, "    input: {rule}");
        }
        for n in &p.nodeports {
            put!(
                out,
                "    NodePort {}/{} {}{}: {} · input {}",
                n.protocol,
                n.port,
                n.service.as_deref().unwrap_or("(no comment)"),
                if n.in_default_range {
                    ""
                } else {
                    " (outside the default range)"
                },
                if n.listening {
                    format!("listener {}", proc_text(&n.process))
                } else {
                    "no listener".into()
                },
                n.input.verdict
            );
        }
        // A failed connect is one of the row's problems (`! connect to …`, with the error):
        // printed there only, not a second time here.
        for peer in p.peers.iter().filter(|peer| peer.connected()) {
            put!(
                out,
                "    peer {}: {} in {} ms",
                std::net::SocketAddr::new(peer.addr, peer.port),
                peer.result,
                peer.ms
            );
        }
        for n in &p.notes {
            put!(out, "    note: {n}");
        }
        for pr in &p.problems {
            put!(out, "    ! {pr}");
        }
    }
    for n in &r.notes {
        put!(out, "note: {n}");
    }
    if let Some(from) = &r.probed_from {
        put!(out, "peer connects were made from {from}");
    }
    let bad = r.ports.iter().filter(|p| !p.problems.is_empty()).count();
    if bad == 0 {
        out.push_str("ports: every required port listens, reachable and not blocked\n");
    } else {
        put!(
            out,
            "ports: problems on {bad} of {}",
            super::plural(r.ports.len(), "row")
        );
    }
    out
}

/// The lines above the table: the node and its role, Kubernetes, the node's identity.
fn header(r: &PortsReport) -> String {
    let mut out = String::new();
    // The reason of a role given with --role already says so ("given with --role").
    let why = if r.role_detected {
        format!("detected: {}", r.role_reason)
    } else {
        r.role_reason.clone()
    };
    put!(
        out,
        "node {} · role {} ({why})",
        r.namespace,
        r.role.as_str()
    );
    match &r.kubernetes {
        Some(why) => put!(out, "kubernetes: {why}"),
        None => out.push_str("kubernetes: no sign of it here\n"),
    }
    let id = &r.identity;
    let macs: Vec<String> = id
        .macs
        .iter()
        .map(|n| format!("{} {}", n.ifname, n.mac))
        .collect();
    put!(
        out,
        "identity: hostname {} · MACs {} · product_uuid {} · machine-id {}",
        id.hostname,
        if macs.is_empty() {
            "none (no physical NIC)".into()
        } else {
            macs.join(", ")
        },
        id.product_uuid.as_deref().unwrap_or("unreadable"),
        id.machine_id.as_deref().unwrap_or("unreadable"),
    );
    for u in &id.unreadable {
        put!(out, "  unreadable: {u}");
    }
    out
}
