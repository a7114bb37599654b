//! CNI on the node: a configuration the runtime can use, the plugin binaries it names, and
//! host-local leases that no namespace holds any more (pods removed without a CNI DEL), which
//! fill the range until ADD fails with "no IP addresses available in range set".
//!
//! The configuration rules speak only on a CNI node — one with a CNI configuration directory,
//! or a well-known CNI interface in its host namespace: a plain host, or a lab built inside
//! namespaces, has no CNI to be missing.

use super::facts::Facts;
use super::{Finding, Severity};
use crate::cni::ifaces;
use crate::cni::usage::{fullest, leases, SetUsage};
use crate::model::BACKEND_NETAVARK;
use crate::model::{CniConfig, CniState, IpamNetwork, Snapshot};
use crate::plan::Step;

#[path = "cni_podman.rs"]
mod podman_cni;
use podman_cni::netavark_leak;

/// Every rule id this file reports (what `netlens cni` counts as problems).
pub const RULES: [&str; 5] = [
    "cni-config-missing",
    "cni-config-invalid",
    "cni-plugin-missing",
    "ipam-leak",
    "cni-subnet-full",
];

/// A range set this full (percent) is about to refuse new pods.
pub const FULL_PERCENT: f64 = 90.0;

pub(crate) const HOST: &str = "host";

/// The CNI interfaces of the host namespace that show it is a CNI node.
fn cni_interfaces(snap: &Snapshot) -> Vec<String> {
    snap.namespace(HOST)
        .map(|ns| {
            ns.links
                .iter()
                .filter(|l| ifaces::recognise(l).is_some_and(|i| i.evidence))
                .map(|l| l.name.clone())
                .collect()
        })
        .unwrap_or_default()
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn describe_problems(cfg: &CniConfig) -> String {
    cfg.problems
        .iter()
        .map(|p| match (p.line, p.column) {
            (Some(l), Some(c)) => format!("line {l} column {c}: {}", p.message),
            _ => p.message.clone(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// `cni-config-missing`, `cni-config-invalid`, `cni-plugin-missing`.
pub fn check_config(f: &Facts) -> Vec<Finding> {
    let Some(cni) = &f.snap.cni else {
        return Vec::new();
    };
    // podman with netavark never reads the directory: what is in it breaks nothing.
    if !cni.conf_dir_read() {
        return Vec::new();
    }
    if !cni.first_file_rule() {
        return podman_cni::check(cni);
    }
    let ifaces = cni_interfaces(f.snap);
    if !cni.conf_dir_exists && ifaces.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    config_missing(cni, &ifaces, &mut out);
    configs_invalid(cni, &mut out);
    plugins_missing(cni, &mut out);
    out
}

/// `cni-config-missing`: no config file at all, while the directory or CNI interfaces exist.
fn config_missing(cni: &CniState, ifaces: &[String], out: &mut Vec<Finding>) {
    if cni.configs.is_empty() && cni.errors.is_empty() {
        let why = if cni.conf_dir_exists {
            format!(
                "{} exists but holds no .conf, .conflist or .json file",
                cni.conf_dir
            )
        } else {
            format!(
                "the host has CNI interfaces ({}) but there is no {}",
                ifaces.join(", "),
                cni.conf_dir
            )
        };
        out.push(
            Finding::new(
                "cni-config-missing",
                Severity::Error,
                HOST,
                None,
                "no CNI configuration: pods cannot get a network",
                format!(
                    "{why}, so the runtime reports \"cni config uninitialized\" \
                     (NetworkPluginNotReady) and no pod sandbox can start. The network add-on \
                     (its install container, or the admin) writes the config there."
                ),
            )
            .object("file", HOST, cni.conf_dir.clone()),
        );
    }
}

/// `cni-config-invalid`: each file that cannot be loaded, as bad as where it sorts.
fn configs_invalid(cni: &CniState, out: &mut Vec<Finding>) {
    let selected_at = cni
        .configs
        .iter()
        .position(|c| Some(&c.path) == cni.selected.as_ref());
    for (i, cfg) in cni.configs.iter().enumerate() {
        if cfg.valid() {
            continue;
        }
        // Ahead of the chosen file (or with none chosen) it matters: containerd stops at the
        // first file it cannot load. After it, every runtime ignores it.
        let (severity, effect) = match (selected_at, cni.selected_config()) {
            (Some(s), Some(sel)) if i > s => (
                Severity::Warning,
                format!(
                    "every runtime ignores it while {} comes first; fix or remove it before \
                     that changes",
                    file_name(&sel.path)
                ),
            ),
            (Some(_), Some(sel)) => (
                Severity::Error,
                format!(
                    "it comes before {} in lexical order: CRI-O and kubelet skip it and use \
                     that file, containerd refuses to load any config",
                    file_name(&sel.path)
                ),
            ),
            _ => (
                Severity::Error,
                "no other file is valid either, so the runtime reports \"cni config \
                 uninitialized\" and no pod can start"
                    .to_string(),
            ),
        };
        out.push(
            Finding::new(
                "cni-config-invalid",
                severity,
                HOST,
                Some(file_name(&cfg.path)),
                format!("CNI config {} is invalid", file_name(&cfg.path)),
                format!("{}: {}; {effect}.", cfg.path, describe_problems(cfg)),
            )
            .object("file", HOST, cfg.path.clone()),
        );
    }
}

/// `cni-plugin-missing`: each plugin of the config in use with no executable.
fn plugins_missing(cni: &CniState, out: &mut Vec<Finding>) {
    if let Some(sel) = cni.selected_config() {
        let mut seen: Vec<&str> = Vec::new();
        for p in sel.plugins.iter().filter(|p| p.binary.is_none()) {
            if seen.contains(&p.kind.as_str()) {
                continue;
            }
            seen.push(&p.kind);
            out.push(
                Finding::new(
                    "cni-plugin-missing",
                    Severity::Error,
                    HOST,
                    Some(&p.kind),
                    format!("CNI plugin {} is not installed", p.kind),
                    format!(
                        "{} (the config the runtime uses) runs {} as {} plugin, but no \
                         executable {} is in {}: every pod ADD fails with \"failed to find \
                         plugin {:?} in path\". Install it (upstream releases unpack into \
                         /opt/cni/bin; Debian's containernetworking-plugins uses /usr/lib/cni).",
                        sel.path,
                        p.kind,
                        match p.role.as_str() {
                            "ipam" => "its IPAM",
                            "delegate" => "a delegate",
                            _ => "a",
                        },
                        p.kind,
                        cni.bin_dirs.join(", "),
                        p.kind
                    ),
                )
                .object("file", HOST, sel.path.clone()),
            );
        }
    }
}

fn usage_text(u: &SetUsage) -> String {
    format!("{}/{} addresses ({:.0}%)", u.used, u.size, u.percent())
}

fn ranges_text(net: &IpamNetwork) -> String {
    net.ranges
        .iter()
        .map(|r| format!("{}-{}", r.range_start, r.range_end))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `ipam-leak` and `cni-subnet-full`.
pub fn check_ipam(f: &Facts) -> Vec<Finding> {
    let Some(CniState { ipam, .. }) = &f.snap.cni else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for net in ipam {
        let full = fullest(net);
        let leaked: Vec<_> = leases(f.snap, net)
            .into_iter()
            .filter(|l| l.state.leaked())
            .collect();
        if !leaked.is_empty() {
            let nearly_full = full.is_some_and(|u| u.percent() >= FULL_PERCENT);
            let list: Vec<String> = leaked
                .iter()
                .take(8)
                .map(|l| {
                    format!(
                        "{} (container {}{})",
                        l.alloc.ip,
                        short(&l.alloc.container_id),
                        l.alloc
                            .ifname
                            .as_deref()
                            .map(|i| format!(", {i}"))
                            .unwrap_or_default()
                    )
                })
                .collect();
            let more = if leaked.len() > 8 {
                format!(" and {} more", leaked.len() - 8)
            } else {
                String::new()
            };
            let usage = full
                .map(|u| {
                    format!(
                        " The range ({}) has {} in use.",
                        ranges_text(net),
                        usage_text(&u)
                    )
                })
                .unwrap_or_default();
            let mut finding = Finding::new(
                "ipam-leak",
                if nearly_full {
                    Severity::Error
                } else {
                    Severity::Warning
                },
                HOST,
                Some(&net.network),
                format!(
                    "{} leaked IPAM lease{} in network {}",
                    leaked.len(),
                    if leaked.len() == 1 { "" } else { "s" },
                    net.network
                ),
                format!(
                    "host-local keeps {} leased in {}, but no namespace on the node holds \
                     {}: the pod{} went away without a CNI DEL. host-local never hands these \
                     addresses out again; once the range is used up, ADD fails with \"no IP \
                     addresses available in range set\".{usage}",
                    list.join(", ") + &more,
                    net.dir,
                    if leaked.len() == 1 { "it" } else { "them" },
                    if leaked.len() == 1 { "" } else { "s" },
                ),
            )
            .object("file", HOST, net.dir.clone());
            for l in &leaked {
                finding = finding.object("address", HOST, l.alloc.ip.to_string());
            }
            if net.backend == BACKEND_NETAVARK {
                out.push(netavark_leak(finding, net, &list, &more, &usage));
                subnet_full(&mut out, net, full, leaked.is_empty());
                continue;
            }
            let steps = leaked
                .iter()
                .map(|l| Step::ReleaseIpamLease {
                    dir: net.dir.clone(),
                    ip: l.alloc.ip,
                    container_id: Some(l.alloc.container_id.clone()),
                })
                .collect();
            out.push(finding.fix(
                format!("release the leaked leases of network {}", net.network),
                steps,
            ));
        }
        subnet_full(&mut out, net, full, leaked.is_empty());
    }
    out
}

/// `cni-subnet-full` for `net` when its fullest range set is at least [`FULL_PERCENT`] used.
fn subnet_full(out: &mut Vec<Finding>, net: &IpamNetwork, full: Option<SetUsage>, no_leak: bool) {
    let Some(u) = full.filter(|u| u.percent() >= FULL_PERCENT) else {
        return;
    };
    let exhausted = u.used >= u.size;
    let netavark = net.backend == BACKEND_NETAVARK;
    let (who, failure, advice) = if netavark {
        (
            "container",
            "the next container on it fails with \"IPAM error: failed to find free IP in range\"",
            " Create the network again with a larger subnet, or run fewer containers on it.",
        )
    } else {
        (
            "pod",
            "the next pod's ADD fails with \"no IP addresses available in range set\"",
            " Give the node a larger pod CIDR, or fewer pods.",
        )
    };
    out.push(
        Finding::new(
            "cni-subnet-full",
            if exhausted {
                Severity::Error
            } else {
                Severity::Warning
            },
            HOST,
            Some(&net.network),
            format!(
                "{who} addresses of network {} are {}",
                net.network,
                if exhausted {
                    "used up"
                } else {
                    "nearly used up"
                }
            ),
            format!(
                "{} of {} ({}) are leased{}.{}",
                usage_text(&u),
                net.network,
                ranges_text(net),
                if exhausted {
                    format!(": {failure}")
                } else {
                    String::new()
                },
                if no_leak {
                    advice
                } else {
                    " Some are leaked (see ipam-leak)."
                }
            ),
        )
        .object("file", HOST, net.dir.clone()),
    );
}

fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}
