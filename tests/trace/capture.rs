//! `netlens capture` in a throwaway world: packets between two namespaces (names and subnets
//! unlike the lab's), the pcap read back by tcpdump, VXLAN decoded on the underlay, JSON
//! output, and bad input refused with one line and exit 2.

use crate::common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::snap::netlens;
use common::world::{in_world, netlens_bin, sh};

/// Two namespaces `capl` and `capr` joined by veth `l0` ⇄ `r0` on 10.91.3.0/24.
pub(crate) fn pair() {
    sh(&["ip", "netns", "add", "capl"]);
    sh(&["ip", "netns", "add", "capr"]);
    sh(&[
        "ip", "link", "add", "l0", "netns", "capl", "type", "veth", "peer", "name", "r0", "netns",
        "capr",
    ]);
    sh(&[
        "ip",
        "-n",
        "capl",
        "addr",
        "add",
        "10.91.3.1/24",
        "dev",
        "l0",
    ]);
    sh(&[
        "ip",
        "-n",
        "capr",
        "addr",
        "add",
        "10.91.3.2/24",
        "dev",
        "r0",
    ]);
    for (ns, dev) in [
        ("capl", "l0"),
        ("capr", "r0"),
        ("capl", "lo"),
        ("capr", "lo"),
    ] {
        sh(&["ip", "-n", ns, "link", "set", dev, "up"]);
    }
}

pub(crate) fn spawn_capture(args: &[&str]) -> Child {
    Command::new(netlens_bin())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("netlens capture")
}

/// Waits until the capture says it is listening (its first stderr line), so nothing sent
/// afterwards can be missed.
pub(crate) fn wait_listening(child: &mut Child) {
    use std::io::BufRead;
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = std::io::BufReader::new(stderr).lines();
    let first = lines.next().expect("a line").expect("utf-8");
    assert!(first.contains("capturing on"), "{first}");
    // Keep draining stderr on a thread so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
}

pub(crate) fn finish(child: Child) -> (String, i32) {
    let out = child.wait_with_output().expect("wait");
    (
        String::from_utf8_lossy(&out.stdout).to_string(),
        out.status.code().unwrap_or(-1),
    )
}

#[test]
fn capture_ping_between_namespaces_and_write_a_pcap() {
    in_world(
        "capture::capture_ping_between_namespaces_and_write_a_pcap",
        || {
            pair();
            let dir = tempfile::tempdir().expect("tmp");
            let pcap = dir.path().join("ping.pcap");
            let pcap_s = pcap.to_str().expect("path");
            let mut child = spawn_capture(&[
                "capture",
                "--ns",
                "capr",
                "-i",
                "r0",
                "-c",
                "6",
                "-w",
                pcap_s,
                "icmp",
                "and",
                "host",
                "10.91.3.1",
            ]);
            wait_listening(&mut child);
            sh(&[
                "ip",
                "netns",
                "exec",
                "capl",
                "ping",
                "-c",
                "3",
                "-i",
                "0.2",
                "10.91.3.2",
            ]);
            let (out, code) = finish(child);
            assert_eq!(code, 0, "{out}");
            let lines: Vec<&str> = out.lines().collect();
            assert_eq!(lines.len(), 6, "{out}");
            for (i, l) in lines.iter().enumerate() {
                let want = if i % 2 == 0 {
                    "IP 10.91.3.1 > 10.91.3.2: ICMP echo request"
                } else {
                    "IP 10.91.3.2 > 10.91.3.1: ICMP echo reply"
                };
                assert!(l.contains(want), "line {i}: {l}");
                assert!(l.contains(&format!("seq {}", i / 2 + 1)), "{l}");
            }
            // tcpdump reads the file and sees the same six packets (no ARP: the filter held).
            let read = sh(&["tcpdump", "-nr", pcap_s]);
            let read: Vec<&str> = read.lines().collect();
            assert_eq!(read.len(), 6, "{read:?}");
            assert!(
                read[0].contains("10.91.3.1 > 10.91.3.2: ICMP echo request"),
                "{read:?}"
            );
            assert!(
                read[5].contains("10.91.3.2 > 10.91.3.1: ICMP echo reply"),
                "{read:?}"
            );
        },
    );
}

#[test]
fn capture_json_has_decoded_layers_and_counters() {
    in_world(
        "capture::capture_json_has_decoded_layers_and_counters",
        || {
            pair();
            let mut child = spawn_capture(&[
                "capture", "--ns", "capl", "-i", "l0", "--json", "-c", "1", "udp", "dst", "port",
                "5353",
            ]);
            wait_listening(&mut child);
            // One UDP datagram from capl to capr's port 5353 (nobody listens: that is fine).
            sh(&[
                "ip",
                "netns",
                "exec",
                "capl",
                "bash",
                "-c",
                "echo hello > /dev/udp/10.91.3.2/5353",
            ]);
            let (out, code) = finish(child);
            assert_eq!(code, 0, "{out}");
            let mut lines = out.lines();
            let pkt: serde_json::Value =
                serde_json::from_str(lines.next().expect("packet line")).expect("json");
            let layers = pkt["decoded"]["layers"].as_array().expect("layers");
            let kinds: Vec<&str> = layers
                .iter()
                .map(|l| l["layer"].as_str().unwrap_or(""))
                .collect();
            assert_eq!(kinds, ["ethernet", "ip", "udp"], "{pkt}");
            assert_eq!(layers[1]["src"], "10.91.3.1");
            assert_eq!(layers[2]["dport"], 5353);
            assert_eq!(layers[2]["payload"], 6);
            let stats: serde_json::Value =
                serde_json::from_str(lines.next().expect("stats line")).expect("json");
            assert_eq!(stats["stats"]["matched"], 1, "{stats}");
            assert_eq!(stats["stats"]["kernel_drops"], 0, "{stats}");
        },
    );
}

#[test]
fn capture_decodes_vxlan_on_the_underlay() {
    in_world("capture::capture_decodes_vxlan_on_the_underlay", || {
        pair();
        // An overlay over the pair: vxlan 77 between 10.91.3.1 and .2, inner 172.31.9.0/24.
        for (ns, local, remote, inner) in [
            ("capl", "10.91.3.1", "10.91.3.2", "172.31.9.1/24"),
            ("capr", "10.91.3.2", "10.91.3.1", "172.31.9.2/24"),
        ] {
            sh(&[
                "ip", "-n", ns, "link", "add", "ovl", "type", "vxlan", "id", "77", "local", local,
                "remote", remote, "dstport", "4789",
            ]);
            sh(&["ip", "-n", ns, "addr", "add", inner, "dev", "ovl"]);
            sh(&["ip", "-n", ns, "link", "set", "ovl", "up"]);
        }
        let mut child = spawn_capture(&[
            "capture",
            "--ns",
            "capr",
            "-i",
            "r0",
            "-c",
            "2",
            "host",
            "172.31.9.1",
            "and",
            "icmp",
        ]);
        wait_listening(&mut child);
        sh(&[
            "ip",
            "netns",
            "exec",
            "capl",
            "ping",
            "-c",
            "1",
            "172.31.9.2",
        ]);
        let (out, code) = finish(child);
        assert_eq!(code, 0, "{out}");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2, "{out}");
        assert!(
            lines[0].contains("IP 10.91.3.1.")
                && lines[0].contains("> 10.91.3.2.4789: UDP")
                && lines[0].contains("VXLAN vni 77: IP 172.31.9.1 > 172.31.9.2: ICMP echo request"),
            "{out}"
        );
        assert!(
            lines[1].contains("IP 172.31.9.2 > 172.31.9.1: ICMP echo reply"),
            "{out}"
        );
    });
}

#[test]
fn capture_refuses_bad_input_with_one_line() {
    in_world("capture::capture_refuses_bad_input_with_one_line", || {
        pair();
        for (args, says) in [
            (
                vec!["capture", "--ns", "nosuch", "-i", "r0"],
                "no namespace \"nosuch\"",
            ),
            (
                vec!["capture", "--ns", "capr", "-i", "eth7"],
                "no interface \"eth7\" in namespace capr (has: lo, r0)",
            ),
            (
                vec!["capture", "--ns", "capr", "-i", "r0", "host", "web"],
                "not an IP address",
            ),
            (
                vec!["capture", "--ns", "capr", "-i", "r0", "port", "99999"],
                "not a port number",
            ),
            (
                vec!["capture", "--ns", "capr", "-i", "r0", "--duration", "-1"],
                "--duration",
            ),
            (
                vec![
                    "capture",
                    "--ns",
                    "capr",
                    "-i",
                    "r0",
                    "-w",
                    "/nonexistent/dir/x.pcap",
                ],
                "cannot write /nonexistent/dir/x.pcap",
            ),
        ] {
            let out = netlens(&args);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
            assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
            assert!(err.contains(says), "{args:?}: {err}");
            assert!(!err.contains("panicked"), "{err}");
        }
        // --duration ends a capture that sees nothing.
        let started = std::time::Instant::now();
        let out = netlens(&[
            "capture",
            "--ns",
            "capr",
            "-i",
            "r0",
            "--duration",
            "0.5",
            "tcp",
        ]);
        assert_eq!(out.status.code(), Some(0));
        assert!(started.elapsed() < Duration::from_secs(5));
    });
}
