//! Keys while a menu, form or plan is open, and what a filled-in form leads to: a plan to
//! confirm (changes, fixes), a path or a lookup run on another thread, a new capture filter.
//! Nothing here does I/O: requests are left on the app for the loop.

use super::actions::{ActionKind, Form, FormKind};
use super::app::{status_text, App, Focus, Overlay};
use super::keymap::Action;
use super::tabs;
use crate::plan::Plan;

impl App {
    pub(super) fn open_detail(&mut self) {
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

    /// Keys while a menu, form or plan is open. Returns true when a refresh is wanted.
    pub(super) fn overlay_key(&mut self, action: Action) -> bool {
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
    pub(super) fn submit(&mut self, form: &Form) -> Result<Overlay, String> {
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
                let parsed = crate::trace::filter::Filter::parse(std::slice::from_ref(&text))
                    .map_err(|e| e.to_string())?;
                self.capture_filter = text.trim().to_string();
                self.capture_filter_parsed = parsed;
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

    pub(super) fn set(&mut self, overlay: Overlay) -> bool {
        self.overlay = overlay;
        false
    }

    /// Opens the selected finding: its explanation, and its fix as a plan to confirm.
    pub(super) fn open_finding(&mut self) {
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
}

/// A plan to confirm: `text` (why), then its steps and their shell commands.
pub(super) fn plan_overlay(title: String, mut text: Vec<String>, plan: Plan) -> Overlay {
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
