//! The `netlens cni` report built from a snapshot: each runtime, config, network (with its
//! leases and pods) and CNI interface as the views of [`super`].

use crate::cni::usage::{self, LeaseState};
use crate::cni::{ifaces, rules};
use crate::diagnose::{self, Finding};
use crate::model::{CniConfig, CniState, IpamNetwork, Snapshot};

use super::*;

/// The report of `snap` (whose `cni` part was read with the directories wanted).
pub fn report(snap: &Snapshot) -> CniReport {
    let empty = CniState::default();
    let cni = snap.cni.as_ref().unwrap_or(&empty);
    let findings: Vec<Finding> = diagnose::diagnose(snap)
        .into_iter()
        .filter(|f| diagnose::cni::RULES.contains(&f.rule.as_str()))
        .collect();
    let selected_why = rules::selected_why(cni);
    let configs = cni.configs.iter().map(|c| config_view(cni, c)).collect();
    let networks = cni
        .ipam
        .iter()
        .map(|net| network_view(snap, cni, net))
        .collect();
    let runtimes = cni
        .runtimes
        .iter()
        .map(|r| RuntimeView {
            name: r.name.clone(),
            backend: r.backend.clone(),
            rule: rules::rule(r),
            evidence: r.evidence.clone(),
        })
        .collect();
    CniReport {
        runtimes,
        conf_dir: cni.conf_dir.clone(),
        conf_dir_exists: cni.conf_dir_exists,
        bin_dirs: cni.bin_dirs.clone(),
        selected: cni.selected.clone(),
        selected_why,
        configs,
        networks,
        interfaces: interfaces(snap),
        errors: cni.errors.clone(),
        findings,
    }
}

fn config_view(cni: &CniState, c: &CniConfig) -> ConfigView {
    ConfigView {
        path: c.path.clone(),
        format: c.format.clone(),
        name: c.name.clone(),
        cni_version: c.cni_version.clone(),
        valid: c.valid(),
        status: rules::status(cni, c),
        problems: c.problems.clone(),
        plugins: c
            .plugins
            .iter()
            .map(|p| PluginView {
                kind: p.kind.clone(),
                role: p.role.clone(),
                known: p.known,
                binary: p.binary.clone(),
                found: p.binary.is_some(),
            })
            .collect(),
    }
}

fn network_view(snap: &Snapshot, cni: &CniState, net: &IpamNetwork) -> NetworkView {
    let host = snap.namespace("host");
    let bridge_exists = |name: &str| host.is_some_and(|ns| ns.links.iter().any(|l| l.name == name));
    let configured =
        rules::configured_bridge(cni, &net.backend, &net.network, net.config.as_deref());
    let (bridge, bridge_missing) = match configured {
        Some(b) if bridge_exists(&b) => (Some(b), None),
        other => (None, other),
    };
    let full = usage::fullest(net);
    NetworkView {
        network: net.network.clone(),
        backend: net.backend.clone(),
        config: net.config.clone(),
        dir: net.dir.clone(),
        ranges: net
            .ranges
            .iter()
            .map(|r| RangeView {
                set: r.set,
                subnet: r.subnet.to_string(),
                range_start: r.range_start.to_string(),
                range_end: r.range_end.to_string(),
                gateway: r.gateway.map(|g| g.to_string()),
                size: r.size,
            })
            .collect(),
        used: full.map_or(net.allocations.len() as u64, |u| u.used),
        total: full.map_or(0, |u| u.size),
        percent: full.map_or(0.0, |u| (u.percent() * 10.0).round() / 10.0),
        allocations: usage::leases(snap, net)
            .into_iter()
            .map(allocation_view)
            .collect(),
        pods: usage::pods(snap, bridge.as_deref(), &net.ranges)
            .into_iter()
            .map(|p| PodView {
                namespace: p.namespace,
                ifname: p.ifname,
                address: p.address.map(|a| a.to_string()),
                host_veth: p.host_veth,
            })
            .collect(),
        bridge,
        bridge_missing,
        default_network: net.config.is_none()
            && cni
                .podman_networks
                .iter()
                .any(|v| v.name == net.network && v.file.is_none()),
        error: net.error.clone(),
    }
}

fn allocation_view(l: usage::Lease<'_>) -> AllocationView {
    let (state, held_by, held_on, note) = match l.state {
        LeaseState::Held { namespace, ifname } => ("held", Some(namespace), Some(ifname), None),
        LeaseState::Container { namespace } => (
            "container",
            Some(namespace),
            None,
            Some("the container lives but does not hold the address".into()),
        ),
        LeaseState::Leaked => ("leaked", None, None, None),
        LeaseState::Unknown(why) => ("unknown", None, None, Some(why)),
    };
    AllocationView {
        ip: l.alloc.ip.to_string(),
        container_id: l.alloc.container_id.clone(),
        ifname: l.alloc.ifname.clone(),
        state: state.to_string(),
        held_by,
        held_on,
        note,
    }
}

/// Well-known CNI interfaces in the host namespace.
fn interfaces(snap: &Snapshot) -> Vec<InterfaceView> {
    snap.namespace("host")
        .map(|ns| {
            ns.links
                .iter()
                .filter_map(|l| {
                    ifaces::recognise(l).map(|i| InterfaceView {
                        name: l.name.clone(),
                        kind: l.kind.to_string(),
                        what: i.what.to_string(),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}
