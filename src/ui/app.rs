//! The TUI's state and how messages and actions change it: `handle(Msg)` and
//! `update(Action)` return the effects the event loop runs (a read, a save, a capture, a plan
//! applied…); nothing here does I/O. Each stateful tab keeps its state in its component
//! (`components/`); what is shared — the snapshot, the findings, the selection, the popup —
//! is here, and moving the selection is in `selection.rs`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::components::{actions, capture, details, problems, search, topology};
use super::effect::Effect;
use super::keymap::{action_for, Action};
use super::layout::{Areas, LayoutInput};
use super::marks::Marks;
use super::strings;
use super::tabs::Tab;
use super::theme::Theme;
use super::Msg;

use crate::collect::touched::Touched;
use crate::diagnose::{diagnose, Finding, Severity};
use crate::model::diff::ObjectKind;
use crate::model::{NsStatus, Snapshot};

use super::components::capture::CaptureTab;
use super::components::topology::TopologyTab;

use super::components::actions::Overlay;

pub enum Source {
    Live,
    File(PathBuf),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Namespaces,
    Details,
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
    /// The `/` search's query; while not empty, the list shows only namespaces with a hit.
    pub filter: String,
    /// The search is open (its hits listed, keys typing into it).
    pub filtering: bool,
    /// The hits of `filter`.
    pub search: search::Search,
    pub overlay: Overlay,
    pub status: String,
    /// The user is done: the loop ends after this batch of messages.
    pub quit: bool,
    /// Where the panes are, from the last resize.
    pub areas: Areas,
    /// Rows of the current table on screen, from the last resize (the tab shown then).
    pub page: usize,
    /// What changed since the baseline and in the last update.
    pub marks: Marks,
    /// The doctor's findings on the current snapshot, most severe first.
    pub findings: Vec<Finding>,
    pub topology: TopologyTab,
    pub capture: CaptureTab,
    /// `b`: the namespace list hidden, the tables get the whole width.
    pub sidebar_hidden: bool,
    /// First line shown of the open popup's text (help, details, a report).
    pub popup_scroll: usize,
    /// Where `s` offers to save (the loop sets it at start: see `save.rs`).
    pub save_dir: PathBuf,
}

impl App {
    pub fn new(source: Source, mut snapshot: Option<Snapshot>) -> Self {
        if let Some(s) = &mut snapshot {
            super::selection::sort_namespaces(s);
        }
        let findings = snapshot.as_ref().map(diagnose).unwrap_or_default();
        let marks = Marks {
            baseline: snapshot.clone(),
            ..Marks::default()
        };
        App {
            source,
            snapshot,
            theme: Theme::default(),
            tab: Tab::Links,
            focus: Focus::Namespaces,
            ns_selected: 0,
            row_selected: 0,
            row_offset: 0,
            filter: String::new(),
            filtering: false,
            search: search::Search::default(),
            overlay: Overlay::None,
            status: String::new(),
            quit: false,
            areas: Areas::default(),
            page: 10,
            marks,
            findings,
            topology: TopologyTab::default(),
            capture: CaptureTab::default(),
            sidebar_hidden: false,
            popup_scroll: 0,
            save_dir: PathBuf::from("."),
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
    pub(crate) fn selected_link(&self) -> Option<&crate::model::Link> {
        if self.tab != Tab::Links {
            return None;
        }
        self.selected_namespace()?.links.get(self.row_selected)
    }

    pub(crate) fn live(&self) -> bool {
        matches!(self.source, Source::Live)
    }

    /// Compares with `base` from now on (`--since FILE`), with the marks on.
    pub fn set_baseline(&mut self, base: Snapshot) {
        self.marks.baseline = Some(base);
        self.marks.recompute(self.snapshot.as_ref());
    }

    /// Whether `key` of `object` in namespace `ns` changed since the baseline (with marks on)
    /// or in the last update (while it flashes).
    pub fn row_mark(&self, ns: &str, object: ObjectKind, key: &str) -> (bool, bool) {
        self.marks.row(ns, object, key)
    }

    /// Whether namespace `ns` has changes since the baseline (with marks on).
    pub fn ns_changed(&self, ns: &str) -> bool {
        self.marks.ns_changed(ns)
    }

    /// When the loop must wake without a message (a flash ends), and the flash cleared once
    /// it is over.
    pub fn wake_in(&mut self, now: Instant) -> Option<Duration> {
        let due = self.marks.flash_due(now);
        self.marks.expire(now);
        due
    }

    /// Applies one message from the loop: a snapshot, a job's answer, or input.
    pub fn handle(&mut self, msg: Msg) -> Vec<Effect> {
        match msg {
            Msg::Snapshot(s) => {
                let findings = diagnose(&s);
                self.on_snapshot(*s, findings);
            }
            Msg::Collected(s, findings) => self.on_snapshot(*s, findings),
            Msg::Patched(p) => self.on_patch(*p),
            Msg::Findings(findings) => self.on_findings(findings),
            Msg::LoadFailed(text) | Msg::Status(text) => self.status = text,
            Msg::Changed(touched) if self.live() => return vec![Effect::Reread(touched)],
            Msg::Changed(_) => {}
            Msg::Packets(batch, stats) => capture::on_packets(self, batch, stats),
            Msg::CaptureEnded(error) => capture::on_end(self, error),
            Msg::Report(title, text) => {
                self.popup_scroll = 0;
                actions::show_report(self, title, text);
            }
            Msg::Input(ev) => {
                let text = self.filtering || self.overlay.takes_text();
                if let Some(a) = action_for(&ev, text) {
                    return self.update(a);
                }
            }
        }
        Vec::new()
    }

    /// A new snapshot (and its findings): what changed flashes, the selection stays on the
    /// same namespace.
    fn on_snapshot(&mut self, mut new: Snapshot, findings: Vec<Finding>) {
        let keep = self.selected_namespace().map(|n| n.name.clone());
        super::selection::sort_namespaces(&mut new);
        self.marks.on_update(self.snapshot.as_ref(), &new);
        self.findings = findings;
        self.snapshot = Some(new);
        self.marks.recompute(self.snapshot.as_ref());
        self.after_snapshot(keep, &mut super::debug_timing::Laps::start("ui whole:"));
    }

    /// Applies an action; returns what the loop must do for it. A popup it opens starts at
    /// its first line.
    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        let was_closed = self.overlay == Overlay::None;
        let effects = self.update_inner(action);
        if was_closed && self.overlay != Overlay::None {
            self.popup_scroll = 0;
        }
        effects
    }

    fn update_inner(&mut self, action: Action) -> Vec<Effect> {
        if let Action::Resize { width, height } = action {
            let input = LayoutInput {
                tab: self.tab,
                sidebar: !self.sidebar_hidden,
                status_lines: super::view::status_lines(self, width),
            };
            self.areas = Areas::new(ratatui::layout::Rect::new(0, 0, width, height), &input);
            self.page = self.areas.page(self.tab);
            return Vec::new();
        }
        if actions::popup::scroll(self, &action) {
            return Vec::new();
        }
        if self.overlay.takes_text() {
            return actions::update(self, action);
        }
        if self.overlay != Overlay::None {
            match action {
                Action::Back | Action::Help | Action::Open => self.overlay = Overlay::None,
                Action::Quit => self.quit = true,
                _ => {}
            }
            return Vec::new();
        }
        if self.filtering {
            if let Some(effects) = search::update(self, &action) {
                return effects;
            }
        }
        if let Some(effects) = self.tab_update(&action) {
            return effects;
        }
        self.common_update(action)
    }

    /// The current tab's own keys, if it has any for `action`.
    fn tab_update(&mut self, action: &Action) -> Option<Vec<Effect>> {
        match self.tab {
            Tab::Topology => topology::update(self, action),
            Tab::Problems => problems::update(self, action),
            Tab::Capture => capture::update(self, action),
            _ => None,
        }
    }

    /// Keys that mean the same on every tab.
    fn common_update(&mut self, action: Action) -> Vec<Effect> {
        let page = self.page.max(1) as isize;
        match action {
            Action::Up | Action::ScrollUp => self.move_by(-1),
            Action::Down | Action::ScrollDown => self.move_by(1),
            Action::PageUp => self.move_by(-page),
            Action::PageDown => self.move_by(page),
            Action::First => self.move_by(isize::MIN / 2),
            Action::Last => self.move_by(isize::MAX / 2),
            Action::FocusNamespaces => {
                // The list, hidden with `b`, comes back to be focused.
                if self.sidebar_hidden {
                    self.toggle_sidebar();
                }
                self.focus = Focus::Namespaces;
            }
            Action::FocusDetails => self.focus = Focus::Details,
            Action::NextTab | Action::PrevTab | Action::GoTab(_) => self.go_tab(&action),
            Action::StartFilter => search::start(self),
            // Typing keys reach here only with the search closed: nothing to type into.
            Action::FilterChar(_)
            | Action::FilterBackspace
            | Action::FilterDone
            | Action::FilterCancel => {}
            // The Capture tab's own keys, elsewhere.
            Action::StopCapture | Action::CaptureFilter => {}
            Action::Resolve => self.resolve_form(),
            Action::PathForm => self.path_form(),
            Action::Actions => actions::open_menu(self),
            Action::Open => details::open(self),
            Action::Help => self.overlay = Overlay::Help,
            Action::ToggleSidebar => self.toggle_sidebar(),
            Action::ToggleChanges => self.status = self.marks.toggle(self.snapshot.as_ref()),
            Action::ToggleNeighborChanges => {
                self.status = self.marks.toggle_neighbors(self.snapshot.as_ref());
            }
            Action::Back => self.back(),
            Action::Quit => self.quit = true,
            Action::Refresh => return self.refresh(),
            Action::Save => super::save::open_form(self),
            Action::Click { column, row } => return self.click(column, row),
            Action::Resize { .. } => {}
        }
        Vec::new()
    }

    /// `b`: hides or shows the namespace list; hidden, the focus goes to the table.
    fn toggle_sidebar(&mut self) {
        self.sidebar_hidden = !self.sidebar_hidden;
        if self.sidebar_hidden {
            self.focus = Focus::Details;
        }
        let f = self.areas.frame;
        self.update_inner(Action::Resize {
            width: f.width,
            height: f.height,
        });
    }

    /// `R`: in the DNS tab on a live host, the form of a name to resolve.
    fn resolve_form(&mut self) {
        if self.tab != Tab::Dns {
            return;
        }
        if !self.live() {
            self.status = strings::FILE_NO_QUERIES.into();
        } else if let Some(ns) = self.selected_namespace() {
            self.overlay = Overlay::Form(actions::Form::resolve(&ns.name.clone()));
        }
    }

    /// `T`: on a live host, the form of a packet whose path to work out.
    fn path_form(&mut self) {
        if !self.live() {
            self.status = strings::FILE_NO_PROBES.into();
        } else if let Some(ns) = self.selected_namespace() {
            self.overlay = Overlay::Form(actions::Form::path(&ns.name.clone()));
        }
    }

    /// Esc, with no popup open: one step back — the filter cleared, else the focus back on
    /// the namespace list. It never quits: two Esc to close a popup must not end a session
    /// (losing the baseline and a running capture); `q` and Ctrl-C quit.
    fn back(&mut self) {
        if !self.filter.is_empty() {
            // Back to the whole list, on the namespace the search led to.
            let keep = self.selected_namespace().map(|n| n.name.clone());
            self.filter.clear();
            self.ns_selected = keep
                .and_then(|k| self.visible_namespaces().iter().position(|n| n.name == k))
                .unwrap_or(0);
            self.status.clear();
        } else if self.focus == Focus::Details {
            self.focus = Focus::Namespaces;
        } else {
            self.status = strings::ESC_DOES_NOT_QUIT.into();
        }
    }

    fn refresh(&mut self) -> Vec<Effect> {
        match self.source {
            Source::Live => {
                self.status = strings::REREADING.into();
                vec![Effect::Reread(Touched::asked())]
            }
            Source::File(_) => {
                self.status = strings::FILE_NO_REFRESH.into();
                Vec::new()
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

#[cfg(test)]
#[path = "app_tests.rs"]
mod tests;
