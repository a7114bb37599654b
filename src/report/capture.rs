//! `netlens capture` as text: one line per packet, and the closing counters.

use crate::trace::capture::{Packet, Stats};

/// One packet: the time of day (UTC, microseconds), its decoded summary and its length.
pub fn line(p: &Packet) -> String {
    let secs = p.time as i64;
    let micros = ((p.time - secs as f64) * 1e6) as i64;
    let day = secs.rem_euclid(86_400);
    format!(
        "{:02}:{:02}:{:02}.{micros:06} {} ({} bytes)",
        day / 3600,
        day / 60 % 60,
        day % 60,
        p.summary(),
        p.length
    )
}

/// The counters printed when the capture ends.
pub fn summary(s: &Stats, write: Option<&std::path::Path>) -> String {
    let mut t = format!(
        "{} packets matched ({} received), {} dropped by the kernel",
        s.matched, s.received, s.kernel_drops
    );
    if s.display_evicted > 0 {
        t.push_str(&format!(
            ", {} not printed (output too slow; the pcap has them)",
            s.display_evicted
        ));
    }
    if let Some(w) = write {
        t.push_str(&format!(", {} written to {}", s.written, w.display()));
    }
    t
}
