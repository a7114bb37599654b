//! `netlens path` and `netlens trace` as text: each leg's hops with their route, NAT and layer
//! 2, how the leg ended; for a trace, what each watched interface saw and when. The TUI shows
//! the same text.

use crate::text::Esc;
use crate::trace::live::TraceReport;
use crate::trace::path::{Hop, Outcome, PathReport};

/// What a namespace is called in the text: its workload's name (`c3`, `default/web`) where the
/// caller knows it (`render_path_named`), else its name.
type Namer<'a> = &'a dyn Fn(&str) -> String;

fn hop_line(i: usize, h: &Hop, names: Namer<'_>) -> String {
    // Names, routes and notes come from the kernel: escaped, so each stays on its line.
    let mut s = format!("  {}. {}", i + 1, Esc(&names(&h.namespace)));
    match (&h.in_iface, &h.out_iface) {
        (Some(a), Some(b)) => s.push_str(&format!(" ({} → {})", Esc(a), Esc(b))),
        (Some(a), None) => s.push_str(&format!(" (in {})", Esc(a))),
        (None, Some(b)) => s.push_str(&format!(" (out {})", Esc(b))),
        (None, None) => {}
    }
    s.push_str(&format!(": {} → {} [{}]", h.src, h.dst, Esc(&h.verdict)));
    if let Some(r) = &h.route {
        s.push_str(&format!("\n       route {}", Esc(r)));
    }
    for n in &h.nat {
        s.push_str(&format!("\n       nat   {}", Esc(n)));
    }
    if !h.via.is_empty() {
        s.push_str(&format!("\n       via   {}", Esc(h.via.join(" · "))));
    }
    for n in &h.notes {
        s.push_str(&format!("\n       ?     {}", Esc(n)));
    }
    s
}

/// The report as text: each leg's hops, then how it ended.
pub fn render_path(r: &PathReport) -> String {
    render_path_named(r, &|n| n.to_string())
}

/// [`render_path`] with each namespace called by `names` (the snapshot's workload labels);
/// the start also keeps its namespace name when that differs.
pub fn render_path_named(r: &PathReport, names: Namer<'_>) -> String {
    let p = &r.probe;
    let from = match names(&p.from) {
        label if label == p.from => label,
        label => format!("{label} ({})", p.from),
    };
    let mut out = format!(
        "path from {} to {} ({}{})\n",
        Esc(&from),
        p.dst,
        p.proto,
        p.port.map(|n| format!("/{n}")).unwrap_or_default()
    );
    for leg in &r.legs {
        out.push_str(&format!("{}:\n", leg.direction));
        for (i, h) in leg.hops.iter().enumerate() {
            out.push_str(&hop_line(i, h, names));
            out.push('\n');
        }
        out.push_str(&match &leg.outcome {
            Outcome::Delivered {
                namespace,
                listener,
            } => format!(
                "  ✓ delivered in {}{}\n",
                Esc(&names(namespace)),
                listener
                    .as_ref()
                    .map(|l| format!(" to {}", Esc(l)))
                    .unwrap_or_default()
            ),
            Outcome::LeavesNode { namespace, iface } => {
                format!(
                    "  → leaves the node from {} through {}\n",
                    Esc(&names(namespace)),
                    Esc(iface)
                )
            }
            Outcome::Broken {
                namespace,
                cause,
                finding,
                no_fix,
            } => format!(
                "  ✗ stops in {}: {}{}\n",
                Esc(&names(namespace)),
                Esc(cause),
                match (finding, no_fix) {
                    (Some(f), _) => format!("\n    fix: netlens fix {}", Esc(f)),
                    (None, Some(why)) => format!("\n    no automatic fix: {}", Esc(why)),
                    (None, None) => "\n    no automatic fix".to_string(),
                }
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
        Esc(&p.from),
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
                "  ✓ {:<14} {:<16} +{ms:>8.3} ms  {}\n",
                Esc(&s.namespace),
                Esc(&s.iface),
                Esc(pkt)
            )),
            _ => out.push_str(&format!(
                "  ✗ {:<14} {:<16}   not seen\n",
                Esc(&s.namespace),
                Esc(&s.iface)
            )),
        }
    }
    for u in &r.unwatched {
        out.push_str(&format!("  ? not watched: {}\n", Esc(u)));
    }
    if r.answered {
        out.push_str("the reply came back\n");
    } else if let Some(why) = &r.refused {
        out.push_str(&format!("refused: {}\n", Esc(why)));
    } else {
        match &r.vanished {
            Some(v) => out.push_str(&format!("no reply: {}\n", Esc(v))),
            None => out.push_str("no reply\n"),
        }
        // What the configuration says about the spot.
        for leg in &r.path.legs {
            if let Outcome::Broken {
                namespace,
                cause,
                finding,
                ..
            } = &leg.outcome
            {
                out.push_str(&format!(
                    "the path says: stops in {}: {}\n",
                    Esc(namespace),
                    Esc(cause)
                ));
                if let Some(f) = finding {
                    out.push_str(&format!("fix: netlens fix {}\n", Esc(f)));
                }
            }
        }
    }
    out
}
