//! The rows of the per-namespace tabs (Links … Sockets, Ports), built on demand: only the
//! rows asked for are formatted, so a namespace with 10,000 routes costs one page per frame.

use super::tabs::Tab;
use crate::firewall::{NftChain, NftRule, NftTable, XtChain, XtRule, XtTable};
use crate::model::diff::{self, ObjectKind};
use crate::model::RouteKind;
use crate::model::{Link, Namespace, OperState};

/// Whether a link looks down (administratively or without carrier).
pub fn link_is_down(l: &Link) -> bool {
    !l.is_up() || matches!(l.oper_state, OperState::Down | OperState::LowerLayerDown)
}

fn link_state(l: &Link) -> String {
    if l.is_up() {
        l.oper_state.to_string()
    } else {
        "DOWN".into()
    }
}

/// A row's diff identity, for change marks.
type RowKey = Option<(ObjectKind, String)>;

/// One row of the Firewall tab, by reference: a kube-proxy node has tens of thousands of
/// rules, and only the rows on screen are ever formatted.
enum FwRow<'a> {
    Error(&'a String),
    Policy(&'a XtTable, &'a XtChain),
    Xt(&'a XtTable, &'a XtChain, &'a XtRule),
    Nft(&'a NftTable, &'a NftChain, &'a NftRule),
}

/// The Firewall tab's rows in display order: errors, iptables (policy then rules per chain),
/// then native nft tables.
fn fw_rows(ns: &Namespace) -> impl Iterator<Item = FwRow<'_>> {
    let fw = ns.firewall.as_ref();
    let errors = fw
        .into_iter()
        .flat_map(|f| f.errors.iter().map(FwRow::Error));
    let xt = fw.into_iter().flat_map(|f| &f.iptables).flat_map(|t| {
        t.chains.iter().flat_map(move |c| {
            let policy = c.policy.as_ref().map(|_| FwRow::Policy(t, c));
            policy
                .into_iter()
                .chain(c.rules.iter().map(move |r| FwRow::Xt(t, c, r)))
        })
    });
    let nft = fw
        .into_iter()
        .flat_map(|f| &f.nft)
        .filter(|t| !t.looks_like_iptables_nft())
        .flat_map(|t| {
            t.chains
                .iter()
                .flat_map(move |c| c.rules.iter().map(move |r| FwRow::Nft(t, c, r)))
        });
    errors.chain(xt).chain(nft)
}

/// (table, chain, packets, bytes, rule). Hit counters get columns of their own, since "is this
/// rule matching at all?" is the question.
fn fw_cells(row: &FwRow) -> Vec<String> {
    match row {
        FwRow::Error(e) => vec![
            "!".into(),
            "error".into(),
            "".into(),
            "".into(),
            e.to_string(),
        ],
        FwRow::Policy(t, c) => vec![
            t.name.clone(),
            c.name.clone(),
            count(c.packets),
            count(c.bytes),
            format!("policy {}", c.policy.as_deref().unwrap_or("")),
        ],
        FwRow::Xt(t, c, r) => vec![
            t.name.clone(),
            c.name.clone(),
            r.packets.map(count).unwrap_or_default(),
            r.bytes.map(count).unwrap_or_default(),
            diff::xt_rule_body(r, &c.name),
        ],
        FwRow::Nft(t, c, r) => {
            let (p, b) = r
                .counters
                .map(|k| (count(k.packets), count(k.bytes)))
                .unwrap_or_default();
            vec![
                format!("{} {}", t.family, t.name),
                c.name.clone(),
                p,
                b,
                r.expr_summary.clone(),
            ]
        }
    }
}

fn fw_key(row: &FwRow) -> RowKey {
    let key = match row {
        FwRow::Error(_) => return None,
        FwRow::Policy(t, c) => diff::xt_policy_key(t, c),
        FwRow::Xt(t, c, r) => diff::xt_rule_key(t, c, r),
        FwRow::Nft(t, c, r) => diff::nft_rule_key(t, c, r),
    };
    Some((ObjectKind::FirewallRule, key))
}

/// 1234 → `1234`, 56789 → `57K`, 12345678 → `12M`: counters fit a narrow column.
fn count(n: u64) -> String {
    // Rounded to nearest without `n + d/2`, which overflows near u64::MAX.
    let div = |d: u64| n / d + u64::from(n % d >= d / 2);
    match n {
        0..=9_999 => n.to_string(),
        10_000..=9_999_999 => format!("{}K", div(1000)),
        10_000_000..=9_999_999_999 => format!("{}M", div(1_000_000)),
        _ => format!("{}G", div(1_000_000_000)),
    }
}

/// The files' lines, each keyed by its file: a changed file marks all of its lines.
fn dns_lines(ns: &Namespace) -> Vec<([String; 2], RowKey)> {
    let mut out = Vec::new();
    let Some(dns) = &ns.dns else { return out };
    let files = [
        (
            "resolv.conf",
            &dns.resolv_conf.path,
            &dns.resolv_conf.raw,
            &dns.resolv_conf.error,
            dns.resolv_conf.truncated,
        ),
        (
            "nsswitch.conf",
            &dns.nsswitch.path,
            &dns.nsswitch.raw,
            &dns.nsswitch.error,
            dns.nsswitch.truncated,
        ),
        (
            "hosts",
            &dns.hosts.path,
            &dns.hosts.raw,
            &dns.hosts.error,
            dns.hosts.truncated,
        ),
    ];
    for (key, path, raw, error, truncated) in files {
        let row_key = || Some((ObjectKind::DnsFile, key.to_string()));
        match (raw, error) {
            (Some(text), _) => {
                for line in text.lines().filter(|l| !l.trim().is_empty()) {
                    out.push(([path.clone(), line.to_string()], row_key()));
                }
            }
            (None, Some(e)) => out.push(([path.clone(), format!("! {e}")], row_key())),
            (None, None) => {}
        }
        if truncated {
            let note = "! larger than 1 MiB: only its beginning was read".to_string();
            out.push(([path.clone(), note], row_key()));
        }
    }
    out
}

/// The rows of `range` out of `items`: tables only ever format what is on screen.
fn page<T>(
    items: impl Iterator<Item = T>,
    range: &std::ops::Range<usize>,
) -> impl Iterator<Item = T> {
    items
        .skip(range.start)
        .take(range.end.saturating_sub(range.start))
}

/// Number of rows of `tab` for `ns`.
pub fn row_count(ns: &Namespace, tab: Tab) -> usize {
    match tab {
        Tab::Links => ns.links.len(),
        Tab::Addresses => ns.addresses.len(),
        Tab::Routes => ns.shown_routes().count(),
        Tab::Neighbors => ns.neighbors.len(),
        Tab::Firewall => fw_rows(ns).count(),
        Tab::Dns => dns_lines(ns).len(),
        Tab::Sockets => ns.sockets.len(),
        // The app counts these: node-wide, or live.
        Tab::Topology | Tab::Problems | Tab::Capture => 0,
        Tab::Ports => ports_rows(ns).len(),
    }
}

/// Rows `range` of `tab` for `ns`, formatted as cells, each escaped: names, rule text and file
/// lines come from the kernel and from containers (see `text::escape`).
pub fn rows(ns: &Namespace, tab: Tab, range: std::ops::Range<usize>) -> Vec<Vec<String>> {
    let mut rows = raw_rows(ns, tab, range);
    for cell in rows.iter_mut().flatten() {
        if let std::borrow::Cow::Owned(e) = crate::text::escape(cell) {
            *cell = e;
        }
    }
    rows
}

fn raw_rows(ns: &Namespace, tab: Tab, range: std::ops::Range<usize>) -> Vec<Vec<String>> {
    match tab {
        Tab::Links => page(ns.links.iter(), &range)
            .map(|l| {
                let peer = l.peer.as_ref().map(|p| {
                    let name = p.name.clone().unwrap_or_else(|| format!("if{}", p.ifindex));
                    format!("⇄ {name} ({})", p.namespace.as_deref().unwrap_or("?"))
                });
                let ports = (!l.ports.is_empty()).then(|| format!("ports: {}", l.ports.join(",")));
                vec![
                    l.index.to_string(),
                    l.name.clone(),
                    l.kind.to_string(),
                    link_state(l),
                    l.mtu.to_string(),
                    l.mac.clone().unwrap_or_default(),
                    l.master.clone().unwrap_or_default(),
                    peer.or(ports).unwrap_or_default(),
                ]
            })
            .collect(),
        Tab::Addresses => page(ns.addresses.iter(), &range)
            .map(|a| vec![a.ifname.clone(), a.cidr(), a.scope.to_string()])
            .collect(),
        Tab::Routes => page(ns.shown_routes(), &range)
            .map(|r| {
                vec![
                    r.table_name.clone(),
                    if r.kind == RouteKind::Unicast {
                        r.dst.to_string()
                    } else {
                        format!("{} {}", r.kind, r.dst)
                    },
                    r.gateway.map(|g| g.to_string()).unwrap_or_default(),
                    r.dev.clone().unwrap_or_default(),
                    r.protocol.to_string(),
                    r.scope.to_string(),
                    r.prefsrc.map(|s| s.to_string()).unwrap_or_default(),
                ]
            })
            .collect(),
        Tab::Neighbors => page(ns.neighbors.iter(), &range)
            .map(|n| {
                vec![
                    n.address.to_string(),
                    n.dev.clone(),
                    n.lladdr.clone().unwrap_or_default(),
                    n.state.to_string(),
                ]
            })
            .collect(),
        Tab::Firewall => page(fw_rows(ns), &range).map(|r| fw_cells(&r)).collect(),
        Tab::Dns => page(dns_lines(ns).into_iter(), &range)
            .map(|(cells, _)| Vec::from(cells))
            .collect(),
        Tab::Sockets => page(ns.sockets.iter(), &range)
            .map(|s| {
                let who: Vec<String> = s
                    .processes
                    .iter()
                    .map(|p| format!("{}({})", p.comm, p.pid))
                    .collect();
                vec![
                    s.proto.clone(),
                    s.address.to_string(),
                    s.port.to_string(),
                    who.join(", "),
                ]
            })
            .collect(),
        Tab::Topology | Tab::Problems | Tab::Capture => Vec::new(),
        Tab::Ports => page(ports_rows(ns).into_iter(), &range).collect(),
    }
}

/// The Kubernetes ports check of `ns` (pure: from the snapshot of that namespace alone; the
/// CLI's `--peer` connects are I/O and stay there). A few rows: made when drawn.
fn ports_rows(ns: &Namespace) -> Vec<Vec<String>> {
    let snap = crate::model::Snapshot {
        schema_version: crate::model::SCHEMA_VERSION,
        taken_at: 0,
        hostname: String::new(),
        namespaces: Vec::new(),
        warnings: Vec::new(),
        cni: None,
    };
    let report = crate::k8s::check_namespace(&snap, ns, &Default::default());
    let mut rows = Vec::new();
    let role = format!(
        "{} ({})",
        report.role.as_str(),
        if report.role_detected {
            report.role_reason.as_str()
        } else {
            "given"
        }
    );
    // The verdict on the namespace first, in the one wide column.
    let head = match &report.kubernetes {
        Some(why) => format!("a Kubernetes node, {role}: {why}"),
        None => "not a Kubernetes node: no kubelet, kube-apiserver, etcd, kube-proxy or KUBE-* \
                 chains here"
            .to_string(),
    };
    let mut first = vec![String::new(); 6];
    first.push(head);
    rows.push(first);
    rows.extend(report.ports.iter().map(|p| {
        vec![
            p.port_text(),
            p.protocol.clone(),
            format!(
                "{}{}",
                p.component,
                if p.required { "" } else { " (optional)" }
            ),
            match (&p.process, p.listening) {
                (Some(pr), _) => format!("{} ({})", pr.name, pr.pid),
                (None, true) => "yes".into(),
                (None, false) => "no".into(),
            },
            p.address.map(|a| a.to_string()).unwrap_or_default(),
            p.input.verdict.clone(),
            p.problems.join("; "),
        ]
    }));
    rows
}

/// The diff identity of each row in `range`, for the kinds whose rows are single objects.
pub fn row_keys(ns: &Namespace, tab: Tab, range: std::ops::Range<usize>) -> Vec<RowKey> {
    match tab {
        Tab::Links => page(ns.links.iter(), &range)
            .map(|l| Some((ObjectKind::Link, diff::link_key(l))))
            .collect(),
        Tab::Addresses => page(ns.addresses.iter(), &range)
            .map(|a| Some((ObjectKind::Address, diff::address_key(a))))
            .collect(),
        Tab::Routes => page(ns.shown_routes(), &range)
            .map(|r| Some((ObjectKind::Route, diff::route_key(r))))
            .collect(),
        Tab::Neighbors => page(ns.neighbors.iter(), &range)
            .map(|n| Some((ObjectKind::Neighbor, diff::neighbor_key(n))))
            .collect(),
        Tab::Firewall => page(fw_rows(ns), &range).map(|r| fw_key(&r)).collect(),
        Tab::Dns => page(dns_lines(ns).into_iter(), &range)
            .map(|(_, key)| key)
            .collect(),
        Tab::Sockets => page(ns.sockets.iter(), &range)
            .map(|s| Some((ObjectKind::Socket, diff::socket_key(s))))
            .collect(),
        Tab::Topology | Tab::Problems | Tab::Capture | Tab::Ports => vec![None; range.len()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_fit_six_columns() {
        assert_eq!(count(0), "0");
        assert_eq!(count(9_999), "9999");
        assert_eq!(count(10_000), "10K");
        assert_eq!(count(56_789), "57K");
        assert_eq!(count(12_345_678), "12M");
        assert_eq!(count(u64::MAX), "18446744074G");
        for n in [0, 9_999, 9_999_999, 9_999_999_999, 999_999_999_999] {
            assert!(count(n).len() <= 6, "{n} → {}", count(n));
        }
    }
}
