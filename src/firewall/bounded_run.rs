//! Running a listing tool (`iptables-save`, `nft -j`) with a cap on its output and its time.
//!
//! The rule set listed belongs to the namespace, and a container owns its namespace: millions
//! of rules make `iptables-save` print hundreds of megabytes, all of which `.output()` kept in
//! memory (and the parser then copied) while every other namespace waited. A tool that never
//! finishes (a wedged `nft`) stalled the whole snapshot. Here the output is read up to
//! [`MAX_OUTPUT`] and the tool gets [`TIME_LIMIT`]; past either it is killed and what was
//! read is kept, with a note saying the listing was cut.

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Far more than any real node's rule set (a large kube-proxy node lists a few MiB).
pub const MAX_OUTPUT: usize = 32 << 20;
/// Far longer than listing any real rule set takes.
pub const TIME_LIMIT: Duration = Duration::from_secs(15);
/// The limits, lowered by the test hooks ([`crate::env::TestHooks::listing_limits`], so a
/// test need not parse 32 MiB of rules in a debug build); the hooks can only lower them.
fn limits() -> (usize, Duration) {
    let (cap, secs) = crate::env::current().hooks.listing_limits();
    let cap = cap.map_or(MAX_OUTPUT, |c| (c as usize).min(MAX_OUTPUT));
    let time = secs.map_or(TIME_LIMIT, |s| Duration::from_secs(s).min(TIME_LIMIT));
    (cap, time)
}

/// What is kept of stderr: its first line is all a message shows.
const MAX_STDERR: usize = 64 << 10;

pub struct Ran {
    pub status: Option<ExitStatus>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Why the listing is incomplete, when it was cut.
    pub cut: Option<String>,
}

/// Reads `from` up to `cap` bytes; true when there was more (the pipe is then closed, so the
/// writer gets EPIPE rather than filling our memory).
fn read_capped(mut from: impl Read, cap: usize) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut buf = [0u8; 64 << 10];
    loop {
        match from.read(&mut buf) {
            Ok(0) => return (out, false),
            Ok(n) => {
                let room = cap - out.len();
                if n > room {
                    out.extend_from_slice(&buf[..room]);
                    return (out, true);
                }
                out.extend_from_slice(&buf[..n]);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return (out, false),
        }
    }
}

fn wait_until(child: &mut Child, deadline: Instant) -> Option<ExitStatus> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
            _ => return None,
        }
    }
}

/// Runs `cmd` (stdin closed) under the caps above.
pub fn run_bounded(cmd: &mut Command) -> std::io::Result<Ran> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let (cap, time_limit) = limits();
    let out = child
        .stdout
        .take()
        .map(|o| thread::spawn(move || read_capped(o, cap)));
    let err = child
        .stderr
        .take()
        .map(|e| thread::spawn(move || read_capped(e, MAX_STDERR)));
    let started = Instant::now();
    let mut status = wait_until(&mut child, started + time_limit);
    let mut cut = None;
    if status.is_none() {
        // Not reaped yet, so the pid is still the child's.
        let _ = child.kill();
        status = child.wait().ok();
        cut = Some(format!(
            "listing cut: still running after {} s",
            time_limit.as_secs()
        ));
    }
    let (stdout, more) = out.and_then(|t| t.join().ok()).unwrap_or_default();
    let (stderr, _) = err.and_then(|t| t.join().ok()).unwrap_or_default();
    if more && cut.is_none() {
        cut = Some(format!("listing cut at {cap} bytes"));
    }
    Ok(Ran {
        status,
        stdout,
        stderr,
        cut,
    })
}
