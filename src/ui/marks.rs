//! What changed: since the baseline (marked with `*` while `c` is on) and in the last live
//! update (highlighted for a moment). Neighbour-cache entries (ARP/NDP) appear, age and change
//! state all the time on a healthy node, so they are left out unless `C` asks for them: with
//! them, `--since` marked nearly every namespace.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use crate::model::diff::{diff, Change, ChangeKind, ObjectKind};
use crate::model::{Namespace, Snapshot};

use super::debug_timing::Laps;
use super::marks_trim::{trim_pairs, with};
use super::strings;

/// How long rows changed by the last update stay highlighted.
pub const FLASH: Duration = Duration::from_secs(2);

#[derive(Debug, Default)]
pub struct Marks {
    /// What `c` compares with: the first snapshot of this run, or `--since FILE`.
    pub baseline: Option<Snapshot>,
    /// `c` toggles marks on everything that changed since the baseline.
    pub show: bool,
    /// `C`: neighbour-cache changes count too.
    pub neighbors: bool,
    pub since_baseline: Vec<Change>,
    /// What the last live update changed, highlighted until `flash_until`.
    pub flash: Vec<Change>,
    pub flash_until: Option<Instant>,
    /// Patches came while the marks were hidden and `since_baseline` was not worked out
    /// again for them: it is, whole, when `c` shows them (a diff of the host against the
    /// baseline cost the UI thread ~90 ms per patch on a churning 1000-pod node).
    pub stale: bool,
}

impl Marks {
    pub fn recompute(&mut self, current: Option<&Snapshot>) {
        self.stale = false;
        self.since_baseline = match (&self.baseline, current) {
            (Some(b), Some(s)) => self.kept(diff(b, s).changes),
            _ => Vec::new(),
        };
    }

    /// The changes that mark: neighbour entries only when asked for.
    fn kept(&self, mut changes: Vec<Change>) -> Vec<Change> {
        if !self.neighbors {
            changes.retain(|c| c.object != ObjectKind::Neighbor);
        }
        changes
    }

    /// A new snapshot replaces `prev`: what it changed flashes for a moment; the first one
    /// is the baseline unless `--since` gave one.
    pub fn on_update(&mut self, prev: Option<&Snapshot>, new: &Snapshot) {
        match prev {
            Some(prev) => {
                self.flash = self.kept(diff(prev, new).changes);
                self.flash_until = (!self.flash.is_empty()).then(|| Instant::now() + FLASH);
            }
            None if self.baseline.is_none() => self.baseline = Some(new.clone()),
            None => {}
        }
    }

    /// A patch replaced the namespaces of `old` by those of `new` (the others did not
    /// change): what it changed flashes, and the changes since the baseline are worked out
    /// again for those namespaces only. Both diffs see only the objects that differ
    /// (`marks_trim`): what a patch costs here follows what changed, not the namespace's size.
    pub fn on_patch(&mut self, old: &Snapshot, new: &Snapshot, laps: &mut Laps) {
        self.flash_patch(old, new, (Vec::new(), Vec::new()), laps);
        self.baseline_patch(old, new, laps);
    }

    /// The flash of a patch (see [`Marks::on_patch`]). What is left out of both sides
    /// alike is not compared: the app leaves out of both what the patch did not carry.
    /// `parts`: the two sides of namespaces patched in place (`marks_delta.rs`), already
    /// trimmed.
    pub fn flash_patch(
        &mut self,
        old: &Snapshot,
        new: &Snapshot,
        parts: (Vec<Namespace>, Vec<Namespace>),
        laps: &mut Laps,
    ) {
        let (mut o, mut n) = trim_pairs(old.namespaces.iter(), new.namespaces.iter());
        o.extend(parts.0);
        n.extend(parts.1);
        let flash = diff(&with(old, o), &with(new, n)).changes;
        self.flash = self.kept(flash);
        self.flash_until = (!self.flash.is_empty()).then(|| Instant::now() + FLASH);
        laps.lap("flash");
    }

    /// Whether [`Marks::baseline_patch`] would work anything out (else it only notes the
    /// marks are stale).
    pub fn baseline_live(&self) -> bool {
        self.baseline.is_some() && self.show && !self.stale
    }

    /// The changes since the baseline after a patch (see [`Marks::on_patch`]): `new`
    /// whole, `old` only for the names and inodes it replaced.
    pub fn baseline_patch(&mut self, old: &Snapshot, new: &Snapshot, laps: &mut Laps) {
        let Some(base) = &self.baseline else { return };
        if !self.show || self.stale {
            self.stale = true;
            return;
        }
        let all = || old.namespaces.iter().chain(&new.namespaces);
        let names: HashSet<&str> = all().map(|n| n.name.as_str()).collect();
        let inodes: HashSet<u64> = all().map(|n| n.inode).collect();
        let then = base
            .namespaces
            .iter()
            .filter(|n| names.contains(n.name.as_str()) || inodes.contains(&n.inode));
        let gone: HashSet<String> = then
            .clone()
            .chain(&new.namespaces)
            .map(|n| n.name.clone())
            .collect();
        self.since_baseline.retain(|c| !gone.contains(&c.namespace));
        let (b, n) = trim_pairs(then, new.namespaces.iter());
        let changes = self.kept(diff(&with(base, b), &with(new, n)).changes);
        self.since_baseline.extend(changes);
        laps.lap("baseline");
    }

    /// Whether `key` of `object` in namespace `ns` changed since the baseline (with marks on)
    /// or in the last update (while it flashes).
    pub fn row(&self, ns: &str, object: ObjectKind, key: &str) -> (bool, bool) {
        let hit = |c: &Change| {
            c.namespace == ns && c.object == object && c.key == key && c.kind != ChangeKind::Removed
        };
        let marked = self.show && self.since_baseline.iter().any(hit);
        let flashing =
            self.flash_until.is_some_and(|t| Instant::now() < t) && self.flash.iter().any(hit);
        (marked, flashing)
    }

    /// Whether namespace `ns` has changes since the baseline (with marks on).
    pub fn ns_changed(&self, ns: &str) -> bool {
        self.show && self.since_baseline.iter().any(|c| c.namespace == ns)
    }

    /// `c`: marks on or off (worked out again first if patches came while they were
    /// hidden); the status line to show.
    pub fn toggle(&mut self, current: Option<&Snapshot>) -> String {
        self.show = !self.show;
        if !self.show {
            return String::new();
        }
        if self.stale {
            self.recompute(current);
        }
        let removed = self
            .since_baseline
            .iter()
            .filter(|c| c.kind == ChangeKind::Removed)
            .count();
        strings::changes_marked(self.since_baseline.len(), removed)
    }

    /// `C`: neighbour-cache changes marked too, or no longer; the status line to show.
    pub fn toggle_neighbors(&mut self, current: Option<&Snapshot>) -> String {
        self.neighbors = !self.neighbors;
        self.recompute(current);
        strings::neighbor_marks(self.neighbors, self.since_baseline.len())
    }

    /// How long until the flash ends (zero once it is over but not yet cleared).
    pub fn flash_due(&self, now: Instant) -> Option<Duration> {
        self.flash_until.map(|t| t.saturating_duration_since(now))
    }

    /// Clears the flash once it is over.
    pub fn expire(&mut self, now: Instant) {
        if self.flash_until.is_some_and(|t| now >= t) {
            self.flash_until = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Neighbor, NeighborState};
    use crate::ui::test_support::asset;

    fn ns<'a>(s: &'a mut Snapshot, name: &str) -> &'a mut crate::model::Namespace {
        s.namespaces
            .iter_mut()
            .find(|n| n.name == name)
            .expect("namespace")
    }

    #[test]
    fn neighbour_churn_marks_nothing_unless_asked() {
        let base = asset("demo-bridge.json");
        let mut now = base.clone();
        // ARP churn in red: an entry appears, another changes state.
        let red = ns(&mut now, "bridge-red");
        red.neighbors[0].state = NeighborState::Stale;
        red.neighbors.push(Neighbor {
            ifindex: 2,
            dev: "veth-red".into(),
            address: "192.168.15.9".parse().expect("ip"),
            lladdr: Some("02:00:00:00:00:09".into()),
            state: NeighborState::Reachable,
            router: false,
        });
        // A real change in blue.
        ns(&mut now, "bridge-blue").links[1].mtu = 1400;
        let mut m = Marks {
            baseline: Some(base),
            show: true,
            ..Marks::default()
        };
        m.recompute(Some(&now));
        assert!(m.ns_changed("bridge-blue"));
        assert!(!m.ns_changed("bridge-red"), "{:?}", m.since_baseline);
        let said = m.toggle_neighbors(Some(&now));
        assert!(said.contains("marked too"), "{said}");
        assert!(m.ns_changed("bridge-red"));
        // The flash of a live update leaves them out the same way.
        m.toggle_neighbors(Some(&now));
        m.on_update(m.baseline.clone().as_ref(), &now);
        assert!(m.flash.iter().all(|c| c.object != ObjectKind::Neighbor));
        assert!(!m.flash.is_empty());
    }
}
