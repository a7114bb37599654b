//! The capture thread: it enters the namespace, opens the socket and the pcap there, then
//! reads frames — decoded, filtered, written, batched into the ring — until stopped, the
//! count is reached or a read fails, publishing counters as it goes.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::fd::AsFd;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use nix::sched::{setns, CloneFlags};
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::DataLink;
use pnet_datalink::{Channel, Config, DataLinkReceiver};

use super::socket::{kernel_stamp, kernel_stats, packet_socket};
use super::{CaptureError, Packet, Shared, Spec, Stats, BATCH, PUBLISH, SNAPLEN, TICK};
use crate::trace::decode::decode;

type Pcap = PcapWriter<BufWriter<File>>;
/// The socket's descriptor (for its counters), pnet's receiver on it, and the pcap file.
type Opened = (i32, Box<dyn DataLinkReceiver>, Option<Pcap>);

fn now_secs(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

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

/// Enters the namespace and opens there the socket on the interface, and the pcap file.
fn open(spec: &Spec) -> Result<Opened, CaptureError> {
    let ns = &spec.ns_name;
    let iface_name = &spec.iface;
    setns(spec.ns.as_fd(), CloneFlags::CLONE_NEWNET).map_err(|source| CaptureError::Enter {
        ns: ns.clone(),
        source,
    })?;
    // Interfaces are looked up from inside: names and indexes are per namespace.
    let all = pnet_datalink::interfaces();
    let Some(iface) = all.iter().find(|i| &i.name == iface_name).cloned() else {
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
    let pcap = spec.write.as_deref().map(open_pcap).transpose()?;
    Ok((fd, rx, pcap))
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
    PcapWriter::with_header(BufWriter::new(file), header).map_err(|e| pcap_err(e.to_string()))
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
    fd: i32,
    pcap: Option<Pcap>,
    counts: Counts,
    batch: Vec<Packet>,
    last_stats: Instant,
    last_publish: Instant,
}

impl Reader<'_> {
    /// One frame read: decoded and filtered; a match is written to the pcap and batched.
    fn take(&mut self, frame: &[u8]) -> Result<(), CaptureError> {
        self.counts.received += 1;
        // Read before the next receive: the ioctl reports the last packet read.
        let ts = kernel_stamp(self.fd).unwrap_or_else(SystemTime::now);
        let decoded = decode(frame);
        if !self
            .spec
            .filter
            .as_ref()
            .is_none_or(|f| f.matches(&decoded))
        {
            return Ok(());
        }
        self.counts.matched += 1;
        if let Some(w) = self.pcap.as_mut() {
            let since = ts.duration_since(UNIX_EPOCH).unwrap_or_default();
            let p = PcapPacket::new(since, frame.len() as u32, frame);
            if let Err(e) = w.write_packet(&p) {
                return Err(pcap_error(self.spec, e.to_string()));
            }
            self.counts.written += 1;
        }
        self.batch.push(Packet {
            number: self.counts.matched,
            time: now_secs(ts),
            length: frame.len(),
            data: frame.to_vec(),
            decoded,
        });
        Ok(())
    }

    /// After each read: the kernel's counters when due, and the batch handed over. True when
    /// the count asked for is reached.
    fn tick(&mut self, idle: bool) -> bool {
        let stats_due = self.last_stats.elapsed() >= TICK;
        if stats_due {
            let (p, d) = kernel_stats(self.fd);
            self.counts.kernel_packets += p;
            self.counts.kernel_drops += d;
            self.last_stats = Instant::now();
        }
        let done = self.spec.count.is_some_and(|c| self.counts.matched >= c);
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
    fn finish(self, error: Option<CaptureError>) {
        let mut error = error;
        if let Some(w) = self.pcap {
            if let Err(e) = w.into_writer().flush() {
                error.get_or_insert(pcap_error(self.spec, e.to_string()));
            }
        }
        let (p, d) = kernel_stats(self.fd);
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
    ready: std::sync::mpsc::SyncSender<Result<(), CaptureError>>,
) {
    let (fd, mut rx, pcap) = match open(&spec) {
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
    let mut r = Reader {
        spec: &spec,
        shared: &shared,
        fd,
        pcap,
        counts: Counts::default(),
        batch: Vec::with_capacity(BATCH),
        last_stats: Instant::now(),
        last_publish: Instant::now(),
    };
    let mut error = None;
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
                    ns: spec.ns_name.clone(),
                    iface: spec.iface.clone(),
                    why: e.to_string(),
                });
                break;
            }
        };
        let idle = frame.is_none();
        if let Some(frame) = frame {
            if let Err(e) = r.take(frame) {
                error = Some(e);
                break;
            }
        }
        if r.tick(idle) {
            break;
        }
    }
    r.finish(error);
}
