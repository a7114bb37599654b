//! The Capture tab's state: the packets a capture thread handed over (bounded), its counters
//! and rate, and how Enter on that tab starts a capture or opens a packet.

use std::time::Instant;

use super::app::{App, Overlay};

/// Packets most recently captured, kept for the Capture tab (the engine's ring bounds memory
/// on the capture side; this bounds what the view holds).
pub const CAPTURE_KEEP: usize = 5_000;

/// The Capture tab's view of one capture.
#[derive(Debug, Clone)]
pub struct CaptureView {
    pub ns: String,
    pub iface: String,
    pub filter: String,
    pub packets: std::collections::VecDeque<crate::trace::capture::Packet>,
    pub stats: crate::trace::capture::Stats,
    pub running: bool,
    pub error: Option<String>,
    /// Packets per second over the last report interval.
    pub rate: f64,
    last: (u64, Instant),
}

impl CaptureView {
    pub fn new(ns: &str, iface: &str, filter: &str) -> Self {
        CaptureView {
            ns: ns.into(),
            iface: iface.into(),
            filter: filter.into(),
            packets: Default::default(),
            stats: Default::default(),
            running: true,
            error: None,
            rate: 0.0,
            last: (0, Instant::now()),
        }
    }

    /// Takes a batch from the capture thread.
    pub fn add(
        &mut self,
        batch: Vec<crate::trace::capture::Packet>,
        stats: crate::trace::capture::Stats,
    ) {
        for p in batch {
            if self.packets.len() == CAPTURE_KEEP {
                self.packets.pop_front();
            }
            self.packets.push_back(p);
        }
        let dt = self.last.1.elapsed().as_secs_f64();
        if dt >= 0.5 {
            self.rate = (stats.matched.saturating_sub(self.last.0)) as f64 / dt;
            self.last = (stats.matched, Instant::now());
        }
        self.stats = stats;
    }
}

impl App {
    /// The capture the Capture tab shows: the one on the selected namespace, if any.
    pub fn capture_shown(&self) -> Option<&CaptureView> {
        let ns = self.selected_namespace()?;
        self.capture.as_ref().filter(|c| c.ns == ns.name)
    }

    /// Enter in the Capture tab: on a link, capture there; on a packet, its layers.
    pub(super) fn capture_enter(&mut self) {
        if let Some(c) = self.capture_shown() {
            let Some(p) = c.packets.get(self.row_selected) else {
                return;
            };
            let mut fields = vec![("summary".to_string(), p.summary())];
            fields.push(("bytes".into(), p.length.to_string()));
            for l in &p.decoded.layers {
                let v = serde_json::to_value(l).unwrap_or_default();
                let name = v["layer"].as_str().unwrap_or("layer").to_string();
                let rest: Vec<String> = v
                    .as_object()
                    .map(|o| {
                        o.iter()
                            .filter(|(k, _)| *k != "layer")
                            .map(|(k, v)| {
                                format!(
                                    "{k} {}",
                                    v.as_str()
                                        .map(str::to_string)
                                        .unwrap_or_else(|| v.to_string())
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                fields.push((name, rest.join(" · ")));
            }
            self.overlay = Overlay::Detail(format!(" packet {} on {} ", p.number, c.iface), fields);
            return;
        }
        if !self.live() {
            self.status = "a saved snapshot has no packets: capture on the node".into();
            return;
        }
        let Some(ns) = self.selected_namespace() else {
            return;
        };
        let Some(link) = ns.links.get(self.row_selected) else {
            return;
        };
        self.capture_requested = Some((ns.name.clone(), link.name.clone()));
        self.reset_rows();
    }
}
