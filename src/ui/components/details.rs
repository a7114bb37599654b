//! The per-namespace tabs (Links, Addresses, Routes, Neighbors, Firewall, DNS, Sockets,
//! Ports): a table of the selected namespace whose rows `tabs.rs` formats on demand, and Enter
//! on a row (or on a namespace in the list) opening all of its fields. No state of its own.

use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::widgets::{Cell, Paragraph, Row, Table};
use ratatui::Frame;

use super::actions::Overlay;
use crate::model::Namespace;
use crate::model::NsStatus;
use crate::ui::app::{status_text, App, Focus};
use crate::ui::strings;
use crate::ui::tabs::{self, Tab};
use crate::ui::view::{border, esc};

/// Enter outside the tabs with keys of their own: every field of the selected namespace
/// (focus on the list) or row.
pub fn open(app: &mut App) {
    let Some(ns) = app.selected_namespace() else {
        return;
    };
    if app.focus == Focus::Namespaces {
        app.overlay = Overlay::Detail(format!(" namespace {} ", ns.name), namespace_fields(ns));
        return;
    }
    let header = app.tab.header();
    let Some(row) = tabs::rows(ns, app.tab, app.row_selected..app.row_selected + 1).pop() else {
        return;
    };
    let fields = header.iter().map(|h| h.to_string()).zip(row).collect();
    app.overlay = Overlay::Detail(format!(" {} in {} ", app.tab.title(), ns.name), fields);
}

fn namespace_fields(ns: &Namespace) -> Vec<(String, String)> {
    let mut fields = vec![
        ("name".to_string(), ns.name.clone()),
        ("kind".to_string(), format!("{:?}", ns.kind).to_lowercase()),
        ("inode".to_string(), ns.inode.to_string()),
        ("status".to_string(), status_text(&ns.status)),
    ];
    if let Some(w) = &ns.workload {
        fields.push((
            "workload".into(),
            format!("{} {}", w.what(), w.display_name()),
        ));
        fields.push(("runtime".into(), w.runtime.to_string()));
        fields.push(("id".into(), w.id.clone()));
    }
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
    fields
}

/// The selected namespace's table for the current tab; only the rows on screen are
/// formatted, so a 10,000-route table costs one page.
pub fn draw(f: &mut Frame, app: &App, area: Rect) {
    let focused = app.focus == Focus::Details;
    let Some(ns) = app.selected_namespace() else {
        let text = if app.snapshot.is_none() {
            strings::LOADING
        } else {
            strings::NO_MATCH
        };
        f.render_widget(
            Paragraph::new(text).block(border(app, focused, String::new())),
            area,
        );
        return;
    };
    let total = tabs::row_count(ns, app.tab);
    let title = format!(
        " {} · {} · {} ",
        esc(&ns.label()),
        app.tab.title(),
        crate::text::plural(total, "row")
    );
    let block = border(app, focused, title);
    if let NsStatus::Gone | NsStatus::Inaccessible(_) = ns.status {
        let p = Paragraph::new(esc(&status_text(&ns.status)))
            .style(app.theme.warn())
            .block(block);
        f.render_widget(p, area);
        return;
    }
    let start = app.row_offset.min(total);
    let end = (start + app.page).min(total);
    // The columns this width holds: header and rows are both taken through `cols`.
    let cols = tabs::fit(app.tab.columns(), area.width.saturating_sub(2));
    let widths: Vec<Constraint> = cols.iter().map(|(_, w)| Constraint::Length(*w)).collect();
    let header = app.tab.header();
    let header =
        Row::new(cols.iter().map(|(i, _)| Cell::from(header[*i]))).style(app.theme.header());
    f.render_widget(
        Table::new(rows(app, ns, start..end, &cols), widths)
            .header(header)
            .block(block),
        area,
    );
}

/// Rows `range` of the table: `*` on what changed since the baseline, highlighted while the
/// last update's changes flash, links that are down in red, the selection reversed.
fn rows<'a>(
    app: &App,
    ns: &Namespace,
    range: std::ops::Range<usize>,
    cols: &[(usize, u16)],
) -> Vec<Row<'a>> {
    let (theme, tab, start) = (app.theme, app.tab, range.start);
    let focused = app.focus == Focus::Details;
    let keys = tabs::row_keys(ns, tab, range.clone());
    tabs::rows(ns, tab, range)
        .into_iter()
        .enumerate()
        .map(|(i, cells)| {
            let mut row_style = Style::new();
            let (marked, flashing) = keys
                .get(i)
                .and_then(|k| k.as_ref())
                .map(|(kind, key)| app.row_mark(&ns.name, *kind, key))
                .unwrap_or((false, false));
            if flashing {
                row_style = theme.flash();
            }
            if tab == Tab::Links
                && cells
                    .get(3)
                    .is_some_and(|s| s == "DOWN" || s == "LOWERLAYERDOWN")
            {
                row_style = theme.down();
            }
            if focused && start + i == app.row_selected {
                row_style = theme.selected();
            }
            let mut shown: Vec<String> = cols
                .iter()
                .map(|(c, _)| cells.get(*c).cloned().unwrap_or_default())
                .collect();
            // The mark goes on the first column shown (the first may have been dropped).
            if marked {
                if let Some(first) = shown.first_mut() {
                    *first = format!("*{first}");
                }
            }
            Row::new(shown.into_iter().map(Cell::from)).style(row_style)
        })
        .collect()
}
