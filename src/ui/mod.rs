//! The terminal UI: an app state, a keymap that turns keys into actions, and views that only
//! read the state. All I/O (collecting snapshots, reading the terminal) happens on other
//! threads that send messages to the loop, which blocks until something arrives: no busy
//! polling, and rendering never waits on the network.
pub mod actions;
pub mod app;
mod capture_view;
pub mod keymap;
mod overlay;
mod popup_view;
mod sanitize;
pub mod strings;
pub mod tabs;
mod terminal;
pub mod theme;
pub mod topo;
mod topo_view;
pub mod view;
pub mod watch;

use std::path::PathBuf;
use std::sync::mpsc;

use crossterm::event::{self, Event};

use crate::collect::{self, Options};
use crate::model::Snapshot;
use app::{App, Source};

/// What wakes the loop.
pub enum Msg {
    Input(Event),
    Snapshot(Box<Snapshot>),
    /// A live snapshot with the doctor's findings, both made on the collector thread: the
    /// rules cost milliseconds on a big node, which the render thread does not pay.
    Collected(Box<Snapshot>, Vec<crate::diagnose::Finding>),
    LoadFailed(String),
    /// A line for the status bar (a save finished, …).
    Status(String),
    /// The kernel reported a change (or namespaces came or went): read again.
    Changed,
    /// Packets from the Capture tab's capture, and its counters.
    Packets(
        Vec<crate::trace::capture::Packet>,
        crate::trace::capture::Stats,
    ),
    /// The capture ended (stopped, or the error that ended it).
    CaptureEnded(Option<String>),
    /// A text to show in an overlay (a path or a trace), with its title.
    Report(String, Vec<String>),
}

/// Most messages handled between two frames.
const MAX_BATCH: usize = 4096;

/// Shortest time between two live re-reads.
const MIN_REREAD: std::time::Duration = std::time::Duration::from_millis(250);

/// Reads a saved snapshot for `--snapshot FILE`: one clear error line on failure. The same
/// loader as `diff` and `doctor --snapshot` (regular files only, size-capped, schema-checked).
pub fn load_snapshot_file(path: &std::path::Path) -> anyhow::Result<Snapshot> {
    crate::saved::snapshot::load(path).map_err(anyhow::Error::msg)
}

fn spawn_collector(tx: mpsc::Sender<Msg>) {
    terminal::spawn("collector", move || {
        let msg = match collect::snapshot(&Options::default()) {
            Ok(s) => {
                let findings = crate::diagnose::diagnose(&s);
                Msg::Collected(Box::new(s), findings)
            }
            Err(e) => Msg::LoadFailed(e.to_string()),
        };
        let _ = tx.send(msg);
    });
}

/// Writes the snapshot to `netlens-snapshot-<time>.json` in the current directory, off the
/// render thread, and reports where it went.
fn spawn_save(snap: Snapshot, tx: mpsc::Sender<Msg>) {
    terminal::spawn("save", move || {
        let name = format!("netlens-snapshot-{}.json", snap.taken_at);
        let msg = match crate::saved::snapshot::save(&snap, std::path::Path::new(&name)) {
            Ok(()) => format!("saved {name}"),
            Err(e) => format!("cannot save {name}: {e}"),
        };
        let _ = tx.send(Msg::Status(msg));
    });
}

/// Applies a plan the user confirmed, off the render thread: all or nothing, journaled. The
/// result goes to the status line, and the host is read again.
fn spawn_apply(plan: crate::plan::Plan, tx: mpsc::Sender<Msg>) {
    terminal::spawn("apply", move || {
        // Never wait for another netlens' change here: its "waiting…" line would land on the
        // TUI's screen. Refuse, and say who holds it, on the status line.
        crate::plan::set_no_wait(true);
        let msg = match crate::plan::apply(&plan, &crate::plan::ApplyOptions::default()) {
            Ok(a) => format!(
                "applied plan {} ({} changed, {} already so) · undo: netlens undo {}",
                a.id, a.changed, a.unchanged, a.id
            ),
            Err(e) => format!("plan not applied: {e}"),
        };
        let _ = tx.send(Msg::Status(msg));
        let _ = tx.send(Msg::Changed);
    });
}

/// Captures on `iface` in `ns` until the returned flag is set, sending packets to the loop in
/// batches (at most ~4 a second): the capture engine reads on its own thread, this one only
/// hands its ring over.
fn spawn_capture(
    ns: String,
    iface: String,
    filter: Option<crate::trace::filter::Filter>,
    tx: mpsc::Sender<Msg>,
) -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    use std::sync::atomic::{AtomicBool, Ordering};
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    terminal::spawn("capture", move || {
        test_panic("capture");
        let started = (|| -> Result<crate::trace::capture::Capture, String> {
            let file = crate::netns::resolve::open_ns(&ns).map_err(|e| e.to_string())?;
            let mut spec = crate::trace::capture::Spec::new(file, &ns, &iface);
            spec.filter = filter;
            crate::trace::capture::Capture::start(spec).map_err(|e| e.to_string())
        })();
        let cap = match started {
            Ok(c) => c,
            Err(e) => {
                let _ = tx.send(Msg::CaptureEnded(Some(e)));
                return;
            }
        };
        let mut last = cap.stats();
        while !flag.load(Ordering::SeqCst) {
            let (batch, finished) = cap.next_batch(std::time::Duration::from_millis(250));
            let stats = cap.stats();
            if (!batch.is_empty() || stats != last) && tx.send(Msg::Packets(batch, stats)).is_err()
            {
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
    });
    stop
}

/// Test-only, debug builds only: `NETLENS_TEST_PANIC=capture` panics on the capture thread
/// (`capture-abort` aborts there), so a test can check that any crash gives the terminal back. There is no
/// natural panic left to use; release builds do not have this.
fn test_panic(_place: &str) {
    #[cfg(debug_assertions)]
    match std::env::var("NETLENS_TEST_PANIC") {
        Ok(v) if v == _place => {
            panic!("NETLENS_TEST_PANIC={_place}: a panic on purpose (test hook)")
        }
        // An abort runs no panic hook (as a stack overflow): the SIGABRT handler restores.
        Ok(v) if v.strip_suffix("-abort") == Some(_place) => {
            eprintln!("NETLENS_TEST_PANIC={v}: aborting on purpose (test hook)");
            std::process::abort();
        }
        _ => {}
    }
}

/// Works out the path of `probe` (asking the namespaces' kernels) and, with `live`, sends it
/// for real and watches it; the text comes back as a report overlay.
fn spawn_path(
    snap: Snapshot,
    findings: Vec<crate::diagnose::Finding>,
    probe: crate::trace::path::Probe,
    live: bool,
    tx: mpsc::Sender<Msg>,
) {
    terminal::spawn("path", move || {
        let kernel = crate::trace::path::LiveKernel::default();
        let title = format!(" path from {} to {} ", probe.from, probe.dst);
        let text = if live {
            match crate::trace::live::trace(
                &snap,
                &findings,
                &kernel,
                &probe,
                std::time::Duration::from_secs(2),
            ) {
                Ok(r) => format!(
                    "{}\n{}",
                    crate::report::path_text::render_path(&r.path),
                    crate::report::path_text::render_trace(&r)
                ),
                Err(e) => format!("the probe could not be sent: {e}"),
            }
        } else {
            let r = crate::trace::path::walk(&snap, &findings, &kernel, &probe);
            crate::report::path_text::render_path(&r)
        };
        let lines = text.lines().map(str::to_string).collect();
        let _ = tx.send(Msg::Report(title, lines));
    });
}

/// Resolves a name as glibc would in a namespace (real queries, timeouts included) and shows
/// every step as a report.
fn spawn_resolve(req: crate::dns::ExplainRequest, tx: mpsc::Sender<Msg>) {
    terminal::spawn("resolve", move || {
        let title = format!(" {} in {} ", req.name, req.ns);
        let text = match crate::dns::explain(&req) {
            Ok(r) => crate::dns::render(&r),
            Err(e) => format!("cannot resolve: {e}"),
        };
        let _ = tx.send(Msg::Report(
            title,
            text.lines().map(str::to_string).collect(),
        ));
    });
}

/// Runs the TUI until the user quits. `file` opens a saved snapshot read-only.
pub fn run(file: Option<PathBuf>, since: Option<PathBuf>) -> anyhow::Result<i32> {
    // A file that cannot be loaded is bad input (exit 2, one line), as for `diff`.
    let (mut app, live) = match file {
        Some(path) => match load_snapshot_file(&path) {
            Ok(snap) => (App::new(Source::File(path), Some(snap)), false),
            Err(e) => {
                eprintln!("netlens: {e}");
                return Ok(2);
            }
        },
        None => (App::new(Source::Live, None), true),
    };
    if let Some(path) = since {
        match load_snapshot_file(&path) {
            Ok(snap) => app.set_baseline(snap),
            Err(e) => {
                eprintln!("netlens: {e}");
                return Ok(2);
            }
        }
        app.show_changes = true;
    }
    let (tx, rx) = mpsc::channel::<Msg>();
    // One collection at a time; changes during one are folded into the next.
    let mut collecting = false;
    let mut pending = false;
    let mut last_read = std::time::Instant::now();
    if live {
        spawn_collector(tx.clone());
        collecting = true;
        watch::spawn(tx.clone());
    }
    // The Capture tab's capture thread, stopped through this flag.
    let mut capture_stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>> = None;
    let input_tx = tx.clone();
    terminal::spawn("input", move || {
        // Blocking reads on a thread of their own; the loop below only waits on the channel.
        while let Ok(ev) = event::read() {
            if input_tx.send(Msg::Input(ev)).is_err() {
                break;
            }
        }
    });

    let mut terminal = terminal::enter();
    let result = (|| -> anyhow::Result<()> {
        loop {
            terminal.draw(|f| view::draw(f, &mut app))?;
            // Block until something arrives; with a re-read owed, only until it is due.
            // Wake to un-highlight rows when their flash ends, or when a re-read is due.
            let flash_due = app
                .flash_until
                .map(|t| t.saturating_duration_since(std::time::Instant::now()));
            let reread_due =
                (pending && !collecting).then(|| MIN_REREAD.saturating_sub(last_read.elapsed()));
            let wake = match (flash_due, reread_due) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            if app
                .flash_until
                .is_some_and(|t| std::time::Instant::now() >= t)
            {
                app.flash_until = None;
            }
            let msg = if let Some(due) = wake {
                match rx.recv_timeout(due) {
                    Ok(m) => Some(m),
                    Err(mpsc::RecvTimeoutError::Timeout) => None,
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
            } else {
                match rx.recv() {
                    Ok(m) => Some(m),
                    Err(_) => break,
                }
            };
            // Everything already waiting is handled before the next frame: a pasted text of
            // thousands of keys costs one frame, not one each.
            let mut next = msg;
            let mut handled = 0;
            while let Some(msg) = next.take() {
                let arrived = matches!(
                    msg,
                    Msg::Snapshot(_) | Msg::Collected(..) | Msg::LoadFailed(_)
                );
                let refresh = app.handle(msg);
                if arrived {
                    collecting = false;
                }
                if refresh && live {
                    pending = true;
                }
                handled += 1;
                if handled < MAX_BATCH && !app.quit {
                    next = rx.try_recv().ok();
                }
            }
            // A busy node (ARP churn, pods starting) sends events continuously: re-read at most
            // every MIN_REREAD, so netlens stays cheap while still showing changes quickly.
            if pending && !collecting && last_read.elapsed() >= MIN_REREAD {
                pending = false;
                collecting = true;
                last_read = std::time::Instant::now();
                spawn_collector(tx.clone());
            }
            if let Some(plan) = app.apply_requested.take() {
                spawn_apply(plan, tx.clone());
            }
            if std::mem::take(&mut app.capture_stop) {
                if let Some(stop) = capture_stop.take() {
                    stop.store(true, std::sync::atomic::Ordering::SeqCst);
                }
            }
            if let Some((ns, iface)) = app.capture_requested.take() {
                if let Some(stop) = capture_stop.take() {
                    stop.store(true, std::sync::atomic::Ordering::SeqCst);
                }
                let filter = app.capture_filter_parsed.clone();
                app.capture = Some(app::CaptureView::new(&ns, &iface, &app.capture_filter));
                capture_stop = Some(spawn_capture(ns, iface, filter, tx.clone()));
            }
            if let Some(req) = app.resolve_requested.take() {
                spawn_resolve(req, tx.clone());
            }
            if let Some((probe, live)) = app.path_requested.take() {
                if let Some(snap) = app.snapshot.clone() {
                    spawn_path(snap, app.findings.clone(), probe, live, tx.clone());
                }
            }
            if std::mem::take(&mut app.save_requested) {
                if let Some(snap) = app.snapshot.clone() {
                    spawn_save(snap, tx.clone());
                }
            }
            if app.quit {
                break;
            }
        }
        Ok(())
    })();
    terminal::leave();
    result?;
    Ok(0)
}
