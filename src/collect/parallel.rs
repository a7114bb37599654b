//! Running one job per namespace on dedicated threads that enter them with `setns`: the full
//! snapshot and the live partial refresh share this discipline.

use std::fs::File;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use nix::sched::{setns, CloneFlags};

use crate::model::NsStatus;
use crate::netns::discover::FoundNs;

/// How many setns threads a read of many namespaces uses by default: twice the cores (they
/// wait on the kernel as much as they compute), 2 to 8. Asked once per process:
/// `available_parallelism` reads the cgroup's files each time, and the live view reads
/// several times a second.
pub(super) fn workers() -> usize {
    static WORKERS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *WORKERS.get_or_init(|| {
        std::thread::available_parallelism()
            .map(|n| n.get() * 2)
            .unwrap_or(2)
            .clamp(2, 8)
    })
}

/// Opens `found` and moves the calling thread into it, unless `current` says it is there
/// already. The thread must be a dedicated collector thread (it is never moved back).
pub(super) fn enter(found: &FoundNs, current: &mut Option<u64>) -> (Option<File>, NsStatus) {
    let file = match found.open() {
        Ok(f) => f,
        Err(status) => return (None, status),
    };
    if *current != Some(found.inode) {
        if let Err(e) = setns(file.as_fd(), CloneFlags::CLONE_NEWNET) {
            let why = format!("cannot enter: {e} (entering a namespace needs CAP_SYS_ADMIN)");
            return (Some(file), NsStatus::Inaccessible(why));
        }
        *current = Some(found.inode);
    }
    (Some(file), NsStatus::Ok)
}

/// Runs `job` for every entry of `jobs` on up to `workers` fresh threads (which start in
/// `own`, the process's namespace), and returns the results in order. A job that panics is
/// answered by `failed` and its thread retires: which namespace it is in is unknown then.
pub(super) fn each<J: Sync, T: Send>(
    jobs: &[J],
    own: Option<u64>,
    workers: usize,
    job: &(dyn Fn(&J, &mut Option<u64>) -> T + Sync),
    failed: &(dyn Fn(&J, &str) -> T + Sync),
) -> Vec<T> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<T>>> = Mutex::new((0..jobs.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..workers.min(jobs.len()).max(1) {
            scope.spawn(|| {
                let mut current = own;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= jobs.len() {
                        break;
                    }
                    // A bug tripped by one namespace's data must not cost the whole snapshot.
                    let c = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        job(&jobs[i], &mut current)
                    }));
                    let panicked = c.is_err();
                    let c = c.unwrap_or_else(|_| {
                        failed(
                            &jobs[i],
                            "collector panicked on this namespace (a bug: please report it)",
                        )
                    });
                    if let Ok(mut r) = results.lock() {
                        r[i] = Some(c);
                    }
                    if panicked {
                        break;
                    }
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .zip(jobs)
        .map(|(c, j)| c.unwrap_or_else(|| failed(j, "collector thread failed")))
        .collect()
}
