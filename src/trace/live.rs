//! `trace`: a real probe, watched at every interface of its computed path. The path (from
//! [`super::path`]) says where the packet should pass; a capture on each of those interfaces
//! (each in its own namespace) says where it did — and how it looked there, after NAT. The
//! first interface that did not see it is where it vanished.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::capture::{Capture, Packet, Spec};
use super::decode::Layer;
use super::filter::Filter;
use super::path::{walk, Kernel, PathReport, Probe};
use super::probe::{self, Ident};
use crate::diagnose::Finding;
use crate::model::Snapshot;

/// What one interface saw of the probe in one direction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sighting {
    pub namespace: String,
    pub iface: String,
    /// `request` or `reply`.
    pub direction: String,
    pub seen: bool,
    /// Milliseconds after the probe was sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_ms: Option<f64>,
    /// The packet as it looked there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packet: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TraceReport {
    pub path: PathReport,
    pub sightings: Vec<Sighting>,
    /// A positive reply (echo reply, SYN-ACK, UDP answer) came back to where the probe started.
    pub answered: bool,
    /// The destination refused the probe: a TCP reset came back instead of an answer. Says who
    /// reset it, as seen where the probe started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// Where the probe (or its reply) was last seen and first missed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vanished: Option<String>,
    /// Interfaces that could not be watched, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unwatched: Vec<String>,
}

/// Whether `p` is the probe going out (`Some(true)`), its reply (`Some(false)`), or neither.
fn classify(p: &Packet, ident: Ident) -> Option<bool> {
    let layers = &p.decoded.layers;
    // The innermost transport layer: an overlay's pod packet, not the tunnel.
    layers.iter().rev().find_map(|l| match (l, ident) {
        (Layer::Icmp { kind, .. }, Ident::Echo { id }) => {
            let tag = format!(" id {id} ");
            if kind.starts_with("echo request") && kind.contains(&tag) {
                Some(true)
            } else if kind.starts_with("echo reply") && kind.contains(&tag) {
                Some(false)
            } else {
                None
            }
        }
        (
            Layer::Tcp { sport, dport, .. },
            Ident::Port {
                proto: "tcp",
                sport: s,
            },
        )
        | (
            Layer::Udp { sport, dport, .. },
            Ident::Port {
                proto: "udp",
                sport: s,
            },
        ) => {
            if *sport == s {
                Some(true)
            } else if *dport == s {
                Some(false)
            } else {
                None
            }
        }
        _ => None,
    })
}

/// A watch point: (direction, namespace, interface).
type Point = (String, String, String);
/// The first sighting per (namespace, interface, is the request).
type Firsts = BTreeMap<(String, String, bool), Seen>;

/// Runs the probe and the captures. `wait` bounds how long to watch after sending.
pub fn trace(
    snap: &Snapshot,
    findings: &[Finding],
    kernel: &dyn Kernel,
    probe: &Probe,
    wait: Duration,
) -> Result<TraceReport, String> {
    let path = walk(snap, findings, kernel, probe);
    let order = watch_points(&path);
    // ARP too: a probe whose next hop never answers ARP never leaves as an IP packet.
    let filter = Filter::parse(&[format!("{} or arp", probe.proto)]).map_err(|e| e.to_string())?;
    let (captures, unwatched) = start_captures(&order, &filter);
    let origin = crate::netns::resolve::open_ns(&probe.from).map_err(|e| e.to_string())?;
    let sent_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let sent = probe::send(
        &origin,
        &probe.from,
        &probe.proto,
        probe.src,
        probe.dst,
        probe.port,
    )?;
    let origin_point = order.first().map(|(_, ns, i)| (ns.clone(), i.clone()));
    let (first, arp) = watch(captures, &sent, sent_epoch, sent.at + wait, &origin_point);
    let back = origin_point
        .as_ref()
        .and_then(|(ns, i)| first.get(&(ns.clone(), i.clone(), false)));
    let sightings = sightings(&order, &first, back, &origin_point);
    let answered = back.is_some_and(|b| !b.reset);
    let refused = back.filter(|b| b.reset).map(|b| {
        format!(
            "{} answered with a TCP reset: nothing accepts the connection there ({})",
            probe.dst, b.summary
        )
    });
    let vanished = if back.is_some() {
        None
    } else {
        let unanswered = arp.unanswered();
        match (sightings.iter().any(|s| s.seen), unanswered.first()) {
            (false, Some(ip)) => Some(format!(
                "the probe never left {}: ARP for {ip} got no answer",
                probe.from
            )),
            _ => vanished_at(&sightings),
        }
    };
    Ok(TraceReport {
        path,
        sightings,
        answered,
        refused,
        vanished,
        unwatched,
    })
}

/// Watch points in the order the packet should pass them, per direction.
fn watch_points(path: &PathReport) -> Vec<Point> {
    let mut order: Vec<Point> = Vec::new();
    for leg in &path.legs {
        for h in &leg.hops {
            for iface in [&h.in_iface, &h.out_iface].into_iter().flatten() {
                let key = (leg.direction.clone(), h.namespace.clone(), iface.clone());
                if !order.contains(&key) && iface != "lo" {
                    order.push(key);
                }
            }
        }
    }
    order
}

/// A capture on each interface of `order` (once each), and the points that could not be.
fn start_captures(
    order: &[Point],
    filter: &Option<Filter>,
) -> (BTreeMap<(String, String), Capture>, Vec<String>) {
    let mut captures: BTreeMap<(String, String), Capture> = BTreeMap::new();
    let mut unwatched = Vec::new();
    for (_, ns, iface) in order {
        let key = (ns.clone(), iface.clone());
        if captures.contains_key(&key) {
            continue;
        }
        let file = match crate::netns::resolve::open_ns(ns) {
            Ok(f) => f,
            Err(e) => {
                unwatched.push(format!("{iface} in {ns}: {e}"));
                continue;
            }
        };
        let mut spec = Spec::new(file, ns, iface);
        spec.filter = filter.clone();
        match Capture::start(spec) {
            Ok(c) => {
                captures.insert(key, c);
            }
            Err(e) => unwatched.push(e.to_string()),
        }
    }
    (captures, unwatched)
}

/// Reads the captures until `deadline` or until the reply is back where the probe left:
/// the first sighting per point, and ARP questions nobody answered.
fn watch(
    captures: BTreeMap<(String, String), Capture>,
    sent: &probe::Sent,
    sent_epoch: f64,
    deadline: Instant,
    origin_point: &Option<(String, String)>,
) -> (Firsts, ArpSeen) {
    let mut first: Firsts = BTreeMap::new();
    let mut arp = ArpSeen::default();
    while Instant::now() < deadline {
        for ((ns, iface), cap) in &captures {
            let (batch, _) = cap.next_batch(Duration::from_millis(10));
            for p in batch {
                arp.note(&p);
                note(&mut first, ns, iface, &p, sent.ident, sent_epoch);
            }
        }
        // Done once the reply is back where the probe left.
        if let Some((ns, i)) = origin_point {
            if first.contains_key(&(ns.clone(), i.clone(), false)) {
                break;
            }
        }
    }
    // A lone packet can sit in a capture thread's batch until it stops: take those too.
    for ((ns, iface), cap) in captures {
        let (left, _) = cap.finish_and_drain();
        for p in left {
            arp.note(&p);
            note(&mut first, &ns, &iface, &p, sent.ident, sent_epoch);
        }
    }
    (first, arp)
}

/// Each watch point, seen or not; `back` is the reply where the probe left.
fn sightings(
    order: &[Point],
    first: &Firsts,
    back: Option<&Seen>,
    origin_point: &Option<(String, String)>,
) -> Vec<Sighting> {
    let mut sightings: Vec<Sighting> = order
        .iter()
        .map(|(dir, ns, iface)| {
            let hit = first.get(&(ns.clone(), iface.clone(), dir == "request"));
            Sighting {
                namespace: ns.clone(),
                iface: iface.clone(),
                direction: dir.clone(),
                seen: hit.is_some(),
                after_ms: hit.map(|h| (h.after_ms * 1000.0).round() / 1000.0),
                packet: hit.map(|h| h.summary.clone()),
            }
        })
        .collect();
    // A refused probe has no reply leg in the path; show the reset where it arrived anyway.
    if let (Some(b), Some((ns, i))) = (back, origin_point) {
        let shown = sightings
            .iter()
            .any(|s| &s.namespace == ns && &s.iface == i && s.direction == "reply");
        if !shown {
            sightings.push(Sighting {
                namespace: ns.clone(),
                iface: i.clone(),
                direction: "reply".into(),
                seen: true,
                after_ms: Some((b.after_ms * 1000.0).round() / 1000.0),
                packet: Some(b.summary.clone()),
            });
        }
    }
    sightings
}

/// The first sighting of the probe or its reply at one point.
struct Seen {
    /// Milliseconds after the probe was sent, by the kernel's receive timestamp.
    after_ms: f64,
    summary: String,
    /// The reply is a TCP reset: the destination refused.
    reset: bool,
}

/// Records `p` if it is the probe or its reply and the first of its kind at this point.
fn note(first: &mut Firsts, ns: &str, iface: &str, p: &Packet, ident: Ident, sent_epoch: f64) {
    let Some(out) = classify(p, ident) else {
        return;
    };
    first
        .entry((ns.to_string(), iface.to_string(), out))
        .or_insert_with(|| Seen {
            after_ms: (p.time - sent_epoch) * 1000.0,
            summary: p.summary(),
            reset: !out && is_reset(p),
        });
}

/// A TCP segment with RST set: the answer of a port nobody listens on (or a firewall's
/// `REJECT --reject-with tcp-reset`).
fn is_reset(p: &Packet) -> bool {
    p.decoded
        .layers
        .iter()
        .rev()
        .any(|l| matches!(l, Layer::Tcp { flags, .. } if flags.contains('R')))
}

/// "after X, before Y" for the first watched point that missed the packet.
fn vanished_at(s: &[Sighting]) -> Option<String> {
    let mut last_seen: Option<&Sighting> = None;
    for x in s {
        if x.seen {
            last_seen = Some(x);
            continue;
        }
        let what = if x.direction == "request" {
            "the probe"
        } else {
            "the reply"
        };
        return Some(match last_seen {
            Some(l) => format!(
                "{what} was seen on {} in {} but never on {} in {}",
                l.iface, l.namespace, x.iface, x.namespace
            ),
            None => format!(
                "{what} was never seen, not even on {} in {}",
                x.iface, x.namespace
            ),
        });
    }
    // Seen everywhere the path goes, and still no answer: it died after the last point.
    last_seen.map(|l| {
        let what = if l.direction == "request" {
            "the probe"
        } else {
            "the reply"
        };
        format!("{what} was last seen on {} in {}", l.iface, l.namespace)
    })
}

/// ARP seen during the trace: questions, and who answered.
#[derive(Default)]
struct ArpSeen {
    asked: Vec<std::net::IpAddr>,
    answered: Vec<std::net::IpAddr>,
}

impl ArpSeen {
    fn note(&mut self, p: &Packet) {
        for l in &p.decoded.layers {
            if let Layer::Arp {
                op,
                sender_ip,
                target_ip,
                ..
            } = l
            {
                match *op {
                    "request" if !self.asked.contains(target_ip) => self.asked.push(*target_ip),
                    "reply" => self.answered.push(*sender_ip),
                    _ => {}
                }
            }
        }
    }

    fn unanswered(&self) -> Vec<std::net::IpAddr> {
        self.asked
            .iter()
            .filter(|a| !self.answered.contains(a))
            .copied()
            .collect()
    }
}
