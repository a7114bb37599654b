//! The TUI's background work, each on a thread of its own that answers the loop with a
//! [`Msg`]: reading the host, saving, applying a plan, capturing, working out a path,
//! resolving a name. The loop starts them for the [`Effect`](super::effect::Effect)s the app
//! returns; none of them touches the app.

use std::collections::{BTreeSet, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, mpsc::Sender, Arc};
use std::time::Duration;

use super::terminal;
use super::{debug_timing, strings, Msg};
use crate::collect::partial::Live;
use crate::collect::read_laps;
use crate::collect::touched::Touched;
use crate::collect::Options;
use crate::model::Snapshot;
use crate::trace::capture::{Capture, Spec};

#[path = "jobs_doctor.rs"]
mod doctor;

use doctor::{Doctor, Job};

/// Starts the collector: a thread that keeps the live model (`collect::partial::Live`) and,
/// for each batch of changes it is sent, re-reads only what they name (everything the first
/// time and for `Touched::full`) and sends the UI the snapshot the first time, then patches
/// of what changed (`collect::Patch`; a full read, compared with the model, patches only
/// what differs). Requests waiting when a read ends are folded into one. The doctor runs on
/// a thread of its own (`jobs_doctor.rs`), handed what changed when it is due: the first
/// snapshot carries the latest findings, and new findings follow as `Msg::Findings` (soon
/// after the first read, else at most once a second); patches carry none.
pub fn collector(tx: Sender<Msg>) -> Sender<Touched> {
    let (requests, rx) = mpsc::channel::<Touched>();
    terminal::spawn("collector", move || {
        let timing = debug_timing::Log::from_env();
        let mut c = Collector {
            live: None,
            doctor: Doctor::spawn(tx.clone()),
            owed: None,
        };
        loop {
            let wait = c.owed.as_ref().map(|o| c.doctor.wait(o.urgent));
            let next = match wait {
                Some(Some(w)) => match rx.recv_timeout(w) {
                    Ok(t) => Some(t),
                    Err(mpsc::RecvTimeoutError::Timeout) => None,
                    Err(mpsc::RecvTimeoutError::Disconnected) => return,
                },
                Some(None) => None,
                None => match rx.recv() {
                    Ok(t) => Some(t),
                    Err(_) => return,
                },
            };
            if let Some(mut touched) = next {
                while let Ok(more) = rx.try_recv() {
                    touched.merge(more);
                }
                if !c.read(touched, &timing, &tx) {
                    return;
                }
            }
            c.hand_over();
        }
    });
    requests
}

/// The collector thread's state.
struct Collector {
    live: Option<Live>,
    doctor: Doctor,
    /// What changed since the doctor was last handed the model.
    owed: Option<Owed>,
}

/// Changes the doctor has not seen yet.
struct Owed {
    /// The namespaces (by inode) changed; `None`: anything may have (the first read, a
    /// rename), the doctor gets the whole snapshot.
    inodes: Option<BTreeSet<u64>>,
    /// The names of namespaces gone.
    gone: BTreeSet<String>,
    /// The namespaces read whole among them (their firewall, sockets, DNS files too).
    whole: BTreeSet<u64>,
    /// The first read or one the user asked for (`r`): the doctor runs as soon as it is
    /// free. A later full read owes it only the namespaces that differed; a rename, the whole
    /// snapshot, when its turn comes.
    urgent: bool,
}

impl Collector {
    /// Reads what `touched` names and sends the UI what changed; false once the UI is gone.
    fn read(&mut self, touched: Touched, timing: &debug_timing::Log, tx: &Sender<Msg>) -> bool {
        let live = self.live.as_ref();
        let mut clock = timing.start(&touched, |inode| {
            let snap = &live?.snapshot;
            let ns = snap.namespaces.iter().find(|n| n.inode == inode)?;
            Some(ns.name.clone())
        });
        // Namespaces may go only with a new scan (or a full read): their names, for the
        // doctor, which knows namespaces by name.
        let scans = touched.full || touched.discovery.is_some();
        let before: Option<Vec<String>> = self.live.as_ref().filter(|_| scans).map(|l| {
            l.snapshot
                .namespaces
                .iter()
                .map(|n| n.name.clone())
                .collect()
        });
        // A full read after the first is compared with the model (`Live::refresh`): the UI
        // and the doctor get only the namespaces that differ, none at idle. One the user
        // asked for (`r`) is taken whole, as the first is: it also refreshes what the
        // comparison leaves as it was (neighbour reachability states) and repairs the UI's
        // copy whatever happened to it.
        let asked = touched.asked;
        clock.lap("before");
        read_laps::start();
        let read = match self.live.as_mut() {
            // The periodic refresh: only what has no event (`partial_light.rs`), the whole
            // node every few minutes. Events folded into the same batch are read first.
            Some(l) if !asked && touched.full => l.refresh_periodic(touched).map(Some),
            Some(l) if !asked => l.refresh(touched).map(Some),
            _ => Live::read(&Options::default()).map(|l| {
                self.live = Some(l);
                None
            }),
        };
        clock.lap("read");
        clock.cpu();
        if timing.on() {
            clock.note(&format!("in-read:{}", read_laps::take()));
        }
        let changed = match read {
            Ok(changed) => changed,
            Err(e) => return tx.send(Msg::LoadFailed(e.to_string())).is_ok(),
        };
        let Some(live) = self.live.as_ref() else {
            return true;
        };
        let snap = &live.snapshot;
        let owed = self.owed.get_or_insert_with(|| Owed {
            inodes: Some(BTreeSet::new()),
            gone: BTreeSet::new(),
            whole: BTreeSet::new(),
            urgent: false,
        });
        owed.whole.extend(live.read_whole());
        owed.urgent |= changed.is_none();
        // A namespace seen under a new name (most often an inode freed by a pod deleted and
        // taken by a pod created between two scans) is, to the doctor, which knows
        // namespaces by name, the old name gone (`gone_since` compares names) and the new
        // one changed (`changed` holds it, read whole, and the namespaces whose veths name
        // it): no reason to start over on the whole snapshot.
        match (owed.inodes.as_mut(), &changed) {
            (Some(all), Some(now)) => all.extend(now),
            _ => owed.inodes = None,
        }
        owed.gone.extend(gone_since(snap, before));
        clock.note(&format!("renamed={}", live.renamed()));
        clock.lap("owed");
        let sent = match changed {
            None => self
                .doctor
                .send_with(tx, |f| Msg::Collected(Box::new(snap.clone()), f)),
            Some(changed) => {
                let patch = live.patch_for_copy(&changed);
                clock.note(&format!(
                    "sent={} whole={} deltas={}",
                    changed.len(),
                    patch.whole.len(),
                    patch.deltas.len()
                ));
                tx.send(Msg::Patched(Box::new(patch))).is_ok()
            }
        };
        clock.lap("clone");
        clock.end();
        sent
    }

    /// Hands the doctor what changed, when it is due.
    fn hand_over(&mut self) {
        let (Some(owed), Some(live)) = (&self.owed, &self.live) else {
            return;
        };
        if self.doctor.wait(owed.urgent).is_some() {
            return;
        }
        let Some(owed) = self.owed.take() else { return };
        let snap = &live.snapshot;
        let job = match owed.inodes {
            None => Job::Whole(Box::new(snap.clone())),
            Some(inodes) => Job::Patch {
                patch: Box::new(live.patch_of(&inodes, &owed.whole)),
                touched: Some(doctor_touched(snap, &inodes, owed.gone)),
            },
        };
        self.doctor.send(job);
    }
}

/// The names of the namespaces gone since `before` (the model's names before a read that
/// took a new scan): by name, not inode, so that a namespace renamed (an inode reused by a
/// namespace created as another was deleted looks exactly like that) leaves its old name.
fn gone_since(snap: &Snapshot, before: Option<Vec<String>>) -> Vec<String> {
    let Some(before) = before else {
        return Vec::new();
    };
    let now: HashSet<&str> = snap.namespaces.iter().map(|n| n.name.as_str()).collect();
    before
        .into_iter()
        .filter(|n| !now.contains(n.as_str()))
        .collect()
}

/// The names the doctor is told changed (`Incremental::update`): those of the namespaces
/// changed (by inode, as they are named now) and those gone.
fn doctor_touched(
    snap: &Snapshot,
    inodes: &BTreeSet<u64>,
    gone: BTreeSet<String>,
) -> BTreeSet<String> {
    let mut touched: BTreeSet<String> = snap
        .namespaces
        .iter()
        .filter(|n| inodes.contains(&n.inode))
        .map(|n| n.name.clone())
        .collect();
    touched.extend(gone);
    touched
}

#[cfg(test)]
#[path = "jobs_rename_tests.rs"]
mod rename_tests;

/// Writes the snapshot where the save form said (see `save.rs`), creating the directory if
/// needed, and reports the whole path it went to.
pub fn save(snap: Snapshot, typed: std::path::PathBuf, tx: Sender<Msg>) {
    terminal::spawn("save", move || {
        let cwd = std::env::current_dir().unwrap_or_default();
        let path = super::save::target(&typed, typed.is_dir(), snap.taken_at, &cwd);
        let written = match path.parent() {
            Some(dir) => std::fs::create_dir_all(dir),
            None => Ok(()),
        }
        .and_then(|()| crate::saved::snapshot::save(&snap, &path));
        let shown = path.display().to_string();
        let msg = match written {
            Ok(()) => strings::saved(&shown),
            Err(e) => strings::not_saved(&shown, &e),
        };
        let _ = tx.send(Msg::Status(msg));
    });
}

/// Applies a plan the user confirmed: all or nothing, journaled. The result goes to the
/// status line, and the host is read again.
pub fn apply(plan: crate::plan::Plan, tx: Sender<Msg>) {
    terminal::spawn("apply", move || {
        // Never wait for another netlens' change here: its "waiting…" line would land on the
        // TUI's screen. Refuse, and say who holds it, on the status line.
        crate::plan::set_no_wait(true);
        let msg = match crate::plan::apply(&plan, &crate::plan::ApplyOptions::default()) {
            Ok(a) => strings::applied(&a.id, a.changed, a.unchanged),
            Err(e) => strings::not_applied(&e),
        };
        let _ = tx.send(Msg::Status(msg));
        // Read whole, as `r` does: a plan may change what has no event (firewall, sysctls).
        let _ = tx.send(Msg::Changed(Touched::asked()));
    });
}

/// Captures on `iface` in `ns` until the returned flag is set, sending packets to the loop in
/// batches (at most ~4 a second): the capture engine reads on its own thread, this one only
/// hands its ring over. `test_panic` is the crash hook of the `test-hooks` feature (see
/// `Options`).
pub fn capture(
    ns: String,
    iface: String,
    filter: Option<crate::trace::filter::Filter>,
    test_panic: Option<String>,
    tx: Sender<Msg>,
) -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    terminal::spawn("capture", move || {
        crash_on_purpose(test_panic.as_deref(), "capture");
        let started = (|| -> Result<Capture, String> {
            let file = crate::netns::resolve::open_ns(&ns).map_err(|e| e.to_string())?;
            let mut spec = Spec::new(file, &ns, &iface);
            spec.filter = filter;
            Capture::start(spec).map_err(|e| e.to_string())
        })();
        match started {
            Ok(cap) => hand_over(cap, &flag, &tx),
            Err(e) => {
                let _ = tx.send(Msg::CaptureEnded(Some(e)));
            }
        }
    });
    stop
}

/// Sends the capture's packets and counters until `stop` is set or it ends, then what is
/// left and how it ended.
fn hand_over(cap: Capture, stop: &AtomicBool, tx: &Sender<Msg>) {
    let mut last = cap.stats();
    while !stop.load(Ordering::SeqCst) {
        let (batch, finished) = cap.next_batch(Duration::from_millis(250));
        let stats = cap.stats();
        if (!batch.is_empty() || stats != last) && tx.send(Msg::Packets(batch, stats)).is_err() {
            break;
        }
        last = stats;
        if finished {
            break;
        }
    }
    let (left, result) = cap.finish_and_drain();
    let stats = result.as_ref().map(|s| *s).unwrap_or(last);
    let _ = tx.send(Msg::Packets(left, stats));
    let _ = tx.send(Msg::CaptureEnded(result.err().map(|e| e.to_string())));
}

/// With the `test-hooks` feature only: `capture` panics on the capture thread
/// (`capture-abort` aborts there), so a test can check that any crash gives the terminal back.
/// There is no natural panic left to use; without the feature this does nothing.
#[cfg(not(feature = "test-hooks"))]
fn crash_on_purpose(_hook: Option<&str>, _place: &str) {}

#[cfg(feature = "test-hooks")]
fn crash_on_purpose(hook: Option<&str>, place: &str) {
    match hook {
        Some(v) if v == place => {
            panic!("NETLENS_TEST_PANIC={place}: a panic on purpose (test hook)")
        }
        // An abort runs no panic hook (as a stack overflow): the SIGABRT handler restores.
        Some(v) if v.strip_suffix("-abort") == Some(place) => {
            eprintln!("NETLENS_TEST_PANIC={v}: aborting on purpose (test hook)");
            std::process::abort();
        }
        _ => {}
    }
}

/// Works out the path of `probe` (asking the namespaces' kernels) and, with `live`, sends it
/// for real and watches it; the text comes back as a report.
pub fn path(
    snap: Snapshot,
    findings: Vec<crate::diagnose::Finding>,
    probe: crate::trace::path::Probe,
    live: bool,
    tx: Sender<Msg>,
) {
    use crate::report::path::{render_path, render_trace};
    terminal::spawn("path", move || {
        let kernel = crate::trace::path::LiveKernel::default();
        let title = format!(" path from {} to {} ", probe.from, probe.dst);
        let text = if live {
            let wait = Duration::from_secs(2);
            match crate::trace::live::trace(&snap, &findings, &kernel, &probe, wait) {
                Ok(r) => format!("{}\n{}", render_path(&r.path), render_trace(&r)),
                Err(e) => format!("the probe could not be sent: {e}"),
            }
        } else {
            render_path(&crate::trace::path::walk(&snap, &findings, &kernel, &probe))
        };
        let lines = text.lines().map(str::to_string).collect();
        let _ = tx.send(Msg::Report(title, lines));
    });
}

/// Resolves a name as glibc would in a namespace (real queries, timeouts included) and shows
/// every step as a report.
pub fn resolve(req: crate::dns::ExplainRequest, tx: Sender<Msg>) {
    terminal::spawn("resolve", move || {
        let title = format!(" {} in {} ", req.name, req.ns);
        let text = match crate::dns::explain(&req) {
            Ok(r) => crate::report::dns::render(&r),
            Err(e) => format!("cannot resolve: {e}"),
        };
        let lines = text.lines().map(str::to_string).collect();
        let _ = tx.send(Msg::Report(title, lines));
    });
}
