//! What a namespace that appeared in the live model needs from outside it once read: the
//! owners of its listening sockets (a scan of /proc) and its DNS files. Only the new
//! namespaces are looked at; the others keep theirs until the next full read.

use std::collections::HashSet;
use std::path::PathBuf;

use super::sockets;
use crate::dnsconf::{read_all, READ_LIMIT as DNS_READ_LIMIT};
use crate::model::{Namespace, NsStatus};
use crate::netns::discover::Discovery;

/// Fills socket owners and DNS files of the namespaces at `new` (indexes shared by
/// `namespaces` and `discovery`).
pub fn fill(namespaces: &mut [Namespace], discovery: &Discovery, new: &[usize]) {
    let wanted: HashSet<u64> = new
        .iter()
        .flat_map(|&i| namespaces[i].sockets.iter().map(|s| s.inode))
        .filter(|i| *i != 0)
        .collect();
    // The /proc scan costs the node's processes: only when a new namespace listens.
    if !wanted.is_empty() {
        let owners = sockets::socket_owners(&wanted);
        for &i in new {
            for s in &mut namespaces[i].sockets {
                if let Some(p) = owners.get(&s.inode) {
                    s.processes = p.clone();
                }
            }
        }
    }
    let mut keys: Vec<(usize, (PathBuf, Option<PathBuf>))> = Vec::new();
    for &i in new {
        let (Some(ns), Some(found)) = (namespaces.get(i), discovery.namespaces.get(i)) else {
            continue;
        };
        if matches!(ns.status, NsStatus::Gone) {
            continue;
        }
        let over = found.etc_override.as_deref().filter(|d| d.is_dir());
        keys.push((i, (found.root.clone(), over.map(|d| d.to_path_buf()))));
    }
    let mut distinct: Vec<(PathBuf, Option<PathBuf>)> = Vec::new();
    for (_, key) in &keys {
        if !distinct.contains(key) {
            distinct.push(key.clone());
        }
    }
    let read = read_all(&distinct, DNS_READ_LIMIT);
    for (i, key) in keys {
        if let Some(at) = distinct.iter().position(|k| *k == key) {
            namespaces[i].dns = read.get(at).cloned();
        }
    }
}
