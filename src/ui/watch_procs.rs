//! Whether a `/proc` rescan can find anything new, decided cheaply: a full discovery reads
//! every process's comm and cgroup and the runtimes' state (tens of milliseconds on a node of
//! thousands of processes), while namespaces held by processes only come or go when a process
//! enters a namespace not seen yet or the last process of one exits. This lists `/proc` and
//! stats `ns/net` of new PIDs only.

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::os::unix::fs::MetadataExt;

/// The PIDs seen, with their namespace, and how many hold each namespace.
#[derive(Debug, Default)]
pub struct ProcWatch {
    pids: HashMap<u32, u64>,
    holders: HashMap<u64, usize>,
}

impl ProcWatch {
    /// Looks at `/proc` again; true when a process holds a namespace outside `known`, a
    /// namespace got its first process, or one lost its last (it may be gone: only a
    /// discovery can tell).
    pub fn changed(&mut self, known: &BTreeSet<u64>) -> bool {
        let Ok(dir) = fs::read_dir("/proc") else {
            return true;
        };
        let now: Vec<u32> = dir
            .flatten()
            .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse().ok()))
            .collect();
        let mut changed = false;
        let alive: std::collections::HashSet<u32> = now.iter().copied().collect();
        let gone: Vec<u32> = self
            .pids
            .keys()
            .filter(|p| !alive.contains(p))
            .copied()
            .collect();
        for pid in gone {
            if let Some(inode) = self.pids.remove(&pid) {
                let left = self.holders.entry(inode).or_default();
                *left = left.saturating_sub(1);
                if *left == 0 {
                    self.holders.remove(&inode);
                    changed = true;
                }
            }
        }
        for pid in now {
            if self.pids.contains_key(&pid) {
                continue;
            }
            // A process that exited meanwhile or cannot be read holds nothing we can see.
            let Ok(meta) = fs::metadata(format!("/proc/{pid}/ns/net")) else {
                continue;
            };
            let inode = meta.ino();
            self.pids.insert(pid, inode);
            let holders = self.holders.entry(inode).or_default();
            *holders += 1;
            // A namespace's first process: the live watcher adds named namespaces by their
            // names alone, held by none, and this one is listed with its process (and named
            // by its workload) from now on.
            changed |= *holders == 1 || !known.contains(&inode);
        }
        changed
    }

    /// Whether processes held the namespace `inode` at the last look.
    pub fn holds(&self, inode: u64) -> bool {
        self.holders.contains_key(&inode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_namespace_not_known_is_a_change_and_a_steady_proc_is_not() {
        let mut w = ProcWatch::default();
        // Nothing is known: this process's namespace is new.
        assert!(w.changed(&BTreeSet::new()));
        let known: BTreeSet<u64> = w.holders.keys().copied().collect();
        assert!(!known.is_empty());
        // Our own process stays: seen, not stat'ed again, nothing new.
        let own = std::process::id();
        assert!(w.pids.contains_key(&own));
        let mut steady = w.changed(&known);
        // Other processes of the machine may come and go meanwhile; a second look settles.
        if steady {
            let known: BTreeSet<u64> = w.holders.keys().copied().collect();
            steady = w.changed(&known);
        }
        assert!(!steady || w.holders.len() > known.len());
    }
}
