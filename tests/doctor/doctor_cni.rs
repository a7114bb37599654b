//! `netlens doctor` on a topology the lab never builds: the real CNI bridge plugin
//! (containernetworking-plugins, bridge + host-local, isGateway + ipMasq) wiring two pods into
//! the world's root namespace, which has an uplink to an "outside" namespace. Other names,
//! subnets and rule shapes (CNI's per-pod chains) than the lab: the healthy setup must be
//! clean, and faults made by hand must be found.

use crate::common;

use std::process::Command;

use common::world::{in_world, netlens_bin, sh, try_sh};

const CONF: &str = r#"{
  "cniVersion": "1.0.0",
  "name": "dr-net",
  "type": "bridge",
  "bridge": "dr-br0",
  "isGateway": true,
  "isDefaultGateway": true,
  "ipMasq": true,
  "ipam": { "type": "host-local", "subnet": "10.123.0.0/24", "dataDir": "/run/dr-ipam" }
}"#;

/// CNI ADD for namespace `pod`; returns the pod's IPv4 address.
fn cni_add(pod: &str) -> String {
    let id = format!("drtest-{pod}-0123456789");
    let out = common::cni::bridge("ADD", pod, &id, CONF).unwrap_or_else(|e| panic!("{e}"));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let cidr = v["ips"][0]["address"].as_str().unwrap().to_string();
    cidr.split('/').next().unwrap().to_string()
}

/// (exit code, error ids, warning ids, text report)
fn doctor() -> (i32, Vec<String>, Vec<String>) {
    let out = Command::new(netlens_bin())
        .args(["doctor", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let pick = |sev: &str| -> Vec<String> {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["severity"] == sev)
            .map(|f| f["id"].as_str().unwrap().to_string())
            .collect()
    };
    let (errors, warnings) = (pick("error"), pick("warning"));
    println!("doctor: errors {errors:?} warnings {warnings:?}");
    (out.status.code().unwrap_or(-1), errors, warnings)
}

fn ping(ns: &str, dst: &str) -> bool {
    try_sh(&["ip", "netns", "exec", ns, "ping", "-c1", "-W1", dst])
        .status
        .success()
}

#[test]
fn doctor_on_a_real_cni_bridge() {
    in_world("doctor_cni::doctor_on_a_real_cni_bridge", || {
        for ns in ["pod1", "pod2", "outside"] {
            sh(&["ip", "netns", "add", ns]);
            sh(&["ip", "-n", ns, "link", "set", "lo", "up"]);
        }
        // Uplink of the world's root namespace (the "node") to a router-less outside.
        sh(&[
            "ip", "link", "add", "up0", "type", "veth", "peer", "name", "down0", "netns", "outside",
        ]);
        sh(&["ip", "addr", "add", "198.18.0.1/30", "dev", "up0"]);
        sh(&["ip", "link", "set", "up0", "up"]);
        sh(&[
            "ip",
            "-n",
            "outside",
            "addr",
            "add",
            "198.18.0.2/30",
            "dev",
            "down0",
        ]);
        sh(&["ip", "-n", "outside", "link", "set", "down0", "up"]);
        sh(&["ip", "route", "add", "default", "via", "198.18.0.2"]);
        let _pod1 = cni_add("pod1");
        let pod2 = cni_add("pod2");

        let (code, errors, warnings) = doctor();
        assert_eq!(
            (code, errors.len(), warnings.len()),
            (0, 0, 0),
            "healthy CNI node"
        );
        assert!(
            ping("pod1", "198.18.0.2"),
            "pod1 reaches outside through NAT"
        );

        // ip_forward off on the node.
        std::fs::write("/proc/sys/net/ipv4/ip_forward", "0").unwrap();
        let (code, errors, _) = doctor();
        assert_eq!((code, errors), (1, vec!["forwarding-off:host".to_string()]));
        assert!(!ping("pod1", "198.18.0.2"));
        std::fs::write("/proc/sys/net/ipv4/ip_forward", "1").unwrap();

        // pod2 disappears without a CNI DEL: its per-pod NAT rule is left behind.
        sh(&["ip", "netns", "del", "pod2"]);
        let mut tries = 0;
        // The namespace (and its veth) is torn down asynchronously.
        while sh(&["ip", "-o", "link"]).lines().count() > 5 && tries < 50 {
            std::thread::sleep(std::time::Duration::from_millis(20));
            tries += 1;
        }
        let (code, errors, warnings) = doctor();
        assert_eq!(code, 1);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(warnings, vec![format!("stale-nat:host:{pod2}")]);

        // Masquerading gone: outside cannot answer pod1.
        sh(&["iptables", "-w", "-t", "nat", "-F", "POSTROUTING"]);
        let (code, errors, _) = doctor();
        assert_eq!(code, 1);
        assert_eq!(errors, vec!["no-masquerade:host:10.123.0.0/24".to_string()]);
        assert!(!ping("pod1", "198.18.0.2"));
    });
}
