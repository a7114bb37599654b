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
    // `/var/run` is usually a symlink to `/run`: read each real directory once, or every
    // namespace would be listed under two paths.
    let mut seen_dirs: Vec<PathBuf> = Vec::new();
    for (dir, prefix) in named_dirs() {
        let Ok(real) = fs::canonicalize(&dir) else {
            continue;
        };
        if seen_dirs.contains(&real) {
            continue;
        }
        seen_dirs.push(real);
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        files.sort();
        for path in files {
            let Some(inode) = ns_inode(&path) else {
                continue;
            };
            // A file that is not a mount (a leftover of a failed `ip netns add`) is a plain
            // file on the parent file system: skip it.
            if !is_mounted_over(&path) {
                continue;
            }
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
            named.push(FoundNs {
                name: format!("{prefix}{file_name}"),
                kind: NamespaceKind::Named,
                inode,
                etc_override: (prefix.is_empty()).then(|| Path::new("/etc/netns").join(&file_name)),
                paths: vec![path],
                named_paths: vec![path_text],
                processes: Vec::new(),
                workload: None,
                root: PathBuf::from("/"),
            });
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

fn ns_inode(path: &Path) -> Option<u64> {
    fs::metadata(path).ok().map(|m| m.ino())
}

/// A bind-mounted namespace file lives on nsfs, whose device differs from the directory's.
fn is_mounted_over(path: &Path) -> bool {
    let (Ok(meta), Some(parent)) = (fs::metadata(path), path.parent()) else {
        return false;
    };
    fs::metadata(parent)
        .map(|p| p.dev() != meta.dev())
        .unwrap_or(false)
}
