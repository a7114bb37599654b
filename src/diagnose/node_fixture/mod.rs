//! A node-shaped [`Snapshot`] built in memory, for the doctor's benchmark and tests: what a
//! Kubernetes worker looks like to `netlens snapshot --json` (field by field as collected in a
//! throwaway world of pods on a `cni0` bridge), at any number of pods, with no kernel.
//!
//! What is where: here the shape and its assembly; `pod.rs` one pod's namespace; `host.rs`
//! the host namespace (bridge, veth ports, node NIC, sysctls, sockets) and the CNI state;
//! `kube_proxy.rs` the host's kube-proxy-sized iptables (as `iptables-save` text, parsed by
//! the same parser the collector uses, so rules hold what a real node's do).
//!
//! Namespaces are built from JSON shaped like the collector's output so a field the rules read
//! is present exactly as on a real node (a `Link` built field by field would drift).

mod host;
mod kube_proxy;
mod pod;

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use crate::model::{Namespace, Snapshot, SCHEMA_VERSION};

/// How big a node to build.
#[derive(Debug, Clone, Copy)]
pub struct NodeShape {
    pub pods: usize,
    /// Kubernetes services in kube-proxy's NAT table (each with a cluster IP and two
    /// endpoints: about 10 rules a service).
    pub services: usize,
}

impl NodeShape {
    /// `pods` pods and 500 services (≈ 5000 NAT rules), a busy node's kube-proxy.
    pub fn pods(pods: usize) -> Self {
        NodeShape {
            pods,
            services: 500,
        }
    }

    /// The pod subnet: 10.244.0.0/24 as on a real node while the pods fit, wider beyond (a
    /// node has ~110 pods; the benchmark goes to 3000). Sized so the pods (with the network,
    /// gateway and broadcast addresses) fill at most 85% of it: a healthy node's IPAM is not
    /// nearly full, and the doctor's `cni-subnet-full` warns from 90% (1000 pods in a /22
    /// were 98%).
    pub fn pod_cidr(&self) -> Ipv4Net {
        let addresses = (self.pods + 3) * 100 / 85 + 1;
        let needed = addresses.next_power_of_two().trailing_zeros() as u8;
        Ipv4Net::new(Ipv4Addr::new(10, 244, 0, 0), 32 - needed.max(8)).expect("prefix ≤ 24")
    }

    /// The bridge's address, every pod's gateway.
    pub fn gateway(&self) -> Ipv4Addr {
        nth(self.pod_cidr(), 1)
    }

    /// Pod `i`'s address (pods count from 0).
    pub fn pod_ip(&self, i: usize) -> Ipv4Addr {
        nth(self.pod_cidr(), i + 2)
    }
}

fn nth(net: Ipv4Net, i: usize) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(net.network()) + u32::try_from(i).expect("fits an IPv4 subnet"))
}

/// A MAC address from a kind (1 = pod side, 2 = host side, 3 = bridge, 4 = NIC) and a
/// number: distinct for every link of the node.
pub(crate) fn mac(kind: u8, i: usize) -> String {
    let b = u32::try_from(i).expect("pod count fits u32").to_be_bytes();
    format!(
        "0a:{kind:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        b[0], b[1], b[2], b[3]
    )
}

/// The IPv6 link-local address the kernel derives from `mac` (EUI-64).
pub(crate) fn link_local(mac: &str) -> String {
    let b: Vec<u8> = mac
        .split(':')
        .map(|h| u8::from_str_radix(h, 16).expect("hex"))
        .collect();
    let words = [
        u16::from_be_bytes([b[0] ^ 2, b[1]]),
        u16::from_be_bytes([b[2], 0xff]),
        u16::from_be_bytes([0xfe, b[3]]),
        u16::from_be_bytes([b[4], b[5]]),
    ];
    let ip = std::net::Ipv6Addr::new(0xfe80, 0, 0, 0, words[0], words[1], words[2], words[3]);
    ip.to_string()
}

/// The name of pod `i`'s namespace, as containerd names them.
pub fn pod_ns(i: usize) -> String {
    format!("cni-{i:08x}-0000-4000-8000-{i:012x}")
}

/// A healthy node of `shape`: the host first, then the pods by name (as the collector orders
/// them).
pub fn node_snapshot(shape: NodeShape) -> Snapshot {
    let mut namespaces: Vec<Namespace> = Vec::with_capacity(shape.pods + 1);
    namespaces.push(host::host(shape));
    let mut pods: Vec<Namespace> = (0..shape.pods).map(|i| pod::pod(shape, i)).collect();
    pods.sort_by(|a, b| a.name.cmp(&b.name));
    namespaces.extend(pods);
    Snapshot {
        schema_version: SCHEMA_VERSION,
        taken_at: 1_764_547_200,
        hostname: "node-1".into(),
        namespaces,
        warnings: Vec::new(),
        cni: Some(host::cni(shape)),
    }
}

/// Namespace `ns` of a snapshot, built from JSON in the collector's shape.
pub(crate) fn from_json(value: serde_json::Value) -> Namespace {
    serde_json::from_value(value).expect("fixture namespace matches the model")
}

#[cfg(test)]
mod tests;
