//! Finding the one namespace a user named on the command line (`--ns`: name, path, pid,
//! container id prefix or inode) by a discovery scan, and opening it. Plan steps, which use
//! the exact names a snapshot gives, resolve them directly with [`super::resolve`] instead.

use std::fs::File;

use super::discover::{discover, FoundNs};
use crate::model::NsStatus;

#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("no namespace {wanted:?} (have: {})", some(known))]
    Unknown { wanted: String, known: Vec<String> },
    #[error("{wanted:?} names more than one namespace: {}", matched.join(", "))]
    Ambiguous {
        wanted: String,
        matched: Vec<String>,
    },
    #[error("namespace {name} is gone")]
    Gone { name: String },
    #[error("cannot open namespace {name}: {why}")]
    Inaccessible { name: String, why: String },
}

/// The namespace `sel` names (as `--ns` takes it: name, path, pid, container id prefix,
/// inode), opened so it cannot be swapped for another before it is entered.
pub fn find(sel: &str) -> Result<(FoundNs, File), LookupError> {
    let d = discover();
    let hits: Vec<&FoundNs> = d.namespaces.iter().filter(|f| f.matches(sel)).collect();
    // An exact name wins over, say, a pid that happens to be spelled the same.
    let found = match hits.as_slice() {
        [] => {
            return Err(LookupError::Unknown {
                wanted: sel.into(),
                known: d.names(),
            })
        }
        [one] => *one,
        many => match many.iter().find(|f| f.name == sel) {
            Some(f) => *f,
            None => {
                return Err(LookupError::Ambiguous {
                    wanted: sel.into(),
                    matched: many.iter().map(|f| f.name.clone()).collect(),
                })
            }
        },
    };
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

/// The first names of a long list: a 1000-namespace node must not print 1000 names.
fn some(names: &[String]) -> String {
    const SHOWN: usize = 12;
    let mut s = names
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        s.push_str(&format!(", … {} more", names.len() - SHOWN));
    }
    s
}
