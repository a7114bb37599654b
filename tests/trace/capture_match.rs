//! The in-process filter over a frame's bytes (`ring_filter`, what judges VLAN/VXLAN frames and
//! filters too large for BPF in the ring) against the reference: the same filter over the
//! decoded frame. Random frames (stacks of VLAN tags, IPv4/IPv6/ARP, TCP/UDP/ICMP, VXLAN with
//! a frame inside, then cut short or with bytes flipped) and random filters must get the same
//! answer from both; and judging must not allocate, which a counting allocator on this thread
//! checks (it also sees decoding allocate, so the count is real).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;

use netlens::trace::capture::ring_filter;
use netlens::trace::decode::decode;
use netlens::trace::filter::Filter;
use proptest::prelude::*;

use crate::capture_frames::{eth, ipv4, ipv6, tcp, udp, vlan, zoo};

thread_local! {
    /// Allocations made by this thread (const, no destructor: safe to touch from `alloc`).
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

/// The system allocator, counting per thread, so tests running beside this one do not count.
struct Counting;

fn count() {
    let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: every call is passed on to the system allocator unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller's contract is passed on.
        unsafe { System.alloc(l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        count();
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, size: usize) -> *mut u8 {
        count();
        // SAFETY: as above.
        unsafe { System.realloc(p, l, size) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

fn allocs() -> u64 {
    ALLOCS.with(Cell::get)
}

/// A small deterministic generator (splitmix64), driven by proptest's seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<T: Copy>(&mut self, v: &[T]) -> T {
        v[self.below(v.len())]
    }
}

const V4: [[u8; 4]; 4] = [
    [10, 0, 0, 1],
    [10, 0, 0, 2],
    [10, 244, 1, 2],
    [192, 168, 1, 1],
];
const V6: [&str; 3] = ["fd00::1", "fd00::2", "fe80::1"];
const PORTS: [u16; 6] = [53, 80, 4789, 8472, 9998, 31000];

/// A transport payload for IP protocol `proto`; UDP to a VXLAN port may carry a whole frame.
fn l4(r: &mut Rng, proto: u8, depth: usize) -> Vec<u8> {
    match proto {
        6 => tcp(r.pick(&PORTS), r.pick(&PORTS)),
        17 => {
            let dport = r.pick(&PORTS);
            let body = if depth < 7 && r.below(3) > 0 {
                // The I flag set (0x08) or not.
                let mut v = vec![r.pick(&[8u8, 8, 0]), 0, 0, 0, 0, 0, 1, 0];
                v.extend_from_slice(&frame(r, depth + 1));
                v
            } else {
                b"payload".to_vec()
            };
            udp(r.pick(&PORTS), dport, &body)
        }
        _ => vec![8, 0, 0, 0, 0, 7, 0, 1],
    }
}

/// A frame: an IP/ARP/other packet, under 0–5 VLAN tags of the three tag types.
fn frame(r: &mut Rng, depth: usize) -> Vec<u8> {
    let mut f = match r.below(5) {
        0 | 1 => {
            let proto = r.pick(&[6u8, 17, 17, 1, 58, 99]);
            let frag = r.pick(&[0u16, 0, 0, 100, 0x2000]);
            let body = l4(r, proto, depth);
            ipv4(
                proto,
                r.pick(&V4),
                r.pick(&V4),
                frag,
                r.below(3) as u8,
                &body,
            )
        }
        2 | 3 => {
            let nh = r.pick(&[6u8, 17, 17, 58, 1]);
            let body = l4(r, nh, depth);
            ipv6(nh, r.pick(&V6), r.pick(&V6), &body)
        }
        _ => {
            let mut a = vec![0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1];
            a.extend_from_slice(&r.pick(&V4));
            a.extend_from_slice(&[0; 6]);
            a.extend_from_slice(&r.pick(&V4));
            eth(r.pick(&[0x0806, 0x0806, 0x88cc]), &a)
        }
    };
    for _ in 0..r.pick(&[0, 0, 0, 1, 2, 5]) {
        let mut tagged = vlan(r.below(4095) as u16, &f);
        let tpid: u16 = r.pick(&[0x8100, 0x9100, 0x88a8]);
        tagged[12..14].copy_from_slice(&tpid.to_be_bytes());
        f = tagged;
    }
    f
}

/// A filter in tcpdump's words, nested up to `depth` levels.
fn filter_text(r: &mut Rng, depth: usize) -> String {
    if depth > 0 && r.below(2) == 0 {
        let a = filter_text(r, depth - 1);
        let b = filter_text(r, depth - 1);
        return match r.below(3) {
            0 => format!("({a} and {b})"),
            1 => format!("({a} or {b})"),
            _ => format!("not ({a})"),
        };
    }
    let dir = r.pick(&["", "src ", "dst "]);
    match r.below(6) {
        0 => {
            let a = V4[r.below(4)];
            format!("{dir}host {}.{}.{}.{}", a[0], a[1], a[2], a[3])
        }
        1 => format!("{dir}host {}", r.pick(&V6)),
        2 => format!(
            "{dir}net {}",
            r.pick(&[
                "10.0.0.0/24",
                "10.244.0.0/16",
                "192.168.0.0/16",
                "fd00::/64"
            ])
        ),
        3 => format!("{dir}port {}", r.pick(&PORTS)),
        4 => format!(
            "{dir}portrange {}",
            r.pick(&["50-90", "4000-9000", "8472-9998"])
        ),
        _ => r
            .pick(&[
                "tcp", "udp", "icmp", "icmp6", "arp", "ip", "ip6", "vlan", "vxlan",
            ])
            .to_string(),
    }
}

fn parse(text: &str) -> Filter {
    Filter::parse(&[text.to_string()])
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .expect("non-empty")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// Same answer as the decoded reference, on whole, cut and corrupted frames.
    #[test]
    fn bytes_filter_agrees_with_the_decoded_filter(
        seed in any::<u64>(),
        cut in 0usize..400,
        flips in proptest::collection::vec((0usize..400, any::<u8>()), 0..3),
    ) {
        let mut r = Rng(seed);
        let mut f = frame(&mut r, 0);
        if r.below(3) == 0 {
            f.truncate(cut);
        }
        for (at, v) in flips {
            if let Some(b) = f.get_mut(at) {
                *b = v;
            }
        }
        let decoded = decode(&f);
        for _ in 0..8 {
            let text = filter_text(&mut r, 3);
            let filter = parse(&text);
            prop_assert_eq!(
                ring_filter::matches(&filter, &f),
                filter.matches(&decoded),
                "`{}` on {:02x?}", text, f
            );
        }
    }
}

/// VLAN tags and VXLAN nested past the decoder's cap: both stop at the same depth.
#[test]
fn nesting_past_the_cap_agrees() {
    let mut f = ipv4(6, [10, 0, 0, 1], [10, 0, 0, 2], 0, 0, &tcp(1, 80));
    for depth in 0..8 {
        f = if depth % 2 == 0 {
            vlan(depth, &f)
        } else {
            let mut v = vec![8, 0, 0, 0, 0, 0, 1, 0];
            v.extend_from_slice(&f);
            ipv4(
                17,
                [192, 168, 1, 1],
                [192, 168, 1, 2],
                0,
                0,
                &udp(5, 4789, &v),
            )
        };
        for text in ["tcp", "port 80", "host 10.0.0.2", "vlan", "vxlan", "udp"] {
            let filter = parse(text);
            assert_eq!(
                ring_filter::matches(&filter, &f),
                filter.matches(&decode(&f)),
                "`{text}` at depth {depth}"
            );
        }
    }
}

/// Judging a frame allocates nothing — for every kind of frame and filter, deep VXLAN and
/// VLAN included — while decoding the same frame does (the counter works).
#[test]
fn judging_a_frame_allocates_nothing() {
    let mut frames = zoo();
    let mut r = Rng(7);
    frames.extend((0..200).map(|_| frame(&mut r, 0)));
    let filters: Vec<Filter> = (0..200)
        .map(|_| parse(&filter_text(&mut r, 3)))
        .chain(
            [
                "host 10.244.2.2",
                "vxlan and port 8080",
                "vlan and not (tcp or udp)",
                "net fd00::/64 or dst portrange 50-90",
            ]
            .map(parse),
        )
        .collect();
    let mut hits = 0u64;
    let before = allocs();
    for f in &filters {
        for fr in &frames {
            hits += u64::from(black_box(ring_filter::matches(black_box(f), black_box(fr))));
        }
    }
    let during = allocs() - before;
    assert_eq!(
        during,
        0,
        "{during} allocations judging {} frames × {} filters",
        frames.len(),
        filters.len()
    );
    assert!(hits > 0 && hits < (frames.len() * filters.len()) as u64);
    let before = allocs();
    black_box(decode(black_box(&frames[0])));
    assert!(allocs() > before, "the counter sees decoding allocate");
}
