//! Each scenario's faults, as data (see [`super::faults`] for the types and builders).

use super::faults::*;
use super::Fault;

/// The faults scenario `scenario` supports (empty for an unknown scenario).
pub fn faults(scenario: &str) -> Vec<Fault> {
    match scenario {
        "router" => router(),
        "bridge" => bridge(),
        "cluster" => cluster(),
        _ => Vec::new(),
    }
}

fn router() -> Vec<Fault> {
    let ac = || probe("router-a", "192.168.2.5");
    vec![
        forwarding_off("router-b", ac()),
        del_route(
            "no-route",
            "A loses its route to C's subnet",
            "router-a",
            "192.168.2.0/24",
            s("no-route:router-a:192.168.2.0/24"),
            ac(),
        ),
        link_down("router-b", "eth1", s("link-down:router-b:eth1"), ac()),
        forward_drop("router-b", ac()),
        mtu("router-a", "eth0", big_probe("router-b", "192.168.1.5")),
        dup_ip("router-a", "eth0", "192.168.1.6/24"),
        bad_nsswitch("router-a"),
        nameserver("router-a"),
    ]
}

fn bridge() -> Vec<Fault> {
    let out = || probe("bridge-red", "192.168.1.3");
    let over_bridge = || probe("bridge-blue", "192.168.15.1");
    vec![
        forwarding_off("bridge-host", out()),
        del_route(
            "no-route",
            "the LAN router loses its route to 8.8.8.8",
            "bridge-lan",
            "8.8.8.8/32",
            s("no-route:bridge-lan:8.8.8.8/32"),
            probe("bridge-red", "8.8.8.8"),
        ),
        del_route(
            "no-default",
            "red loses its default route",
            "bridge-red",
            "0.0.0.0/0",
            s("no-default:bridge-red"),
            out(),
        ),
        link_down(
            "bridge-red",
            "veth-red",
            s("link-down:bridge-red:veth-red"),
            over_bridge(),
        ),
        peer_down(
            "bridge-host",
            "veth-red-br",
            s("peer-down:bridge-red:veth-red"),
            over_bridge(),
        ),
        detach("bridge-host", "veth-red-br", over_bridge()),
        fault(
            "bridge-no-addr",
            "the bridge loses the gateway address of its namespaces",
            vec![del_addr("bridge-host", "v-net-0", "192.168.15.5/24")],
            s("bridge-no-addr:bridge-host:v-net-0"),
            out(),
        ),
        fault(
            "no-masquerade",
            "the host's MASQUERADE rule for the bridge subnet is deleted",
            vec![del_masquerade("bridge-host", "192.168.15.0/24")],
            s("no-masquerade:bridge-host:192.168.15.0/24"),
            out(),
        ),
        forward_drop("bridge-host", out()),
        mtu(
            "bridge-red",
            "veth-red",
            big_probe("bridge-blue", "192.168.15.1"),
        ),
        dup_ip("bridge-blue", "veth-blue", "192.168.15.1/24"),
        fault(
            "stale-nat",
            "a port forward to an address nobody holds is added",
            vec![stale_dnat("bridge-host", "8080", "192.168.15.99:8080")],
            s("stale-nat:bridge-host:192.168.15.99"),
            None,
        ),
        bad_nsswitch("bridge-red"),
        nameserver("bridge-lan"),
    ]
}

fn cluster() -> Vec<Fault> {
    let cross = || probe("cluster-n1-pod1", "10.244.2.2");
    let local = || probe("cluster-n1-pod2", "10.244.1.2");
    vec![
        forwarding_off("cluster-node1", cross()),
        del_route(
            "no-route",
            "node1 loses its route to node2's pod subnet",
            "cluster-node1",
            "10.244.2.0/24",
            s("no-route:cluster-node1:10.244.2.0/24"),
            cross(),
        ),
        del_route(
            "no-default",
            "a pod loses its default route",
            "cluster-n1-pod1",
            "0.0.0.0/0",
            s("no-default:cluster-n1-pod1"),
            cross(),
        ),
        link_down(
            "cluster-n1-pod1",
            "eth0",
            s("link-down:cluster-n1-pod1:eth0"),
            local(),
        ),
        peer_down(
            "cluster-node1",
            "vethn1p1",
            s("peer-down:cluster-n1-pod1:eth0"),
            local(),
        ),
        detach("cluster-node1", "vethn1p1", local()),
        fault(
            "bridge-no-addr",
            "cni0 loses the pods' gateway address",
            vec![del_addr("cluster-node1", "cni0", "10.244.1.1/24")],
            s("bridge-no-addr:cluster-node1:cni0"),
            cross(),
        ),
        forward_drop("cluster-node1", cross()),
        mtu(
            "cluster-n1-pod1",
            "eth0",
            big_probe("cluster-n1-pod2", "10.244.1.2"),
        ),
        dup_ip("cluster-n1-pod2", "eth0", "10.244.1.2/24"),
        bad_nsswitch("cluster-n1-pod1"),
        nameserver("cluster-node1"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Step;

    #[test]
    fn every_fault_stays_in_its_scenario_and_is_known() {
        for name in crate::lab::SCENARIOS {
            let scenario = crate::lab::scenario(name).unwrap();
            let owned = scenario.namespaces();
            let list = faults(name);
            assert!(list.len() >= 8, "{name}");
            for f in &list {
                assert!(super::super::FAULTS.contains(&f.name), "{}", f.name);
                for c in &f.changes {
                    assert!(
                        !matches!(c, Step::CreateNs { .. })
                            && c.namespaces().iter().all(|ns| owned.contains(ns)),
                        "{name} {}: {c}",
                        f.name
                    );
                }
                // The plan engine's offline checks take every drill as it is.
                let plan = crate::plan::Plan::new("t", f.changes.clone());
                crate::plan::validate::validate_offline(&plan)
                    .unwrap_or_else(|e| panic!("{name} {}: {e}", f.name));
                if let Some(p) = &f.probe {
                    assert!(owned.contains(&p.ns.as_str()));
                }
            }
            let mut names: Vec<_> = list.iter().map(|f| f.name).collect();
            names.dedup();
            assert_eq!(names.len(), list.len(), "{name}: duplicate fault");
        }
    }
}
