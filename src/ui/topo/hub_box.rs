//! A hub namespace's box in the picture: what it says (uplink, forwarding and NAT, gateway
//! routes, its other links, veth pairs with both ends inside), then the frame around it,
//! as wide as its widest line.

use unicode_width::UnicodeWidthStr;

use super::graph::Hub;
use super::lines::{line, link_state_bad, ns_title, ns_unreadable, seg, Tone, TopoLine};

/// Links listed in a hub's box before the rest are counted.
const MAX_OTHER_LINKS: usize = 6;
/// Gateway routes listed in a hub's box before the rest are counted.
const MAX_ROUTES: usize = 4;

/// The lines inside the box, unframed.
pub(super) fn content(hub: &Hub) -> Vec<TopoLine> {
    let mut inner: Vec<TopoLine> = Vec::new();
    if let Some(why) = ns_unreadable(hub.ns) {
        inner.push(line(vec![seg(format!("! {why}"), Tone::Bad)]));
    }
    match &hub.uplink {
        Some(u) => inner.push(line(vec![
            seg("⇡ uplink ".into(), Tone::Nat),
            seg(u.clone(), Tone::Plain),
        ])),
        None => inner.push(line(vec![seg("no default route".into(), Tone::Dim)])),
    }
    inner.push(forwarding(hub));
    if !hub.gateway_routes.is_empty() {
        inner.push(routes(hub));
    }
    for l in hub.others.iter().take(MAX_OTHER_LINKS) {
        let mut t = TopoLine::default();
        t.push(format!("{} ({})", l.name, l.kind), Tone::Plain);
        for a in hub.addrs.get(l.name.as_str()).into_iter().flatten() {
            t.push(format!(" {a}"), Tone::Plain);
        }
        if link_state_bad(l) {
            t.push(" DOWN", Tone::Bad);
        }
        inner.push(t);
    }
    if hub.others.len() > MAX_OTHER_LINKS {
        inner.push(line(vec![seg(
            format!(
                "… {} more links (Links tab)",
                hub.others.len() - MAX_OTHER_LINKS
            ),
            Tone::Dim,
        )]));
    }
    for (a, b) in &hub.local_pairs {
        inner.push(line(vec![seg(
            format!("veth {a} ⇄ {b} (both ends here)"),
            Tone::Plain,
        )]));
    }
    inner
}

fn forwarding(hub: &Hub) -> TopoLine {
    let mut fwd = TopoLine::default();
    match hub.forwarding {
        Some(true) => fwd.push("forwarding on", Tone::Plain),
        Some(false) => fwd.push("forwarding off", Tone::Dim),
        None => fwd.push("forwarding ?", Tone::Dim),
    };
    if !hub.nat.is_empty() {
        fwd.push(" · ", Tone::Dim)
            .push(format!("NAT {}", hub.nat.join(", ")), Tone::Nat);
    }
    fwd
}

fn routes(hub: &Hub) -> TopoLine {
    let mut r = TopoLine::default();
    r.push("routes ", Tone::Dim);
    let shown: Vec<&str> = hub
        .gateway_routes
        .iter()
        .take(MAX_ROUTES)
        .map(String::as_str)
        .collect();
    r.push(shown.join(" · "), Tone::Plain);
    if hub.gateway_routes.len() > MAX_ROUTES {
        r.push(
            format!(" · +{} (Routes tab)", hub.gateway_routes.len() - MAX_ROUTES),
            Tone::Dim,
        );
    }
    r
}

/// The box: its title line, `inner` framed, and a bottom line that opens onto the buses
/// below when there are any.
pub(super) fn frame(hub: &Hub, inner: Vec<TopoLine>, out: &mut Vec<TopoLine>) {
    let ns_name = Some(hub.ns.name.clone());
    let title = ns_title(hub.ns);
    let width = inner
        .iter()
        .map(TopoLine::width)
        .max()
        .unwrap_or(0)
        .max(title.width() + 3);
    let mut top = TopoLine {
        ns: ns_name.clone(),
        ..TopoLine::default()
    };
    top.push("┌─ ", Tone::Frame)
        .push(title.clone(), Tone::Ns)
        .push(
            format!(" {}┐", "─".repeat(width - title.width() - 1)),
            Tone::Frame,
        );
    out.push(top);
    for mut l in inner {
        let pad = width - l.width();
        let mut framed = TopoLine {
            ns: ns_name.clone(),
            ..TopoLine::default()
        };
        framed.push("│ ", Tone::Frame);
        framed.segs.append(&mut l.segs);
        framed.push(format!("{} │", " ".repeat(pad)), Tone::Frame);
        out.push(framed);
    }
    let bottom = if hub.buses.is_empty() {
        format!("└{}┘", "─".repeat(width + 2))
    } else {
        format!("└─┬{}┘", "─".repeat(width))
    };
    out.push(TopoLine {
        segs: vec![seg(bottom, Tone::Frame)],
        ns: ns_name,
        toggle: None,
    });
}
