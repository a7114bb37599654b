//! One namespace on a bus: the hub's end of the veth, its state, the far end and the
//! namespace there with its addresses and default gateway.

use super::graph::{shown_addrs, Child, Hub};
use super::lines::{line, seg, Tone, TopoLine};
use super::mark::About;
use super::state::{link_state_word, ns_title, ns_unreadable};

/// What a child's line is about: the namespace (unless it has a box of its own, which
/// stands for it) and both ends of the veth.
fn about(hub: &Hub, c: &Child) -> Vec<About> {
    let mut out = Vec::new();
    if let Some(ns) = c.ns.filter(|_| !c.is_hub) {
        out.push(About::Ns(ns.name.clone()));
    }
    out.push(About::Link(hub.ns.name.clone(), c.port.name.clone()));
    if let (Some(ns), Some(p)) = (c.ns, c.peer) {
        out.push(About::Link(ns.name.clone(), p.name.clone()));
    }
    out
}

pub(super) fn child_line(
    hub: &Hub,
    stem: &str,
    last: bool,
    c: &Child,
    port_addrs: &[String],
) -> TopoLine {
    let mut l = line(vec![seg(
        format!("{stem}{}", if last { "└── " } else { "├── " }),
        Tone::Frame,
    )]);
    l.ns = c.ns.map(|n| n.name.clone());
    l.about = about(hub, c);
    l.push(c.port.name.clone(), Tone::Plain);
    for a in port_addrs {
        l.push(format!(" {a}"), Tone::Plain);
    }
    if let Some(word) = link_state_word(c.port) {
        l.push(format!(" {word}"), Tone::Bad);
    }
    l.push(" ══ ", Tone::Frame);
    let Some(ns) = c.ns else {
        let what = match c.port.peer.as_ref().and_then(|p| p.namespace.as_deref()) {
            Some(n) => format!("peer in {n}, not read"),
            None if c.port.peer.is_some() => "peer in a namespace netlens cannot see".into(),
            None => "peer gone".into(),
        };
        l.push(format!("✗ {what}"), Tone::Bad);
        return l;
    };
    match c.peer {
        Some(p) => {
            l.push(p.name.clone(), Tone::Plain);
            if let Some(word) = link_state_word(p) {
                l.push(format!(" {word}"), Tone::Bad);
            }
        }
        None => {
            l.push("✗ peer not found", Tone::Bad);
        }
    }
    l.push(" ▸ ", Tone::Frame);
    if c.is_hub {
        l.push(format!("⟦{}⟧", ns_title(ns)), Tone::Ns)
            .push(" (its own box)", Tone::Dim);
        return l;
    }
    l.push("[ ", Tone::Frame).push(ns_title(ns), Tone::Ns);
    if let Some(why) = ns_unreadable(ns) {
        l.push(format!(" ! {why}"), Tone::Bad);
    }
    if let Some(p) = c.peer {
        for a in shown_addrs(ns, &p.name) {
            l.push(format!(" {a}"), Tone::Plain);
        }
    }
    let gw = ns
        .routes
        .iter()
        .find(|r| r.table == 254 && r.dst.is_default())
        .and_then(|r| r.gateway);
    match gw {
        Some(gw) => l.push(format!(" → via {gw}"), Tone::Dim),
        None => l.push(" (no default route)", Tone::Dim),
    };
    l.push(" ]", Tone::Frame);
    l
}
