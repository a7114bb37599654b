//! "Cluster networking": three nodes on a LAN, each with a pod bridge `cni0` on its own
//! 10.244.N.0/24 and two pods, and static routes on every node to the other nodes' pod
//! subnets — the manual setup the notes do before introducing CNI.
//!
//! ```text
//! cluster-lan: lan0 ── eth0 192.168.1.1N  cluster-nodeN  cni0 10.244.N.1 ── vethnNpK ── eth0 10.244.N.(K+1) cluster-nN-podK
//! ```

use super::build::*;
use crate::plan::Step;

const LAN: &str = "cluster-lan";
const NODES: u8 = 3;
const PODS_PER_NODE: u8 = 2;

pub fn steps() -> Vec<Step> {
    let mut s = Vec::new();
    ns_with_lo(&mut s, LAN);
    s.extend([bridge(LAN, "lan0"), link_up(LAN, "lan0")]);

    for n in 1..=NODES {
        let node = format!("cluster-node{n}");
        let port = format!("to-node{n}");
        ns_with_lo(&mut s, &node);
        s.extend([
            veth("eth0", &node, &port, LAN),
            master(LAN, &port, "lan0"),
            link_up(LAN, &port),
            addr(&node, "eth0", &format!("192.168.1.1{n}/24")),
            link_up(&node, "eth0"),
            bridge(&node, "cni0"),
            link_up(&node, "cni0"),
            addr(&node, "cni0", &format!("10.244.{n}.1/24")),
            ip_forward(&node),
        ]);
        for p in 1..=PODS_PER_NODE {
            let pod = format!("cluster-n{n}-pod{p}");
            let host_side = format!("vethn{n}p{p}");
            ns_with_lo(&mut s, &pod);
            s.extend([
                veth("eth0", &pod, &host_side, &node),
                master(&node, &host_side, "cni0"),
                link_up(&node, &host_side),
                addr(&pod, "eth0", &format!("10.244.{n}.{}/24", p + 1)),
                link_up(&pod, "eth0"),
                default_route(&pod, &format!("10.244.{n}.1")),
            ]);
        }
    }

    // Routes last: a gateway must be on a connected subnet when the route is added.
    for n in 1..=NODES {
        for m in (1..=NODES).filter(|m| *m != n) {
            s.push(route(
                &format!("cluster-node{n}"),
                &format!("10.244.{m}.0/24"),
                &format!("192.168.1.1{m}"),
            ));
        }
    }
    s
}
