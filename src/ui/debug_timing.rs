//! With NETLENS_DEBUG_TIMING=FILE, the live collector appends one line per read to FILE:
//! what it was asked, and the milliseconds of each phase (read, doctor, clone for the UI),
//! with the count of kernel notifications ignored as chatter. Off, it costs nothing.

use std::fs::File;
use std::io::Write;
use std::time::Instant;

use crate::collect::touched::Touched;

/// When the first log was opened: the zero of every line's time.
fn started() -> Instant {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *START.get_or_init(Instant::now)
}

/// Where the lines go, if anywhere.
pub struct Log(Option<std::sync::Mutex<File>>);

impl Log {
    pub fn from_env() -> Log {
        let path = crate::env::current().debug_timing.clone();
        let file = path.and_then(|p| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .ok()
        });
        started();
        Log(file.map(std::sync::Mutex::new))
    }

    /// Whether lines are written at all.
    pub fn on(&self) -> bool {
        self.0.is_some()
    }

    /// Writes one line, after the seconds since the process started (to tell a bench's
    /// windows apart in the log).
    pub fn line(&self, text: &str) {
        if let Some(f) = &self.0 {
            if let Ok(mut f) = f.lock() {
                let t = started().elapsed().as_secs_f64();
                let _ = writeln!(f, "t={t:.3} {text}");
            }
        }
    }

    /// Starts timing one read of `touched`; `name` names a namespace by inode (for the
    /// per-namespace kinds and links, the first few, so idle reads can be told apart).
    pub fn start(&self, touched: &Touched, name: impl Fn(u64) -> Option<String>) -> Clock<'_> {
        let what = self.0.as_ref().map(|_| {
            let mut line = format!(
                "full={} namespaces={} link-scoped={} rescan={}",
                touched.full,
                touched.namespaces.len(),
                touched.links.values().filter(|s| s.is_some()).count(),
                touched.discovery.is_some()
            );
            for (inode, kinds) in touched.namespaces.iter().take(4) {
                let ns = name(*inode).unwrap_or_else(|| inode.to_string());
                line.push_str(&format!(" [{ns} {}", kinds.names()));
                match touched.links.get(inode) {
                    Some(Some(set)) => line.push_str(&format!(" links={set:?}]")),
                    Some(None) => line.push_str(" links=all]"),
                    None => line.push(']'),
                }
            }
            line
        });
        Clock {
            log: self,
            line: what.unwrap_or_default(),
            at: Instant::now(),
            cpu_at: self.on().then(process_cpu),
        }
    }
}

/// One read being timed.
pub struct Clock<'a> {
    log: &'a Log,
    line: String,
    at: Instant,
    /// The process's CPU time when the clock started (with the log on).
    cpu_at: Option<std::time::Duration>,
}

/// User + system time of the whole process (every thread) so far.
fn process_cpu() -> std::time::Duration {
    let u = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF);
    u.map(|u| {
        let t = |v: nix::sys::time::TimeVal| {
            std::time::Duration::from_secs(v.tv_sec() as u64)
                + std::time::Duration::from_micros(v.tv_usec() as u64)
        };
        t(u.user_time()) + t(u.system_time())
    })
    .unwrap_or_default()
}

impl Clock<'_> {
    /// Ends the phase `name`.
    pub fn lap(&mut self, name: &str) {
        if self.log.0.is_some() {
            let ms = self.at.elapsed().as_secs_f64() * 1000.0;
            self.line.push_str(&format!(" {name}={ms:.2}ms"));
            self.at = Instant::now();
        }
    }

    /// Adds the CPU time the whole process used since the clock started (`cpu=`): the
    /// read's worker threads included, and whatever the other threads did meanwhile.
    pub fn cpu(&mut self) {
        if let Some(at) = self.cpu_at {
            let ms = process_cpu().saturating_sub(at).as_secs_f64() * 1000.0;
            self.line.push_str(&format!(" cpu={ms:.1}ms"));
        }
    }

    /// Adds `text` to the line (what the read sent).
    pub fn note(&mut self, text: &str) {
        if self.log.0.is_some() {
            self.line.push(' ');
            self.line.push_str(text);
        }
    }

    /// Writes the line.
    pub fn end(self) {
        if self.log.on() {
            let ignored = super::watch::ignored_events();
            self.log.line(&format!("{} ignored={ignored}", self.line));
        }
    }
}

/// The log of the UI thread's phases (one per process, opened on first use).
pub fn ui() -> &'static Log {
    static LOG: std::sync::OnceLock<Log> = std::sync::OnceLock::new();
    LOG.get_or_init(Log::from_env)
}

/// Times the phases of one piece of the UI thread's work, as one line.
pub struct Laps {
    line: Option<String>,
    at: Instant,
}

impl Laps {
    pub fn start(what: &str) -> Laps {
        Laps {
            line: ui().on().then(|| what.to_string()),
            at: Instant::now(),
        }
    }

    pub fn lap(&mut self, name: &str) {
        if let Some(line) = &mut self.line {
            let ms = self.at.elapsed().as_secs_f64() * 1000.0;
            line.push_str(&format!(" {name}={ms:.2}ms"));
            self.at = Instant::now();
        }
    }

    pub fn end(self) {
        if let Some(line) = &self.line {
            ui().line(line);
        }
    }
}
