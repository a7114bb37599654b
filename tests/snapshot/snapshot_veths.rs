//! `netlens snapshot` on veth pairs without a bridge or host end.
//!
//! Built by hand with `ip`/`iptables` inside throwaway worlds (see `common::world`), with names
//! and subnets the lab never uses; every fact is asserted exactly, and checked against
//! iproute2 where it has an independent answer.

use crate::common;

use common::snap::*;
use common::world::{in_world, sh};

/// A veth pair directly between two named namespaces, one with both ends in one named
/// namespace, and one with both ends in the root: every end names the other, and the
/// topology section lists each pair once.
#[test]
fn veth_pairs_between_and_within_namespaces() {
    in_world(
        "snapshot_veths::veth_pairs_between_and_within_namespaces",
        || {
            for n in ["left", "right", "solo"] {
                sh(&["ip", "netns", "add", n]);
            }
            // Give `right` an extra pair first so that index numbers differ across namespaces.
            sh(&[
                "ip", "-n", "right", "link", "add", "pad0", "type", "veth", "peer", "name", "pad1",
            ]);
            sh(&[
                "ip", "-n", "left", "link", "add", "l-to-r", "type", "veth", "peer", "name",
                "r-to-l", "netns", "right",
            ]);
            sh(&[
                "ip", "-n", "solo", "link", "add", "loop-a", "type", "veth", "peer", "name",
                "loop-b",
            ]);
            sh(&[
                "ip", "link", "add", "rootx0", "type", "veth", "peer", "name", "rootx1",
            ]);
            sh(&[
                "ip",
                "-n",
                "left",
                "addr",
                "add",
                "172.31.9.1/30",
                "dev",
                "l-to-r",
            ]);
            sh(&[
                "ip",
                "-n",
                "right",
                "addr",
                "add",
                "172.31.9.2/30",
                "dev",
                "r-to-l",
            ]);
            sh(&["ip", "-n", "left", "link", "set", "l-to-r", "up"]);
            sh(&["ip", "-n", "right", "link", "set", "r-to-l", "up"]);

            let snap = snapshot_json(&[]);
            assert_eq!(link_names(&snap, "left"), ["l-to-r", "lo"]);
            assert_eq!(link_names(&snap, "right"), ["lo", "pad0", "pad1", "r-to-l"]);
            assert_eq!(link_names(&snap, "solo"), ["lo", "loop-a", "loop-b"]);
            assert_eq!(link_names(&snap, "host"), ["lo", "rootx0", "rootx1"]);
            assert_veth_pair(&snap, "left", "l-to-r", "right", "r-to-l");
            assert_veth_pair(&snap, "right", "pad0", "right", "pad1");
            assert_veth_pair(&snap, "solo", "loop-a", "solo", "loop-b");
            assert_veth_pair(&snap, "host", "rootx0", "host", "rootx1");
            assert_all_veths_paired(&snap);
            assert_eq!(
                v4_addresses(&snap, "left"),
                [("l-to-r".into(), "172.31.9.1/30".into(), "global".into())]
            );
            assert_eq!(
                routes(&snap, "right", "inet", 254),
                ["172.31.9.0/30 dev r-to-l proto kernel scope link src 172.31.9.2"]
            );

            let mut topo = topology_lines(&snapshot_text(&[]));
            topo.sort();
            assert_eq!(
                topo,
                [
                    "l-to-r (left) ⇄ r-to-l (right)",
                    "loop-a (solo) ⇄ loop-b (solo)",
                    "pad0 (right) ⇄ pad1 (right)",
                    "rootx0 (host) ⇄ rootx1 (host)",
                ]
            );
        },
    );
}
