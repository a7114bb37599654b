//! What changed: since the baseline (marked with `*` while `c` is on) and in the last live
//! update (highlighted for a moment).

use std::time::{Duration, Instant};

use crate::model::diff::{diff, Change, ChangeKind, ObjectKind};
use crate::model::Snapshot;

use super::strings;

/// How long rows changed by the last update stay highlighted.
pub const FLASH: Duration = Duration::from_secs(2);

#[derive(Debug, Default)]
pub struct Marks {
    /// What `c` compares with: the first snapshot of this run, or `--since FILE`.
    pub baseline: Option<Snapshot>,
    /// `c` toggles marks on everything that changed since the baseline.
    pub show: bool,
    pub since_baseline: Vec<Change>,
    /// What the last live update changed, highlighted until `flash_until`.
    pub flash: Vec<Change>,
    pub flash_until: Option<Instant>,
}

impl Marks {
    pub fn recompute(&mut self, current: Option<&Snapshot>) {
        self.since_baseline = match (&self.baseline, current) {
            (Some(b), Some(s)) => diff(b, s).changes,
            _ => Vec::new(),
        };
    }

    /// A new snapshot replaces `prev`: what it changed flashes for a moment; the first one
    /// is the baseline unless `--since` gave one.
    pub fn on_update(&mut self, prev: Option<&Snapshot>, new: &Snapshot) {
        match prev {
            Some(prev) => {
                self.flash = diff(prev, new).changes;
                self.flash_until = (!self.flash.is_empty()).then(|| Instant::now() + FLASH);
            }
            None if self.baseline.is_none() => self.baseline = Some(new.clone()),
            None => {}
        }
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

    /// `c`: marks on or off; the status line to show.
    pub fn toggle(&mut self) -> String {
        self.show = !self.show;
        if !self.show {
            return String::new();
        }
        let removed = self
            .since_baseline
            .iter()
            .filter(|c| c.kind == ChangeKind::Removed)
            .count();
        strings::changes_marked(self.since_baseline.len(), removed)
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
