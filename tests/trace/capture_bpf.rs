//! The capture filter compiled to classic BPF, with the kernel as the oracle: the program is
//! attached to a real ring, real frames of every kind go over a veth, and the frames the kernel
//! lets through must be exactly those the in-process filter selects — for every form of the
//! filter language. Frames whose inner layers matter (VLAN, VXLAN) must all get through, for
//! the in-process filter to judge.

use crate::capture::pair;
use crate::capture_frames::{send_raw, zoo};
use crate::common;

use std::fs::File;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use common::world::in_world;
use netlens::trace::capture::bpf::{compile, passthrough};
use netlens::trace::capture::rx_ring::{RingSize, RxRing};
use netlens::trace::decode::decode;
use netlens::trace::filter::Filter;

const SMALL: RingSize = RingSize {
    block: 1 << 16,
    blocks: 4,
    snaplen: 2048,
    retire_ms: 10,
};

/// Every frame the ring delivers until `quiet` passes with none.
fn drain(ring: &mut RxRing, quiet: Duration) -> Vec<Vec<u8>> {
    let mut got = Vec::new();
    let mut last = Instant::now();
    while last.elapsed() < quiet {
        let mut any = false;
        if let Some(mut b) = ring.next_block() {
            any = true;
            while let Some(f) = b.next_frame() {
                got.push(f.data.to_vec());
            }
        }
        if any {
            last = Instant::now();
        } else {
            ring.wait(20).expect("poll");
        }
    }
    got
}

const FILTERS: &[&str] = &[
    "host 10.91.3.1",
    "src host 10.91.3.1",
    "dst host 10.91.3.9",
    "host fd00::2",
    "src host fe80::1",
    "net 10.91.0.0/16",
    "src net 192.168.0.0/16",
    "dst net fd00::/64",
    "net fd00:1::/32",
    "port 53",
    "src port 5000",
    "dst port 80",
    "portrange 30000-32767",
    "dst portrange 50-90",
    "tcp",
    "udp",
    "icmp",
    "icmp6",
    "arp",
    "ip",
    "ip6",
    "vlan",
    "vxlan",
    "not udp",
    "tcp or icmp",
    "ip and not port 53",
    "(udp or tcp) and dst portrange 50-90",
    "host 10.244.2.2",
    "!arp && !ip6",
];

#[test]
fn kernel_program_selects_what_the_filter_selects() {
    in_world(
        "capture_bpf::kernel_program_selects_what_the_filter_selects",
        || {
            pair();
            let frames = zoo();
            let ns = File::open("/run/netns/capr").expect("netns");
            for text in FILTERS {
                let f = Filter::parse(&[text.to_string()]).unwrap().unwrap();
                let prog = compile(&f, 2048).unwrap_or_else(|| panic!("{text}: not compiled"));
                let mut ring = std::thread::scope(|s| {
                    s.spawn(|| {
                        nix::sched::setns(ns.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET)
                            .expect("setns");
                        // SAFETY: a NUL-terminated literal.
                        let index = unsafe { libc::if_nametoindex(c"r0".as_ptr()) };
                        RxRing::open(index, SMALL, Some(&prog)).expect("ring")
                    })
                    .join()
                    .expect("open")
                });
                send_raw("capl", "l0", frames.clone());
                let got = drain(&mut ring, Duration::from_millis(150));
                let mut selected = 0;
                for (i, fr) in frames.iter().enumerate() {
                    let wanted = f.matches(&decode(fr));
                    selected += usize::from(wanted);
                    let kernel = got.contains(fr);
                    assert_eq!(
                        kernel,
                        wanted || passthrough(fr),
                        "`{text}`, frame {i}: kernel {kernel}, filter {wanted}"
                    );
                }
                // Whatever else the kernel sent (IPv6 neighbour discovery) obeys it too.
                for fr in &got {
                    assert!(
                        passthrough(fr) || f.matches(&decode(fr)),
                        "`{text}`: {fr:x?}"
                    );
                }
                // Each filter tells the frames apart: a program accepting all or none fails.
                assert!(
                    0 < selected && selected < frames.len(),
                    "`{text}`: {selected}"
                );
            }
        },
    );
}
