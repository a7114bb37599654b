//! `netlens ports` as text: who the node is, then one line per row of the table with what
//! listens, where, and what INPUT does, followed by its NodePorts, peer connects and problems.
//! The TUI's Ports tab can show the same text.

use crate::k8s::{PortCheck, PortsReport, Process};

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
    let mut out = String::new();
    let how = if r.role_detected { "detected" } else { "given" };
    out.push_str(&format!(
        "node {} · role {} ({how}: {})\n",
        r.namespace,
        r.role.as_str(),
        r.role_reason
    ));
    match &r.kubernetes {
        Some(why) => out.push_str(&format!("kubernetes: {why}\n")),
        None => out.push_str("kubernetes: no sign of it here\n"),
    }
    let id = &r.identity;
    let macs: Vec<String> = id
        .macs
        .iter()
        .map(|n| format!("{} {}", n.ifname, n.mac))
        .collect();
    out.push_str(&format!(
        "identity: hostname {} · MACs {} · product_uuid {} · machine-id {}\n",
        id.hostname,
        if macs.is_empty() {
            "none (no physical NIC)".into()
        } else {
            macs.join(", ")
        },
        id.product_uuid.as_deref().unwrap_or("unreadable"),
        id.machine_id.as_deref().unwrap_or("unreadable"),
    ));
    for u in &id.unreadable {
        out.push_str(&format!("  unreadable: {u}\n"));
    }
    out.push('\n');
    out.push_str(&format!(
        "{:<12} {:<5} {:<24} {:<6} {:<18} {:<22} {}\n",
        "PORT", "PROTO", "COMPONENT", "LISTEN", "PROCESS", "ADDRESS", "INPUT"
    ));
    for p in &r.ports {
        out.push_str(&row(p));
        out.push('\n');
        if let Some(rule) = &p.input.rule {
            out.push_str(&format!("    input: {rule}\n"));
        }
        for n in &p.nodeports {
            out.push_str(&format!(
                "    NodePort {}/{} {}{}: {} · input {}\n",
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
            ));
        }
        for peer in &p.peers {
            out.push_str(&format!(
                "    peer {}: {} in {} ms\n",
                std::net::SocketAddr::new(peer.addr, peer.port),
                peer.result,
                peer.ms
            ));
        }
        for n in &p.notes {
            out.push_str(&format!("    note: {n}\n"));
        }
        for pr in &p.problems {
            out.push_str(&format!("    ! {pr}\n"));
        }
    }
    for n in &r.notes {
        out.push_str(&format!("note: {n}\n"));
    }
    if let Some(from) = &r.probed_from {
        out.push_str(&format!("peer connects were made from {from}\n"));
    }
    let bad = r.ports.iter().filter(|p| !p.problems.is_empty()).count();
    if bad == 0 {
        out.push_str("ports: every required port listens, reachable and not blocked\n");
    } else {
        out.push_str(&format!(
            "ports: problems on {bad} of {} rows\n",
            r.ports.len()
        ));
    }
    out
}
