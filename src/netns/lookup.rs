//! Finding the one namespace a user named on the command line (`--ns`, `--from`: name, path,
//! pid, container id prefix, inode, or the pod or container running in it) by a discovery
//! scan, and opening it. Plan steps, which use the exact names a snapshot gives, resolve them
//! directly with [`super::resolve`] instead.

use std::fs::File;

use super::discover::{discover, FoundNs};
use crate::model::NsStatus;

#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("no namespace {wanted:?}{}", suggest(wanted, known))]
    Unknown { wanted: String, known: Vec<String> },
    #[error("{wanted:?} names more than one namespace: {} (name one by its namespace name, pid or id)", matched.join(", "))]
    Ambiguous {
        wanted: String,
        matched: Vec<String>,
    },
    #[error("namespace {name} is gone")]
    Gone { name: String },
    #[error("cannot open namespace {name}: {why}")]
    Inaccessible { name: String, why: String },
}

/// The namespace `sel` names (as `--ns` takes it), opened so it cannot be swapped for another
/// before it is entered.
pub fn find(sel: &str) -> Result<(FoundNs, File), LookupError> {
    let d = discover();
    let found = pick(&d.namespaces, sel)?;
    match found.open() {
        Ok(file) => Ok((found.clone(), file)),
        Err(NsStatus::Inaccessible(why)) => Err(LookupError::Inaccessible {
            name: found.name.clone(),
            why,
        }),
        Err(_) => Err(LookupError::Gone {
            name: found.name.clone(),
        }),
    }
}

/// The one namespace of `all` that `sel` names. When several match, an exact namespace name
/// wins (over a pid spelled the same), then an exact workload name (`default/web` over a
/// container also called `web`); otherwise it is ambiguous and the candidates are listed.
pub fn pick<'a>(all: &'a [FoundNs], sel: &str) -> Result<&'a FoundNs, LookupError> {
    let hits: Vec<&FoundNs> = all.iter().filter(|f| f.matches(sel)).collect();
    match hits.as_slice() {
        [] => Err(LookupError::Unknown {
            wanted: sel.into(),
            known: labels(all),
        }),
        [one] => Ok(one),
        many => {
            let by_name = many.iter().find(|f| f.name == sel);
            let by_label: Vec<&&FoundNs> = many.iter().filter(|f| f.label() == sel).collect();
            match (by_name, by_label.as_slice()) {
                (Some(f), _) => Ok(f),
                (None, [f]) => Ok(f),
                _ => Err(LookupError::Ambiguous {
                    wanted: sel.into(),
                    matched: many.iter().map(|f| described(f)).collect(),
                }),
            }
        }
    }
}

/// Every name a user may type for the namespaces of `all`: each one's name, and its
/// workload's where it has one.
pub fn labels(all: &[FoundNs]) -> Vec<String> {
    let mut out = Vec::new();
    for f in all {
        out.push(f.name.clone());
        if f.workload.is_some() {
            out.push(f.label());
        }
    }
    out
}

/// `c3 (podman, netns-317be69c-…)`: enough to tell candidates apart.
fn described(f: &FoundNs) -> String {
    match &f.workload {
        Some(w) => format!("{} ({}, {})", w.display_name(), w.what(), f.name),
        None => f.name.clone(),
    }
}

/// How many names an unknown selector's message offers.
const SHOWN: usize = 5;

/// The tail of an "unknown namespace" message: the few known names closest to `wanted`
/// (a 500-namespace node must not print 500 names), or the first few when none is close.
pub fn suggest(wanted: &str, known: &[String]) -> String {
    let close = closest(wanted, known);
    let (what, list) = if close.is_empty() {
        (
            "have",
            known.iter().take(SHOWN).cloned().collect::<Vec<_>>(),
        )
    } else {
        ("closest", close)
    };
    if list.is_empty() {
        return String::new();
    }
    let mut s = format!(" ({what}: {}", list.join(", "));
    if known.len() > list.len() {
        s.push_str(&format!(
            "; … and {} more: `netlens snapshot` lists them",
            known.len() - list.len()
        ));
    }
    s.push(')');
    s
}

/// Up to [`SHOWN`] of `known`, nearest first: names containing `wanted` first, then by edit
/// distance, at most a third of `wanted`'s length off (at least 2).
pub fn closest(wanted: &str, known: &[String]) -> Vec<String> {
    let w = wanted.to_lowercase();
    let limit = (w.chars().count() / 3).max(2);
    let mut scored: Vec<(usize, &String)> = known
        .iter()
        .filter_map(|k| {
            let kl = k.to_lowercase();
            if kl.contains(&w) {
                return Some((0, k));
            }
            let d = distance(&w, &kl);
            (d <= limit).then_some((d, k))
        })
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored
        .into_iter()
        .take(SHOWN)
        .map(|(_, k)| k.clone())
        .collect()
}

/// Levenshtein distance, by characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
#[path = "lookup_tests.rs"]
mod tests;
