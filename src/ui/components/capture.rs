//! The Capture tab: its state (the capture a thread runs for it, bounded, with counters and
//! rate, and the filter the next capture starts with), its keys (Enter starts a capture on a
//! link or opens a packet, `x` stops, `f` sets the filter), its help line and its view.

use std::time::Instant;

use crossterm::event::KeyCode;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::widgets::{Cell, Row, Table};
use ratatui::Frame;

use super::actions::{Form, Overlay};
use crate::trace::capture::{Packet, Stats};
use crate::trace::filter::Filter;
use crate::ui::app::{App, Focus};
use crate::ui::effect::Effect;
use crate::ui::keymap::{Action, Binding};
use crate::ui::strings;
use crate::ui::tabs::{self, Tab};
use crate::ui::view::{border, esc};

/// Packets most recently captured, kept for the Capture tab (the engine's ring bounds memory
/// on the capture side; this bounds what the view holds).
pub const CAPTURE_KEEP: usize = 5_000;

pub const KEYS: Binding = Binding {
    keys: "x  f",
    what: "Capture tab: stop the capture / its filter",
    map: &[
        (KeyCode::Char('x'), Action::StopCapture),
        (KeyCode::Char('f'), Action::CaptureFilter),
    ],
};

/// The Capture tab's state.
#[derive(Debug, Default)]
pub struct CaptureTab {
    /// The capture, as far as its thread has reported it.
    pub view: Option<CaptureView>,
    /// The filter the next capture starts with (tcpdump words; empty: everything).
    pub filter: String,
    /// `filter` parsed, once, when it was set: the capture thread gets this, never the text
    /// (a second parse on a thread with a smaller stack is how a deep filter once aborted the
    /// TUI).
    pub filter_parsed: Option<Filter>,
}

/// The Capture tab's view of one capture.
#[derive(Debug, Clone)]
pub struct CaptureView {
    pub ns: String,
    pub iface: String,
    pub filter: String,
    pub packets: std::collections::VecDeque<Packet>,
    pub stats: Stats,
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
    pub fn add(&mut self, batch: Vec<Packet>, stats: Stats) {
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

impl CaptureTab {
    /// A capture on (`ns`, `iface`) with the current filter: its view, and the effect that
    /// starts it (stopping any other).
    fn start(&mut self, ns: &str, iface: &str) -> Effect {
        self.view = Some(CaptureView::new(ns, iface, &self.filter));
        Effect::StartCapture {
            ns: ns.to_string(),
            iface: iface.to_string(),
            filter: self.filter_parsed.clone(),
        }
    }

    /// A new filter from its form; a running capture restarts with it.
    pub fn set_filter(&mut self, text: &str, parsed: Option<Filter>) -> Vec<Effect> {
        self.filter = text.trim().to_string();
        self.filter_parsed = parsed;
        match &self.view {
            Some(c) if c.running => {
                let (ns, iface) = (c.ns.clone(), c.iface.clone());
                vec![self.start(&ns, &iface)]
            }
            _ => Vec::new(),
        }
    }
}

/// The capture the Capture tab shows: the one on the selected namespace, if any.
pub fn shown(app: &App) -> Option<&CaptureView> {
    let ns = app.selected_namespace()?;
    app.capture.view.as_ref().filter(|c| c.ns == ns.name)
}

/// The Capture tab's keys; `None` for an action that is not its own.
pub fn update(app: &mut App, action: &Action) -> Option<Vec<Effect>> {
    match action {
        Action::StopCapture => {
            let running = app.capture.view.as_ref().is_some_and(|c| c.running);
            Some(if running {
                vec![Effect::StopCapture]
            } else {
                Vec::new()
            })
        }
        Action::CaptureFilter => {
            if let Some(ns) = app.selected_namespace() {
                app.overlay =
                    Overlay::Form(Form::capture_filter(&ns.name.clone(), &app.capture.filter));
            }
            Some(Vec::new())
        }
        Action::Open if app.focus == Focus::Details => Some(enter(app)),
        _ => None,
    }
}

/// Enter in the Capture tab: on a link, capture there; on a packet, its layers.
fn enter(app: &mut App) -> Vec<Effect> {
    if let Some(c) = shown(app) {
        if let Some(p) = c.packets.get(app.row_selected) {
            let title = format!(" packet {} on {} ", p.number, c.iface);
            app.overlay = Overlay::Detail(title, crate::report::capture::packet_fields(p));
        }
        return Vec::new();
    }
    if !app.live() {
        app.status = strings::FILE_NO_PACKETS.into();
        return Vec::new();
    }
    let Some(ns) = app.selected_namespace() else {
        return Vec::new();
    };
    let Some(link) = ns.links.get(app.row_selected) else {
        return Vec::new();
    };
    let (ns, iface) = (ns.name.clone(), link.name.clone());
    let effect = app.capture.start(&ns, &iface);
    app.reset_rows();
    vec![effect]
}

/// Packets from the capture thread. At the bottom of the list, the selection stays at the
/// bottom as packets arrive.
pub fn on_packets(app: &mut App, batch: Vec<Packet>, stats: Stats) {
    let follow = app.tab == Tab::Capture && app.row_selected + 1 >= app.row_count();
    if let Some(c) = &mut app.capture.view {
        c.add(batch, stats);
    }
    if follow {
        app.row_selected = app.row_count().saturating_sub(1);
        app.keep_row_visible();
    }
}

/// The capture ended: stopped, or the error that ended it (also on the status line).
pub fn on_end(app: &mut App, error: Option<String>) {
    if let Some(c) = &mut app.capture.view {
        c.running = false;
        if let Some(e) = &error {
            c.error = Some(e.clone());
        }
    }
    if let Some(e) = error {
        app.status = e;
    }
}

/// The capture on this namespace (packets, newest last, and its counters), or its links to
/// start one on.
pub fn draw(f: &mut Frame, app: &App, area: Rect) {
    let focused = app.focus == Focus::Details;
    let theme = app.theme;
    let Some(ns) = app.selected_namespace() else {
        return;
    };
    let start = app.row_offset;
    let (title, header, rows) = match shown(app) {
        Some(c) => packet_rows(c, start, app.page),
        None => link_rows(app, ns, start),
    };
    // Packets or links: each list with its columns, the least important dropped first.
    let columns = if shown(app).is_some() {
        Tab::Capture.columns()
    } else {
        tabs::CAPTURE_LINKS
    };
    let cols = tabs::fit(columns, area.width.saturating_sub(2));
    let rows: Vec<Row> = rows
        .into_iter()
        .enumerate()
        .map(|(i, cells)| {
            let style = if focused && start + i == app.row_selected {
                theme.selected()
            } else {
                Style::new()
            };
            let cell = |c: usize| Cell::from(cells.get(c).cloned().unwrap_or_default());
            Row::new(cols.iter().map(|(c, _)| cell(*c))).style(style)
        })
        .collect();
    let widths = cols.iter().map(|(_, w)| Constraint::Length(*w));
    let header = Row::new(cols.iter().map(|(c, _)| Cell::from(header[*c]))).style(theme.header());
    let block = border(app, focused, title);
    f.render_widget(Table::new(rows, widths).header(header).block(block), area);
}

type Rows = (String, Vec<&'static str>, Vec<Vec<String>>);

fn packet_rows(c: &CaptureView, start: usize, page: usize) -> Rows {
    let state = if c.running { "capturing" } else { "stopped" };
    let title = format!(
        " {state} on {} in {} · {} · {} · {:.0}/s · kernel drops {} · not shown {} · x stop · f filter · Enter layers ",
        esc(&c.iface),
        esc(&c.ns),
        if c.filter.is_empty() { "all packets" } else { c.filter.as_str() },
        crate::text::plural(c.stats.matched as usize, "packet"),
        c.rate,
        c.stats.kernel_drops,
        c.stats.display_evicted,
    );
    let t0 = c.packets.front().map_or(0.0, |p| p.time);
    let rows = c
        .packets
        .iter()
        .skip(start)
        .take(page)
        .map(|p| {
            vec![
                p.number.to_string(),
                format!("{:.6}", p.time - t0),
                p.length.to_string(),
                esc(&p.summary()),
            ]
        })
        .collect();
    (title, Tab::Capture.header().to_vec(), rows)
}

fn link_rows(app: &App, ns: &crate::model::Namespace, start: usize) -> Rows {
    let title = format!(
        " Capture · {} · Enter captures on the selected link · f filter ({}) ",
        esc(&ns.name),
        if app.capture.filter.is_empty() {
            "all packets"
        } else {
            app.capture.filter.as_str()
        }
    );
    let rows = ns
        .links
        .iter()
        .skip(start)
        .take(app.page)
        .map(|l| {
            vec![
                l.index.to_string(),
                esc(&l.name),
                esc(l.kind.as_str()),
                if tabs::link_is_down(l) {
                    "DOWN".into()
                } else {
                    l.oper_state.to_string()
                },
            ]
        })
        .collect();
    (title, vec!["#", "link", "kind", "state"], rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::test_support::{asset, live, press, saved, select, typed};

    fn on_veth_red() -> App {
        let mut a = live(asset("demo-bridge.json"));
        select(&mut a, "bridge-red");
        press(&mut a, KeyCode::Char('w'));
        press(&mut a, KeyCode::Char('l'));
        press(&mut a, KeyCode::Char('j'));
        a
    }

    #[test]
    fn enter_on_a_link_starts_a_capture_and_x_stops_it() {
        let mut a = on_veth_red();
        let fx = press(&mut a, KeyCode::Enter);
        assert!(
            matches!(&fx[..], [Effect::StartCapture { ns, iface, filter: None }] if ns == "bridge-red" && iface == "veth-red"),
            "{fx:?}"
        );
        assert!(shown(&a).is_some_and(|c| c.running && c.iface == "veth-red"));
        assert!(matches!(
            &press(&mut a, KeyCode::Char('x'))[..],
            [Effect::StopCapture]
        ));
        on_end(&mut a, Some("gone".into()));
        assert_eq!(a.status, "gone");
        // Nothing runs: nothing to stop.
        assert!(press(&mut a, KeyCode::Char('x')).is_empty());
    }

    #[test]
    fn a_new_filter_restarts_a_running_capture_with_it() {
        let mut a = on_veth_red();
        press(&mut a, KeyCode::Enter);
        assert!(press(&mut a, KeyCode::Char('f')).is_empty());
        typed(&mut a, "icmp");
        let fx = press(&mut a, KeyCode::Enter);
        assert!(
            matches!(
                &fx[..],
                [Effect::StartCapture {
                    filter: Some(_),
                    ..
                }]
            ),
            "{fx:?}"
        );
        assert_eq!(a.capture.filter, "icmp");
        assert_eq!(shown(&a).map(|c| c.filter.as_str()), Some("icmp"));
    }

    #[test]
    fn a_saved_snapshot_has_nothing_to_capture() {
        let mut a = saved(asset("demo-bridge.json"));
        select(&mut a, "bridge-red");
        press(&mut a, KeyCode::Char('w'));
        press(&mut a, KeyCode::Char('l'));
        assert!(press(&mut a, KeyCode::Enter).is_empty());
        assert_eq!(a.status, strings::FILE_NO_PACKETS);
        // Outside the Capture tab its keys do nothing.
        press(&mut a, KeyCode::Char('1'));
        assert!(press(&mut a, KeyCode::Char('x')).is_empty());
        assert!(press(&mut a, KeyCode::Char('f')).is_empty());
        assert_eq!(a.overlay, Overlay::None);
    }
}
