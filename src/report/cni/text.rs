//! The text form of `netlens cni`'s report.

use super::{CniReport, ConfigView, NetworkView};

/// The text form.
pub fn render(r: &CniReport) -> String {
    let mut o = String::new();
    runtimes_and_configs(&mut o, r);
    for n in &r.networks {
        network(&mut o, n);
    }
    interfaces_and_findings(&mut o, r);
    o
}

/// The runtimes found, the config directory, what each file is to them, and the plugin dirs.
fn runtimes_and_configs(o: &mut String, r: &CniReport) {
    if r.runtimes.is_empty() {
        crate::put!(
            o,
            "== no container runtime recognised: the first valid file is assumed to be used"
        );
    }
    for rt in &r.runtimes {
        let backend = rt
            .backend
            .as_deref()
            .map(|b| format!(" ({b})"))
            .unwrap_or_default();
        crate::put!(o, "== runtime {}{backend}: {}", rt.name, rt.rule);
        crate::put!(o, "  {}", rt.evidence.join("; "));
    }
    crate::put!(o, "== CNI config ({})", r.conf_dir);
    match &r.selected {
        Some(s) => {
            crate::put!(o, "  runtime uses {s}: {}", r.selected_why);
        }
        None => {
            crate::put!(o, "  no config selected: {}", r.selected_why);
        }
    }
    for c in &r.configs {
        config(o, c);
    }
    crate::put!(o, "  plugin dirs: {}", r.bin_dirs.join(", "));
    for e in &r.errors {
        crate::put!(o, "  ! {e}");
    }
}

fn config(o: &mut String, c: &ConfigView) {
    crate::put!(
        o,
        "  {} [{}] {} cniVersion {}: {}",
        c.path,
        c.format,
        c.name.as_deref().unwrap_or("?"),
        c.cni_version.as_deref().unwrap_or("?"),
        c.status
    );
    for p in &c.problems {
        match (p.line, p.column) {
            (Some(l), Some(col)) => {
                crate::put!(o, "    ! line {l} column {col}: {}", p.message);
            }
            _ => {
                crate::put!(o, "    ! {}", p.message);
            }
        }
    }
    for p in &c.plugins {
        crate::put!(
            o,
            "    {} {}{}: {}",
            p.role,
            p.kind,
            if p.known { "" } else { " (unknown type)" },
            p.binary.as_deref().unwrap_or("MISSING")
        );
    }
}

/// One network: its bridge, config, ranges, use, leases and pods.
fn network(o: &mut String, n: &NetworkView) {
    crate::put!(o, "== network {} ({}: {})", n.network, n.backend, n.dir);
    match (&n.bridge, &n.bridge_missing) {
        (Some(b), _) => crate::put!(o, "  bridge {b}"),
        (None, Some(b)) => crate::put!(
            o,
            "  bridge {b} does not exist (the first container's setup creates it)"
        ),
        _ => {}
    }
    if let Some(c) = &n.config {
        crate::put!(o, "  config {c}");
    } else if n.default_network {
        crate::put!(o, "  podman's default network: no file, podman makes it up");
    } else {
        crate::put!(o, "  no config names this network");
    }
    for rg in &n.ranges {
        crate::put!(
            o,
            "  range {} {}-{} gateway {} ({})",
            rg.subnet,
            rg.range_start,
            rg.range_end,
            rg.gateway.as_deref().unwrap_or("-"),
            crate::report::plural(rg.size as usize, "address")
        );
    }
    if n.total > 0 {
        crate::put!(o, "  used {}/{} ({:.1}%)", n.used, n.total, n.percent);
    }
    if let Some(e) = &n.error {
        crate::put!(o, "  ! {e}");
    }
    for a in &n.allocations {
        let who = match (a.state.as_str(), &a.held_by, &a.held_on) {
            ("held", Some(ns), Some(link)) => format!("held by {ns} ({link})"),
            ("container", Some(ns), _) => format!("container in {ns}, address not set"),
            ("leaked", _, _) => "LEAKED".to_string(),
            _ => format!("unknown: {}", a.note.as_deref().unwrap_or("")),
        };
        crate::put!(
            o,
            "  {} {} {}: {who}",
            a.ip,
            a.container_id,
            a.ifname.as_deref().unwrap_or("-")
        );
    }
    for p in &n.pods {
        crate::put!(
            o,
            "  pod {} {} {} ⇄ {}",
            p.namespace,
            p.ifname,
            p.address.as_deref().unwrap_or("(no address)"),
            p.host_veth.as_deref().unwrap_or("?")
        );
    }
}

fn interfaces_and_findings(o: &mut String, r: &CniReport) {
    if !r.interfaces.is_empty() {
        crate::put!(o, "== CNI interfaces (host)");
        for i in &r.interfaces {
            crate::put!(o, "  {} ({}): {}", i.name, i.kind, i.what);
        }
    }
    if r.findings.is_empty() {
        crate::put!(o, "== healthy");
    } else {
        crate::put!(o, "== problems");
        for f in &r.findings {
            let fix = if f.fix.is_some() {
                format!(" (netlens fix {})", f.id)
            } else {
                String::new()
            };
            crate::put!(o, "  {} [{}] {}{fix}", f.id, f.severity, f.title);
            crate::put!(o, "    {}", f.explanation);
        }
    }
}
