//! The capture thread: it enters the namespace, opens the ring and the pcap there, then reads
//! the ring's blocks — frames filtered, written, decoded only when shown, batched into the
//! display ring — until stopped, the count is reached or a read fails, publishing counters as
//! it goes.

use std::ffi::CString;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::fd::AsFd;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use nix::sched::{setns, CloneFlags};
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::DataLink;

use super::rx_ring::{Frame, RxRing};
use super::{bpf, ring_filter};
use super::{
    CaptureError, Packet, Shared, Spec, Stats, BATCH, PUBLISH, QUIET_STATS, SNAPLEN, TICK,
};
use crate::trace::decode::decode;

type Pcap = PcapWriter<BufWriter<File>>;
/// The ring, whether the kernel runs the filter, and the pcap file.
type Opened = (RxRing, bool, Option<Pcap>);

/// A failure writing the pcap file `spec` names.
fn pcap_error(spec: &Spec, why: String) -> CaptureError {
    CaptureError::Pcap {
        path: spec
            .write
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        why,
    }
}

/// The interface's index, looked up from inside the namespace (indexes are per namespace).
fn ifindex(name: &str) -> Option<u32> {
    let c = CString::new(name).ok()?;
    // SAFETY: `c` is a valid NUL-terminated string for the call.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    (i != 0).then_some(i)
}

/// Enters the namespace and opens there the ring on the interface, and the pcap file.
fn open(spec: &Spec) -> Result<Opened, CaptureError> {
    let ns = &spec.ns_name;
    let iface_name = &spec.iface;
    setns(spec.ns.as_fd(), CloneFlags::CLONE_NEWNET).map_err(|source| CaptureError::Enter {
        ns: ns.clone(),
        source,
    })?;
    let Some(index) = ifindex(iface_name) else {
        return Err(CaptureError::NoInterface {
            ns: ns.clone(),
            iface: iface_name.clone(),
            have: pnet_datalink::interfaces()
                .into_iter()
                .map(|i| i.name)
                .collect(),
        });
    };
    let prog = spec
        .filter
        .as_ref()
        .and_then(|f| bpf::compile(f, SNAPLEN as u32));
    let ring = RxRing::open(index, spec.kernel_ring, prog.as_deref()).map_err(|source| {
        CaptureError::Socket {
            ns: ns.clone(),
            iface: iface_name.clone(),
            source,
        }
    })?;
    let pcap = spec.write.as_deref().map(open_pcap).transpose()?;
    Ok((ring, prog.is_some(), pcap))
}

fn open_pcap(path: &Path) -> Result<Pcap, CaptureError> {
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
    // Large writes, as tcpdump's stdio buffer does: few system calls per block of frames.
    PcapWriter::with_header(BufWriter::with_capacity(1 << 20, file), header)
        .map_err(|e| pcap_err(e.to_string()))
}

/// What the thread has counted, published to the readers with each batch.
#[derive(Default, Clone, Copy)]
struct Counts {
    received: u64,
    matched: u64,
    written: u64,
    kernel_packets: u64,
    kernel_drops: u64,
}

impl Counts {
    fn publish(&self, stats: &mut Stats) {
        stats.received = self.received;
        stats.matched = self.matched;
        stats.written = self.written;
        stats.kernel_packets = self.kernel_packets;
        stats.kernel_drops = self.kernel_drops;
    }
}

/// The thread's state between frames.
struct Reader<'a> {
    spec: &'a Spec,
    shared: &'a (Mutex<Shared>, Condvar),
    /// The kernel runs the filter: only [`bpf::passthrough`] frames still need it here.
    in_kernel: bool,
    pcap: Option<Pcap>,
    counts: Counts,
    batch: Vec<Packet>,
    last_stats: Instant,
    last_publish: Instant,
}

impl Reader<'_> {
    fn done(&self) -> bool {
        self.spec.count.is_some_and(|c| self.counts.matched >= c)
    }

    /// One frame from the ring: filtered, written to the pcap, and batched for display; it is
    /// decoded only when displayed (and only once it matched).
    fn take(&mut self, frame: &Frame<'_>) -> Result<(), CaptureError> {
        self.counts.received += 1;
        let data = frame.data;
        let filter = self
            .spec
            .filter
            .as_ref()
            .filter(|_| !self.in_kernel || bpf::passthrough(data));
        // Judged in the ring, allocating nothing: a frame filtered out costs a walk over its
        // headers, never a decode.
        if filter.is_some_and(|f| !ring_filter::matches(f, data)) {
            return Ok(());
        }
        self.counts.matched += 1;
        let since = Duration::new(u64::from(frame.sec), frame.nsec);
        if let Some(w) = self.pcap.as_mut() {
            let p = PcapPacket::new(since, frame.wire_len, data);
            if let Err(e) = w.write_packet(&p) {
                return Err(pcap_error(self.spec, e.to_string()));
            }
            self.counts.written += 1;
        }
        if self.spec.display {
            self.batch.push(Packet {
                number: self.counts.matched,
                time: since.as_secs_f64(),
                length: frame.wire_len as usize,
                data: data.to_vec(),
                decoded: decode(data),
            });
        }
        Ok(())
    }

    /// After each read: the kernel's counters when due, and the batch handed over. True when
    /// the count asked for is reached.
    fn tick(&mut self, ring: &RxRing, idle: bool) -> bool {
        // Without a display nobody reads counters before the end: the kernel's are read
        // rarely (they are 32-bit and reset on read, so never let them run for long).
        let every = if self.spec.display { TICK } else { QUIET_STATS };
        let stats_due = self.last_stats.elapsed() >= every;
        if stats_due {
            let (p, d) = ring.stats();
            self.counts.kernel_packets += p;
            self.counts.kernel_drops += d;
            self.last_stats = Instant::now();
        }
        let done = self.done();
        // Hand packets over in batches: one lock and one wake-up per batch, not per frame,
        // but never holding a packet back longer than PUBLISH when traffic is slow.
        let publish = self.batch.len() >= BATCH
            || (!self.batch.is_empty() && (idle || self.last_publish.elapsed() >= PUBLISH));
        if publish || stats_due || done {
            self.last_publish = Instant::now();
            let (lock, cv) = self.shared;
            let mut g = lock.lock().unwrap_or_else(|p| p.into_inner());
            for p in self.batch.drain(..) {
                g.ring.push(p);
            }
            self.counts.publish(&mut g.stats);
            drop(g);
            cv.notify_all();
        }
        done
    }

    /// The pcap flushed, the last packets and counters handed over, and the end announced.
    fn finish(self, ring: &RxRing, error: Option<CaptureError>) {
        let mut error = error;
        if let Some(w) = self.pcap {
            if let Err(e) = w.into_writer().flush() {
                error.get_or_insert(pcap_error(self.spec, e.to_string()));
            }
        }
        let (p, d) = ring.stats();
        let (lock, cv) = self.shared;
        let mut g = lock.lock().unwrap_or_else(|p| p.into_inner());
        for p in self.batch {
            g.ring.push(p);
        }
        let mut counts = self.counts;
        counts.kernel_packets += p;
        counts.kernel_drops += d;
        counts.publish(&mut g.stats);
        g.error = error;
        g.finished = true;
        drop(g);
        cv.notify_all();
    }
}

pub(super) fn run(
    spec: Spec,
    shared: Arc<(Mutex<Shared>, Condvar)>,
    stop: Arc<AtomicBool>,
    wake: i32,
    ready: std::sync::mpsc::SyncSender<Result<(), CaptureError>>,
) {
    let (mut ring, in_kernel, pcap) = match open(&spec) {
        Ok(x) => {
            let _ = ready.send(Ok(()));
            x
        }
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let mut r = Reader {
        spec: &spec,
        shared: &shared,
        in_kernel,
        pcap,
        counts: Counts::default(),
        batch: Vec::with_capacity(BATCH),
        last_stats: Instant::now(),
        last_publish: Instant::now(),
    };
    let error = read(&mut ring, &mut r, &stop, wake).err();
    r.finish(&ring, error);
}

/// Reads block after block until stopped (the flag, or the `wake` eventfd written), the count
/// is reached or something fails. Between blocks it sleeps in poll: with a display, at most
/// [`TICK`] (to publish counters); without, until the kernel retires a block or a stop — one
/// wake-up per block, as libpcap.
fn read(
    ring: &mut RxRing,
    r: &mut Reader<'_>,
    stop: &AtomicBool,
    wake: i32,
) -> Result<(), CaptureError> {
    let timeout = if r.spec.display {
        TICK.as_millis() as i32
    } else {
        -1
    };
    while !stop.load(Ordering::Relaxed) {
        let mut got = false;
        if let Some(mut block) = ring.next_block() {
            got = true;
            while let Some(frame) = block.next_frame() {
                if r.done() {
                    break;
                }
                r.take(&frame)?;
            }
        }
        if !got {
            let stopped = ring
                .wait_or(wake, timeout)
                .map_err(|e| CaptureError::Read {
                    ns: r.spec.ns_name.clone(),
                    iface: r.spec.iface.clone(),
                    why: e.to_string(),
                })?;
            if stopped {
                break;
            }
        }
        let idle = !got;
        if r.tick(ring, idle) {
            break;
        }
    }
    Ok(())
}
