//! The nsswitch stage: the `hosts:` sources glibc walks, in order, and whether the walk stops
//! after a source returned a given status.

use serde::{Deserialize, Serialize};

use super::super::query::QueryType;
use super::PlanInput;
use crate::dnsconf::Action;

/// One `hosts:` source as glibc will consult it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedSource {
    pub name: String,
    pub kind: SourceKind,
    /// The `[STATUS=action]` items written after it, as written.
    pub actions: Vec<Action>,
}

/// How netlens can evaluate a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// `/etc/hosts`.
    Files,
    /// The stub resolver: resolv.conf's servers, search list and ndots.
    Dns,
    /// systemd's nss-myhostname: localhost, `*.localhost`, the host name.
    MyHostname,
    /// nss-mdns (`mdns4_minimal`, `mdns_minimal`, `mdns4`, …): only `.local` names.
    Mdns,
    /// Anything else (`resolve`, `mymachines`, `nis`, `sss`, `wins`, …): not evaluated.
    Other,
}

impl SourceKind {
    fn of(name: &str) -> SourceKind {
        match name {
            "files" => SourceKind::Files,
            "dns" => SourceKind::Dns,
            "myhostname" => SourceKind::MyHostname,
            n if n.starts_with("mdns") => SourceKind::Mdns,
            _ => SourceKind::Other,
        }
    }
}

/// NSS statuses (`enum nss_status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NssStatus {
    Success,
    NotFound,
    Unavail,
    TryAgain,
}

impl NssStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            NssStatus::Success => "SUCCESS",
            NssStatus::NotFound => "NOTFOUND",
            NssStatus::Unavail => "UNAVAIL",
            NssStatus::TryAgain => "TRYAGAIN",
        }
    }
}

/// What glibc does after a source returned `status`: true to stop (`return`), false to go on.
/// The last matching `[…]` item wins, as glibc fills one action slot per status in order.
pub fn stops_after(source: &PlannedSource, status: NssStatus) -> bool {
    let mut stop = status == NssStatus::Success;
    for a in &source.actions {
        let matches = a.status.eq_ignore_ascii_case(status.as_str());
        if matches != a.negated {
            // `merge` only means something for group databases; for hosts it continues.
            stop = a.action.eq_ignore_ascii_case("return");
        }
    }
    stop
}

/// The `hosts:` sources in order and where they come from (nsswitch.conf's line, or glibc's
/// default); none for record types that bypass nsswitch.
pub(super) fn sources(
    input: &PlanInput<'_>,
    qtype: QueryType,
    notes: &mut Vec<String>,
) -> (Vec<PlannedSource>, String) {
    if !qtype.uses_nsswitch() {
        notes.push(format!(
            "{} records are looked up with res_search: nsswitch.conf and /etc/hosts take no part",
            qtype.label()
        ));
        (Vec::new(), "res_search (no nsswitch)".to_string())
    } else {
        match input.nsswitch.and_then(|n| n.database("hosts")) {
            Some(db) => (
                db.sources
                    .iter()
                    .map(|s| PlannedSource {
                        name: s.name.clone(),
                        kind: SourceKind::of(&s.name),
                        actions: s.actions.clone(),
                    })
                    .collect(),
                format!("nsswitch.conf line {}", db.line),
            ),
            None => (
                crate::dnsconf::nsswitch::DEFAULT_HOSTS_SOURCES
                    .iter()
                    .map(|s| PlannedSource {
                        name: s.to_string(),
                        kind: SourceKind::of(s),
                        actions: Vec::new(),
                    })
                    .collect(),
                if input.nsswitch.is_some() {
                    "glibc default (nsswitch.conf has no hosts: line)".to_string()
                } else {
                    "glibc default (no nsswitch.conf)".to_string()
                },
            ),
        }
    }
}
