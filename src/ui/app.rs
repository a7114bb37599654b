//! The TUI's state and how actions change it. No I/O here except handing a save to a thread.

use std::collections::HashSet;
use std::path::PathBuf;

use ratatui::layout::Rect;

use super::actions::Form;
use super::keymap::{action_for, Action};
use super::strings;
use super::tabs::{self, Tab};
use super::theme::Theme;
use super::topo::TopoLine;
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

pub use super::capture_view::{CaptureView, CAPTURE_KEEP};

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
    /// `capture_filter` parsed, once, when it was set: the capture thread gets this, never
    /// the text (a second parse on a thread with a smaller stack is how a deep filter once
    /// aborted the TUI).
    pub capture_filter_parsed: Option<crate::trace::filter::Filter>,
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
            capture_filter_parsed: None,
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
    pub(super) fn selected_link(&self) -> Option<&crate::model::Link> {
        if self.tab != Tab::Links {
            return None;
        }
        self.selected_namespace()?.links.get(self.row_selected)
    }

    pub(super) fn live(&self) -> bool {
        matches!(self.source, Source::Live)
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

    pub(super) fn row_count(&self) -> usize {
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

    pub(super) fn reset_rows(&mut self) {
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

    pub(super) fn keep_row_visible(&mut self) {
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
