//! mtu-overlay: a vxlan whose underlay shrank under it, and links forwarded into a smaller
//! overlay (see the binary's documentation).

use crate::common::plan::private_state;
use crate::common::rules::*;
use crate::common::world::{in_world, sh};

/// vx0's MTU in `ns`, from iproute2.
fn vx_mtu(ns: &str) -> u32 {
    let v = crate::common::snap::ip_json(Some(ns), &["link", "show", "dev", "vx0"]);
    v[0]["mtu"].as_u64().expect("vx0 mtu") as u32
}

/// A packet as large as vx0's MTU allows, DF set, crosses the overlay from a to b.
fn full_size_ok() -> bool {
    ping_ok("a", "10.77.0.2", Some(vx_mtu("a") - 28))
}

#[test]
fn mtu_overlay_found_and_fixed_when_the_underlay_shrinks() {
    in_world(
        "doctor_rules::mtu::mtu_overlay_found_and_fixed_when_the_underlay_shrinks",
        || {
            let _state = private_state();
            overlay_pair();
            assert!(full_size_ok(), "healthy overlay at MTU {}", vx_mtu("a"));
            expect_clean_of("mtu-overlay");

            // The underlay shrinks under the overlay; vx0 keeps 1450.
            sh(&["ip", "-n", "a", "link", "set", "ua", "mtu", "1400"]);
            sh(&["ip", "-n", "b", "link", "set", "ub", "mtu", "1400"]);
            assert!(!full_size_ok(), "full-size packet over a shrunk underlay");
            assert!(ping_ok("a", "10.77.0.2", None), "small packets still pass");
            let found = expect_findings(
                "mtu-overlay",
                "error",
                &[("a", "link", "vx0"), ("b", "link", "vx0")],
            );
            for f in &found {
                fix(f["id"].as_str().unwrap());
            }
            assert_eq!(vx_mtu("a"), 1350, "vxlan MTU after the fix");
            assert!(full_size_ok(), "full-size packet after the fix");
            expect_clean_of("mtu-overlay");

            // Undo cannot bring this fault back: the kernel refuses a vxlan MTU larger than its
            // underlay allows (the fault only arises when the underlay shrinks later). Undo must
            // say so and fail, leaving the repaired overlay as it is.
            let out = netlens(&["undo", "--yes"]);
            let said = crate::common::out::both(&out);
            assert!(!out.status.success(), "undo of a refused MTU: {said}");
            assert!(said.contains("Invalid argument"), "{said}");
            assert_eq!(vx_mtu("b"), 1350, "vxlan MTU after a refused undo");
            assert!(full_size_ok(), "full-size packet after a refused undo");
            expect_clean_of("mtu-overlay");
        },
    );
}

/// Namespaces a and b joined by vxlan vx0 (10.77.0.1, .2/24) over veth ua–ub (10.76.0.0/24).
fn overlay_pair() {
    netns("a");
    netns("b");
    veth("a", "ua", "b", "ub");
    addr("a", "10.76.0.1/24", "ua");
    addr("b", "10.76.0.2/24", "ub");
    // `df inherit`: the outer packet keeps the inner DF bit, as with PMTU-discovering TCP;
    // with DF unset the kernel would fragment the outer packet instead of losing it.
    for (ns, dev, remote, overlay) in [
        ("a", "ua", "10.76.0.2", "10.77.0.1/24"),
        ("b", "ub", "10.76.0.1", "10.77.0.2/24"),
    ] {
        sh(&[
            "ip", "-n", ns, "link", "add", "vx0", "type", "vxlan", "id", "76", "dev", dev,
            "remote", remote, "dstport", "4789", "df", "inherit",
        ]);
        sh(&["ip", "-n", ns, "link", "set", "vx0", "up"]);
        addr(ns, overlay, "vx0");
    }
}

#[test]
fn mtu_overlay_found_for_links_forwarded_into_a_smaller_overlay() {
    in_world(
        "doctor_rules::mtu::mtu_overlay_found_for_links_forwarded_into_a_smaller_overlay",
        || {
            overlay_pair();
            // c reaches the overlay through a, over a link of MTU 1500; vx0 carries 1450.
            netns("c");
            veth("c", "cc", "a", "ca");
            addr("c", "10.76.5.2/24", "cc");
            addr("a", "10.76.5.1/24", "ca");
            route("c", &["10.77.0.0/24", "via", "10.76.5.1"]);
            route("b", &["10.76.5.0/24", "via", "10.77.0.1"]);
            sysctl("a", "net.ipv4.ip_forward", "1");
            assert!(
                ping_ok("c", "10.77.0.2", Some(1450 - 28)),
                "fits the overlay"
            );
            assert!(
                !ping_ok("c", "10.77.0.2", Some(1500 - 28)),
                "full size for c's link"
            );
            expect_finding("mtu-overlay", "error", "a", ("link", "ca"));

            // Healthy control: c's link no larger than the overlay.
            sh(&["ip", "-n", "c", "link", "set", "cc", "mtu", "1450"]);
            sh(&["ip", "-n", "a", "link", "set", "ca", "mtu", "1450"]);
            assert!(
                ping_ok("c", "10.77.0.2", Some(1450 - 28)),
                "full size after"
            );
            expect_clean_of("mtu-overlay");
        },
    );
}

#[test]
fn mtu_overlay_quiet_for_a_vxlan_moved_away_from_its_underlay() {
    in_world(
        "doctor_rules::mtu::mtu_overlay_quiet_for_a_vxlan_moved_away_from_its_underlay",
        || {
            // vx0 is made over ua in a, then moved to m. The kernel then reports its own
            // index as IFLA_LINK (with a's netnsid) and ua's index in a as IFLA_VXLAN_LINK,
            // which in m is some other link (iproute2 itself prints `dev my`), here of MTU
            // 1400. Neither is vx0's underlay in m: no finding may come of them.
            netns("a");
            netns("b");
            netns("m");
            veth("a", "ua", "b", "ub");
            veth("m", "mx", "m", "my");
            let ua = crate::common::snap::ip_json(Some("a"), &["link", "show", "dev", "ua"]);
            let ua_index = ua[0]["ifindex"].as_u64().expect("ua ifindex");
            let in_m = crate::common::snap::ip_json(Some("m"), &["link", "show"]);
            let same = in_m
                .as_array()
                .unwrap()
                .iter()
                .find(|l| l["ifindex"].as_u64() == Some(ua_index))
                .expect("a link in m with ua's index");
            assert_ne!(same["ifname"], "lo", "{in_m}");
            for l in ["mx", "my"] {
                sh(&["ip", "-n", "m", "link", "set", l, "mtu", "1400"]);
            }
            sh(&[
                "ip",
                "-n",
                "a",
                "link",
                "add",
                "vx0",
                "type",
                "vxlan",
                "id",
                "9",
                "dev",
                "ua",
                "remote",
                "10.76.0.2",
                "dstport",
                "4789",
            ]);
            sh(&["ip", "-n", "a", "link", "set", "vx0", "netns", "m"]);
            assert_eq!(vx_mtu("m"), 1450);
            expect_clean_of("mtu-overlay");
        },
    );
}
