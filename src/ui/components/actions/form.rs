//! A form being filled in: its questions (label, value, hint), which one has the cursor, and
//! why the answer being typed (or the last submit) is refused — the whole text, which the
//! form wraps. What is checked as it is typed is `check.rs`. What the answers become is `change.rs`/`steps.rs` for a
//! change, `mod.rs` (`submit`) for a path, a lookup or a capture filter.

use super::change::ActionKind;
use crate::model::{Link, Namespace};

/// One question of a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub label: &'static str,
    pub value: String,
    pub hint: &'static str,
    /// Typed into by the user: the form no longer fills it in from other answers.
    pub edited: bool,
}

pub(super) fn field(label: &'static str, value: impl Into<String>, hint: &'static str) -> Field {
    Field {
        label,
        value: value.into(),
        hint,
        edited: false,
    }
}

/// What a form is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormKind {
    /// A change, ending in a plan to confirm.
    Change(ActionKind),
    /// `path` (and optionally `trace`) from the namespace.
    Path,
    /// The capture filter of the Capture tab.
    CaptureFilter,
    /// Resolve a name as glibc would in the namespace (the DNS tab).
    Resolve,
    /// Where to save the snapshot (`s`).
    Save,
}

impl FormKind {
    pub fn label(self) -> &'static str {
        match self {
            FormKind::Change(k) => k.label(),
            FormKind::Path => "path of a packet from here (and a live probe)",
            FormKind::CaptureFilter => "capture filter",
            FormKind::Resolve => "resolve a name as glibc would here",
            FormKind::Save => "save the snapshot",
        }
    }

    /// The form's title: what it does, and where (the node, for a save).
    pub fn title(self, ns: &str) -> String {
        match self {
            FormKind::Save => format!(" {} ", self.label()),
            _ => format!(" {} in {ns} ", self.label()),
        }
    }

    /// Its keys line: a change leads to a plan to confirm, the others straight to their work.
    pub fn keys(self) -> &'static str {
        match self {
            FormKind::Change(_) => crate::ui::strings::FORM_KEYS,
            _ => crate::ui::strings::FORM_KEYS_GO,
        }
    }
}

/// A form being filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    pub kind: FormKind,
    pub ns: String,
    pub fields: Vec<Field>,
    pub focus: usize,
    /// Why the answer being typed, or the last submit, is refused.
    pub error: Option<String>,
}

impl Form {
    pub fn new(kind: ActionKind, ns: &Namespace, link: Option<&Link>) -> Self {
        Form {
            kind: FormKind::Change(kind),
            ns: ns.name.clone(),
            fields: kind.fields(ns, link),
            focus: 0,
            error: None,
        }
    }

    /// Where does a packet from `ns` go?
    pub fn path(ns: &str) -> Self {
        Form {
            kind: FormKind::Path,
            ns: ns.into(),
            fields: vec![
                field("destination", "", "an IP address"),
                field("protocol", "icmp", "icmp, tcp or udp"),
                field("port", "", "for tcp and udp"),
                field(
                    "live probe",
                    "no",
                    "yes sends one real probe and watches it",
                ),
            ],
            focus: 0,
            error: None,
        }
    }

    /// A name to resolve in `ns`.
    pub fn resolve(ns: &str) -> Self {
        Form {
            kind: FormKind::Resolve,
            ns: ns.into(),
            fields: vec![
                field("name", "", "e.g. kubernetes.default or example.com"),
                field("type", "A+AAAA", "A, AAAA, A+AAAA, MX, TXT, SRV, …"),
            ],
            focus: 0,
            error: None,
        }
    }

    /// The Capture tab's filter, starting from the current one.
    pub fn capture_filter(ns: &str, current: &str) -> Self {
        Form {
            kind: FormKind::CaptureFilter,
            ns: ns.into(),
            fields: vec![field(
                "filter",
                current,
                "tcpdump words: host/net/port [src|dst], tcp udp icmp arp vxlan, and/or/not",
            )],
            focus: 0,
            error: None,
        }
    }

    /// The file to save the snapshot to, starting from `default`. The form's namespace is
    /// the whole node.
    pub fn save(default: &str) -> Self {
        Form {
            kind: FormKind::Save,
            ns: "this node".into(),
            fields: vec![field(
                "file",
                default,
                "JSON; a directory gets the default name",
            )],
            focus: 0,
            error: None,
        }
    }

    pub fn values(&self) -> Vec<String> {
        self.fields.iter().map(|f| f.value.clone()).collect()
    }
}
