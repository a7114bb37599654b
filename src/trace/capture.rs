//! Live capture on one interface of one namespace (pnet over AF_PACKET).
//!
//! A dedicated thread enters the namespace, opens the packet socket there (it stays bound to
//! that namespace) and reads until stopped. Each frame is decoded and filtered on that thread;
//! a `--write` pcap gets every matching frame, while the packets kept for display live in a
//! bounded ring, so memory stays flat at any rate and a slow reader only loses display lines,
//! which are counted. The kernel's own drops (PACKET_STATISTICS) are read and reported too.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::sched::{setns, CloneFlags};
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::DataLink;
use pnet_datalink::{Channel, Config};
use serde::Serialize;

use super::decode::{decode, Decoded};
use super::filter::Filter;
use super::ring::{Ring, Weighed};

/// tcpdump's default snapshot length: whole frames, GSO super-frames on veths included.
pub const SNAPLEN: usize = 262_144;
/// The socket's receive buffer: what absorbs a burst while the thread is busy.
const RCVBUF: i32 = 4 << 20;
/// How often the thread wakes with nothing to read, to notice a stop.
const TICK: Duration = Duration::from_millis(100);
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
        }
    }
}

/// One captured frame.
#[derive(Debug, Clone, Serialize)]
pub struct Packet {
    /// 1 for the first frame that matched.
    pub number: u64,
    /// Seconds since the Unix epoch: the kernel's receive timestamp (SIOCGSTAMPNS), so
    /// packets seen by different capture threads order as they passed; user-space read time
    /// only where the kernel gave none.
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
    thread: Option<JoinHandle<()>>,
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
        let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel(1);
        let (sh, st) = (shared.clone(), stop.clone());
        // A thread of its own that never does anything else: it moves into the namespace.
        let thread = std::thread::Builder::new()
            .name("netlens-capture".into())
            .spawn(move || run(spec, sh, st, ready_tx))
            .map_err(|e| CaptureError::Read {
                ns: String::new(),
                iface: String::new(),
                why: format!("cannot start a thread: {e}"),
            })?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(Capture {
                shared,
                stop,
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
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The AF_PACKET socket, opened by us so its kernel statistics can be read; pnet reads from it.
fn packet_socket() -> std::io::Result<i32> {
    let proto = (libc::ETH_P_ALL as u16).to_be() as i32;
    // SAFETY: plain socket(2) call; the fd is handed to pnet, which owns and closes it.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, proto) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SO_RCVBUFFORCE passes the rmem_max cap (we are root); fall back to what is allowed.
    for opt in [libc::SO_RCVBUFFORCE, libc::SO_RCVBUF] {
        // SAFETY: a valid fd and a pointer to an i32 of the size given.
        let r = unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                opt,
                (&RCVBUF as *const i32).cast(),
                std::mem::size_of::<i32>() as libc::socklen_t,
            )
        };
        if r == 0 {
            break;
        }
    }
    // Turns on kernel receive timestamps for this socket (ENOENT: no packet yet).
    let _ = kernel_stamp(fd);
    Ok(fd)
}

/// `SIOCGSTAMPNS` (linux/sockios.h): the receive timestamp of the last packet read from the
/// socket. Not exported by libc.
const SIOCGSTAMPNS: libc::c_ulong = 0x8907;

/// The kernel's receive time of the packet last read from `fd`. The first call on a socket
/// turns timestamping on (and finds none yet); `packet_socket` makes that call.
fn kernel_stamp(fd: i32) -> Option<SystemTime> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: SIOCGSTAMPNS writes one `struct timespec` into `ts`, which has that type.
    let r = unsafe { libc::ioctl(fd, SIOCGSTAMPNS as _, &mut ts as *mut libc::timespec) };
    if r != 0 || ts.tv_sec <= 0 {
        return None;
    }
    Some(UNIX_EPOCH + Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

/// Reads and resets the socket's counters: (packets, drops) since the last call.
fn kernel_stats(fd: i32) -> (u64, u64) {
    let mut st = libc::tpacket_stats {
        tp_packets: 0,
        tp_drops: 0,
    };
    let mut len = std::mem::size_of::<libc::tpacket_stats>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into `st`, which has that size.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_PACKET,
            libc::PACKET_STATISTICS,
            (&mut st as *mut libc::tpacket_stats).cast(),
            &mut len,
        )
    };
    if r != 0 {
        return (0, 0);
    }
    (u64::from(st.tp_packets), u64::from(st.tp_drops))
}

fn now_secs(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn run(
    spec: Spec,
    shared: Arc<(Mutex<Shared>, Condvar)>,
    stop: Arc<AtomicBool>,
    ready: std::sync::mpsc::SyncSender<Result<(), CaptureError>>,
) {
    let ns = spec.ns_name.clone();
    let iface_name = spec.iface.clone();
    let opened = (|| {
        setns(spec.ns.as_fd(), CloneFlags::CLONE_NEWNET).map_err(|source| CaptureError::Enter {
            ns: ns.clone(),
            source,
        })?;
        // Interfaces are looked up from inside: names and indexes are per namespace.
        let all = pnet_datalink::interfaces();
        let Some(iface) = all.iter().find(|i| i.name == iface_name).cloned() else {
            return Err(CaptureError::NoInterface {
                ns: ns.clone(),
                iface: iface_name.clone(),
                have: all.into_iter().map(|i| i.name).collect(),
            });
        };
        let sock_err = |source| CaptureError::Socket {
            ns: ns.clone(),
            iface: iface_name.clone(),
            source,
        };
        let fd = packet_socket().map_err(sock_err)?;
        let config = Config {
            read_buffer_size: SNAPLEN,
            read_timeout: Some(TICK),
            socket_fd: Some(fd),
            promiscuous: true,
            ..Config::default()
        };
        let rx = match pnet_datalink::channel(&iface, config) {
            Ok(Channel::Ethernet(_, rx)) => rx,
            Ok(_) => {
                return Err(sock_err(std::io::Error::other("not an Ethernet channel")));
            }
            Err(e) => return Err(sock_err(e)),
        };
        let pcap = match &spec.write {
            Some(path) => {
                let pcap_err = |e: String| CaptureError::Pcap {
                    path: path.display().to_string(),
                    why: e,
                };
                let file = File::create(path).map_err(|e| pcap_err(e.to_string()))?;
                let header = PcapHeader {
                    snaplen: SNAPLEN as u32,
                    datalink: DataLink::ETHERNET,
                    ..PcapHeader::default()
                };
                Some(
                    PcapWriter::with_header(BufWriter::new(file), header)
                        .map_err(|e| pcap_err(e.to_string()))?,
                )
            }
            None => None,
        };
        Ok((fd, rx, pcap))
    })();
    let (fd, mut rx, mut pcap) = match opened {
        Ok(x) => {
            let _ = ready.send(Ok(()));
            x
        }
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    // Counters from before the socket was bound to the interface are not ours.
    let _ = kernel_stats(fd);
    let (lock, cv) = &*shared;
    let mut last_stats = Instant::now();
    let mut error = None;
    let mut matched = 0u64;
    let mut received = 0u64;
    let mut written = 0u64;
    let (mut k_packets, mut k_drops) = (0u64, 0u64);
    let mut batch: Vec<Packet> = Vec::with_capacity(BATCH);
    let mut last_publish = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        let frame = match rx.next() {
            Ok(f) => Some(f),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::Interrupted
                ) =>
            {
                None
            }
            Err(e) => {
                error = Some(CaptureError::Read {
                    ns: ns.clone(),
                    iface: iface_name.clone(),
                    why: e.to_string(),
                });
                break;
            }
        };
        let frame_was_none = frame.is_none();
        let mut packet = None;
        if let Some(frame) = frame {
            received += 1;
            // Read before the next receive: the ioctl reports the last packet read.
            let ts = kernel_stamp(fd).unwrap_or_else(SystemTime::now);
            let decoded = decode(frame);
            if spec.filter.as_ref().is_none_or(|f| f.matches(&decoded)) {
                matched += 1;
                if let Some(w) = pcap.as_mut() {
                    let since = ts.duration_since(UNIX_EPOCH).unwrap_or_default();
                    let p = PcapPacket::new(since, frame.len() as u32, frame);
                    if let Err(e) = w.write_packet(&p) {
                        error = Some(CaptureError::Pcap {
                            path: spec
                                .write
                                .as_ref()
                                .map(|p| p.display().to_string())
                                .unwrap_or_default(),
                            why: e.to_string(),
                        });
                        break;
                    }
                    written += 1;
                }
                packet = Some(Packet {
                    number: matched,
                    time: now_secs(ts),
                    length: frame.len(),
                    data: frame.to_vec(),
                    decoded,
                });
            }
        }
        if let Some(p) = packet {
            batch.push(p);
        }
        let stats_due = last_stats.elapsed() >= TICK;
        if stats_due {
            let (p, d) = kernel_stats(fd);
            k_packets += p;
            k_drops += d;
            last_stats = Instant::now();
        }
        let done = spec.count.is_some_and(|c| matched >= c);
        // Hand packets over in batches: one lock and one wake-up per batch, not per frame,
        // but never holding a packet back longer than PUBLISH when traffic is slow.
        let publish = batch.len() >= BATCH
            || (!batch.is_empty() && (frame_was_none || last_publish.elapsed() >= PUBLISH));
        if publish || stats_due || done {
            last_publish = Instant::now();
            let mut g = lock.lock().unwrap_or_else(|p| p.into_inner());
            for p in batch.drain(..) {
                g.ring.push(p);
            }
            g.stats.received = received;
            g.stats.matched = matched;
            g.stats.written = written;
            g.stats.kernel_packets = k_packets;
            g.stats.kernel_drops = k_drops;
            drop(g);
            cv.notify_all();
        }
        if done {
            break;
        }
    }
    if let Some(w) = pcap {
        if let Err(e) = w.into_writer().flush() {
            error.get_or_insert(CaptureError::Pcap {
                path: spec
                    .write
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                why: e.to_string(),
            });
        }
    }
    let (p, d) = kernel_stats(fd);
    let mut g = lock.lock().unwrap_or_else(|p| p.into_inner());
    for p in batch {
        g.ring.push(p);
    }
    g.stats.received = received;
    g.stats.matched = matched;
    g.stats.written = written;
    g.stats.kernel_packets = k_packets + p;
    g.stats.kernel_drops = k_drops + d;
    g.error = error;
    g.finished = true;
    drop(g);
    cv.notify_all();
}
