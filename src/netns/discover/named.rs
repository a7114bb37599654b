//! Namespaces bind-mounted by name: `ip netns`, CNI runtimes, Docker.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::FoundNs;
use crate::model::NamespaceKind;

/// Directories where namespaces are bind-mounted by name.
pub fn named_dirs() -> Vec<(PathBuf, &'static str)> {
    let mut dirs = Vec::new();
    if let Some(dir) = crate::env::current().netns_dir.clone() {
        dirs.push((dir, ""));
    }
    dirs.push((PathBuf::from("/run/netns"), ""));
    dirs.push((PathBuf::from("/var/run/netns"), ""));
    dirs.push((PathBuf::from("/var/run/docker/netns"), "docker:"));
    dirs
}

/// The named-namespace directories that exist, each real directory once under the first
/// name it has in [`named_dirs`]: `/var/run` is usually a symlink to `/run`, and every
/// namespace would otherwise be listed under two paths. A namespace's path is its directory's
/// here joined with its file name (the live watcher builds the same from inotify's names).
pub fn distinct_named_dirs() -> Vec<(PathBuf, &'static str)> {
    let mut seen_dirs: Vec<PathBuf> = Vec::new();
    let mut out = Vec::new();
    for (dir, prefix) in named_dirs() {
        let Ok(real) = fs::canonicalize(&dir) else {
            continue;
        };
        if seen_dirs.contains(&real) {
            continue;
        }
        seen_dirs.push(real);
        out.push((dir, prefix));
    }
    out
}

/// Appends the named namespaces, in natural order of name, to `known` (which holds the
/// host's); a mount of a namespace already known adds its path to that one.
pub(super) fn add_named(known: &mut Vec<FoundNs>) {
    // inode -> index into `known`, then into `named` past its end
    let mut by_inode: BTreeMap<u64, usize> = known
        .iter()
        .enumerate()
        .map(|(i, ns)| (ns.inode, i))
        .collect();
    let mut named: Vec<FoundNs> = Vec::new();
    for (dir, prefix) in distinct_named_dirs() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        files.sort();
        for path in files {
            let Some(inode) = mounted_inode(&path) else {
                continue;
            };
            let file_name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let path_text = path.display().to_string();
            if let Some(&idx) = by_inode.get(&inode) {
                let ns = if idx < known.len() {
                    &mut known[idx]
                } else {
                    &mut named[idx - known.len()]
                };
                if !ns.named_paths.contains(&path_text) {
                    ns.named_paths.push(path_text);
                    ns.paths.push(path);
                }
                continue;
            }
            by_inode.insert(inode, known.len() + named.len());
            named.push(found_named(prefix, &file_name, path, inode));
        }
    }
    // Natural order (`svc-2` before `svc-10`): the snapshot, and so its JSON, lists them so.
    named.sort_by(|a, b| crate::text::natural_cmp(&a.name, &b.name));
    // Names are identities in the snapshot (peers, `--ns`): a mount called `host` or `pid:7`,
    // or the same name in two directories, gets its inode appended.
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    for ns in &mut named {
        if ns.name == "host" || ns.name.starts_with("pid:") || !seen.insert(ns.name.clone()) {
            ns.name = format!("{}@{}", ns.name, ns.inode);
        }
    }
    known.extend(named);
}

/// A named namespace as discovery records it: `prefix` is its directory's (`docker:`), and
/// only `ip netns`'s own directories (no prefix) have `/etc/netns/NAME` overrides.
pub(super) fn found_named(prefix: &str, file_name: &str, path: PathBuf, inode: u64) -> FoundNs {
    FoundNs {
        name: format!("{prefix}{file_name}"),
        kind: NamespaceKind::Named,
        inode,
        etc_override: (prefix.is_empty()).then(|| Path::new("/etc/netns").join(file_name)),
        named_paths: vec![path.display().to_string()],
        paths: vec![path],
        processes: Vec::new(),
        workload: None,
        root: PathBuf::from("/"),
    }
}

/// The inode of the namespace mounted on `path`, or `None` when there is none: missing, or a
/// file that is not a mount (a leftover of a failed `ip netns add`, or one that `ip netns
/// add` has created and not mounted on yet) — a plain file on the parent's file system.
pub(super) fn mounted_inode(path: &Path) -> Option<u64> {
    let meta = fs::metadata(path).ok()?;
    // A bind-mounted namespace file lives on nsfs, whose device differs from the directory's.
    let parent = fs::metadata(path.parent()?).ok()?;
    (parent.dev() != meta.dev()).then(|| meta.ino())
}
