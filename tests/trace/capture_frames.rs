//! Hand-made Ethernet frames of every kind the capture filter knows, and a raw sender that
//! puts them on a veth as they are (so the receiving end's capture sees exactly these bytes).

use std::fs::File;
use std::net::Ipv6Addr;
use std::os::fd::AsFd;

pub fn eth(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// An IPv4 packet; `frag` is the fragment offset in 8-byte units, `options` extra header words.
pub fn ipv4(proto: u8, src: [u8; 4], dst: [u8; 4], frag: u16, options: u8, l4: &[u8]) -> Vec<u8> {
    let hl = 20 + 4 * usize::from(options);
    let total = (hl + l4.len()) as u16;
    let mut p = vec![0x45 + options, 0];
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&[0, 1]);
    p.extend_from_slice(&frag.to_be_bytes());
    p.extend_from_slice(&[64, proto, 0, 0]);
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    // No-operation options.
    p.resize(hl, 1);
    p.extend_from_slice(l4);
    eth(0x0800, &p)
}

pub fn ipv6(nh: u8, src: &str, dst: &str, l4: &[u8]) -> Vec<u8> {
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&(l4.len() as u16).to_be_bytes());
    p.extend_from_slice(&[nh, 64]);
    p.extend_from_slice(&src.parse::<Ipv6Addr>().unwrap().octets());
    p.extend_from_slice(&dst.parse::<Ipv6Addr>().unwrap().octets());
    p.extend_from_slice(l4);
    eth(0x86dd, &p)
}

pub fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = sport.to_be_bytes().to_vec();
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&(8 + payload.len() as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    u
}

pub fn tcp(sport: u16, dport: u16) -> Vec<u8> {
    let mut t = sport.to_be_bytes().to_vec();
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0]);
    t
}

pub fn icmp(kind: u8) -> Vec<u8> {
    vec![kind, 0, 0, 0, 0, 7, 0, 1]
}

pub fn arp(sender: [u8; 4], target: [u8; 4]) -> Vec<u8> {
    let mut a = vec![0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1];
    a.extend_from_slice(&sender);
    a.extend_from_slice(&[0; 6]);
    a.extend_from_slice(&target);
    eth(0x0806, &a)
}

pub fn vlan(id: u16, frame: &[u8]) -> Vec<u8> {
    // The tag goes where the inner frame's ethertype was.
    let mut tag = id.to_be_bytes().to_vec();
    tag.extend_from_slice(&frame[12..]);
    eth(0x8100, &tag)
}

/// One frame of each kind (addresses of the `pair()` world 10.91.3.0/24, fd00::/64).
pub fn zoo() -> Vec<Vec<u8>> {
    let (a, b, far) = ([10, 91, 3, 1], [10, 91, 3, 2], [192, 168, 7, 7]);
    let inner = ipv4(6, [10, 244, 1, 2], [10, 244, 2, 2], 0, 0, &tcp(33000, 8080));
    vec![
        ipv4(17, a, b, 0, 0, &udp(5000, 53, b"q")),
        ipv4(6, a, b, 0, 0, &tcp(40000, 80)),
        ipv4(6, b, a, 0, 2, &tcp(8080, 40001)),
        ipv4(1, a, b, 0, 0, &icmp(8)),
        ipv4(17, a, b, 100, 0, &udp(5000, 53, b"later fragment")),
        ipv4(17, far, b, 0, 0, &udp(31000, 30500, b"nodeport")),
        ipv6(17, "fd00::1", "fd00::2", &udp(5000, 53, b"q6")),
        ipv6(6, "fd00::2", "fd00:1::9", &tcp(443, 50000)),
        ipv6(58, "fe80::1", "ff02::2", &icmp(133)),
        arp(a, [10, 91, 3, 9]),
        vlan(7, &ipv4(17, a, b, 0, 0, &udp(5001, 53, b"tagged"))),
        // The older Q-in-Q tag (0x9100), which the decoder also reads as VLAN.
        {
            let mut f = vlan(8, &ipv4(17, a, b, 0, 0, &udp(5002, 53, b"qinq")));
            f[12..14].copy_from_slice(&0x9100u16.to_be_bytes());
            f
        },
        ipv4(
            17,
            far,
            b,
            0,
            0,
            &udp(50000, 4789, &{
                let mut v = vec![8, 0, 0, 0, 0, 0, 1, 0];
                v.extend_from_slice(&inner);
                v
            }),
        ),
    ]
}

fn enter(ns: &str) {
    let f = File::open(format!("/run/netns/{ns}")).expect("netns");
    nix::sched::setns(f.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
}

/// Sends each frame as it is out of `dev` in namespace `ns` (on a thread of its own).
pub fn send_raw(ns: &'static str, dev: &'static str, frames: Vec<Vec<u8>>) {
    std::thread::spawn(move || {
        enter(ns);
        let name = std::ffi::CString::new(dev).unwrap();
        // SAFETY: test-only raw socket calls with valid arguments; the fd is closed at the end.
        unsafe {
            let fd = libc::socket(libc::AF_PACKET, libc::SOCK_RAW, 0);
            assert!(fd >= 0, "packet socket");
            let mut sll: libc::sockaddr_ll = std::mem::zeroed();
            sll.sll_family = libc::AF_PACKET as u16;
            sll.sll_ifindex = libc::if_nametoindex(name.as_ptr()) as i32;
            let sa = (&sll as *const libc::sockaddr_ll).cast();
            let len = std::mem::size_of::<libc::sockaddr_ll>() as u32;
            for f in &frames {
                let n = libc::sendto(fd, f.as_ptr().cast(), f.len(), 0, sa, len);
                assert_eq!(n, f.len() as isize, "{}", std::io::Error::last_os_error());
            }
            libc::close(fd);
        }
    })
    .join()
    .expect("sender");
}
