//! The host namespace of a node: lo, the node NIC `ens4` with the default route, the bridge
//! `cni0` holding the pods' gateway and one `vethN` port per pod; kernel routes, neighbours,
//! forwarding sysctls, kubelet's and kube-proxy's sockets, kube-proxy's firewall; and the CNI
//! state (a bridge conflist with host-local leases for every pod).

use serde_json::{json, Value};

use super::{from_json, kube_proxy, link_local, mac, pod::dns_files, pod_ns, NodeShape};
use crate::model::{CniState, Namespace};

/// The node's own address on its NIC, and the NIC's gateway.
pub const NODE_IP: &str = "192.168.10.5";
const NODE_GW: &str = "192.168.10.1";

/// The routing rules the kernel starts every namespace with.
pub(super) fn kernel_rules() -> Value {
    let rule = |family: &str, priority: u32, table: u32| {
        json!({"family": family, "priority": priority, "table": table, "action": "lookup",
               "invert": false, "protocol": "kernel"})
    };
    json!([
        rule("inet", 0, 255),
        rule("inet", 32766, 254),
        rule("inet", 32767, 253),
        rule("inet6", 0, 255),
        rule("inet6", 32766, 254)
    ])
}

const UP: [&str; 5] = ["UP", "BROADCAST", "RUNNING", "MULTICAST", "LOWER_UP"];

fn links(shape: NodeShape) -> Vec<Value> {
    let mut links = vec![
        json!({"index": 1, "name": "lo", "kind": "loopback",
               "flags": ["UP", "LOOPBACK", "RUNNING", "LOWER_UP"], "oper_state": "UNKNOWN",
               "mtu": 65536, "mac": "00:00:00:00:00:00"}),
        json!({"index": 2, "name": "ens4", "kind": "device", "flags": UP, "oper_state": "UP",
               "mtu": 1500, "mac": mac(4, 0)}),
        json!({"index": 3, "name": "cni0", "kind": "bridge", "flags": UP, "oper_state": "UP",
               "mtu": 1500, "mac": mac(3, 0), "stp_state": 0,
               "ports": (0..shape.pods).map(|i| format!("veth{i}")).collect::<Vec<_>>()}),
    ];
    for i in 0..shape.pods {
        links.push(json!({
            "index": i + 10, "name": format!("veth{i}"), "kind": "veth", "flags": UP,
            "oper_state": "UP", "mtu": 1500, "mac": mac(2, i), "master_index": 3,
            "master": "cni0",
            "peer": {"namespace": pod_ns(i), "ifindex": 2, "name": "eth0"},
            "link_index": 2, "link_netnsid": i,
            "bridge_port": {"state": "forwarding", "isolated": false, "learning": true,
                            "flood": true}
        }));
    }
    links
}

fn addresses(shape: NodeShape) -> Vec<Value> {
    let gw = shape.gateway().to_string();
    let prefix = shape.pod_cidr().prefix_len();
    let mut out = vec![
        json!({"ifindex": 1, "ifname": "lo", "address": "127.0.0.1", "prefix_len": 8, "scope": "host"}),
        json!({"ifindex": 2, "ifname": "ens4", "address": NODE_IP, "prefix_len": 24, "scope": "global"}),
        json!({"ifindex": 3, "ifname": "cni0", "address": gw, "prefix_len": prefix, "scope": "global"}),
        json!({"ifindex": 1, "ifname": "lo", "address": "::1", "prefix_len": 128, "scope": "host"}),
        json!({"ifindex": 2, "ifname": "ens4", "address": link_local(&mac(4, 0)), "prefix_len": 64, "scope": "link"}),
        json!({"ifindex": 3, "ifname": "cni0", "address": link_local(&mac(3, 0)), "prefix_len": 64, "scope": "link"}),
    ];
    for i in 0..shape.pods {
        out.push(json!({"ifindex": i + 10, "ifname": format!("veth{i}"),
                        "address": link_local(&mac(2, i)), "prefix_len": 64, "scope": "link"}));
    }
    out
}

fn routes(shape: NodeShape) -> Vec<Value> {
    let gw = shape.gateway().to_string();
    let cidr = shape.pod_cidr();
    let route = |table: u32, dst: String, dev: &str, src: &str, scope: &str, kind: &str| {
        json!({"table": table, "table_name": if table == 255 { "local" } else { "main" },
               "family": "inet", "dst": dst, "dev": dev, "prefsrc": src,
               "protocol": "kernel", "scope": scope, "kind": kind})
    };
    let mut out = vec![
        json!({"table": 254, "table_name": "main", "family": "inet", "dst": "default",
               "gateway": NODE_GW, "dev": "ens4", "protocol": "dhcp", "scope": "global",
               "kind": "unicast", "metric": 100}),
        route(
            254,
            "192.168.10.0/24".into(),
            "ens4",
            NODE_IP,
            "link",
            "unicast",
        ),
        route(254, cidr.to_string(), "cni0", &gw, "link", "unicast"),
        route(
            255,
            format!("{NODE_IP}/32"),
            "ens4",
            NODE_IP,
            "host",
            "local",
        ),
        route(
            255,
            "192.168.10.255/32".into(),
            "ens4",
            NODE_IP,
            "link",
            "broadcast",
        ),
        route(255, format!("{gw}/32"), "cni0", &gw, "host", "local"),
        route(
            255,
            format!("{}/32", cidr.broadcast()),
            "cni0",
            &gw,
            "link",
            "broadcast",
        ),
        route(
            255,
            "127.0.0.0/8".into(),
            "lo",
            "127.0.0.1",
            "host",
            "local",
        ),
    ];
    let v6 = |dev: String| {
        json!({"table": 254, "table_name": "main", "family": "inet6", "dst": "fe80::/64",
               "dev": dev, "protocol": "kernel", "scope": "global", "kind": "unicast",
               "metric": 256})
    };
    out.push(v6("ens4".into()));
    out.push(v6("cni0".into()));
    out.extend((0..shape.pods).map(|i| v6(format!("veth{i}"))));
    out
}

fn neighbours(shape: NodeShape) -> Vec<Value> {
    let mut out = vec![json!({"ifindex": 2, "dev": "ens4", "address": NODE_GW,
                              "lladdr": "42:01:c0:a8:0a:01", "state": "REACHABLE",
                              "router": false})];
    // The host has talked to some of its pods (probes, service traffic): a few entries each
    // state, as `ip neigh` shows on a busy node.
    for i in (0..shape.pods).step_by(3) {
        out.push(
            json!({"ifindex": 3, "dev": "cni0", "address": shape.pod_ip(i).to_string(),
                        "lladdr": mac(1, i),
                        "state": if i % 2 == 0 { "STALE" } else { "REACHABLE" },
                        "router": false}),
        );
    }
    out
}

fn sysctls(shape: NodeShape) -> Value {
    let mut rp: serde_json::Map<String, Value> = ["lo", "ens4", "cni0"]
        .iter()
        .map(|l| ((*l).to_string(), json!(0)))
        .collect();
    rp.extend((0..shape.pods).map(|i| (format!("veth{i}"), json!(0))));
    json!({"ip_forward": 1, "ipv6_forwarding": 0, "rp_filter_all": 0, "rp_filter_default": 0,
           "rp_filter": rp, "bridge_nf_call_iptables": 1, "bridge_nf_call_ip6tables": 1,
           "arp_ignore_all": 0, "arp_filter_all": 0, "arp_ignore": {"cni0": 0},
           "arp_filter": {"cni0": 0}, "conntrack_count": 4 * shape.pods + 120,
           "conntrack_max": 262_144, "conntrack_insert_failed": 0})
}

fn sockets() -> Value {
    let sock = |proto: &str, addr: &str, port: u16, inode: u64, pid: u32, comm: &str| {
        json!({"proto": proto, "address": addr, "port": port, "inode": inode,
               "processes": [{"pid": pid, "comm": comm}]})
    };
    json!([
        sock("tcp", "0.0.0.0", 22, 1001, 700, "sshd"),
        sock("tcp", "127.0.0.1", 10248, 1002, 800, "kubelet"),
        sock("tcp6", "::", 10250, 1003, 800, "kubelet"),
        sock("tcp6", "::", 10256, 1004, 900, "kube-proxy"),
        sock("tcp", "127.0.0.1", 10249, 1005, 900, "kube-proxy"),
        sock("tcp", "127.0.0.1", 45_678, 1006, 850, "containerd"),
        sock("udp", "127.0.0.53", 53, 1007, 600, "systemd-resolve")
    ])
}

pub(super) fn host(shape: NodeShape) -> Namespace {
    let mut ns = from_json(json!({
        "name": "host", "kind": "host", "inode": 4_026_531_840_u64, "paths": [],
        "processes": [{"pid": 1, "comm": "systemd"}], "status": {"state": "ok"},
        "links": links(shape), "addresses": addresses(shape), "routes": routes(shape),
        "rules": kernel_rules(), "neighbors": neighbours(shape), "sysctls": sysctls(shape),
        "sockets": sockets()
    }));
    ns.firewall = Some(kube_proxy::firewall(shape));
    ns.dns = Some(dns_files(
        "/etc/resolv.conf",
        "nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch c.example.internal\n",
    ));
    ns
}

/// containerd's bridge conflist for `cni0` and host-local's leases, one per pod.
pub(super) fn cni(shape: NodeShape) -> CniState {
    let cidr = shape.pod_cidr();
    let plugin = |kind: &str, role: &str| {
        json!({"type": kind, "role": role, "binary": format!("/opt/cni/bin/{kind}"),
               "known": true})
    };
    let allocations: Vec<Value> = (0..shape.pods)
        .map(|i| {
            json!({"ip": shape.pod_ip(i).to_string(),
                         "container_id": format!("{i:064x}"), "ifname": "eth0"})
        })
        .collect();
    serde_json::from_value(json!({
        "conf_dir": "/etc/cni/net.d", "conf_dir_exists": true, "bin_dirs": ["/opt/cni/bin"],
        "configs": [{"path": "/etc/cni/net.d/10-containerd-net.conflist", "format": "conflist",
                     "name": "containerd-net", "cni_version": "1.0.0",
                     "plugins": [plugin("bridge", "plugin"), plugin("host-local", "ipam"),
                                 plugin("portmap", "plugin")],
                     "problems": [], "bridge": "cni0"}],
        "selected": "/etc/cni/net.d/10-containerd-net.conflist",
        "ipam": [{"backend": "host-local", "network": "containerd-net",
                  "dir": "/var/lib/cni/networks/containerd-net", "dir_exists": true,
                  "ranges": [{"set": 0, "subnet": cidr.to_string(),
                              "range_start": shape.pod_ip(0).to_string(),
                              "range_end": super::nth(cidr, (1usize << (32 - cidr.prefix_len())) - 2).to_string(),
                              "gateway": shape.gateway().to_string(),
                              "size": (1u64 << (32 - cidr.prefix_len())) - 3}],
                  "allocations": allocations}],
        "runtimes": [{"name": "containerd", "backend": "cni",
                      "evidence": ["/run/containerd/containerd.sock exists"]}],
        "podman_networks": []
    }))
    .expect("fixture CNI state matches the model")
}
