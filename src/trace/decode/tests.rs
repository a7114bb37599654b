//! Frames built by hand, byte by byte, and the line each decodes to.

use super::*;

const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0a];
const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0b];

fn eth(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&MAC_B);
    f.extend_from_slice(&MAC_A);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

fn ipv4(proto: u8, src: [u8; 4], dst: [u8; 4], payload: &[u8]) -> Vec<u8> {
    let total = (20 + payload.len()) as u16;
    let mut p = vec![0x45, 0];
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&[0, 1, 0x40, 0, 64, proto, 0, 0]);
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    p.extend_from_slice(payload);
    p
}

fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = Vec::new();
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    u
}

fn tcp_syn(sport: u16, dport: u16) -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(&sport.to_be_bytes());
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&7u32.to_be_bytes());
    t.extend_from_slice(&0u32.to_be_bytes());
    t.extend_from_slice(&[0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0]);
    t
}

fn echo_request() -> Vec<u8> {
    vec![8, 0, 0, 0, 0x12, 0x34, 0, 5, b'p', b'i', b'n', b'g']
}

#[test]
fn tcp_syn_over_ipv4() {
    let f = eth(
        0x0800,
        &ipv4(6, [10, 1, 0, 2], [10, 2, 0, 3], &tcp_syn(40000, 443)),
    );
    let d = decode(&f);
    assert_eq!(
        d.to_string(),
        "IP 10.1.0.2.40000 > 10.2.0.3.443: TCP [S] seq 7 len 0"
    );
    assert_eq!(
        d.outer_ip(),
        Some(("10.1.0.2".parse().unwrap(), "10.2.0.3".parse().unwrap()))
    );
}

#[test]
fn icmp_echo_in_a_vlan() {
    let mut tagged = vec![0x00, 0x2a, 0x08, 0x00]; // VLAN 42, then IPv4
    tagged.extend(ipv4(1, [192, 168, 7, 1], [192, 168, 7, 9], &echo_request()));
    let d = decode(&eth(0x8100, &tagged));
    assert_eq!(
        d.to_string(),
        "vlan 42 IP 192.168.7.1 > 192.168.7.9: ICMP echo request id 4660 seq 5"
    );
}

#[test]
fn arp_request_and_reply() {
    let arp = |op: u8, sip: [u8; 4], tip: [u8; 4]| {
        let mut a = vec![0, 1, 8, 0, 6, 4, 0, op];
        a.extend_from_slice(&MAC_A);
        a.extend_from_slice(&sip);
        a.extend_from_slice(&[0; 6]);
        a.extend_from_slice(&tip);
        eth(0x0806, &a)
    };
    assert_eq!(
        decode(&arp(1, [172, 20, 0, 2], [172, 20, 0, 1])).to_string(),
        "ARP who-has 172.20.0.1 tell 172.20.0.2"
    );
    assert_eq!(
        decode(&arp(2, [172, 20, 0, 1], [172, 20, 0, 2])).to_string(),
        "ARP 172.20.0.1 is-at 02:00:00:00:00:0a"
    );
}

#[test]
fn vxlan_shows_the_pod_packet_inside() {
    let inner = eth(
        0x0800,
        &ipv4(6, [10, 244, 1, 2], [10, 244, 2, 7], &tcp_syn(33000, 8080)),
    );
    let mut vx = vec![0x08, 0, 0, 0, 0, 0, 0x2a, 0]; // I flag, VNI 42
    vx.extend(inner);
    let outer = eth(
        0x0800,
        &ipv4(
            17,
            [192, 168, 1, 11],
            [192, 168, 1, 12],
            &udp(51000, 4789, &vx),
        ),
    );
    let d = decode(&outer);
    assert_eq!(
        d.to_string(),
        "IP 192.168.1.11.51000 > 192.168.1.12.4789: UDP len 62 VXLAN vni 42: \
         IP 10.244.1.2.33000 > 10.244.2.7.8080: TCP [S] seq 7 len 0"
    );
    assert_eq!(
        d.inner_ip(),
        Some(("10.244.1.2".parse().unwrap(), "10.244.2.7".parse().unwrap()))
    );
}

#[test]
fn ipv6_neighbour_solicitation() {
    let mut ip6 = vec![0x60, 0, 0, 0, 0, 8, 58, 255];
    ip6.extend_from_slice(&"fe80::1".parse::<std::net::Ipv6Addr>().unwrap().octets());
    ip6.extend_from_slice(
        &"ff02::1:ff00:2"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets(),
    );
    ip6.extend_from_slice(&[135, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(
        decode(&eth(0x86dd, &ip6)).to_string(),
        "IP6 fe80::1 > ff02::1:ff00:2: ICMP6 neighbor solicitation"
    );
}

#[test]
fn short_frames_say_so_and_never_panic() {
    let full = eth(
        0x0800,
        &ipv4(6, [10, 0, 0, 1], [10, 0, 0, 2], &tcp_syn(1, 2)),
    );
    for n in 0..full.len() {
        let _ = decode(&full[..n]).to_string();
    }
    assert!(decode(&full[..20]).to_string().contains("truncated"));
    assert!(decode(&eth(0x88cc, &[1, 2, 3]))
        .to_string()
        .contains("ethertype 0x88cc"));
}
