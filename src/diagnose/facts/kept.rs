//! Compiled firewalls kept from one run of the doctor to the next, for the live view's
//! [`crate::diagnose::Incremental`]: a namespace the next update does not touch has the same
//! firewall, so its compiled tables and the decisions its memo remembered (the walks of a
//! thousand pods' flows through kube-proxy's chains) still hold, and are not redone. A touched
//! namespace's are dropped and compiled afresh on first use.

use std::rc::Rc;

use super::Facts;
use crate::firewall::eval::Compiled;
use crate::model::fast_hash::FxHashMap;

/// A kept firewall is compiled afresh after this many updates: its memo only grows (pods come
/// and go, each leaving its decisions behind), and a fresh one bounds that.
const MAX_REUSES: u32 = 64;

/// Compiled firewalls by namespace name, each with how many updates reused it.
#[derive(Default)]
pub struct KeptFirewalls(FxHashMap<String, (Compiled, u32)>);

impl<'a> Facts<'a> {
    /// These facts, starting from `kept`'s compiled firewalls for the namespaces of this
    /// snapshot that `touched` says are unchanged since `kept` was made (their firewalls
    /// are the ones compiled). `kept` is left with none.
    pub fn reusing(mut self, kept: &mut KeptFirewalls, touched: impl Fn(&str) -> bool) -> Self {
        let mut was = std::mem::take(&mut kept.0);
        for (i, ns) in self.snap.namespaces.iter().enumerate() {
            if ns.firewall.is_none() || touched(&ns.name) {
                continue;
            }
            // The first namespace of a name is the one `compiled` answers for.
            if self.ns_idx(&ns.name) != Some(i) {
                continue;
            }
            if let Some((c, uses)) = was.remove(&ns.name) {
                if uses < MAX_REUSES {
                    let _ = self.compiled[i].set(Some(Rc::new(c)));
                    self.reuses.insert(i, uses + 1);
                }
            }
        }
        self
    }

    /// The firewalls these facts compiled or were given, for the next run's
    /// [`Facts::reusing`]; one still shared elsewhere (a fix's copy alive) is not kept.
    pub fn into_kept(self) -> KeptFirewalls {
        let mut out = FxHashMap::default();
        for (i, cell) in self.compiled.into_iter().enumerate() {
            let Some(Some(rc)) = cell.into_inner() else {
                continue;
            };
            if let Ok(c) = Rc::try_unwrap(rc) {
                let name = self.snap.namespaces[i].name.clone();
                out.insert(name, (c, self.reuses.get(&i).copied().unwrap_or(0)));
            }
        }
        KeptFirewalls(out)
    }
}

impl KeptFirewalls {
    /// How many updates have reused `ns`'s kept firewall; `None` when none is kept.
    #[cfg(test)]
    pub fn reuses(&self, ns: &str) -> Option<u32> {
        self.0.get(ns).map(|(_, n)| *n)
    }
}
