//! `netlens diff` as text: one line per change, grouped by namespace.
//!
//! ```text
//! red:
//!   + link veth9 (veth, UP)
//!   - address 10.244.1.5/24 dev eth0
//!   ~ link eth0: oper_state UP → DOWN
//!   ~ sysctl ip_forward: 1 → 0
//! ```

use std::fmt::Write;

use crate::model::diff::{Change, ChangeKind, ObjectKind, SnapshotDiff};
use crate::put;
use crate::text::Esc;

pub fn render(d: &SnapshotDiff) -> String {
    if d.is_empty() {
        return "no changes\n".to_string();
    }
    let mut out = String::new();
    let mut current: Option<&str> = None;
    for c in &d.changes {
        if current != Some(c.namespace.as_str()) {
            put!(out, "{}:", c.namespace);
            current = Some(c.namespace.as_str());
        }
        out.push_str(&line(c));
    }
    let count = |k: ChangeKind| d.changes.iter().filter(|c| c.kind == k).count();
    let _ = writeln!(
        out,
        "{} added, {} removed, {} changed",
        count(ChangeKind::Added),
        count(ChangeKind::Removed),
        count(ChangeKind::Changed)
    );
    out
}

/// The line(s) of one change, each indented by two spaces and ending in a newline.
pub fn line(c: &Change) -> String {
    // Keys, descriptions and values come from the kernel and from files: escaped, so each
    // change stays on its line.
    let object = c.object.as_str();
    let key = Esc(&c.key);
    let with_desc = |sign: char, desc: &Option<String>| match desc.as_deref() {
        Some(d) if !d.is_empty() => format!("  {sign} {object} {key} ({})\n", Esc(d)),
        _ => format!("  {sign} {object} {key}\n"),
    };
    match c.kind {
        ChangeKind::Added => with_desc('+', &c.after),
        ChangeKind::Removed => with_desc('-', &c.before),
        ChangeKind::Changed => {
            let mut out = String::new();
            let mut parts = Vec::new();
            for d in &c.details {
                if c.object == ObjectKind::DnsFile && d.field == "raw" {
                    // File contents go below the line, diff-style, one line each.
                    for l in d.before.lines() {
                        put!(out, "      - {l}");
                    }
                    for l in d.after.lines() {
                        put!(out, "      + {l}");
                    }
                    parts.push("changed lines".to_string());
                } else if d.field == "value" {
                    // A sysctl has one value: its name is the key already.
                    parts.push(format!("{} → {}", Esc(&d.before), Esc(&d.after)));
                } else {
                    parts.push(format!(
                        "{} {} → {}",
                        Esc(&d.field),
                        Esc(&d.before),
                        Esc(&d.after)
                    ));
                }
            }
            format!("  ~ {object} {key}: {}\n{out}", parts.join("; "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::diff::FieldChange;

    fn change(kind: ChangeKind, object: ObjectKind, key: &str) -> Change {
        Change {
            namespace: "red".into(),
            kind,
            object,
            key: key.into(),
            before: None,
            after: None,
            fields: Vec::new(),
            details: Vec::new(),
        }
    }

    fn field(field: &str, before: &str, after: &str) -> FieldChange {
        FieldChange {
            field: field.into(),
            before: before.into(),
            after: after.into(),
        }
    }

    #[test]
    fn empty_diff_says_no_changes() {
        assert_eq!(render(&SnapshotDiff::default()), "no changes\n");
    }

    #[test]
    fn lines_per_kind() {
        let mut link = change(ChangeKind::Added, ObjectKind::Link, "veth9");
        link.after = Some("veth, UP".into());
        let mut addr = change(
            ChangeKind::Removed,
            ObjectKind::Address,
            "10.244.1.5/24 dev eth0",
        );
        addr.before = Some(String::new());
        let mut down = change(ChangeKind::Changed, ObjectKind::Link, "eth0");
        down.details = vec![
            field("oper_state", "UP", "DOWN"),
            field("mtu", "1500", "9000"),
        ];
        let mut fwd = change(ChangeKind::Changed, ObjectKind::Sysctl, "ip_forward");
        fwd.details = vec![field("value", "1", "0")];
        let mut dns = change(ChangeKind::Changed, ObjectKind::DnsFile, "resolv.conf");
        dns.details = vec![field("raw", "nameserver 10.0.0.1", "nameserver 1.1.1.1")];
        let mut blue = change(ChangeKind::Removed, ObjectKind::Namespace, "blue");
        blue.namespace = "blue".into();
        blue.before = Some("named, inode 5".into());
        let d = SnapshotDiff {
            old_taken_at: 1,
            new_taken_at: 2,
            changes: vec![link, addr, down, fwd, dns, blue],
        };
        assert_eq!(
            render(&d),
            "red:\n\
             \x20 + link veth9 (veth, UP)\n\
             \x20 - address 10.244.1.5/24 dev eth0\n\
             \x20 ~ link eth0: oper_state UP → DOWN; mtu 1500 → 9000\n\
             \x20 ~ sysctl ip_forward: 1 → 0\n\
             \x20 ~ dns_file resolv.conf: changed lines\n\
             \x20     - nameserver 10.0.0.1\n\
             \x20     + nameserver 1.1.1.1\n\
             blue:\n\
             \x20 - namespace blue (named, inode 5)\n\
             1 added, 2 removed, 3 changed\n"
        );
    }
}
