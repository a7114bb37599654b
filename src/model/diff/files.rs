//! DNS files compared line by line: the lines removed and added, a few of each.

use std::collections::BTreeMap;

use super::*;
use crate::model::dns_files::{DnsFiles, FileRead};

/// Most lines of a changed file shown on each side; a rewritten `hosts` file should not flood
/// the report.
const MAX_EXCERPT_LINES: usize = 20;

pub(super) fn diff_dns(ns: &str, old: &DnsFiles, new: &DnsFiles, out: &mut Vec<Change>) {
    diff_file(ns, "resolv.conf", &old.resolv_conf, &new.resolv_conf, out);
    diff_file(ns, "nsswitch.conf", &old.nsswitch, &new.nsswitch, out);
    diff_file(ns, "hosts", &old.hosts, &new.hosts, out);
}

fn diff_file<T>(ns: &str, name: &str, old: &FileRead<T>, new: &FileRead<T>, out: &mut Vec<Change>) {
    let key = name.to_string();
    match (&old.raw, &new.raw) {
        (None, None) => {}
        (None, Some(_)) => out.push(added(ns, ObjectKind::DnsFile, key, new.path.clone())),
        (Some(_), None) => out.push(removed(ns, ObjectKind::DnsFile, key, old.path.clone())),
        (Some(a), Some(b)) => {
            let mut details = Vec::new();
            // A different path with the same text (an /etc/netns override appearing with a
            // copy of the host's file) still changes where the namespace reads it from.
            if old.path != new.path {
                details.push(FieldChange {
                    field: "path".into(),
                    before: old.path.clone(),
                    after: new.path.clone(),
                });
            }
            if a != b {
                let (gone, came) = changed_lines(a, b);
                details.push(FieldChange {
                    field: "raw".into(),
                    before: excerpt(&gone),
                    after: excerpt(&came),
                });
            }
            if !details.is_empty() {
                out.push(changed(ns, ObjectKind::DnsFile, key, details));
            }
        }
    }
}

fn excerpt(lines: &[&str]) -> String {
    let mut shown: Vec<String> = lines
        .iter()
        .take(MAX_EXCERPT_LINES)
        .map(|l| l.to_string())
        .collect();
    if lines.len() > MAX_EXCERPT_LINES {
        shown.push(format!("… {} more lines", lines.len() - MAX_EXCERPT_LINES));
    }
    shown.join("\n")
}

/// Lines of `a` not kept in `b`, and lines of `b` that are new, by longest common subsequence,
/// so that reordered nameservers (order matters to the resolver) show up as changed lines.
pub(super) fn changed_lines<'a>(a: &'a str, b: &'a str) -> (Vec<&'a str>, Vec<&'a str>) {
    let a: Vec<&str> = a.lines().collect();
    let b: Vec<&str> = b.lines().collect();
    // The LCS table is quadratic; for huge files (a hosts file with thousands of entries) fall
    // back to comparing the lines as multisets, which only misses pure reorderings.
    if a.len().saturating_mul(b.len()) > 4_000_000 {
        let mut count: BTreeMap<&str, isize> = BTreeMap::new();
        for l in &a {
            *count.entry(l).or_default() += 1;
        }
        for l in &b {
            *count.entry(l).or_default() -= 1;
        }
        let mut left = count.clone();
        let gone = a
            .iter()
            .copied()
            .filter(|l| {
                let c = left.get_mut(l).expect("counted");
                (*c > 0).then(|| *c -= 1).is_some()
            })
            .collect();
        let mut right = count;
        let came = b
            .iter()
            .copied()
            .filter(|l| {
                let c = right.get_mut(l).expect("counted");
                (*c < 0).then(|| *c += 1).is_some()
            })
            .collect();
        return (gone, came);
    }
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let (mut gone, mut came) = (Vec::new(), Vec::new());
    while i < n && j < m {
        if a[i] == b[j] {
            i += 1;
            j += 1;
        } else if lcs[i + 1][j] >= lcs[i][j + 1] {
            gone.push(a[i]);
            i += 1;
        } else {
            came.push(b[j]);
            j += 1;
        }
    }
    gone.extend_from_slice(&a[i..]);
    came.extend_from_slice(&b[j..]);
    (gone, came)
}
