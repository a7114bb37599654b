//! Keeping a [`Discovery`] up to date by the name of one entry of a named-namespace directory,
//! as inotify reports it: one stat instead of a whole [`super::discover`] (which lists every
//! directory, stats every entry and walks `/proc`). The cases where one name's change moves
//! others — a namespace also mounted elsewhere or held by processes, a name made unique by
//! its inode — are not decided here: the caller scans whole for those.

use std::ffi::OsStr;
use std::path::Path;

use super::named::{found_named, mounted_inode};
use super::Discovery;
use crate::model::NamespaceKind;
use crate::text::natural_cmp;

/// What looking at one name changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct NameUpdate {
    /// The namespace the name held until now, dropped.
    pub removed: Option<u64>,
    /// The namespace mounted on the name now, added.
    pub added: Option<u64>,
    /// The name is a plain file, not a mount: `ip netns add` creates it before it mounts the
    /// namespace on it (and a mount makes no inotify event), so look again a little later.
    pub not_yet: bool,
}

impl Discovery {
    /// Brings the named namespace at `dir/file` up to date with what is mounted there now,
    /// as a whole discovery would list it. `held` says whether processes hold a namespace (by
    /// inode; such a namespace is listed with them). `None`: this cannot be decided by the
    /// name alone, and nothing is to be trusted until a whole discovery.
    pub fn update_name(
        &mut self,
        (dir, prefix): (&Path, &str),
        file: &OsStr,
        held: impl Fn(u64) -> bool,
    ) -> Option<NameUpdate> {
        // Discovery names a namespace by the file's name, lossily; an exotic name is rare
        // enough to leave to it.
        let file_name = file.to_str()?;
        let path = dir.join(file);
        let text = path.display().to_string();
        let now = mounted_inode(&path);
        let mut out = NameUpdate {
            not_yet: now.is_none() && path.symlink_metadata().is_ok(),
            ..NameUpdate::default()
        };
        let named_here = |n: &super::FoundNs| n.named_paths.contains(&text);
        let was = self.namespaces.iter().position(named_here);
        if was.map(|i| self.namespaces[i].inode) == now {
            return Some(out);
        }
        let base = format!("{prefix}{file_name}");
        // A name another namespace's name was made unique against (`x@INODE`, see
        // `named::add_named`): which of them keeps the plain name is the scan's to say.
        let twin = format!("{base}@");
        let has_twin = |d: &Discovery| d.namespaces.iter().any(|n| n.name.starts_with(&twin));
        if let Some(i) = was {
            let ns = &self.namespaces[i];
            // Only a namespace this name alone stood for goes with it: one also mounted
            // elsewhere or held by processes stays, under another name.
            let alone = ns.kind == NamespaceKind::Named
                && ns.named_paths.len() == 1
                && ns.processes.is_empty()
                && !held(ns.inode)
                && ns.name == base;
            if !alone || has_twin(self) {
                return None;
            }
            out.removed = Some(ns.inode);
            self.namespaces.remove(i);
        }
        if let Some(inode) = now {
            let clash = base == "host"
                || base.starts_with("pid:")
                || held(inode)
                || has_twin(self)
                || self
                    .namespaces
                    .iter()
                    .any(|n| n.inode == inode || n.name == base);
            if clash {
                return None;
            }
            // The host's first, then the named ones in natural order of name, then those of
            // processes (`super::discover`).
            let start = self
                .namespaces
                .iter()
                .take_while(|n| n.kind == NamespaceKind::Host)
                .count();
            let named = self.namespaces[start..]
                .iter()
                .take_while(|n| n.kind == NamespaceKind::Named)
                .count();
            let slice = &self.namespaces[start..start + named];
            let at = start + slice.partition_point(|n| natural_cmp(&n.name, &base).is_lt());
            let ns = found_named(prefix, file_name, path, inode);
            self.namespaces.insert(at, ns);
            out.added = Some(inode);
        }
        Some(out)
    }
}
