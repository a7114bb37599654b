//! The popups over the main view and their keys: help, a row's details, the change menu
//! (`a`), forms, and a plan (a change, a finding's fix, or a report) to confirm with `y`.
//! While a menu, form or question is open, letters are its text, not commands. What a
//! filled-in form leads to is returned: a plan to confirm, or an effect (a path or a lookup
//! worked out on another thread, a capture restarted with a new filter). Nothing here does I/O.

mod change;
mod check;
mod form;
pub mod popup;
mod steps;
pub mod view;

pub use change::ActionKind;
pub use form::{Field, Form, FormKind};

use crossterm::event::KeyCode;

use crate::plan::Plan;
use crate::ui::app::App;
use crate::ui::effect::Effect;
use crate::ui::keymap::{Action, Binding};
use crate::ui::strings;

pub const KEYS: Binding = Binding {
    keys: "a",
    what: "change the selected namespace or link (a form, then the plan to confirm)",
    map: &[(KeyCode::Char('a'), Action::Actions)],
};

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
    /// a plan it is only shown (a finding with no automatic fix, a report, or a read-only
    /// snapshot).
    Plan {
        title: String,
        text: Vec<String>,
        plan: Option<Plan>,
    },
}

impl Overlay {
    /// Whether keys are text for it (letters answer, they are not commands).
    pub fn takes_text(&self) -> bool {
        matches!(
            self,
            Overlay::Menu(_) | Overlay::Form(_) | Overlay::Plan { .. }
        )
    }
}

/// `a`: the menu of changes, on a live host with a namespace selected.
pub fn open_menu(app: &mut App) {
    if !app.live() {
        app.status = strings::FILE_NO_CHANGES.into();
    } else if app.selected_namespace().is_some() {
        app.overlay = Overlay::Menu(0);
    }
}

/// A text from another thread (a path, a lookup) to read.
pub fn show_report(app: &mut App, title: String, text: Vec<String>) {
    app.status.clear();
    app.overlay = Overlay::Plan {
        title,
        text,
        plan: None,
    };
}

/// Keys while a menu, form or plan is open.
pub fn update(app: &mut App, action: Action) -> Vec<Effect> {
    if action == Action::Quit {
        app.quit = true;
        return Vec::new();
    }
    let (overlay, effects) = match std::mem::replace(&mut app.overlay, Overlay::None) {
        Overlay::Menu(i) => (menu_key(app, i, action), Vec::new()),
        Overlay::Form(form) => form_key(app, form, action),
        Overlay::Plan { title, text, plan } => plan_key(app, title, text, plan, action),
        other => (other, Vec::new()),
    };
    app.overlay = overlay;
    effects
}

fn menu_key(app: &App, i: usize, action: Action) -> Overlay {
    let n = ActionKind::ALL.len();
    let chosen = match action {
        Action::Up | Action::PrevTab => return Overlay::Menu((i + n - 1) % n),
        Action::Down | Action::NextTab => return Overlay::Menu((i + 1) % n),
        Action::FilterDone => Some(ActionKind::ALL[i]),
        Action::FilterChar(c) => ActionKind::ALL.iter().copied().find(|k| k.key() == c),
        Action::FilterCancel | Action::Quit => None,
        _ => return Overlay::Menu(i),
    };
    match (chosen, app.selected_namespace()) {
        (Some(kind), Some(ns)) => Overlay::Form(Form::new(kind, ns, app.selected_link())),
        _ => Overlay::None,
    }
}

fn form_key(app: &mut App, mut form: Form, action: Action) -> (Overlay, Vec<Effect>) {
    let n = form.fields.len().max(1);
    match action {
        Action::FilterChar(_) | Action::FilterBackspace => {
            if let Some(f) = form.fields.get_mut(form.focus) {
                match action {
                    Action::FilterChar(c) => f.value.push(c),
                    _ => {
                        f.value.pop();
                    }
                }
                f.edited = true;
            }
            fill_in(app, &mut form);
            form.error = typing_error(app, &form);
        }
        Action::Down | Action::NextTab => {
            form.focus = (form.focus + 1) % n;
            form.error = typing_error(app, &form);
        }
        Action::Up | Action::PrevTab => {
            form.focus = (form.focus + n - 1) % n;
            form.error = typing_error(app, &form);
        }
        Action::FilterCancel | Action::Quit => return (Overlay::None, Vec::new()),
        // Refused: the form stays as typed, on the refused answer, saying why.
        Action::FilterDone => match submit(app, &form) {
            Ok(next) => return next,
            Err((field, e)) => {
                form.focus = field.unwrap_or(form.focus);
                form.error = Some(e);
            }
        },
        _ => {}
    }
    (Overlay::Form(form), Vec::new())
}

/// Why the answer under the cursor is refused as typed so far (a change form only).
fn typing_error(app: &App, form: &Form) -> Option<String> {
    let FormKind::Change(kind) = form.kind else {
        return None;
    };
    let cx = check::Context::new(app.snapshot.as_ref(), &form.ns);
    check::field_error(kind, form.focus, &form.fields, &cx, false)
}

/// Answers the form works out from others, in fields the user has not typed into.
fn fill_in(app: &App, form: &mut Form) {
    let FormKind::Change(kind) = form.kind else {
        return;
    };
    let cx = check::Context::new(app.snapshot.as_ref(), &form.ns);
    let values = form.values();
    if let Some((i, value)) = check::derived(kind, &values, &cx) {
        if let Some(f) = form.fields.get_mut(i).filter(|f| !f.edited) {
            f.value = value;
        }
    }
}

fn plan_key(
    app: &mut App,
    title: String,
    text: Vec<String>,
    plan: Option<Plan>,
    action: Action,
) -> (Overlay, Vec<Effect>) {
    match action {
        Action::FilterChar('y') if plan.is_some() => {
            app.status = strings::APPLYING.into();
            (Overlay::None, plan.map(Effect::Apply).into_iter().collect())
        }
        Action::FilterChar('n' | 'q') | Action::FilterCancel | Action::FilterDone => {
            (Overlay::None, Vec::new())
        }
        _ => (Overlay::Plan { title, text, plan }, Vec::new()),
    }
}

/// What a filled-in form leads to: a plan to confirm, a path being worked out, a lookup, a
/// capture restarted with a new filter; or why the answers are refused (and which one, when
/// it is known).
fn submit(app: &mut App, form: &Form) -> Result<(Overlay, Vec<Effect>), (Option<usize>, String)> {
    match form.kind {
        FormKind::Change(kind) => {
            let cx = check::Context::new(app.snapshot.as_ref(), &form.ns);
            if let Some((i, e)) = check::first_error(kind, &form.fields, &cx) {
                return Err((Some(i), e));
            }
            let steps = kind
                .steps(&form.ns, &form.values())
                .map_err(|e| (None, e))?;
            let plan = Plan::new(format!("{} in {}", kind.label(), form.ns), steps);
            // The plan engine's own checks, the ones `netlens fix --dry-run` makes.
            crate::plan::validate::validate_offline(&plan).map_err(|e| (None, e.to_string()))?;
            Ok((
                plan_overlay(plan.title.clone(), Vec::new(), plan),
                Vec::new(),
            ))
        }
        _ => other_submit(app, form).map_err(|e| (None, e)),
    }
}

/// The forms that are not changes.
fn other_submit(app: &mut App, form: &Form) -> Result<(Overlay, Vec<Effect>), String> {
    match form.kind {
        FormKind::Change(_) => Err(String::new()),
        FormKind::Path => Ok((Overlay::None, vec![path(app, form)?])),
        FormKind::Resolve => {
            let v = form.values();
            let name = v[0].trim();
            crate::dns::query::validate_name(name).map_err(|e| format!("name: {e}"))?;
            let qtype =
                crate::dns::QueryType::parse(v[1].trim()).map_err(|e| format!("type: {e}"))?;
            app.status = strings::resolving(name, &form.ns);
            let req = crate::dns::ExplainRequest::new(&form.ns, name, qtype);
            Ok((Overlay::None, vec![Effect::Resolve(req)]))
        }
        FormKind::Save => {
            let file = form.values().concat();
            let file = file.trim();
            if file.is_empty() {
                return Err("file: where should the snapshot go?".into());
            }
            let snapshot = Box::new(app.snapshot.clone().ok_or(strings::NO_SNAPSHOT_YET)?);
            app.status = strings::saving(file);
            let path = file.into();
            Ok((Overlay::None, vec![Effect::Save { snapshot, path }]))
        }
        FormKind::CaptureFilter => {
            let text = form.values().join(" ");
            let parsed = crate::trace::filter::Filter::parse(std::slice::from_ref(&text))
                .map_err(|e| e.to_string())?;
            Ok((Overlay::None, app.capture.set_filter(&text, parsed)))
        }
    }
}

/// The path form: where a packet from the namespace goes (and with "live probe", a real one).
fn path(app: &mut App, form: &Form) -> Result<Effect, String> {
    let v = form.values();
    let snap = app.snapshot.as_ref().ok_or(strings::NO_SNAPSHOT_YET)?;
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
    let probe = crate::trace::path::probe_for(snap, &form.ns, None, v[0].trim(), proto, port)?;
    let snapshot = Box::new(snap.clone());
    app.status = strings::working_out_path(&probe.dst);
    Ok(Effect::Path {
        snapshot,
        findings: app.findings.clone(),
        probe,
        live,
    })
}

/// A plan to confirm: `text` (why), then its steps and their shell commands.
pub fn plan_overlay(title: String, mut text: Vec<String>, plan: Plan) -> Overlay {
    for (i, step) in plan.steps.iter().enumerate() {
        text.push(format!("{}. {step}", i + 1));
        for cmd in crate::plan::shell::commands(step) {
            text.push(format!("     {cmd}"));
        }
    }
    text.push(String::new());
    text.push(strings::CONFIRM_PLAN.into());
    Overlay::Plan {
        title,
        text,
        plan: Some(plan),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::test_support::{asset, live, press, saved, select, typed};
    use crossterm::event::KeyCode;

    #[test]
    fn the_menu_leads_to_a_form_then_a_plan_then_an_apply() {
        let mut a = live(asset("demo-bridge.json"));
        select(&mut a, "bridge-red");
        assert!(press(&mut a, KeyCode::Char('a')).is_empty());
        assert_eq!(a.overlay, Overlay::Menu(0));
        press(&mut a, KeyCode::Down);
        assert_eq!(a.overlay, Overlay::Menu(1));
        // A letter picks its change; `q` in a form is text, not quit.
        press(&mut a, KeyCode::Char('b'));
        typed(&mut a, "br-q");
        assert!(!a.quit);
        assert!(press(&mut a, KeyCode::Enter).is_empty());
        assert!(matches!(&a.overlay, Overlay::Plan { plan: Some(p), .. } if p.steps.len() == 2));
        let fx = press(&mut a, KeyCode::Char('y'));
        assert!(matches!(&fx[..], [Effect::Apply(_)]), "{fx:?}");
    }

    #[test]
    fn refused_answers_stay_in_the_form_and_esc_cancels() {
        let mut a = live(asset("demo-bridge.json"));
        select(&mut a, "bridge-red");
        press(&mut a, KeyCode::Char('a'));
        press(&mut a, KeyCode::Char('b'));
        typed(&mut a, "bad/name");
        assert!(press(&mut a, KeyCode::Enter).is_empty());
        let Overlay::Form(form) = &a.overlay else {
            panic!("{:?}", a.overlay)
        };
        assert!(form
            .error
            .as_deref()
            .is_some_and(|e| e.starts_with("name:")));
        press(&mut a, KeyCode::Esc);
        assert_eq!(a.overlay, Overlay::None);
        // A plan shown and refused applies nothing.
        press(&mut a, KeyCode::Char('a'));
        press(&mut a, KeyCode::Char('u'));
        press(&mut a, KeyCode::Enter);
        assert!(press(&mut a, KeyCode::Char('n')).is_empty());
        assert_eq!(a.overlay, Overlay::None);
    }

    #[test]
    fn path_and_lookup_forms_become_effects() {
        let mut a = live(asset("demo-bridge.json"));
        select(&mut a, "bridge-red");
        press(&mut a, KeyCode::Char('T'));
        typed(&mut a, "192.168.1.3");
        let fx = press(&mut a, KeyCode::Enter);
        assert!(
            matches!(&fx[..], [Effect::Path { probe, live: false, .. }] if probe.from == "bridge-red"),
            "{fx:?}"
        );
        assert!(a.status.starts_with("working out the path"));
        press(&mut a, KeyCode::Char('6'));
        press(&mut a, KeyCode::Char('R'));
        typed(&mut a, "db.internal");
        let fx = press(&mut a, KeyCode::Enter);
        assert!(
            matches!(&fx[..], [Effect::Resolve(r)] if r.name == "db.internal"),
            "{fx:?}"
        );
        show_report(&mut a, " t ".into(), vec!["answer".into()]);
        assert!(matches!(&a.overlay, Overlay::Plan { plan: None, .. }));
        assert!(a.status.is_empty());
    }

    #[test]
    fn a_saved_snapshot_offers_no_changes() {
        let mut a = saved(asset("demo-bridge.json"));
        assert!(press(&mut a, KeyCode::Char('a')).is_empty());
        assert_eq!(a.overlay, Overlay::None);
        assert_eq!(a.status, strings::FILE_NO_CHANGES);
        press(&mut a, KeyCode::Char('T'));
        assert_eq!(a.status, strings::FILE_NO_PROBES);
    }
}
