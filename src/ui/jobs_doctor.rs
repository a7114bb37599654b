//! The live view's doctor, on a thread of its own: when it is due the collector hands it the
//! namespaces changed since the last hand-over (the whole snapshot after a full read) and
//! the order of all; it keeps its own copy of the model up to date with that and runs
//! `diagnose::Incremental` over the namespaces changed. While it works the collector keeps
//! reading: a doctor run (tens of milliseconds on a big node, seconds on a loaded machine)
//! no longer delays a change on screen, and the copy costs one clone of what changed per
//! run, not one per read.
//!
//! When it runs: as soon as it is free after a full read; otherwise at most once a second,
//! and never sooner after a run than [`BUDGET`] times that run's CPU time, so the doctor
//! takes at most 1/BUDGET of a core however slow it is. Findings may lag the namespace list
//! by that long.

use std::collections::BTreeSet;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{debug_timing, terminal, Msg};
use crate::collect::touched::Touched;
use crate::collect::Patch;
use crate::diagnose::{Finding, Incremental};
use crate::model::Snapshot;

/// How often the doctor may run during continuous churn.
const EVERY: Duration = Duration::from_secs(1);
/// After a run that cost T of CPU, the next waits at least BUDGET × T: at most 2% of a core.
/// The live targets are 5% of a core for a link flapping every 100 ms, everything included:
/// at 5% the doctor alone took it all. The cost is lag, not missed changes: a run sees
/// everything changed since the last (at ~20 ms a run, findings follow within a second;
/// at 100 ms, five).
const BUDGET: u32 = 50;

/// What the collector sends: what the UI is sent, and which namespaces (by name) changed.
pub enum Job {
    /// After a full read: everything, and the next run is a full one.
    Whole(Box<Snapshot>),
    /// The namespaces that changed (`collect::Patch`: what partial reads never read is
    /// left out, the copy keeps its own) and the names of the namespaces added, changed or
    /// gone (`None`: a rename; the next run is full).
    Patch {
        patch: Box<Patch>,
        touched: Option<BTreeSet<String>>,
    },
}

/// What the doctor thread tells the collector.
struct Shared {
    findings: Vec<Finding>,
    /// A job is being worked on.
    busy: bool,
    /// The earliest the next job may start (but after a full read).
    next_at: Instant,
}

/// How often the collector looks whether a busy doctor is done, when it owes it a job.
const POLL: Duration = Duration::from_millis(50);

/// The collector's side: where jobs go, and what the thread says.
pub struct Doctor {
    jobs: Sender<Job>,
    shared: Arc<Mutex<Shared>>,
}

impl Doctor {
    /// Starts the thread; findings go to `ui` as `Msg::Findings`.
    pub fn spawn(ui: Sender<Msg>) -> Doctor {
        let (jobs, rx) = mpsc::channel();
        let shared = Arc::new(Mutex::new(Shared {
            findings: Vec::new(),
            busy: false,
            next_at: Instant::now(),
        }));
        let theirs = shared.clone();
        terminal::spawn("doctor", move || run(&rx, &theirs, &ui));
        Doctor { jobs, shared }
    }

    fn shared(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How long until a job may be handed over (`None`: now); `urgent` after a full read.
    pub fn wait(&self, urgent: bool) -> Option<Duration> {
        let s = self.shared();
        if s.busy {
            return Some(POLL);
        }
        let left = s.next_at.saturating_duration_since(Instant::now());
        (!urgent && !left.is_zero()).then_some(left)
    }

    /// Hands the doctor a job.
    pub fn send(&self, job: Job) {
        self.shared().busy = true;
        if self.jobs.send(job).is_err() {
            self.shared().busy = false;
        }
    }

    /// Sends `make(latest findings)` to the UI while no new findings can overtake it (the
    /// doctor sends its own under the same lock): the UI never gets older findings after
    /// newer ones.
    pub fn send_with(&self, ui: &Sender<Msg>, make: impl FnOnce(Vec<Finding>) -> Msg) -> bool {
        let s = self.shared();
        ui.send(make(s.findings.clone())).is_ok()
    }
}

/// The doctor thread's copy of the model.
struct State {
    snapshot: Option<Snapshot>,
    doctor: Option<Incremental>,
}

fn run(rx: &Receiver<Job>, shared: &Mutex<Shared>, ui: &Sender<Msg>) {
    let timing = debug_timing::Log::from_env();
    let mut s = State {
        snapshot: None,
        doctor: None,
    };
    while let Ok(job) = rx.recv() {
        let mut clock = timing.start(&Touched::default(), |_| None);
        let cpu = thread_cpu();
        let findings = s.take(job);
        let cost = thread_cpu().saturating_sub(cpu);
        clock.lap("doctor");
        clock.end();
        let mut sh = shared.lock().unwrap_or_else(|e| e.into_inner());
        sh.busy = false;
        sh.next_at = Instant::now() + EVERY.max(cost * BUDGET);
        if let Some(f) = findings {
            sh.findings.clone_from(&f);
            if ui.send(Msg::Findings(f)).is_err() {
                return;
            }
        }
    }
}

impl State {
    /// Applies one job to the copy of the model and runs the doctor on it: over the
    /// namespaces the job names, or all after a full read (or before any).
    fn take(&mut self, job: Job) -> Option<Vec<Finding>> {
        let touched = match job {
            Job::Whole(snap) => {
                self.snapshot = Some(*snap);
                None
            }
            Job::Patch { patch, touched } => {
                patch.apply(self.snapshot.as_mut()?);
                touched
            }
        };
        let snap = self.snapshot.as_ref()?;
        Some(match (self.doctor.as_mut(), touched) {
            (Some(d), Some(names)) => d.update(snap, &names),
            _ => {
                let d = Incremental::new(snap);
                let f = d.findings().to_vec();
                self.doctor = Some(d);
                f
            }
        })
    }
}

/// CPU time of the calling thread.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid pointer to a timespec that lives across the call.
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::test_support::asset;

    /// A patch moves the namespaces in the order given, takes the patched ones (keeping
    /// the copy's firewall, sockets and DNS files of those not read whole), drops the gone
    /// ones: the copy equals the model it mirrors.
    #[test]
    fn a_spliced_copy_equals_the_model() {
        let base = asset("demo-cluster.json");
        let mut model = base.clone();
        model.namespaces[1].routes.clear();
        let gone = model.namespaces.remove(2);
        model.namespaces.swap(0, 1);
        let mut partly = model.namespaces[0].clone();
        let had = !partly.sockets.is_empty() || partly.firewall.is_some() || partly.dns.is_some();
        partly.sockets.clear();
        partly.firewall = None;
        partly.dns = None;
        let patch = Patch {
            snapshot: Snapshot {
                namespaces: vec![partly],
                ..model.clone()
            },
            present: model.namespaces.iter().map(|n| n.inode).collect(),
            whole: BTreeSet::new(),
            deltas: Vec::new(),
        };
        let mut copy = base.clone();
        patch.apply(&mut copy);
        assert_eq!(copy, model);
        assert!(had, "the patched namespace has something left out to keep");
        assert!(copy.namespace(&gone.name).is_none());
    }
}
