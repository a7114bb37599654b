//! The test world itself: what every world test can rely on.

use crate::common;

use common::world::{in_world, inside_world, sh};

#[test]
fn world_is_private_and_fresh() {
    in_world("world::world_is_private_and_fresh", || {
        assert!(inside_world());
        // Private PID namespace: the test binary is the world's init.
        assert_eq!(std::process::id(), 1);
        // Fresh tmpfs on /run: no namespaces of the machine are visible.
        let fstype = sh(&["findmnt", "-n", "-o", "FSTYPE", "/run"]);
        assert_eq!(fstype.trim(), "tmpfs");
        assert_eq!(sh(&["ip", "netns", "list"]), "");
        // Private network namespace: only lo, and it is up.
        let links = sh(&["ip", "-o", "link", "show"]);
        assert_eq!(links.lines().count(), 1, "{links}");
        assert!(links.contains("lo:") && links.contains("UP"), "{links}");
        assert!(std::env::var_os("NETLENS_NETNS_DIR").is_none());
    });
}
