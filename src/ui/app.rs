//! The TUI's state and how actions change it. No I/O here except handing a save to a thread.

use std::collections::HashSet;
use std::path::PathBuf;

use ratatui::layout::Rect;

use super::actions::{ActionKind, Form, FormKind};
use super::keymap::{action_for, Action};
use super::strings;
use super::tabs::{self, Tab};
use super::theme::Theme;
use super::topo::{self, TopoLine};
use super::Msg;
use std::time::{Duration, Instant};

use crate::diagnose::{diagnose, Finding, Severity};
use crate::model::diff::{diff, Change, ChangeKind, ObjectKind};
use crate::model::{Namespace, NsStatus, Snapshot};
use crate::plan::Plan;

/// How long rows changed by the last update stay highlighted.
pub const FLASH: Duration = Duration::from_secs(2);

pub enum Source {
    Live,
    File(PathBuf),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Namespaces,
    Details,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Overlay {
    None,
    Help,
    /// Title and (field, value) pairs of the selected row.
    Detail(String, Vec<(String, String)>),
    /// The changes offered for the selected namespace or link; the index is the highlighted one.
    Menu(usize),
    Form(Form),
    /// A plan shown before it runs (and why: a finding's explanation): `y` applies it. Without
    /// a plan it is only shown (a finding with no automatic fix, or a read-only snapshot).
    Plan {
        title: String,
        text: Vec<String>,
        plan: Option<Plan>,
    },
}

impl Overlay {
    /// Whether keys are text for it (letters answer, they are not commands).
    fn takes_text(&self) -> bool {
        matches!(
            self,
            Overlay::Menu(_) | Overlay::Form(_) | Overlay::Plan { .. }
        )
    }
}

pub struct App {
    pub source: Source,
    pub snapshot: Option<Snapshot>,
    pub theme: Theme,
    pub tab: Tab,
    pub focus: Focus,
    /// Index into `visible_namespaces()`.
    pub ns_selected: usize,
    pub row_selected: usize,
    pub row_offset: usize,
    pub filter: String,
    pub filtering: bool,
    pub overlay: Overlay,
    pub status: String,
    pub quit: bool,
    /// `s` was pressed: the loop writes the snapshot on another thread.
    pub save_requested: bool,
    /// Set by the view each frame: where things are, for the mouse and for paging.
    pub ns_area: Rect,
    pub table_area: Rect,
    /// The row of tab titles and each title's columns [start, end).
    pub tabs_row: u16,
    pub tab_spans: Vec<(u16, u16)>,
    pub page: usize,
    /// What `c` compares with: the first snapshot of this run, or `--since FILE`.
    pub baseline: Option<Snapshot>,
    /// `c` toggles marks on everything that changed since the baseline.
    pub show_changes: bool,
    pub changes: Vec<Change>,
    /// What the last live update changed, highlighted until `flash_until`.
    pub flash: Vec<Change>,
    pub flash_until: Option<Instant>,
    /// The Topology tab's picture of the current snapshot; built when that tab is shown and
    /// dropped when a new snapshot arrives.
    pub topo: Option<Vec<TopoLine>>,
    /// Collapsed groups of the picture the user expanded.
    pub topo_expanded: HashSet<String>,
    /// The doctor's findings on the current snapshot, most severe first.
    pub findings: Vec<Finding>,
    /// A plan the user confirmed: the loop applies it on another thread.
    pub apply_requested: Option<Plan>,
    /// A name to resolve on another thread (it sends real queries and may wait for timeouts).
    pub resolve_requested: Option<crate::dns::ExplainRequest>,
    /// A path (and, with true, a live trace) to work out on another thread.
    pub path_requested: Option<(crate::trace::path::Probe, bool)>,
    /// The Capture tab's capture, as far as the loop has reported it.
    pub capture: Option<CaptureView>,
    /// Start capturing on (namespace, interface): the loop stops any capture and starts it.
    pub capture_requested: Option<(String, String)>,
    /// Stop the running capture.
    pub capture_stop: bool,
    /// The filter the next capture starts with (tcpdump words; empty: everything).
    pub capture_filter: String,
}

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
    pub fn new(source: Source, snapshot: Option<Snapshot>) -> Self {
        let baseline = snapshot.clone();
        let findings = snapshot.as_ref().map(diagnose).unwrap_or_default();
        App {
            source,
            snapshot,
            theme: Theme::from_env(),
            tab: Tab::Links,
            focus: Focus::Namespaces,
            ns_selected: 0,
            row_selected: 0,
            row_offset: 0,
            filter: String::new(),
            filtering: false,
            overlay: Overlay::None,
            status: String::new(),
            quit: false,
            save_requested: false,
            ns_area: Rect::default(),
            table_area: Rect::default(),
            tabs_row: u16::MAX,
            tab_spans: Vec::new(),
            page: 10,
            baseline,
            show_changes: false,
            changes: Vec::new(),
            flash: Vec::new(),
            flash_until: None,
            topo: None,
            topo_expanded: HashSet::new(),
            findings,
            apply_requested: None,
            path_requested: None,
            resolve_requested: None,
            capture: None,
            capture_requested: None,
            capture_stop: false,
            capture_filter: String::new(),
        }
    }

    /// Whether the doctor places an error or warning in namespace `ns` (where the fix goes,
    /// not every namespace it affects: those would light up half the list for one router).
    pub fn ns_has_problem(&self, ns: &str) -> bool {
        self.findings
            .iter()
            .any(|f| f.severity != Severity::Info && f.namespace == ns)
    }

    /// The link selected in the Links tab, if that is where the user is.
    fn selected_link(&self) -> Option<&crate::model::Link> {
        if self.tab != Tab::Links {
            return None;
        }
        self.selected_namespace()?.links.get(self.row_selected)
    }

    fn live(&self) -> bool {
        matches!(self.source, Source::Live)
    }

    /// Keys while a menu, form or plan is open. Returns true when a refresh is wanted.
    fn overlay_key(&mut self, action: Action) -> bool {
        if action == Action::Quit {
            self.quit = true;
            return false;
        }
        let overlay = std::mem::replace(&mut self.overlay, Overlay::None);
        self.overlay = match overlay {
            Overlay::Menu(i) => {
                let n = ActionKind::ALL.len();
                let chosen = match action {
                    Action::Up | Action::PrevTab => {
                        return self.set(Overlay::Menu((i + n - 1) % n))
                    }
                    Action::Down | Action::NextTab => return self.set(Overlay::Menu((i + 1) % n)),
                    Action::FilterDone => Some(ActionKind::ALL[i]),
                    Action::FilterChar(c) => ActionKind::ALL.iter().copied().find(|k| k.key() == c),
                    Action::FilterCancel | Action::Quit => None,
                    _ => return self.set(Overlay::Menu(i)),
                };
                match (chosen, self.selected_namespace()) {
                    (Some(kind), Some(ns)) => {
                        Overlay::Form(Form::new(kind, ns, self.selected_link()))
                    }
                    _ => Overlay::None,
                }
            }
            Overlay::Form(mut form) => {
                let n = form.fields.len().max(1);
                match action {
                    Action::FilterChar(c) => {
                        if let Some(f) = form.fields.get_mut(form.focus) {
                            f.value.push(c);
                        }
                        form.error = None;
                    }
                    Action::FilterBackspace => {
                        if let Some(f) = form.fields.get_mut(form.focus) {
                            f.value.pop();
                        }
                    }
                    Action::Down | Action::NextTab => form.focus = (form.focus + 1) % n,
                    Action::Up | Action::PrevTab => form.focus = (form.focus + n - 1) % n,
                    Action::FilterCancel | Action::Quit => return false,
                    Action::FilterDone => match self.submit(&form) {
                        Ok(next) => return self.set(next),
                        Err(e) => form.error = Some(e),
                    },
                    _ => {}
                }
                Overlay::Form(form)
            }
            Overlay::Plan { title, text, plan } => match action {
                Action::FilterChar('y') if plan.is_some() => {
                    self.apply_requested = plan;
                    self.status = "applying the plan…".into();
                    Overlay::None
                }
                Action::FilterChar('n' | 'q') | Action::FilterCancel | Action::FilterDone => {
                    Overlay::None
                }
                _ => Overlay::Plan { title, text, plan },
            },
            other => other,
        };
        false
    }

    /// What a filled-in form leads to: a plan to confirm, a path being worked out, a capture
    /// restarted with a new filter; or why the answers are refused.
    fn submit(&mut self, form: &Form) -> Result<Overlay, String> {
        match form.kind {
            FormKind::Change(kind) => {
                let steps = kind.steps(&form.ns, &form.values())?;
                let plan = Plan::new(format!("{} in {}", kind.label(), form.ns), steps);
                Ok(plan_overlay(plan.title.clone(), Vec::new(), plan))
            }
            FormKind::Path => {
                let v = form.values();
                let snap = self.snapshot.as_ref().ok_or("no snapshot yet")?;
                let port = match v[2].trim() {
                    "" => None,
                    p => Some(
                        p.parse::<u16>()
                            .map_err(|_| format!("port: {p:?} is not a port number"))?,
                    ),
                };
                let proto = v[1].trim();
                if !["icmp", "tcp", "udp"].contains(&proto) {
                    return Err(format!("protocol: {proto:?} is not icmp, tcp or udp"));
                }
                let live = match v[3].trim() {
                    "yes" | "y" => true,
                    "no" | "n" | "" => false,
                    other => return Err(format!("live probe: {other:?} is not yes or no")),
                };
                let probe =
                    crate::trace::path::probe_for(snap, &form.ns, None, v[0].trim(), proto, port)?;
                self.status = format!("working out the path to {}…", probe.dst);
                self.path_requested = Some((probe, live));
                Ok(Overlay::None)
            }
            FormKind::Resolve => {
                let v = form.values();
                let name = v[0].trim();
                crate::dns::query::validate_name(name).map_err(|e| format!("name: {e}"))?;
                let qtype =
                    crate::dns::QueryType::parse(v[1].trim()).map_err(|e| format!("type: {e}"))?;
                self.status = format!("resolving {name} in {}…", form.ns);
                self.resolve_requested =
                    Some(crate::dns::ExplainRequest::new(&form.ns, name, qtype));
                Ok(Overlay::None)
            }
            FormKind::CaptureFilter => {
                let text = form.values().join(" ");
                crate::trace::filter::Filter::parse(std::slice::from_ref(&text))
                    .map_err(|e| e.to_string())?;
                self.capture_filter = text.trim().to_string();
                // A running capture restarts with it.
                if let Some(c) = &self.capture {
                    if c.running {
                        self.capture_requested = Some((c.ns.clone(), c.iface.clone()));
                    }
                }
                Ok(Overlay::None)
            }
        }
    }

    fn set(&mut self, overlay: Overlay) -> bool {
        self.overlay = overlay;
        false
    }

    /// Opens the selected finding: its explanation, and its fix as a plan to confirm.
    fn open_finding(&mut self) {
        let Some(f) = self.findings.get(self.row_selected) else {
            return;
        };
        let mut text = vec![f.title.clone(), String::new(), f.explanation.clone()];
        let plan = f.fix.as_ref().map(|fix| {
            text.push(String::new());
            text.push(format!("fix: {}", fix.title));
            Plan::new(format!("fix {}", f.id), fix.steps.clone())
        });
        let title = format!(" {} [{}] ", f.id, f.severity);
        self.overlay = match plan {
            Some(p) => plan_overlay(title, text, p),
            None => {
                text.push(String::new());
                text.push("no automatic fix: the explanation says what to look at".into());
                Overlay::Plan {
                    title,
                    text,
                    plan: None,
                }
            }
        };
        if !self.live() {
            if let Overlay::Plan { plan, text, .. } = &mut self.overlay {
                if plan.take().is_some() {
                    text.push(String::new());
                    text.push(
                        "a saved snapshot is read-only: fix it on the node with `netlens fix`"
                            .into(),
                    );
                }
            }
        }
    }

    /// Compares with `base` from now on (`--since FILE`).
    pub fn set_baseline(&mut self, base: Snapshot) {
        self.baseline = Some(base);
        self.recompute_changes();
    }

    fn recompute_changes(&mut self) {
        self.changes = match (&self.baseline, &self.snapshot) {
            (Some(b), Some(s)) => diff(b, s).changes,
            _ => Vec::new(),
        };
    }

    /// Whether `key` of `object` in namespace `ns` changed since the baseline (with marks on)
    /// or in the last update (while it flashes).
    pub fn row_mark(&self, ns: &str, object: ObjectKind, key: &str) -> (bool, bool) {
        let hit = |c: &Change| {
            c.namespace == ns && c.object == object && c.key == key && c.kind != ChangeKind::Removed
        };
        let marked = self.show_changes && self.changes.iter().any(hit);
        let flashing =
            self.flash_until.is_some_and(|t| Instant::now() < t) && self.flash.iter().any(hit);
        (marked, flashing)
    }

    /// Whether namespace `ns` has changes since the baseline (with marks on).
    pub fn ns_changed(&self, ns: &str) -> bool {
        self.show_changes && self.changes.iter().any(|c| c.namespace == ns)
    }

    /// Namespaces passing the filter, in snapshot order.
    pub fn visible_namespaces(&self) -> Vec<&Namespace> {
        let Some(snap) = &self.snapshot else {
            return Vec::new();
        };
        let f = self.filter.to_lowercase();
        snap.namespaces
            .iter()
            .filter(|n| f.is_empty() || n.name.to_lowercase().contains(&f))
            .collect()
    }

    pub fn selected_namespace(&self) -> Option<&Namespace> {
        self.visible_namespaces().get(self.ns_selected).copied()
    }

    fn row_count(&self) -> usize {
        match self.tab {
            Tab::Topology => return self.topo.as_ref().map_or(0, Vec::len),
            Tab::Problems => return self.findings.len(),
            Tab::Capture => {
                return match self.capture_shown() {
                    Some(c) => c.packets.len(),
                    None => self.selected_namespace().map_or(0, |n| n.links.len()),
                }
            }
            _ => {}
        }
        self.selected_namespace()
            .map(|ns| tabs::row_count(ns, self.tab))
            .unwrap_or(0)
    }

    /// The capture the Capture tab shows: the one on the selected namespace, if any.
    pub fn capture_shown(&self) -> Option<&CaptureView> {
        let ns = self.selected_namespace()?;
        self.capture.as_ref().filter(|c| c.ns == ns.name)
    }

    /// Enter in the Capture tab: on a link, capture there; on a packet, its layers.
    fn capture_enter(&mut self) {
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

    /// Builds the topology picture if its tab is shown and it is missing.
    fn ensure_topo(&mut self) {
        if self.tab != Tab::Topology || self.topo.is_some() {
            return;
        }
        if let Some(snap) = &self.snapshot {
            self.topo = Some(topo::layout(snap, &self.topo_expanded));
        }
    }

    /// In the Topology tab, brings the selected namespace's first line into view.
    fn topo_follow_namespace(&mut self) {
        let Some(name) = self.selected_namespace().map(|n| n.name.clone()) else {
            return;
        };
        let hit = self
            .topo
            .as_ref()
            .and_then(|t| t.iter().position(|l| l.ns.as_deref() == Some(&name)));
        if let Some(i) = hit {
            self.row_selected = i;
            self.keep_row_visible();
        }
    }

    /// Enter on a line of the picture: expand/collapse its group, or open its namespace.
    fn topo_enter(&mut self) {
        let Some(line) = self.topo.as_ref().and_then(|t| t.get(self.row_selected)) else {
            return;
        };
        if let Some(key) = line.toggle.clone() {
            if !self.topo_expanded.remove(&key) {
                self.topo_expanded.insert(key);
            }
            self.topo = None;
            self.ensure_topo();
            self.row_selected = self.row_selected.min(self.row_count().saturating_sub(1));
            self.keep_row_visible();
        } else if let Some(name) = line.ns.clone() {
            // Clear a filter that hides it, then show its links.
            if !self.visible_namespaces().iter().any(|n| n.name == name) {
                self.filter.clear();
            }
            if let Some(i) = self
                .visible_namespaces()
                .iter()
                .position(|n| n.name == name)
            {
                self.ns_selected = i;
            }
            self.tab = Tab::Links;
            self.focus = Focus::Details;
            self.reset_rows();
        }
    }

    fn reset_rows(&mut self) {
        self.row_selected = 0;
        self.row_offset = 0;
    }

    fn move_by(&mut self, delta: isize) {
        match self.focus {
            Focus::Namespaces => {
                let n = self.visible_namespaces().len();
                let new = clamp_add(self.ns_selected, delta, n);
                if new != self.ns_selected {
                    self.ns_selected = new;
                    if self.tab == Tab::Topology {
                        self.topo_follow_namespace();
                    } else {
                        self.reset_rows();
                    }
                }
            }
            Focus::Details => {
                let n = self.row_count();
                self.row_selected = clamp_add(self.row_selected, delta, n);
                self.keep_row_visible();
            }
        }
    }

    fn keep_row_visible(&mut self) {
        let page = self.page.max(1);
        if self.row_selected < self.row_offset {
            self.row_offset = self.row_selected;
        } else if self.row_selected >= self.row_offset + page {
            self.row_offset = self.row_selected + 1 - page;
        }
    }

    /// Applies one message; returns true when a new live snapshot should be read.
    pub fn handle(&mut self, msg: Msg) -> bool {
        match msg {
            Msg::Snapshot(s) => {
                let findings = diagnose(&s);
                self.handle(Msg::Collected(s, findings))
            }
            Msg::Collected(s, findings) => {
                let keep = self.selected_namespace().map(|n| n.name.clone());
                let new = *s;
                match &self.snapshot {
                    // What this update changed flashes for a moment.
                    Some(prev) => {
                        self.flash = diff(prev, &new).changes;
                        self.flash_until = (!self.flash.is_empty()).then(|| Instant::now() + FLASH);
                    }
                    None if self.baseline.is_none() => self.baseline = Some(new.clone()),
                    None => {}
                }
                self.findings = findings;
                self.snapshot = Some(new);
                self.topo = None;
                self.ensure_topo();
                self.recompute_changes();
                // Stay on the same namespace across refreshes.
                if let Some(name) = keep {
                    if let Some(i) = self
                        .visible_namespaces()
                        .iter()
                        .position(|n| n.name == name)
                    {
                        self.ns_selected = i;
                    }
                }
                let n = self.visible_namespaces().len();
                self.ns_selected = self.ns_selected.min(n.saturating_sub(1));
                self.row_selected = self.row_selected.min(self.row_count().saturating_sub(1));
                // "reading…" is answered by the snapshot itself; a result (a plan applied, a
                // file saved) stays until something else is said.
                if self.status == strings::REREADING {
                    self.status.clear();
                }
                false
            }
            Msg::LoadFailed(e) => {
                self.status = e;
                false
            }
            Msg::Status(s) => {
                self.status = s;
                false
            }
            Msg::Changed => matches!(self.source, Source::Live),
            Msg::Packets(batch, stats) => {
                let follow = self.tab == Tab::Capture && self.row_selected + 1 >= self.row_count();
                if let Some(c) = &mut self.capture {
                    c.add(batch, stats);
                }
                // At the bottom of the list, stay at the bottom as packets arrive.
                if follow {
                    self.row_selected = self.row_count().saturating_sub(1);
                    self.keep_row_visible();
                }
                false
            }
            Msg::CaptureEnded(error) => {
                if let Some(c) = &mut self.capture {
                    c.running = false;
                    if let Some(e) = &error {
                        c.error = Some(e.clone());
                    }
                }
                if let Some(e) = error {
                    self.status = e;
                }
                false
            }
            Msg::Report(title, text) => {
                self.status.clear();
                self.overlay = Overlay::Plan {
                    title,
                    text,
                    plan: None,
                };
                false
            }
            Msg::Input(ev) => match action_for(&ev, self.filtering || self.overlay.takes_text()) {
                Some(a) => self.apply(a),
                None => false,
            },
        }
    }

    /// Applies an action; returns true when a live refresh was asked for.
    pub fn apply(&mut self, action: Action) -> bool {
        if self.overlay.takes_text() {
            return self.overlay_key(action);
        }
        if self.overlay != Overlay::None {
            match action {
                Action::Back | Action::Help | Action::Open => self.overlay = Overlay::None,
                Action::Quit => self.quit = true,
                _ => {}
            }
            return false;
        }
        let page = self.page.max(1) as isize;
        match action {
            Action::Up | Action::ScrollUp => self.move_by(-1),
            Action::Down | Action::ScrollDown => self.move_by(1),
            Action::PageUp => self.move_by(-page),
            Action::PageDown => self.move_by(page),
            Action::First => self.move_by(isize::MIN / 2),
            Action::Last => self.move_by(isize::MAX / 2),
            Action::FocusNamespaces => self.focus = Focus::Namespaces,
            Action::FocusDetails => self.focus = Focus::Details,
            Action::NextTab | Action::PrevTab | Action::GoTab(_) => {
                let i = self.tab.index();
                let n = Tab::ALL.len();
                let next = match action {
                    Action::NextTab => (i + 1) % n,
                    Action::PrevTab => (i + n - 1) % n,
                    Action::GoTab(t) => t.min(n - 1),
                    _ => i,
                };
                self.tab = Tab::ALL[next];
                self.reset_rows();
                self.ensure_topo();
                if self.tab == Tab::Topology {
                    self.topo_follow_namespace();
                }
            }
            Action::StartFilter => {
                self.filtering = true;
                self.focus = Focus::Namespaces;
            }
            Action::FilterChar(c) => {
                self.filter.push(c);
                self.ns_selected = 0;
                self.reset_rows();
            }
            Action::FilterBackspace => {
                self.filter.pop();
                self.ns_selected = 0;
            }
            Action::FilterDone => self.filtering = false,
            Action::FilterCancel => {
                self.filtering = false;
                self.filter.clear();
                self.ns_selected = 0;
            }
            Action::Open if self.tab == Tab::Topology && self.focus == Focus::Details => {
                self.topo_enter()
            }
            Action::Open if self.tab == Tab::Problems && self.focus == Focus::Details => {
                self.open_finding()
            }
            Action::StopCapture if self.tab == Tab::Capture => {
                if self.capture.as_ref().is_some_and(|c| c.running) {
                    self.capture_stop = true;
                }
            }
            Action::CaptureFilter if self.tab == Tab::Capture => {
                if let Some(ns) = self.selected_namespace() {
                    self.overlay =
                        Overlay::Form(Form::capture_filter(&ns.name.clone(), &self.capture_filter));
                }
            }
            Action::StopCapture | Action::CaptureFilter => {}
            Action::Resolve if self.tab == Tab::Dns => {
                if !self.live() {
                    self.status =
                        "a saved snapshot cannot send queries: use netlens dns on the node".into();
                } else if let Some(ns) = self.selected_namespace() {
                    self.overlay = Overlay::Form(Form::resolve(&ns.name.clone()));
                }
            }
            Action::Resolve => {}
            Action::PathForm => {
                if !self.live() {
                    self.status =
                        "a saved snapshot cannot send packets: use netlens path on the node".into();
                } else if let Some(ns) = self.selected_namespace() {
                    self.overlay = Overlay::Form(Form::path(&ns.name.clone()));
                }
            }
            Action::Open if self.tab == Tab::Capture && self.focus == Focus::Details => {
                self.capture_enter()
            }
            Action::Actions => {
                if !self.live() {
                    self.status = "a saved snapshot is read-only".into();
                } else if self.selected_namespace().is_some() {
                    self.overlay = Overlay::Menu(0);
                }
            }
            Action::Open => self.open_detail(),
            Action::Help => self.overlay = Overlay::Help,
            Action::ToggleChanges => {
                self.show_changes = !self.show_changes;
                self.status = if self.show_changes {
                    let removed = self
                        .changes
                        .iter()
                        .filter(|c| c.kind == ChangeKind::Removed)
                        .count();
                    format!(
                        "{} changes since the baseline marked with * ({removed} removals not shown as rows: see `netlens diff`)",
                        self.changes.len()
                    )
                } else {
                    String::new()
                };
            }
            Action::Back => {
                if !self.filter.is_empty() {
                    self.filter.clear();
                    self.ns_selected = 0;
                } else {
                    self.quit = true;
                }
            }
            Action::Quit => self.quit = true,
            Action::Refresh => {
                return match self.source {
                    Source::Live => {
                        self.status = strings::REREADING.into();
                        true
                    }
                    Source::File(_) => {
                        self.status = "a saved snapshot cannot be refreshed".into();
                        false
                    }
                };
            }
            Action::Save => {
                if self.snapshot.is_some() {
                    self.save_requested = true;
                }
            }
            Action::Click { column, row } => self.click(column, row),
            Action::Resize => {}
        }
        false
    }

    fn click(&mut self, column: u16, row: u16) {
        let inside =
            |r: Rect| column >= r.x && column < r.x + r.width && row >= r.y && row < r.y + r.height;
        if row == self.tabs_row {
            if let Some(i) = self
                .tab_spans
                .iter()
                .position(|&(a, b)| column >= a && column < b)
            {
                self.apply(Action::GoTab(i));
            }
        } else if inside(self.ns_area) {
            self.focus = Focus::Namespaces;
            // One line of border at the top.
            let i = (row.saturating_sub(self.ns_area.y + 1)) as usize;
            if i < self.visible_namespaces().len() && i != self.ns_selected {
                self.ns_selected = i;
                self.reset_rows();
            }
        } else if inside(self.table_area) {
            self.focus = Focus::Details;
            // Border and header line (the picture has no header).
            let top = if self.tab == Tab::Topology { 1 } else { 2 };
            let i = self.row_offset + (row.saturating_sub(self.table_area.y + top)) as usize;
            if i < self.row_count() {
                self.row_selected = i;
            }
        }
    }

    fn open_detail(&mut self) {
        let Some(ns) = self.selected_namespace() else {
            return;
        };
        if self.focus == Focus::Namespaces {
            let mut fields = vec![
                ("name".to_string(), ns.name.clone()),
                ("kind".to_string(), format!("{:?}", ns.kind).to_lowercase()),
                ("inode".to_string(), ns.inode.to_string()),
                ("status".to_string(), status_text(&ns.status)),
            ];
            for p in &ns.paths {
                fields.push(("path".into(), p.clone()));
            }
            for p in &ns.processes {
                let c = p
                    .container_id
                    .as_deref()
                    .map(|c| format!(" container {c}"))
                    .unwrap_or_default();
                fields.push(("process".into(), format!("{} {}{c}", p.pid, p.comm)));
            }
            self.overlay = Overlay::Detail(format!(" namespace {} ", ns.name), fields);
            return;
        }
        let header = self.tab.header();
        let Some(row) = tabs::rows(ns, self.tab, self.row_selected..self.row_selected + 1).pop()
        else {
            return;
        };
        let fields = header.iter().map(|h| h.to_string()).zip(row).collect();
        self.overlay = Overlay::Detail(format!(" {} in {} ", self.tab.title(), ns.name), fields);
    }
}

/// A plan to confirm: `text` (why), then its steps and their shell commands.
fn plan_overlay(title: String, mut text: Vec<String>, plan: Plan) -> Overlay {
    for (i, step) in plan.steps.iter().enumerate() {
        text.push(format!("{}. {step}", i + 1));
        for cmd in crate::plan::shell::commands(step) {
            text.push(format!("     {cmd}"));
        }
    }
    text.push(String::new());
    text.push(
        "y apply (all or nothing, journaled: netlens undo reverts it) · n or Esc cancel".into(),
    );
    Overlay::Plan {
        title,
        text,
        plan: Some(plan),
    }
}

pub fn status_text(s: &NsStatus) -> String {
    match s {
        NsStatus::Ok => "ok".into(),
        NsStatus::Partial(p) => format!("partial: {}", p.join("; ")),
        NsStatus::Gone => "gone".into(),
        NsStatus::Inaccessible(why) => format!("inaccessible: {why}"),
    }
}

fn clamp_add(v: usize, delta: isize, len: usize) -> usize {
    if len == 0 {
        return 0;
    }
    let v = v as isize + delta;
    v.clamp(0, len as isize - 1) as usize
}
