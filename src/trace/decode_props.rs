//! Property tests for [`super::decode`]: a container chooses every byte of the frames netlens
//! captures in its namespace, including encapsulations stacked as deep as it likes (QinQ
//! tags, VXLAN in VXLAN, IPv4 and IPv6 with any header length, fragment offset or next
//! header) and frames cut anywhere. Decoding never panics, the nesting it follows is capped,
//! and the one-line summary is bounded and free of control characters.

use proptest::prelude::*;

use super::decode::{decode, Layer};

/// One encapsulation level, outermost first; the innermost is a payload of raw bytes.
#[derive(Debug, Clone)]
enum Wrap {
    /// An 802.1Q (0x8100) or 802.1ad (0x88a8) tag.
    Vlan { qinq: bool, id: u16 },
    /// IPv4 with a chosen IHL, total length, fragment field and protocol, carrying UDP to a
    /// VXLAN port (the next level is the inner Ethernet frame).
    Ipv4Vxlan { ihl: u8, total: u16, frag: u16 },
    /// IPv6 with a chosen payload length and next header, UDP to a VXLAN port.
    Ipv6Vxlan { plen: u16, next: u8 },
}

fn wrap() -> impl Strategy<Value = Wrap> {
    prop_oneof![
        (any::<bool>(), any::<u16>()).prop_map(|(qinq, id)| Wrap::Vlan { qinq, id }),
        (
            0u8..16,
            any::<u16>(),
            prop_oneof![Just(0u16), Just(0x4000), any::<u16>()]
        )
            .prop_map(|(ihl, total, frag)| Wrap::Ipv4Vxlan { ihl, total, frag }),
        (any::<u16>(), prop_oneof![Just(17u8), any::<u8>()])
            .prop_map(|(plen, next)| Wrap::Ipv6Vxlan { plen, next }),
    ]
}

const MAC: [u8; 12] = [2, 0, 0, 0, 0, 0xb, 2, 0, 0, 0, 0, 0xa];

fn udp_vxlan(inner: &[u8]) -> Vec<u8> {
    let mut u = Vec::new();
    u.extend_from_slice(&40000u16.to_be_bytes());
    u.extend_from_slice(&4789u16.to_be_bytes());
    u.extend_from_slice(&((16 + inner.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0, 0x08, 0, 0, 0, 0, 0, 0x2a, 0]);
    u.extend_from_slice(inner);
    u
}

/// The frame the stack builds: each IP level ends a frame (`inner` is an Ethernet frame).
fn build(stack: &[Wrap], tail: &[u8]) -> Vec<u8> {
    // Built innermost first: `body` is what follows the current Ethernet header's type field.
    let mut ethertype = 0x0800u16;
    let mut body = tail.to_vec();
    for w in stack.iter().rev() {
        match w {
            Wrap::Vlan { qinq, id } => {
                let mut v = id.to_be_bytes().to_vec();
                v.extend_from_slice(&ethertype.to_be_bytes());
                v.extend_from_slice(&body);
                body = v;
                ethertype = if *qinq { 0x88a8 } else { 0x8100 };
            }
            Wrap::Ipv4Vxlan { ihl, total, frag } => {
                let mut frame = MAC.to_vec();
                frame.extend_from_slice(&ethertype.to_be_bytes());
                frame.extend_from_slice(&body);
                let mut p = vec![0x40 | ihl, 0];
                p.extend_from_slice(&total.to_be_bytes());
                p.extend_from_slice(&[0, 1]);
                p.extend_from_slice(&frag.to_be_bytes());
                p.extend_from_slice(&[64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
                p.resize(p.len().max(usize::from(*ihl) * 4), 0);
                p.extend_from_slice(&udp_vxlan(&frame));
                body = p;
                ethertype = 0x0800;
            }
            Wrap::Ipv6Vxlan { plen, next } => {
                let mut frame = MAC.to_vec();
                frame.extend_from_slice(&ethertype.to_be_bytes());
                frame.extend_from_slice(&body);
                let mut p = vec![0x60, 0, 0, 0];
                p.extend_from_slice(&plen.to_be_bytes());
                p.extend_from_slice(&[*next, 64]);
                p.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
                p.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
                p.extend_from_slice(&udp_vxlan(&frame));
                body = p;
                ethertype = 0x86dd;
            }
        }
    }
    let mut out = MAC.to_vec();
    out.extend_from_slice(&ethertype.to_be_bytes());
    out.extend_from_slice(&body);
    out
}

fn check(frame: &[u8]) -> Result<(), TestCaseError> {
    let d = decode(frame);
    let nested = d
        .layers
        .iter()
        .filter(|l| matches!(l, Layer::Vlan { .. } | Layer::Vxlan { .. }))
        .count();
    prop_assert!(nested <= 16, "followed {nested} encapsulations");
    prop_assert!(d.layers.len() <= 64, "{} layers", d.layers.len());
    let line = d.to_string();
    prop_assert!(line.len() <= 4096, "{} bytes", line.len());
    prop_assert!(!line.chars().any(char::is_control), "{line:?}");
    let _ = serde_json::to_string(&d.layers);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn nested_encapsulations_never_panic(
        stack in prop::collection::vec(wrap(), 0..40),
        tail in prop::collection::vec(any::<u8>(), 0..64),
        cut in any::<prop::sample::Index>(),
    ) {
        let frame = build(&stack, &tail);
        check(&frame)?;
        // The same frame cut anywhere (a snap length, a runt).
        let n = cut.index(frame.len() + 1);
        check(&frame[..n])?;
    }

    #[test]
    fn arbitrary_bytes_never_panic(frame in prop::collection::vec(any::<u8>(), 0..300)) {
        check(&frame)?;
    }
}
