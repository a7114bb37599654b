//! `netlens path` and `netlens trace` as text: each leg's hops with their route, NAT and layer
//! 2, how the leg ended; for a trace, what each watched interface saw and when. The TUI shows
//! the same text.

use crate::trace::live::TraceReport;
use crate::trace::path::{Hop, Outcome, PathReport};

fn hop_line(i: usize, h: &Hop) -> String {
    let mut s = format!("  {}. {}", i + 1, h.namespace);
    match (&h.in_iface, &h.out_iface) {
        (Some(a), Some(b)) => s.push_str(&format!(" ({a} → {b})")),
        (Some(a), None) => s.push_str(&format!(" (in {a})")),
        (None, Some(b)) => s.push_str(&format!(" (out {b})")),
        (None, None) => {}
    }
    s.push_str(&format!(": {} → {} [{}]", h.src, h.dst, h.verdict));
    if let Some(r) = &h.route {
        s.push_str(&format!("\n       route {r}"));
    }
    for n in &h.nat {
        s.push_str(&format!("\n       nat   {n}"));
    }
    if !h.via.is_empty() {
        s.push_str(&format!("\n       via   {}", h.via.join(" · ")));
    }
    for n in &h.notes {
        s.push_str(&format!("\n       ?     {n}"));
    }
    s
}

/// The report as text: each leg's hops, then how it ended.
pub fn render_path(r: &PathReport) -> String {
    let p = &r.probe;
    let mut out = format!(
        "path from {} to {} ({}{})\n",
        p.from,
        p.dst,
        p.proto,
        p.port.map(|n| format!("/{n}")).unwrap_or_default()
    );
    for leg in &r.legs {
        out.push_str(&format!("{}:\n", leg.direction));
        for (i, h) in leg.hops.iter().enumerate() {
            out.push_str(&hop_line(i, h));
            out.push('\n');
        }
        out.push_str(&match &leg.outcome {
            Outcome::Delivered {
                namespace,
                listener,
            } => format!(
                "  ✓ delivered in {namespace}{}\n",
                listener
                    .as_ref()
                    .map(|l| format!(" to {l}"))
                    .unwrap_or_default()
            ),
            Outcome::LeavesNode { namespace, iface } => {
                format!("  → leaves the node from {namespace} through {iface}\n")
            }
            Outcome::Broken {
                namespace,
                cause,
                finding,
            } => format!(
                "  ✗ stops in {namespace}: {cause}{}\n",
                finding
                    .as_ref()
                    .map(|f| format!("\n    fix: netlens fix {f}"))
                    .unwrap_or_default()
            ),
        });
    }
    out.push_str(if r.delivers {
        "the path delivers\n"
    } else {
        "the path is broken\n"
    });
    out
}

/// Each watched interface in order, what it saw and when; then the verdict.
pub fn render_trace(r: &TraceReport) -> String {
    let p = &r.path.probe;
    let mut out = format!(
        "trace from {} to {} ({}{})\n",
        p.from,
        p.dst,
        p.proto,
        p.port.map(|n| format!("/{n}")).unwrap_or_default()
    );
    let mut dir = "";
    for s in &r.sightings {
        if s.direction != dir {
            dir = &s.direction;
            out.push_str(&format!("{dir}:\n"));
        }
        match (&s.after_ms, &s.packet) {
            (Some(ms), Some(pkt)) => out.push_str(&format!(
                "  ✓ {:<14} {:<16} +{ms:>8.3} ms  {pkt}\n",
                s.namespace, s.iface
            )),
            _ => out.push_str(&format!(
                "  ✗ {:<14} {:<16}   not seen\n",
                s.namespace, s.iface
            )),
        }
    }
    for u in &r.unwatched {
        out.push_str(&format!("  ? not watched: {u}\n"));
    }
    if r.answered {
        out.push_str("the reply came back\n");
    } else {
        match &r.vanished {
            Some(v) => out.push_str(&format!("no reply: {v}\n")),
            None => out.push_str("no reply\n"),
        }
        // What the configuration says about the spot.
        for leg in &r.path.legs {
            if let Outcome::Broken {
                namespace,
                cause,
                finding,
            } = &leg.outcome
            {
                out.push_str(&format!("the path says: stops in {namespace}: {cause}\n"));
                if let Some(f) = finding {
                    out.push_str(&format!("fix: netlens fix {f}\n"));
                }
            }
        }
    }
    out
}
