//! The kernel ring under `netlens capture`: a burst arrives whole with its lengths and ordered
//! timestamps, a tiny ring flooded counts the kernel's drops, and a pcap written with `-q -w`
//! (straight from the ring, undecoded) reads back in tcpdump with the same packet count.

use crate::capture::{finish, pair, spawn_capture, wait_listening};
use crate::capture_frames::{ipv4, send_raw, udp};
use crate::common;

use std::fs::File;
use std::time::{Duration, Instant};

use common::world::{in_world, sh};
use netlens::trace::capture::{Capture, RingSize, Spec};
use netlens::trace::filter::Filter;

/// `n` UDP frames to port 7777 of sizes growing with their number.
fn burst(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let payload = vec![i as u8; i % 1200];
            ipv4(
                17,
                [10, 91, 3, 1],
                [10, 91, 3, 2],
                0,
                0,
                &udp(40000, 7777, &payload),
            )
        })
        .collect()
}

fn spec(ring: Option<RingSize>) -> Spec {
    let ns = File::open("/run/netns/capr").expect("netns");
    let mut s = Spec::new(ns, "capr", "r0");
    s.filter = Filter::parse(&["udp port 7777".to_string()]).unwrap();
    if let Some(r) = ring {
        s.kernel_ring = r;
    }
    s
}

#[test]
fn ring_delivers_a_burst_whole_and_in_order() {
    in_world(
        "capture_ring::ring_delivers_a_burst_whole_and_in_order",
        || {
            pair();
            let cap = Capture::start(spec(None)).expect("capture");
            let frames = burst(2000);
            send_raw("capl", "l0", frames.clone());
            let mut got = Vec::new();
            let t = Instant::now();
            while got.len() < frames.len() && t.elapsed() < Duration::from_secs(10) {
                got.extend(cap.next_batch(Duration::from_millis(100)).0);
            }
            let stats = cap.finish().expect("capture ok");
            assert_eq!(got.len(), frames.len(), "{stats:?}");
            assert_eq!(stats.kernel_drops, 0, "{stats:?}");
            for (i, (p, f)) in got.iter().zip(&frames).enumerate() {
                assert_eq!(p.number, i as u64 + 1);
                assert_eq!(p.length, f.len(), "packet {i}");
                assert_eq!(&p.data, f, "packet {i}");
            }
            assert!(
                got.windows(2).all(|w| w[0].time <= w[1].time),
                "timestamps out of order"
            );
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs_f64();
            assert!(
                (now - got[0].time).abs() < 60.0,
                "kernel timestamp {}",
                got[0].time
            );
        },
    );
}

#[test]
fn a_tiny_ring_flooded_counts_the_kernels_drops() {
    in_world(
        "capture_ring::a_tiny_ring_flooded_counts_the_kernels_drops",
        || {
            pair();
            let tiny = RingSize {
                block: 4096,
                blocks: 2,
                snaplen: 256,
                retire_ms: 50,
            };
            let cap = Capture::start(spec(Some(tiny))).expect("capture");
            let sent = 20_000;
            send_raw("capl", "l0", burst(sent));
            std::thread::sleep(Duration::from_millis(300));
            let stats = cap.finish().expect("capture ok");
            assert!(stats.kernel_drops > 0, "{stats:?}");
            assert!(stats.received > 0, "{stats:?}");
            assert!(
                stats.received + stats.kernel_drops <= sent as u64,
                "{stats:?}"
            );
            assert!(
                stats.kernel_packets >= stats.received + stats.kernel_drops,
                "{stats:?}"
            );
        },
    );
}

#[test]
fn quiet_write_reads_back_in_tcpdump() {
    in_world("capture_ring::quiet_write_reads_back_in_tcpdump", || {
        pair();
        let dir = tempfile::tempdir().expect("tmp");
        let pcap = dir.path().join("burst.pcap");
        let pcap_s = pcap.to_str().expect("path");
        let n = 700;
        let mut child = spawn_capture(&[
            "capture",
            "--ns",
            "capr",
            "-i",
            "r0",
            "-q",
            "-c",
            &n.to_string(),
            "-w",
            pcap_s,
            "udp",
            "and",
            "dst",
            "port",
            "7777",
        ]);
        wait_listening(&mut child);
        let frames = burst(n);
        send_raw("capl", "l0", frames.clone());
        let (out, code) = finish(child);
        assert_eq!(code, 0);
        assert!(out.is_empty(), "-q prints nothing: {out}");
        let read = sh(&["tcpdump", "-nr", pcap_s]);
        let lines: Vec<&str> = read.lines().collect();
        assert_eq!(lines.len(), n, "{read}");
        for (l, f) in lines.iter().zip(&frames) {
            assert!(l.contains("10.91.3.1.40000 > 10.91.3.2.7777: UDP"), "{l}");
            assert!(l.contains(&format!("length {}", f.len() - 42)), "{l}");
        }
    });
}
