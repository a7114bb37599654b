//! A hub namespace's box in the picture: what it says (uplink, forwarding, the FORWARD policy
//! and NAT of a namespace that routes, gateway routes, its other links, veth pairs with both
//! ends inside), then the frame around it, as wide as its widest line.

use unicode_width::UnicodeWidthStr;

use super::graph::Hub;
use super::lines::{line, seg, Tone, TopoLine};
use super::mark::About;
use super::state::{link_state_word, ns_title, ns_unreadable};

/// Links listed in a hub's box before the rest are counted.
const MAX_OTHER_LINKS: usize = 6;
/// Gateway routes listed in a hub's box before the rest are counted.
const MAX_ROUTES: usize = 4;

fn about_link(hub: &Hub, name: &str) -> Vec<About> {
    vec![About::Link(hub.ns.name.clone(), name.to_string())]
}

/// The lines inside the box, unframed.
pub(super) fn content(hub: &Hub) -> Vec<TopoLine> {
    let mut inner: Vec<TopoLine> = Vec::new();
    if let Some(why) = ns_unreadable(hub.ns) {
        inner.push(line(vec![seg(format!("! {why}"), Tone::Bad)]));
    }
    match &hub.uplink {
        Some(u) => {
            let mut l = line(vec![
                seg("⇡ uplink ".into(), Tone::Nat),
                seg(u.clone(), Tone::Plain),
            ]);
            if let Some(dev) = &hub.uplink_dev {
                l.about = about_link(hub, dev);
                if let Some(word) = hub.ns.link(dev).and_then(link_state_word) {
                    l.push(format!(" {word}"), Tone::Bad);
                }
            }
            inner.push(l);
        }
        None => inner.push(line(vec![seg("no default route".into(), Tone::Dim)])),
    }
    inner.extend(filter_lines(hub));
    if !hub.gateway_routes.is_empty() {
        inner.push(routes(hub));
    }
    for l in hub.others.iter().take(MAX_OTHER_LINKS) {
        let mut t = TopoLine {
            about: about_link(hub, &l.name),
            ..TopoLine::default()
        };
        t.push(format!("{} ({})", l.name, l.kind), Tone::Plain);
        for a in hub.addrs.get(l.name.as_str()).into_iter().flatten() {
            t.push(format!(" {a}"), Tone::Plain);
        }
        if let Some(word) = link_state_word(l) {
            t.push(format!(" {word}"), Tone::Bad);
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
        let mut t = line(vec![seg(
            format!("veth {a} ⇄ {b} (both ends here)"),
            Tone::Plain,
        )]);
        t.about = vec![
            About::Link(hub.ns.name.clone(), a.clone()),
            About::Link(hub.ns.name.clone(), b.clone()),
        ];
        inner.push(t);
    }
    inner
}

/// Forwarding, and for a namespace that routes (forwarding on, or NAT) what its firewall
/// does with forwarded packets and its NAT, each on a line of its own so a narrow terminal
/// cuts neither. The first line carries the sysctl and firewall findings.
fn filter_lines(hub: &Hub) -> Vec<TopoLine> {
    let mut fwd = TopoLine {
        about: vec![About::Filter(hub.ns.name.clone())],
        ..TopoLine::default()
    };
    match hub.forwarding {
        Some(true) => fwd.push("forwarding on", Tone::Plain),
        Some(false) => fwd.push("forwarding off", Tone::Dim),
        None => fwd.push("forwarding ?", Tone::Dim),
    };
    let routes = hub.forwarding == Some(true) || !hub.nat.is_empty();
    if routes {
        match &hub.forward {
            Some(p) => fwd.push(
                format!(" · {}", p.text),
                if p.drops { Tone::Bad } else { Tone::Plain },
            ),
            None => fwd.push(" · FORWARD ? (firewall not read)", Tone::Dim),
        };
    }
    let mut out = vec![fwd];
    if !hub.nat.is_empty() {
        out.push(line(vec![seg(
            format!("NAT {}", hub.nat.join(" · ")),
            Tone::Nat,
        )]));
    }
    out
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
        about: vec![About::Ns(hub.ns.name.clone())],
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
            about: std::mem::take(&mut l.about),
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
        ..TopoLine::default()
    });
}
