//! One pod's namespace: lo and an eth0 veth whose peer is the host's `vethN` on `cni0`, an
//! IPv4 address from the pod CIDR and an IPv6 link-local, a default route via the bridge,
//! neighbours, sysctls, a listening socket and the resolv.conf kubelet writes.

use serde_json::json;

use super::{from_json, link_local, mac, pod_ns, NodeShape};
use crate::model::dns_files::{DnsFiles, FileRead};
use crate::model::Namespace;

/// The resolv.conf kubelet writes for a ClusterFirst pod.
pub const POD_RESOLV: &str = "search default.svc.cluster.local svc.cluster.local cluster.local\n\
nameserver 10.96.0.10\noptions ndots:5\n";

pub(super) fn pod(shape: NodeShape, i: usize) -> Namespace {
    let name = pod_ns(i);
    let ip = shape.pod_ip(i).to_string();
    let gw = shape.gateway().to_string();
    let cidr = shape.pod_cidr();
    let eth_mac = mac(1, i);
    let host_if = u32::try_from(i).expect("fits") + 10;
    let neighbour_ip = shape.pod_ip((i + 1) % shape.pods.max(1)).to_string();
    let local = |dst: String, kind: &str, scope: &str| {
        json!({"table": 255, "table_name": "local", "family": "inet", "dst": dst, "dev": "eth0",
               "prefsrc": ip, "protocol": "kernel", "scope": scope, "kind": kind})
    };
    let mut ns = from_json(json!({
        "name": name, "kind": "named", "inode": 4_026_540_000_u64 + i as u64,
        "paths": [format!("/run/netns/{name}")],
        "processes": [{"pid": 10_000 + i, "comm": "pause"}],
        "status": {"state": "ok"},
        "links": [
            {"index": 1, "name": "lo", "kind": "loopback",
             "flags": ["UP", "LOOPBACK", "RUNNING", "LOWER_UP"], "oper_state": "UNKNOWN",
             "mtu": 65536, "mac": "00:00:00:00:00:00"},
            {"index": 2, "name": "eth0", "kind": "veth",
             "flags": ["UP", "BROADCAST", "RUNNING", "MULTICAST", "LOWER_UP"],
             "oper_state": "UP", "mtu": 1500, "mac": eth_mac,
             "peer": {"namespace": "host", "ifindex": host_if, "name": format!("veth{i}")},
             "link_index": host_if, "link_netnsid": 0}
        ],
        "addresses": [
            {"ifindex": 1, "ifname": "lo", "address": "127.0.0.1", "prefix_len": 8, "scope": "host"},
            {"ifindex": 2, "ifname": "eth0", "address": ip, "prefix_len": cidr.prefix_len(), "scope": "global"},
            {"ifindex": 1, "ifname": "lo", "address": "::1", "prefix_len": 128, "scope": "host"},
            {"ifindex": 2, "ifname": "eth0", "address": link_local(&eth_mac), "prefix_len": 64, "scope": "link"}
        ],
        "routes": [
            {"table": 254, "table_name": "main", "family": "inet", "dst": "default",
             "gateway": gw, "dev": "eth0", "protocol": "boot", "scope": "global", "kind": "unicast"},
            {"table": 254, "table_name": "main", "family": "inet", "dst": cidr.to_string(),
             "dev": "eth0", "prefsrc": ip, "protocol": "kernel", "scope": "link", "kind": "unicast"},
            local(format!("{ip}/32"), "local", "host"),
            local(format!("{}/32", cidr.broadcast()), "broadcast", "link"),
            {"table": 255, "table_name": "local", "family": "inet", "dst": "127.0.0.0/8",
             "dev": "lo", "prefsrc": "127.0.0.1", "protocol": "kernel", "scope": "host", "kind": "local"},
            {"table": 254, "table_name": "main", "family": "inet6", "dst": "fe80::/64",
             "dev": "eth0", "protocol": "kernel", "scope": "global", "kind": "unicast", "metric": 256}
        ],
        "rules": super::host::kernel_rules(),
        "neighbors": [
            {"ifindex": 2, "dev": "eth0", "address": gw, "lladdr": mac(3, 0),
             "state": "REACHABLE", "router": false},
            {"ifindex": 2, "dev": "eth0", "address": neighbour_ip,
             "lladdr": mac(1, (i + 1) % shape.pods.max(1)), "state": "STALE", "router": false}
        ],
        "sysctls": {"ip_forward": 0, "ipv6_forwarding": 0, "rp_filter_all": 0,
                    "rp_filter_default": 0, "rp_filter": {"eth0": 0, "lo": 0},
                    "bridge_nf_call_iptables": null, "bridge_nf_call_ip6tables": null,
                    "conntrack_count": 0, "conntrack_max": 262_144, "conntrack_insert_failed": 0},
        "sockets": [
            {"proto": "tcp", "address": "0.0.0.0", "port": 8080, "inode": 900_000 + i,
             "processes": [{"pid": 10_001 + i, "comm": "app"}]},
            {"proto": "tcp6", "address": "::", "port": 9090, "inode": 1_900_000 + i,
             "processes": [{"pid": 10_001 + i, "comm": "app"}]}
        ],
        "firewall": {"backends": [], "iptables": [], "nft": [], "errors": []}
    }));
    ns.dns = Some(dns_files(
        &format!("/etc/netns/{name}/resolv.conf"),
        POD_RESOLV,
    ));
    ns
}

/// resolv.conf at `path` holding `text`, with the host's nsswitch.conf and hosts.
pub(super) fn dns_files(path: &str, text: &str) -> DnsFiles {
    let nsswitch = "passwd: files\ngroup: files\nhosts: files dns\nnetworks: files\n";
    let hosts = "127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n";
    DnsFiles {
        resolv_conf: read(path, text, crate::dnsconf::resolv::parse(text)),
        nsswitch: read(
            "/etc/nsswitch.conf",
            nsswitch,
            crate::dnsconf::nsswitch::parse(nsswitch),
        ),
        hosts: read("/etc/hosts", hosts, crate::dnsconf::hosts::parse(hosts)),
    }
}

fn read<T>(path: &str, raw: &str, parsed: T) -> FileRead<T> {
    FileRead {
        path: path.into(),
        raw: Some(raw.into()),
        parsed: Some(parsed),
        error: None,
        truncated: false,
    }
}
