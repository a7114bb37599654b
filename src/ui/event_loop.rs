//! The loop: it waits on one channel (input, snapshots, jobs' answers, kernel change events),
//! feeds each message to the app, runs the effects the app returns, and draws. It blocks until
//! something arrives — no busy polling — and never waits on I/O itself: every effect is a
//! thread (`jobs.rs`).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use crossterm::event;

use super::app::{App, Source};
use super::effect::Effect;
use super::{debug_timing, jobs, load_snapshot_file, terminal, view, watch, Msg, Options};
use crate::collect::touched::Touched;

/// Most messages handled between two frames.
const MAX_BATCH: usize = 4096;

/// Shortest time between two live re-reads.
const MIN_REREAD: Duration = Duration::from_millis(250);

/// Runs the effects the app returns, and remembers what is running.
struct Runner {
    tx: mpsc::Sender<Msg>,
    live: bool,
    /// The collector thread, which keeps the live model (live mode only).
    collector: Option<mpsc::Sender<Touched>>,
    /// One collection at a time; changes during one are folded into the next.
    collecting: bool,
    pending: Option<Touched>,
    last_read: Instant,
    /// The Capture tab's capture thread, stopped through this flag.
    capture_stop: Option<Arc<AtomicBool>>,
    test_panic: Option<String>,
    /// NETLENS_DEBUG_TIMING: what a snapshot costs the UI thread.
    timing: debug_timing::Log,
}

impl Runner {
    fn run(&mut self, effect: Effect) {
        let tx = self.tx.clone();
        match effect {
            Effect::Reread(touched) if self.live => match self.pending.as_mut() {
                Some(p) => p.merge(touched),
                None => self.pending = Some(touched),
            },
            Effect::Reread(_) => {}
            Effect::Save { snapshot, path } => jobs::save(*snapshot, path, tx),
            Effect::Apply(plan) => jobs::apply(plan, tx),
            Effect::StartCapture { ns, iface, filter } => {
                self.stop_capture();
                let hook = self.test_panic.clone();
                self.capture_stop = Some(jobs::capture(ns, iface, filter, hook, tx));
            }
            Effect::StopCapture => self.stop_capture(),
            Effect::Path {
                snapshot,
                findings,
                probe,
                live,
            } => jobs::path(*snapshot, findings, probe, live, tx),
            Effect::Resolve(req) => jobs::resolve(req, tx),
        }
    }

    fn stop_capture(&mut self) {
        if let Some(stop) = self.capture_stop.take() {
            stop.store(true, Ordering::SeqCst);
        }
    }

    fn collect(&mut self, touched: Touched) {
        let collector = self
            .collector
            .get_or_insert_with(|| jobs::collector(self.tx.clone()));
        if collector.send(touched).is_ok() {
            self.collecting = true;
            self.last_read = Instant::now();
        }
    }

    /// How long until a re-read that is owed may start.
    fn reread_due(&self) -> Option<Duration> {
        (self.pending.is_some() && !self.collecting)
            .then(|| MIN_REREAD.saturating_sub(self.last_read.elapsed()))
    }

    /// A busy node (ARP churn, pods starting) sends events continuously: re-read at most every
    /// MIN_REREAD, so netlens stays cheap while still showing changes quickly.
    fn reread_if_due(&mut self) {
        if !self.collecting && self.last_read.elapsed() >= MIN_REREAD {
            if let Some(touched) = self.pending.take() {
                self.collect(touched);
            }
        }
    }
}

/// The app over `file` (read-only) or the live host, compared with `since` if given; a file
/// that cannot be loaded is bad input (exit 2, one line), as for `diff`.
fn open(file: Option<PathBuf>, since: Option<PathBuf>) -> Result<App, i32> {
    let load = |path: &PathBuf| {
        load_snapshot_file(path).map_err(|e| {
            eprintln!("netlens: {e}");
            2
        })
    };
    let mut app = match file {
        Some(path) => {
            let snap = load(&path)?;
            App::new(Source::File(path), Some(snap))
        }
        None => App::new(Source::Live, None),
    };
    if let Some(path) = since {
        app.set_baseline(load(&path)?);
        app.marks.show = true;
    }
    Ok(app)
}

/// Runs the TUI until the user quits. `file` opens a saved snapshot read-only.
pub fn run(opts: Options, file: Option<PathBuf>, since: Option<PathBuf>) -> anyhow::Result<i32> {
    let mut app = match open(file, since) {
        Ok(app) => app,
        Err(code) => return Ok(code),
    };
    app.theme.color = opts.color;
    app.save_dir = super::save::default_dir();
    let live = app.live();
    let (tx, rx) = mpsc::channel::<Msg>();
    let mut runner = Runner {
        tx: tx.clone(),
        live,
        collector: None,
        collecting: false,
        pending: None,
        last_read: Instant::now(),
        capture_stop: None,
        test_panic: opts.test_panic,
        timing: debug_timing::Log::from_env(),
    };
    if live {
        runner.collect(Touched::full());
        watch::spawn(tx.clone());
    }
    terminal::spawn("input", move || {
        // Blocking reads on a thread of their own; the loop only waits on the channel.
        while let Ok(ev) = event::read() {
            if tx.send(Msg::Input(ev)).is_err() {
                break;
            }
        }
    });
    let mut terminal = terminal::enter();
    let result = frames(&mut terminal, &mut app, &mut runner, &rx);
    terminal::leave();
    result?;
    Ok(0)
}

/// Draw, wait for messages, handle them and run their effects, until the user quits.
fn frames(
    terminal: &mut ratatui::DefaultTerminal,
    app: &mut App,
    runner: &mut Runner,
    rx: &mpsc::Receiver<Msg>,
) -> anyhow::Result<()> {
    let mut redraw = true;
    loop {
        // A frame costs what the shown table holds (a thousand host veths: milliseconds),
        // and a flapping link sends the watcher's notices many times a second: draw only
        // when something shown may have changed.
        if redraw {
            terminal.draw(|f| view::draw(f, app))?;
        }
        // Block until something arrives; wake early to un-highlight rows when their flash
        // ends, or when a re-read is due.
        let flash_ends = app.wake_in(Instant::now());
        let wake = match (flash_ends, runner.reread_due()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let first = match wake {
            Some(due) => match rx.recv_timeout(due) {
                Ok(m) => Some(m),
                Err(mpsc::RecvTimeoutError::Timeout) => None,
                Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(()),
            },
            None => match rx.recv() {
                Ok(m) => Some(m),
                Err(_) => return Ok(()),
            },
        };
        // Woken by the clock: a flash ended (redraw), or only a re-read fell due (nothing
        // shown changed).
        redraw = if first.is_some() {
            handle_batch(first, app, runner, rx)
        } else {
            flash_ends.is_some() && flash_ends == wake
        };
        runner.reread_if_due();
        if app.quit {
            return Ok(());
        }
    }
}

/// Everything already waiting is handled before the next frame: a pasted text of thousands
/// of keys costs one frame, not one each. Returns whether the frame may look different: a
/// batch of nothing but the watcher's notices (`Msg::Changed`, which only queue a re-read)
/// changes nothing shown.
fn handle_batch(
    first: Option<Msg>,
    app: &mut App,
    runner: &mut Runner,
    rx: &mpsc::Receiver<Msg>,
) -> bool {
    let mut next = first;
    let mut handled = 0;
    let mut shown = false;
    while let Some(msg) = next.take() {
        shown |= !matches!(msg, Msg::Changed(_));
        let arrived = matches!(
            msg,
            Msg::Snapshot(_) | Msg::Collected(..) | Msg::Patched(..) | Msg::LoadFailed(_)
        );
        let started = Instant::now();
        let effects = app.handle(msg);
        if arrived {
            runner.collecting = false;
            if runner.timing.on() {
                let ms = started.elapsed().as_secs_f64() * 1000.0;
                runner
                    .timing
                    .line(&format!("ui: snapshot handled in {ms:.2}ms"));
            }
        }
        for effect in effects {
            runner.run(effect);
        }
        handled += 1;
        if handled < MAX_BATCH && !app.quit {
            next = rx.try_recv().ok();
        }
    }
    shown
}
