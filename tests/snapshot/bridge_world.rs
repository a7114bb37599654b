//! The bridge world several snapshot tests start from.

use crate::common;

use common::world::sh;

/// `app1`, `app2`, `db` on bridge `br-test` (10.77.0.1/24) in the world's root namespace; each
/// namespace's `eth0` is paired with `h-NAME` in the root, default route via the bridge. Root
/// forwards, masquerades the subnet and forwards port 8080 to db:5432.
pub(crate) fn build_bridge_world() {
    sh(&["ip", "link", "add", "br-test", "type", "bridge"]);
    sh(&["ip", "addr", "add", "10.77.0.1/24", "dev", "br-test"]);
    sh(&["ip", "link", "set", "br-test", "up"]);
    for (name, ip) in [
        ("app1", "10.77.0.11"),
        ("app2", "10.77.0.12"),
        ("db", "10.77.0.13"),
    ] {
        let host_end = format!("h-{name}");
        sh(&["ip", "netns", "add", name]);
        sh(&["ip", "-n", name, "link", "set", "lo", "up"]);
        sh(&[
            "ip", "link", "add", &host_end, "type", "veth", "peer", "name", "eth0", "netns", name,
        ]);
        sh(&["ip", "link", "set", &host_end, "master", "br-test", "up"]);
        sh(&[
            "ip",
            "-n",
            name,
            "addr",
            "add",
            &format!("{ip}/24"),
            "dev",
            "eth0",
        ]);
        sh(&["ip", "-n", name, "link", "set", "eth0", "up"]);
        sh(&[
            "ip",
            "-n",
            name,
            "route",
            "add",
            "default",
            "via",
            "10.77.0.1",
        ]);
    }
    std::fs::write("/proc/sys/net/ipv4/ip_forward", "1\n").expect("set ip_forward");
    sh(&[
        "iptables",
        "-t",
        "nat",
        "-A",
        "POSTROUTING",
        "-s",
        "10.77.0.0/24",
        "!",
        "-o",
        "br-test",
        "-j",
        "MASQUERADE",
    ]);
    sh(&[
        "iptables",
        "-t",
        "nat",
        "-A",
        "PREROUTING",
        "-p",
        "tcp",
        "--dport",
        "8080",
        "-j",
        "DNAT",
        "--to-destination",
        "10.77.0.13:5432",
    ]);
}
