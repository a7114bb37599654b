//! The TUI's background work, each on a thread of its own that answers the loop with a
//! [`Msg`]: reading the host, saving, applying a plan, capturing, working out a path,
//! resolving a name. The loop starts them for the [`Effect`](super::effect::Effect)s the app
//! returns; none of them touches the app.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, mpsc::Sender, Arc};
use std::time::Duration;

use super::terminal;
use super::{debug_timing, strings, Msg};
use crate::collect::partial::Live;
use crate::collect::touched::Touched;
use crate::collect::Options;
use crate::model::Snapshot;
use crate::trace::capture::{Capture, Spec};

/// How often the doctor may run during continuous churn: its rules cost tens of
/// milliseconds on a big node, and a churning node brings a batch every 250 ms.
const DOCTOR_EVERY: Duration = Duration::from_secs(1);

/// Starts the collector: a thread that keeps the live model (`collect::partial::Live`) and,
/// for each batch of changes it is sent, re-reads only what they name (everything the first
/// time and for `Touched::full`) and sends the snapshot. Requests waiting when a read ends
/// are folded into one. The doctor runs here too, off the render thread, with every full
/// read and at most once a second otherwise: a patch that comes sooner carries the last
/// findings, and the doctor runs on the model once the second is over (`Msg::Findings`), so
/// findings lag the namespace list by at most a second.
pub fn collector(tx: Sender<Msg>) -> Sender<Touched> {
    let (requests, rx) = mpsc::channel::<Touched>();
    terminal::spawn("collector", move || {
        let timing = debug_timing::Log::from_env();
        let mut c = Collector {
            live: None,
            findings: Vec::new(),
            doctor_at: None,
            pending: false,
        };
        loop {
            let next = match c.doctor_due() {
                Some(wait) => match rx.recv_timeout(wait) {
                    Ok(t) => Some(t),
                    Err(mpsc::RecvTimeoutError::Timeout) => None,
                    Err(mpsc::RecvTimeoutError::Disconnected) => return,
                },
                None => match rx.recv() {
                    Ok(t) => Some(t),
                    Err(_) => return,
                },
            };
            let msg = match next {
                Some(mut touched) => {
                    while let Ok(more) = rx.try_recv() {
                        touched.merge(more);
                    }
                    c.read(touched, &timing)
                }
                None => c.doctor_only(&timing),
            };
            if let Some(msg) = msg {
                if tx.send(msg).is_err() {
                    return;
                }
            }
        }
    });
    requests
}

/// The collector thread's state.
struct Collector {
    live: Option<Live>,
    /// The last findings, and when the doctor made them.
    findings: Vec<crate::diagnose::Finding>,
    doctor_at: Option<std::time::Instant>,
    /// A patch went out with findings older than it.
    pending: bool,
}

impl Collector {
    /// How long until the doctor is due, when a patch is waiting for it.
    fn doctor_due(&self) -> Option<Duration> {
        let at = self.doctor_at?;
        self.pending
            .then(|| DOCTOR_EVERY.saturating_sub(at.elapsed()))
    }

    /// Runs the doctor on the model, now.
    fn doctor(&mut self) {
        if let Some(l) = &self.live {
            self.findings = crate::diagnose::diagnose(&l.snapshot);
            self.doctor_at = Some(std::time::Instant::now());
            self.pending = false;
        }
    }

    /// The doctor's turn, with no read before it.
    fn doctor_only(&mut self, timing: &debug_timing::Log) -> Option<Msg> {
        let mut clock = timing.start(&Touched::default());
        self.doctor();
        clock.lap("doctor");
        clock.end();
        Some(Msg::Findings(self.findings.clone()))
    }

    /// Reads what `touched` names and makes the message for the UI.
    fn read(&mut self, touched: Touched, timing: &debug_timing::Log) -> Option<Msg> {
        let mut clock = timing.start(&touched);
        let read = match self.live.as_mut() {
            Some(l) if !touched.full => l.refresh(touched),
            _ => Live::read(&Options::default()).map(|l| {
                self.live = Some(l);
                None
            }),
        };
        clock.lap("read");
        let changed = match read {
            Ok(changed) => changed,
            Err(e) => return Some(Msg::LoadFailed(e.to_string())),
        };
        let due = self.doctor_at.is_none_or(|at| at.elapsed() >= DOCTOR_EVERY);
        if changed.is_none() || due {
            self.doctor();
            clock.lap("doctor");
        } else {
            self.pending = true;
        }
        let msg = message(
            &self.live.as_ref()?.snapshot,
            self.findings.clone(),
            changed,
        );
        clock.lap("clone");
        clock.end();
        Some(msg)
    }
}

/// The snapshot for the UI: whole after a full read, else only the namespaces that changed
/// and the inodes of all (so the UI drops the gone ones), not a copy of the node per event.
fn message(
    snap: &crate::model::Snapshot,
    findings: Vec<crate::diagnose::Finding>,
    changed: Option<std::collections::BTreeSet<u64>>,
) -> Msg {
    let Some(changed) = changed else {
        return Msg::Collected(Box::new(snap.clone()), findings, None);
    };
    let present = snap.namespaces.iter().map(|n| n.inode).collect();
    let patch = crate::model::Snapshot {
        schema_version: snap.schema_version,
        taken_at: snap.taken_at,
        hostname: snap.hostname.clone(),
        namespaces: snap
            .namespaces
            .iter()
            .filter(|n| changed.contains(&n.inode))
            .cloned()
            .collect(),
        warnings: snap.warnings.clone(),
        cni: snap.cni.clone(),
    };
    Msg::Collected(Box::new(patch), findings, Some(present))
}

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
        let _ = tx.send(Msg::Changed(Touched::full()));
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
