//! The Problems tab: the doctor's findings for the whole node, most severe first (the findings
//! are the app's, as the namespace list marks them too). Its key: Enter explains a finding and
//! offers its fix as a plan to confirm. Its help is the Enter line of the keymap.

use ratatui::layout::{Constraint, Rect};
use ratatui::widgets::{Cell, Paragraph, Row, Table};
use ratatui::Frame;

use super::actions::{plan_overlay, Overlay};
use crate::diagnose::Severity;
use crate::plan::Plan;
use crate::ui::app::{App, Focus};
use crate::ui::effect::Effect;
use crate::ui::keymap::Action;
use crate::ui::strings;
use crate::ui::tabs::{self, Tab};
use crate::ui::view::{border, esc};

/// The Problems tab's keys; `None` for an action that is not its own.
pub fn update(app: &mut App, action: &Action) -> Option<Vec<Effect>> {
    match action {
        Action::Open if app.focus == Focus::Details => {
            open_finding(app);
            Some(Vec::new())
        }
        _ => None,
    }
}

/// Opens the selected finding: its explanation, and its fix as a plan to confirm.
fn open_finding(app: &mut App) {
    let Some(f) = app.findings.get(app.row_selected) else {
        return;
    };
    let mut text = vec![f.title.clone(), String::new(), f.explanation.clone()];
    let plan = f.fix.as_ref().map(|fix| {
        text.push(String::new());
        text.push(format!("fix: {}", fix.title));
        Plan::new(format!("fix {}", f.id), fix.steps.clone())
    });
    let title = format!(" {} [{}] ", f.id, f.severity);
    app.overlay = match plan {
        Some(p) => plan_overlay(title, text, p),
        None => {
            text.push(String::new());
            text.push(strings::NO_AUTO_FIX.into());
            Overlay::Plan {
                title,
                text,
                plan: None,
            }
        }
    };
    if !app.live() {
        if let Overlay::Plan { plan, text, .. } = &mut app.overlay {
            if plan.take().is_some() {
                text.push(String::new());
                text.push(strings::FILE_NO_FIX.into());
            }
        }
    }
}

/// The doctor's findings for the whole node, most severe first.
pub fn draw(f: &mut Frame, app: &App, area: Rect) {
    let focused = app.focus == Focus::Details;
    let theme = app.theme;
    let n = app.findings.len();
    let errors = app
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let title = format!(
        " Problems · {} · {} · Enter explains and offers the fix ",
        crate::text::plural(errors, "error"),
        crate::text::plural(n, "finding")
    );
    let block = border(app, focused, title);
    if n == 0 {
        let text = if app.snapshot.is_none() {
            strings::LOADING
        } else {
            strings::NO_PROBLEMS
        };
        f.render_widget(Paragraph::new(text).block(block), area);
        return;
    }
    let start = app.row_offset.min(n);
    let end = (start + app.page).min(n);
    // The columns this width holds (the finding is the key column).
    let cols = tabs::fit(Tab::Problems.columns(), area.width.saturating_sub(2));
    let rows: Vec<Row> = app.findings[start..end]
        .iter()
        .enumerate()
        .map(|(i, fd)| {
            let mut style = match fd.severity {
                Severity::Error => theme.down(),
                Severity::Warning => theme.warn(),
                Severity::Info => theme.dim(),
            };
            if focused && start + i == app.row_selected {
                style = theme.selected();
            }
            let cells = [
                fd.severity.to_string(),
                esc(&fd.namespace),
                esc(&format!("{} — {}", fd.id, fd.title)),
                if fd.fix.is_some() { "yes" } else { "" }.to_string(),
            ];
            Row::new(cols.iter().map(|(c, _)| Cell::from(cells[*c].clone()))).style(style)
        })
        .collect();
    let widths = cols.iter().map(|(_, w)| Constraint::Length(*w));
    let header = Tab::Problems.header();
    let header = Row::new(cols.iter().map(|(c, _)| Cell::from(header[*c]))).style(theme.header());
    f.render_widget(Table::new(rows, widths).header(header).block(block), area);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::test_support::{asset, live, press, saved};
    use crossterm::event::KeyCode;

    /// The bridge lab with forwarding off on its gateway: one finding, with a fix.
    fn broken() -> crate::model::Snapshot {
        let mut s = asset("demo-bridge.json");
        let gw = s
            .namespaces
            .iter_mut()
            .find(|n| n.name == "bridge-host")
            .expect("gateway");
        gw.sysctls.ip_forward = Some(0);
        s
    }

    #[test]
    fn enter_explains_a_finding_and_y_applies_its_fix() {
        let mut a = live(broken());
        press(&mut a, KeyCode::Char('p'));
        press(&mut a, KeyCode::Char('l'));
        assert!(press(&mut a, KeyCode::Enter).is_empty());
        assert!(matches!(&a.overlay, Overlay::Plan { plan: Some(_), .. }));
        let fx = press(&mut a, KeyCode::Char('y'));
        let [Effect::Apply(plan)] = &fx[..] else {
            panic!("{fx:?}")
        };
        assert_eq!(plan.title, "fix forwarding-off:bridge-host");
        assert_eq!(a.status, strings::APPLYING);
        assert_eq!(a.overlay, Overlay::None);
    }

    #[test]
    fn a_saved_snapshot_shows_the_fix_without_offering_it() {
        let mut a = saved(broken());
        press(&mut a, KeyCode::Char('p'));
        press(&mut a, KeyCode::Char('l'));
        press(&mut a, KeyCode::Enter);
        let Overlay::Plan { plan, text, .. } = &a.overlay else {
            panic!("{:?}", a.overlay)
        };
        assert!(plan.is_none());
        assert_eq!(text.last().map(String::as_str), Some(strings::FILE_NO_FIX));
        assert!(press(&mut a, KeyCode::Char('y')).is_empty());
        // Enter with the focus on the list is the namespace's details, not a finding.
        press(&mut a, KeyCode::Esc);
        press(&mut a, KeyCode::Char('h'));
        press(&mut a, KeyCode::Enter);
        assert!(matches!(&a.overlay, Overlay::Detail(t, _) if t.contains("namespace")));
    }
}
