//! Copying each named host's packet once judges what copying it for every flow judged:
//! seeded small nodes (the fixture's kube-proxy and bridge-plugin rules, which name every
//! pod) with random FORWARD drops for some pods, ports and pings added; the packets judged
//! are the same set, and the verdicts found and the fix made are the same.

use std::collections::HashSet;

use super::super::{bridged, judge_flows, routed, with_listened_ports};
use super::{named_copies, packet_key};
use crate::diagnose::facts::Facts;
use crate::diagnose::nft_fix::Opener;
use crate::diagnose::node_fixture::{node_snapshot, NodeShape};
use crate::firewall::{iptables_save, IpFamily, XtSource};
use crate::model::LinkKind;
use crate::test_rng::Rng;

/// The host's filter table with a few random drops in FORWARD (by source, destination,
/// protocol, the reply direction).
fn drops(rng: &mut Rng, shape: NodeShape) -> String {
    let mut text = String::from("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n");
    for _ in 0..rng.below(4) {
        let pod = shape.pod_ip(rng.below(shape.pods));
        let rule = match rng.below(4) {
            0 => format!("-s {pod}/32 -j DROP"),
            1 => format!("-d {pod}/32 -j DROP"),
            2 => format!("-s {pod}/32 -p icmp -j DROP"),
            _ => format!("-d {pod}/32 -m conntrack --ctstate ESTABLISHED -j DROP"),
        };
        text.push_str(&format!("-A FORWARD {rule}\n"));
    }
    text.push_str("COMMIT\n");
    text
}

#[test]
fn each_packet_copied_once_judges_as_every_copy() {
    let mut rng = Rng(0x00c0_91e5);
    let mut dropped = 0;
    for seed in 0..12 {
        let shape = NodeShape {
            pods: 10 + rng.below(10),
            services: 20,
        };
        let mut snap = node_snapshot(shape);
        let (mut tables, e) =
            iptables_save::parse(&drops(&mut rng, shape), IpFamily::V4, XtSource::Nft);
        assert!(e.is_empty(), "{e:?}");
        let fw = snap.namespaces[0].firewall.as_mut().expect("host firewall");
        fw.iptables.retain(|t| t.name != "filter");
        fw.iptables.append(&mut tables);
        let f = Facts::new(&snap);
        let ns = &snap.namespaces[0];
        let mut flows = routed(&f, ns, &crate::diagnose::nat::senders(&f, ns));
        for b in ns.links.iter().filter(|l| l.kind == LinkKind::Bridge) {
            flows.extend(bridged(&f, ns, b));
        }
        let once = with_listened_ports(&f, named_copies(&f, ns, flows.clone(), true));
        let every = with_listened_ports(&f, named_copies(&f, ns, flows, false));
        fn keys(fl: &[super::Flow]) -> HashSet<super::PacketKey<'_>> {
            fl.iter().map(packet_key).collect()
        }
        assert!(
            keys(&once) == keys(&every),
            "seed {seed}: other packets judged"
        );
        assert!(once.len() <= every.len());

        let nf = (
            ns.firewall.as_ref().unwrap(),
            f.compiled(ns).unwrap(),
            f.local_addrs(ns).unwrap(),
        );
        let (mut o1, mut o2) = (Opener::new(ns), Opener::new(ns));
        let (why1, pings1) = judge_flows((ns, nf), &once, &mut o1);
        let (why2, pings2) = judge_flows((ns, nf), &every, &mut o2);
        assert_eq!(pings1, pings2, "seed {seed}");
        assert_eq!(o1.steps, o2.steps, "seed {seed}");
        assert_eq!(o1.rejected, o2.rejected, "seed {seed}");
        // Every drop found is one the full judgement found; and each of those, for a packet
        // judged once, is found too.
        let all: HashSet<&String> = why2.iter().collect();
        assert!(why1.iter().all(|w| all.contains(w)), "seed {seed}");
        assert_eq!(why1.is_empty(), why2.is_empty(), "seed {seed}");
        dropped += usize::from(!why1.is_empty());
    }
    assert!(dropped > 3, "drops drawn: {dropped}");
}
