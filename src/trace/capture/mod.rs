//! Live capture on one interface of one namespace, on a memory-mapped TPACKET_V3 ring.
//!
//! A dedicated thread enters the namespace, opens the packet socket there (it stays bound to
//! that namespace) and reads the kernel's ring block by block until stopped. The filter runs in
//! the kernel as classic BPF where it can ([`bpf`]), so what does not match is never copied;
//! the rest is judged in the ring without allocating ([`ring_filter`]); a frame is decoded
//! only when it is displayed; a
//! `--write` pcap gets every matching frame straight from the ring's bytes. The packets kept
//! for display live in a bounded ring, so memory stays flat at any rate and a slow reader only
//! loses display lines, which are counted. The kernel's own drops (PACKET_STATISTICS) are read
//! and reported too.
//!
//! Here: `rx_ring` (the mapped ring and its blocks), `bpf` and `bpf_expr` (the filter as a
//! classic BPF program), `ring_filter` (the in-process filter over a frame's bytes), `thread`
//! (the reading thread), this file (what callers hold).

use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde::Serialize;

use super::decode::Decoded;
use super::filter::Filter;
use super::ring::{Ring, Weighed};
pub use rx_ring::RingSize;

/// tcpdump's default snapshot length: whole frames, GSO super-frames on veths included.
pub const SNAPLEN: usize = 262_144;
/// The kernel's ring: what absorbs a burst while the thread is busy (8 MiB, as blocks of
/// 1 MiB handed over when full or 20 ms after their first frame, the display's batch latency).
pub const KERNEL_RING: RingSize = RingSize {
    block: 1 << 20,
    blocks: 8,
    snaplen: SNAPLEN,
    retire_ms: 20,
};
/// How often the thread wakes with nothing to read to publish counters, when packets are
/// displayed. A capture that only writes (no display) sleeps in poll until a block is retired
/// or it is stopped, as tcpdump does, and reads the kernel's counters every [`QUIET_STATS`].
const TICK: Duration = Duration::from_millis(100);
const QUIET_STATS: Duration = Duration::from_secs(10);
/// Packets handed to readers at once, and the longest a packet waits for its batch.
const BATCH: usize = 64;
const PUBLISH: Duration = Duration::from_millis(20);

/// What to capture.
pub struct Spec {
    /// The namespace, opened (so it cannot be swapped before the thread enters it).
    pub ns: File,
    pub ns_name: String,
    pub iface: String,
    pub filter: Option<Filter>,
    /// Stop after this many matching frames.
    pub count: Option<u64>,
    /// Write matching frames to this pcap file.
    pub write: Option<PathBuf>,
    /// Display ring limits.
    pub ring_packets: usize,
    pub ring_bytes: usize,
    /// Keep packets for display (decoded). Off for a capture that only writes a pcap: then a
    /// frame is neither decoded nor copied unless the in-process filter must look at it.
    pub display: bool,
    /// The kernel's ring.
    pub kernel_ring: RingSize,
}

impl Spec {
    pub fn new(ns: File, ns_name: &str, iface: &str) -> Self {
        Spec {
            ns,
            ns_name: ns_name.into(),
            iface: iface.into(),
            filter: None,
            count: None,
            write: None,
            ring_packets: 10_000,
            ring_bytes: 16 << 20,
            display: true,
            kernel_ring: KERNEL_RING,
        }
    }
}

/// One captured frame.
#[derive(Debug, Clone, Serialize)]
pub struct Packet {
    /// 1 for the first frame that matched.
    pub number: u64,
    /// Seconds since the Unix epoch: the kernel's receive timestamp (from the ring's frame
    /// header), so packets seen by different capture threads order as they passed.
    pub time: f64,
    /// Length on the wire (as received; frames longer than the snap length are cut).
    pub length: usize,
    #[serde(skip)]
    pub data: Vec<u8>,
    pub decoded: Decoded,
}

impl Packet {
    /// The tcpdump-like line; made when shown, not for every frame captured.
    pub fn summary(&self) -> String {
        self.decoded.to_string()
    }
}

impl Weighed for Packet {
    fn bytes(&self) -> usize {
        self.data.len() + std::mem::size_of::<Packet>() + self.decoded.layers.len() * 48
    }
}

/// Counters of a capture so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Frames read from the socket.
    pub received: u64,
    /// Frames that passed the filter.
    pub matched: u64,
    /// Frames the kernel delivered to the socket and dropped because it was full.
    pub kernel_drops: u64,
    /// Frames the kernel counted for the socket (delivered + dropped).
    pub kernel_packets: u64,
    /// Matching frames pushed out of the display ring before anyone read them.
    pub display_evicted: u64,
    /// Frames written to the pcap file.
    pub written: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("cannot enter namespace {ns}: {source} (capturing in another namespace needs root)")]
    Enter { ns: String, source: nix::Error },
    #[error("no interface {iface:?} in namespace {ns} (has: {})", have.join(", "))]
    NoInterface {
        ns: String,
        iface: String,
        have: Vec<String>,
    },
    #[error(
        "cannot open a packet socket on {iface} in {ns}: {source} (capturing needs CAP_NET_RAW)"
    )]
    Socket {
        ns: String,
        iface: String,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {why}")]
    Pcap { path: String, why: String },
    #[error("capture on {iface} in {ns} failed: {why}")]
    Read {
        ns: String,
        iface: String,
        why: String,
    },
}

struct Shared {
    ring: Ring<Packet>,
    stats: Stats,
    error: Option<CaptureError>,
    finished: bool,
}

/// A running capture. Dropping it stops the thread.
pub struct Capture {
    shared: Arc<(Mutex<Shared>, Condvar)>,
    stop: Arc<AtomicBool>,
    /// An eventfd the thread polls beside the ring: written, it ends the capture.
    wake: Arc<OwnedFd>,
    thread: Option<JoinHandle<()>>,
}

/// Writes to a stop eventfd; async-signal-safe (one write(2)).
fn poke(fd: RawFd) {
    let one = 1u64;
    // SAFETY: writes 8 bytes from a live u64 to a descriptor; a failure (closed) is harmless.
    unsafe {
        libc::write(fd, (&one as *const u64).cast(), 8);
    }
}

impl Capture {
    /// Starts capturing; returns once the socket is open (or with the reason it is not).
    pub fn start(spec: Spec) -> Result<Capture, CaptureError> {
        let shared = Arc::new((
            Mutex::new(Shared {
                ring: Ring::new(spec.ring_packets, spec.ring_bytes),
                stats: Stats::default(),
                error: None,
                finished: false,
            }),
            Condvar::new(),
        ));
        let stop = Arc::new(AtomicBool::new(false));
        // SAFETY: plain eventfd(2); the descriptor is owned by `OwnedFd` from here on.
        let raw = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if raw < 0 {
            return Err(CaptureError::Read {
                ns: spec.ns_name.clone(),
                iface: spec.iface.clone(),
                why: format!("eventfd: {}", std::io::Error::last_os_error()),
            });
        }
        // SAFETY: `raw` is a fresh descriptor nobody else owns.
        let wake = Arc::new(unsafe { OwnedFd::from_raw_fd(raw) });
        let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel(1);
        let (sh, st, wk) = (shared.clone(), stop.clone(), wake.clone());
        // A thread of its own that never does anything else: it moves into the namespace.
        let thread = std::thread::Builder::new()
            .name("netlens-capture".into())
            .spawn(move || thread::run(spec, sh, st, wk.as_raw_fd(), ready_tx))
            .map_err(|e| CaptureError::Read {
                ns: String::new(),
                iface: String::new(),
                why: format!("cannot start a thread: {e}"),
            })?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(Capture {
                shared,
                stop,
                wake,
                thread: Some(thread),
            }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => {
                let _ = thread.join();
                Err(CaptureError::Read {
                    ns: String::new(),
                    iface: String::new(),
                    why: "the capture thread ended before it started".into(),
                })
            }
        }
    }

    /// Waits up to `timeout` for packets, then takes what the ring holds. The flag says
    /// whether the capture has ended (count reached, error, stop).
    pub fn next_batch(&self, timeout: Duration) -> (Vec<Packet>, bool) {
        let (lock, cv) = &*self.shared;
        let mut g = lock.lock().unwrap_or_else(|p| p.into_inner());
        if g.ring.is_empty() && !g.finished {
            g = cv
                .wait_timeout(g, timeout)
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
        (g.ring.drain(), g.finished)
    }

    /// A descriptor that ends the capture when 8 bytes (a u64 of 1) are written to it: what a
    /// signal handler may do (write(2) is async-signal-safe). Valid while `self` lives.
    pub fn stop_fd(&self) -> RawFd {
        self.wake.as_raw_fd()
    }

    pub fn stats(&self) -> Stats {
        let (lock, _) = &*self.shared;
        let g = lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut s = g.stats;
        s.display_evicted = g.ring.evicted;
        s
    }

    /// Stops the capture, waits for the thread (which flushes the pcap) and returns the final
    /// counters, or the error that ended the capture.
    pub fn finish(self) -> Result<Stats, CaptureError> {
        self.finish_and_drain().1
    }

    /// [`Capture::finish`], and the packets still held for display (the last ones, which the
    /// thread hands over when it stops).
    pub fn finish_and_drain(mut self) -> (Vec<Packet>, Result<Stats, CaptureError>) {
        self.stop.store(true, Ordering::SeqCst);
        poke(self.wake.as_raw_fd());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let stats = self.stats();
        let (lock, _) = &*self.shared;
        let mut g = lock.lock().unwrap_or_else(|p| p.into_inner());
        let left = g.ring.drain();
        let result = match g.error.take() {
            Some(e) => Err(e),
            None => Ok(stats),
        };
        (left, result)
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        poke(self.wake.as_raw_fd());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub mod bpf;
mod bpf_expr;
pub mod ring_filter;
pub mod rx_ring;
mod thread;
