//! Sysctls as netlens reports them (netconf dump, ctnetlink, /proc/sys only where a bridge is)
//! agree with what `sysctl` reads from /proc/sys inside each namespace.

use crate::common;

use common::snap::{ns, ns_sh, snapshot_json};
use common::world::{in_world, sh};

fn proc_sys(ns_name: &str, key: &str) -> Option<u64> {
    let out = std::process::Command::new("ip")
        .args(["netns", "exec", ns_name, "sysctl", "-n", key])
        .output()
        .expect("sysctl");
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

#[test]
fn sysctls_match_proc_sys_in_each_namespace() {
    in_world(
        "snapshot_sysctls::sysctls_match_proc_sys_in_each_namespace",
        || {
            for n in ["gw-ns", "leaf-ns"] {
                sh(&["ip", "netns", "add", n]);
            }
            sh(&[
                "ip", "link", "add", "up0", "type", "veth", "peer", "name", "down0",
            ]);
            sh(&["ip", "link", "set", "up0", "netns", "gw-ns"]);
            sh(&["ip", "link", "set", "down0", "netns", "leaf-ns"]);
            sh(&["ip", "-n", "gw-ns", "link", "add", "brx", "type", "bridge"]);
            ns_sh("gw-ns", &["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
            ns_sh(
                "gw-ns",
                &["sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"],
            );
            ns_sh("gw-ns", &["sysctl", "-qw", "net.ipv4.conf.all.rp_filter=2"]);
            ns_sh("gw-ns", &["sysctl", "-qw", "net.ipv4.conf.up0.rp_filter=1"]);
            ns_sh(
                "leaf-ns",
                &["sysctl", "-qw", "net.ipv4.conf.default.rp_filter=1"],
            );
            // A conntrack entry in gw-ns, so the count there is not trivially 0.
            ns_sh(
                "gw-ns",
                &[
                    "iptables",
                    "-A",
                    "OUTPUT",
                    "-m",
                    "conntrack",
                    "--ctstate",
                    "NEW",
                    "-j",
                    "ACCEPT",
                ],
            );
            ns_sh("gw-ns", &["ip", "link", "set", "lo", "up"]);
            ns_sh("gw-ns", &["ping", "-c1", "-W1", "127.0.0.1"]);

            let snap = snapshot_json(&[]);
            for name in ["gw-ns", "leaf-ns"] {
                let s = &ns(&snap, name).sysctls;
                let want = |k: &str| proc_sys(name, k);
                assert_eq!(
                    s.ip_forward.map(u64::from),
                    want("net.ipv4.ip_forward"),
                    "{name}"
                );
                assert_eq!(
                    s.ipv6_forwarding.map(u64::from),
                    want("net.ipv6.conf.all.forwarding"),
                    "{name}"
                );
                assert_eq!(
                    s.rp_filter_all.map(u64::from),
                    want("net.ipv4.conf.all.rp_filter"),
                    "{name}"
                );
                assert_eq!(
                    s.rp_filter_default.map(u64::from),
                    want("net.ipv4.conf.default.rp_filter"),
                    "{name}"
                );
                for (iface, v) in &s.rp_filter {
                    assert_eq!(
                        Some(u64::from(*v)),
                        want(&format!("net.ipv4.conf.{iface}.rp_filter")),
                        "{name} {iface}"
                    );
                }
                if let Some(max) = want("net.netfilter.nf_conntrack_max") {
                    assert_eq!(s.conntrack_max, Some(max), "{name}");
                    assert_eq!(
                        s.conntrack_count,
                        want("net.netfilter.nf_conntrack_count"),
                        "{name}"
                    );
                }
            }
            let gw = &ns(&snap, "gw-ns").sysctls;
            assert_eq!(
                (gw.ip_forward, gw.ipv6_forwarding, gw.rp_filter_all),
                (Some(1), Some(1), Some(2))
            );
            assert_eq!(gw.rp_filter.get("up0"), Some(&1));
            if proc_sys("gw-ns", "net.netfilter.nf_conntrack_max").is_some() {
                assert!(
                    gw.conntrack_count >= Some(1),
                    "ping tracked: {:?}",
                    gw.conntrack_count
                );
            }
            // bridge-nf-call-* is read only where a bridge is.
            let bnf = proc_sys("gw-ns", "net.bridge.bridge-nf-call-iptables");
            assert_eq!(gw.bridge_nf_call_iptables.map(u64::from), bnf);
            assert_eq!(ns(&snap, "leaf-ns").sysctls.bridge_nf_call_iptables, None);
        },
    );
}
