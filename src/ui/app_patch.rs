//! A live snapshot that arrives as a patch (`Msg::Patched`, a `collect::Patch`): only the
//! namespaces that changed are replaced, and the marks of what changed are worked out for
//! those only — at 1000 namespaces two whole-snapshot diffs per event cost the UI thread
//! more than everything else a change costs. What the patch left out of a namespace
//! (firewall, sockets, DNS files, which no partial read reads) is moved over from the copy
//! held, and not compared for the flash.

use std::collections::{HashMap, HashSet};

use super::app::App;
use super::components::topology;
use super::debug_timing::Laps;
use super::marks_delta;
use super::marks_trim::with;
use super::strings;
use crate::collect::{NsDelta, Patch};
use crate::diagnose::Finding;
use crate::model::Namespace;

impl App {
    /// Applies a patch: its namespaces changed, its `present` every inode.
    pub(super) fn on_patch(&mut self, patch: Patch) {
        let mut laps = super::debug_timing::Laps::start("ui patch:");
        let keep = self.selected_namespace().map(|n| n.name.clone());
        let Some(cur) = self.snapshot.as_mut() else {
            // Nothing to patch (cannot happen: the first read is whole).
            return;
        };
        let Patch {
            snapshot: mut new,
            present,
            whole,
            deltas,
        } = patch;
        let mut deltas: HashMap<u64, NsDelta> = deltas.into_iter().map(|d| (d.inode, d)).collect();
        // Namespaces patched in place, for the flash (the part each delta touched) and for
        // the baseline's marks when they are shown (whole).
        let mut parts = (Vec::new(), Vec::new());
        let mut in_place = Vec::new();
        let present: HashSet<u64> = present.into_iter().collect();
        let changed: HashSet<u64> = new.namespaces.iter().map(|n| n.inode).collect();
        let mut old = Vec::new();
        let mut now = Vec::with_capacity(cur.namespaces.len());
        // What the patch left out, taken from the replaced namespaces (by inode).
        let mut left_out: HashMap<u64, Namespace> = HashMap::new();
        // Where each replaced namespace was: its new version takes its place, so that the
        // list stays sorted unless a namespace came or was renamed (sorting a thousand
        // names per patch was a tenth of the UI's time on a flapping host veth).
        let mut slot: HashMap<u64, usize> = HashMap::new();
        for mut ns in std::mem::take(&mut cur.namespaces) {
            if changed.contains(&ns.inode) {
                let mut holder = Namespace::new(String::new(), ns.kind, ns.inode);
                Patch::fill(&whole, &mut holder, &mut ns);
                left_out.insert(ns.inode, holder);
                slot.insert(ns.inode, now.len());
                now.push(Namespace::new(String::new(), ns.kind, ns.inode));
                old.push(ns);
            } else if !present.contains(&ns.inode) {
                old.push(ns);
            } else {
                if let Some(d) = deltas.remove(&ns.inode) {
                    let (before, after) = marks_delta::apply(&mut ns, &d);
                    parts.0.push(before);
                    parts.1.push(after);
                    if self.marks.baseline_live() {
                        in_place.push(ns.clone());
                    }
                }
                now.push(ns);
            }
        }
        laps.lap("split");
        // The flash first, while the patch is whole and both sides lack the same parts:
        // then its namespaces are moved in, not copied (a copy of the host's thousands of
        // objects per patch).
        let old = with(&new, old);
        self.marks.flash_patch(&old, &new, parts, &mut laps);
        for ns in &mut new.namespaces {
            if let Some(holder) = left_out.get_mut(&ns.inode) {
                Patch::fill(&whole, ns, holder);
            }
        }
        if in_place.is_empty() {
            self.marks.baseline_patch(&old, &new, &mut laps);
        } else {
            let mut both = with(&new, in_place);
            both.namespaces.extend(new.namespaces.iter().cloned());
            self.marks.baseline_patch(&old, &both, &mut laps);
        }
        let Some(cur) = self.snapshot.as_mut() else {
            return;
        };
        for ns in new.namespaces {
            match slot.remove(&ns.inode) {
                Some(at) => now[at] = ns,
                None => now.push(ns),
            }
        }
        cur.namespaces = now;
        cur.taken_at = new.taken_at;
        cur.hostname = new.hostname;
        cur.warnings = new.warnings;
        cur.cni = new.cni;
        super::selection::sort_namespaces(cur);
        laps.lap("splice");
        self.after_snapshot(keep, &mut laps);
        laps.end();
    }

    /// Findings that come after the snapshot they were made on (see `jobs::collector`).
    pub(super) fn on_findings(&mut self, findings: Vec<Finding>) {
        self.findings = findings;
        self.topology.lines = None;
        topology::ensure(self);
        self.row_selected = self.row_selected.min(self.row_count().saturating_sub(1));
    }

    /// What every new snapshot is followed by: search hits found again, the topology laid
    /// out again if shown, the selection kept on the same namespace.
    pub(super) fn after_snapshot(&mut self, keep: Option<String>, laps: &mut Laps) {
        // The hits are indexes into the snapshot: found again in the new one.
        self.search.refresh(&self.filter, self.snapshot.as_ref());
        laps.lap("search");
        self.topology.lines = None;
        topology::ensure(self);
        laps.lap("topology");
        if let Some(name) = keep {
            if let Some(i) = self
                .visible_namespaces()
                .iter()
                .position(|n| n.name == name)
            {
                self.ns_selected = i;
            }
        }
        let n = self.visible_namespaces().len();
        self.ns_selected = self.ns_selected.min(n.saturating_sub(1));
        self.row_selected = self.row_selected.min(self.row_count().saturating_sub(1));
        // "reading…" is answered by the snapshot itself; a result (a plan applied, a file
        // saved) stays until something else is said.
        if self.status == strings::REREADING {
            self.status.clear();
        }
        laps.lap("selection");
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use crate::collect::Patch;
    use crate::model::diff::Change;
    use crate::model::Namespace;
    use crate::ui::test_support::{asset, live};
    use crate::ui::Msg;

    fn sorted(mut c: Vec<Change>) -> Vec<String> {
        let mut out: Vec<String> = c.drain(..).map(|c| format!("{c:?}")).collect();
        out.sort();
        out
    }

    /// Two updates (a namespace changed and one gone; then one back): the app patched holds
    /// what the app given whole snapshots holds, with the same marks.
    #[test]
    fn a_patch_gives_what_a_whole_snapshot_gives() {
        let base = asset("demo-cluster.json");
        assert!(base.namespaces.len() > 3);
        let mut whole = live(base.clone());
        let mut patched = live(base.clone());
        // Marks shown: the patch works out the changes since the baseline as it goes.
        whole.marks.show = true;
        patched.marks.show = true;
        // Marks hidden: left for `c`, which works them out whole.
        let mut hidden = live(base.clone());
        let mut next = base.clone();
        next.namespaces[1].routes.clear();
        next.namespaces[1].addresses.pop();
        let gone = next.namespaces.remove(2);
        let steps = [next.clone(), base.clone()];
        let mut prev = base.clone();
        for snap in steps {
            let changed: Vec<_> = snap
                .namespaces
                .iter()
                .filter(|n| !prev.namespaces.contains(n))
                .cloned()
                .collect();
            // A namespace held before comes as a partial read sends it: without its
            // firewall, sockets and DNS files, which the app keeps; a new one whole.
            let held = |n: &Namespace| prev.namespaces.iter().any(|p| p.inode == n.inode);
            let whole_ones: BTreeSet<u64> = changed
                .iter()
                .filter(|n| !held(n))
                .map(|n| n.inode)
                .collect();
            let stripped = changed
                .into_iter()
                .map(|mut n| {
                    if held(&n) {
                        (n.firewall, n.dns) = (None, None);
                        n.sockets.clear();
                    }
                    n
                })
                .collect();
            let patch = Patch {
                snapshot: crate::model::Snapshot {
                    namespaces: stripped,
                    ..snap.clone()
                },
                present: snap.namespaces.iter().map(|n| n.inode).collect(),
                whole: whole_ones,
                deltas: Vec::new(),
            };
            whole.handle(Msg::Collected(Box::new(snap.clone()), vec![]));
            hidden.handle(Msg::Patched(Box::new(patch.clone())));
            patched.handle(Msg::Patched(Box::new(patch)));
            assert_eq!(whole.snapshot, patched.snapshot);
            assert!(!patched.marks.flash.is_empty());
            assert_eq!(
                sorted(whole.marks.flash.clone()),
                sorted(patched.marks.flash.clone())
            );
            assert_eq!(
                sorted(whole.marks.since_baseline.clone()),
                sorted(patched.marks.since_baseline.clone())
            );
            if !hidden.marks.show {
                assert!(hidden.marks.stale);
                hidden.marks.toggle(hidden.snapshot.as_ref());
                assert!(!hidden.marks.stale && !hidden.marks.since_baseline.is_empty());
            }
            assert_eq!(
                sorted(whole.marks.since_baseline.clone()),
                sorted(hidden.marks.since_baseline.clone())
            );
            prev = snap;
        }

        assert!(patched.snapshot.unwrap().namespace(&gone.name).is_some());
    }
}
