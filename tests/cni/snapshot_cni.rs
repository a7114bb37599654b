//! `netlens snapshot` against what a real CNI plugin builds: Debian's
//! `containernetworking-plugins` bridge + host-local IPAM run for real (`ADD`, then `DEL`)
//! inside a throwaway world (see `common::world`).

use crate::common;

use std::path::Path;

use common::snap::*;
use common::world::{in_world, sh};
use netlens::firewall::XtChain;
use netlens::model::{LinkKind, NsStatus, Snapshot};

use common::cni::PLUGIN_DIR;
const CONTAINER_ID: &str = "nltest-0123456789abcdef";
const IPAM_DIR: &str = "/run/nltest-ipam";
const CONF: &str = r#"{
  "cniVersion": "1.0.0",
  "name": "nltest-net",
  "type": "bridge",
  "bridge": "cni-t0",
  "isGateway": true,
  "isDefaultGateway": true,
  "ipMasq": true,
  "ipam": {
    "type": "host-local",
    "subnet": "10.123.0.0/24",
    "dataDir": "/run/nltest-ipam"
  }
}"#;

/// Runs the bridge plugin with `command` (ADD/DEL) for namespace `pod`; returns its stdout.
fn cni(command: &str, pod: &str) -> String {
    common::cni::bridge(command, pod, CONTAINER_ID, CONF).unwrap_or_else(|e| panic!("{e}"))
}

fn nat_chains(snap: &Snapshot) -> Vec<XtChain> {
    let fw = ns(snap, "host").firewall.as_ref().expect("root firewall");
    assert!(fw.errors.is_empty(), "{:?}", fw.errors);
    fw.iptables
        .iter()
        .filter(|t| t.name == "nat")
        .flat_map(|t| t.chains.clone())
        .collect()
}

/// ADD: the pod's eth0 with the IP the plugin assigned, its peer on `cni-t0` in the root, the
/// bridge's gateway address, the pod's default route, ip_forward=1 and the plugin's CNI-…
/// masquerade chain. DEL: the pod link, its peer, the lease and the NAT rules are gone; the
/// bridge and ip_forward stay (as the plugin documents).
#[test]
fn cni_bridge_plugin_add_and_del() {
    in_world("snapshot_cni::cni_bridge_plugin_add_and_del", || {
        assert!(
            Path::new(&format!("{PLUGIN_DIR}/bridge")).exists()
                && Path::new(&format!("{PLUGIN_DIR}/host-local")).exists(),
            "apt package containernetworking-plugins is needed"
        );
        sh(&["ip", "netns", "add", "pod-x"]);
        std::fs::write("/proc/sys/net/ipv4/ip_forward", "0\n").unwrap();

        let result: serde_json::Value =
            serde_json::from_str(&cni("ADD", "pod-x")).expect("plugin result JSON");
        let ip_cidr = result["ips"][0]["address"]
            .as_str()
            .expect("ips[0].address");
        let gateway = result["ips"][0]["gateway"]
            .as_str()
            .expect("ips[0].gateway");
        let (ip, _) = ip_cidr.split_once('/').unwrap();
        let ifaces = result["interfaces"].as_array().expect("interfaces");
        let iface = |pred: &dyn Fn(&serde_json::Value) -> bool| {
            ifaces
                .iter()
                .find(|i| pred(i))
                .expect("interface in result")
                .clone()
        };
        let bridge = iface(&|i| i["name"] == "cni-t0");
        let pod_if = iface(&|i| i["name"] == "eth0" && i["sandbox"].is_string());
        let host_if = iface(&|i| {
            i["name"].as_str().is_some_and(|n| n.starts_with("veth")) && i["sandbox"].is_null()
        });
        let host_veth = host_if["name"].as_str().unwrap();
        assert!(ip.starts_with("10.123.0."), "{result}");
        assert_eq!(gateway, "10.123.0.1");

        let snap = snapshot_json(&[]);
        let names: Vec<&str> = snap.namespaces.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["host", "pod-x"]);
        assert!(snap.namespaces.iter().all(|n| n.status == NsStatus::Ok));

        // The pod.
        assert_eq!(link_names(&snap, "pod-x"), ["eth0", "lo"]);
        let eth0 = link(&snap, "pod-x", "eth0");
        assert_eq!(eth0.mac.as_deref(), pod_if["mac"].as_str());
        assert_eq!(
            v4_addresses(&snap, "pod-x"),
            [("eth0".into(), ip_cidr.to_string(), "global".into())]
        );
        assert_eq!(
            routes(&snap, "pod-x", "inet", 254),
            [
                format!("10.123.0.0/24 dev eth0 proto kernel scope link src {ip}"),
                format!("default via {gateway} dev eth0 proto boot scope global"),
            ]
        );
        assert_eq!(ns(&snap, "pod-x").sysctls.ip_forward, Some(0));

        // The root: bridge with the gateway, the pod's peer plugged into it.
        assert_eq!(link_names(&snap, "host"), ["cni-t0", "lo", host_veth]);
        let br = link(&snap, "host", "cni-t0");
        assert_eq!(br.kind, LinkKind::Bridge);
        assert_eq!(br.mac.as_deref(), bridge["mac"].as_str());
        assert_eq!(br.ports, [host_veth]);
        let hv = link(&snap, "host", host_veth);
        assert_eq!(hv.mac.as_deref(), host_if["mac"].as_str());
        assert_eq!(hv.master.as_deref(), Some("cni-t0"));
        assert_eq!(hv.master_index, Some(br.index));
        assert_veth_pair(&snap, "pod-x", "eth0", "host", host_veth);
        assert_all_veths_paired(&snap);
        assert_eq!(
            v4_addresses(&snap, "host"),
            [
                ("cni-t0".into(), format!("{gateway}/24"), "global".into()),
                ("lo".into(), "127.0.0.1/8".into(), "host".into()),
            ]
        );
        assert_eq!(
            ns(&snap, "host").sysctls.ip_forward,
            Some(1),
            "isGateway sets it"
        );

        assert_masquerade_chain(&snap, ip);

        // host-local's lease names the container.
        let lease = std::fs::read_to_string(format!("{IPAM_DIR}/nltest-net/{ip}")).unwrap();
        assert!(lease.contains(CONTAINER_ID), "{lease}");

        let mut topo = topology_lines(&snapshot_text(&[]));
        topo.sort();
        assert_eq!(
            topo,
            [
                format!("bridge cni-t0 (host): {host_veth}"),
                format!("eth0 (pod-x) ⇄ {host_veth} (host, master cni-t0)"),
            ]
        );

        del_removes_the_pod_and_its_rules(ip);
    });
}

/// The plugin's masquerade chain.
fn assert_masquerade_chain(snap: &Snapshot, ip: &str) {
    let chains = nat_chains(snap);
    let comment = format!("name: \"nltest-net\" id: \"{CONTAINER_ID}\"");
    let post = chains.iter().find(|c| c.name == "POSTROUTING").unwrap();
    assert_eq!(post.rules.len(), 1, "{post:#?}");
    let jump = &post.rules[0];
    let cni_chain = jump.target.clone().expect("jump target");
    assert!(cni_chain.starts_with("CNI-"), "{jump:#?}");
    assert_eq!(
        jump.source.as_ref().map(|c| (c.negated, c.value.as_str())),
        Some((false, format!("{ip}/32").as_str()))
    );
    assert_eq!(jump.comment.as_deref(), Some(comment.as_str()));
    let chain = chains
        .iter()
        .find(|c| c.name == cni_chain)
        .unwrap_or_else(|| panic!("chain {cni_chain} missing: {chains:#?}"));
    assert_eq!(chain.policy, None, "user-defined chain");
    // Each rule as `[!] -d DST -j TARGET # COMMENT`.
    let rules: Vec<String> = chain
        .rules
        .iter()
        .map(|r| {
            let d = r.destination.as_ref().expect("-d");
            format!(
                "{}-d {} -j {} # {}",
                if d.negated { "! " } else { "" },
                d.value,
                r.target.as_deref().unwrap_or("-"),
                r.comment.as_deref().unwrap_or("-")
            )
        })
        .collect();
    assert_eq!(
        rules,
        [
            format!("-d 10.123.0.0/24 -j ACCEPT # {comment}"),
            format!("! -d 224.0.0.0/4 -j MASQUERADE # {comment}"),
        ]
    );
}

/// DEL: the pod link, its peer, the lease and the NAT rules go; the bridge and ip_forward stay.
fn del_removes_the_pod_and_its_rules(ip: &str) {
    cni("DEL", "pod-x");
    let snap = snapshot_json(&[]);
    assert_eq!(link_names(&snap, "pod-x"), ["lo"]);
    assert!(v4_addresses(&snap, "pod-x").is_empty());
    assert!(routes(&snap, "pod-x", "inet", 254).is_empty());
    assert_eq!(link_names(&snap, "host"), ["cni-t0", "lo"]);
    assert!(link(&snap, "host", "cni-t0").ports.is_empty());
    assert_eq!(ns(&snap, "host").sysctls.ip_forward, Some(1));
    let chains = nat_chains(&snap);
    assert!(
        chains
            .iter()
            .all(|c| c.rules.is_empty() && !c.name.starts_with("CNI-")),
        "{chains:#?}"
    );
    assert!(!Path::new(&format!("{IPAM_DIR}/nltest-net/{ip}")).exists());
    assert_eq!(
        topology_lines(&snapshot_text(&[])),
        ["bridge cni-t0 (host): no ports"]
    );
}
