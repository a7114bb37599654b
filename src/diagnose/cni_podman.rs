//! The CNI rules on a host whose only CNI reader is podman's CNI backend (every valid
//! `.conflist` is a network; podman makes the default network up when no file names it, so
//! an empty directory is no fault), and the leak finding for netavark's ipam.db.

use super::HOST;
use crate::cni::rules::podman_network;
use crate::diagnose::{Finding, Severity};
use crate::model::{CniState, IpamNetwork};

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// `cni-config-invalid` (a `.conflist` podman skips: its network is missing) and
/// `cni-plugin-missing` (a network whose chain names a plugin that is not installed).
pub fn check(cni: &CniState) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut missing: Vec<(String, Vec<String>)> = Vec::new();
    for cfg in cni.configs.iter().filter(|c| c.format == "conflist") {
        if !cfg.valid() {
            let why: Vec<String> = cfg.problems.iter().map(|p| p.message.clone()).collect();
            out.push(
                Finding::new(
                    "cni-config-invalid",
                    Severity::Warning,
                    HOST,
                    Some(file_name(&cfg.path)),
                    format!("CNI config {} is invalid", file_name(&cfg.path)),
                    format!(
                        "{}: {}; podman skips it, so the network it defines{} does not exist \
                         for podman (containers asking for it fail to start).",
                        cfg.path,
                        why.join("; "),
                        cfg.name
                            .as_deref()
                            .map(|n| format!(" ({n})"))
                            .unwrap_or_default()
                    ),
                )
                .object("file", HOST, cfg.path.clone()),
            );
            continue;
        }
        if podman_network(cni, cfg).is_err() {
            continue;
        }
        for p in cfg.plugins.iter().filter(|p| p.binary.is_none()) {
            match missing.iter_mut().find(|(k, _)| *k == p.kind) {
                Some((_, files)) => files.push(cfg.path.clone()),
                None => missing.push((p.kind.clone(), vec![cfg.path.clone()])),
            }
        }
    }
    for (kind, files) in missing {
        let mut f = Finding::new(
            "cni-plugin-missing",
            Severity::Error,
            HOST,
            Some(&kind),
            format!("CNI plugin {kind} is not installed"),
            format!(
                "podman's network{} in {} run{} {kind}, but no executable {kind} is in {}: \
                 every container on {} fails to start with \"failed to find plugin {kind:?} \
                 in path\".",
                if files.len() == 1 { "" } else { "s" },
                files.join(", "),
                if files.len() == 1 { "s" } else { "" },
                cni.bin_dirs.join(", "),
                if files.len() == 1 { "it" } else { "them" },
            ),
        );
        for file in files {
            f = f.object("file", HOST, file);
        }
        out.push(f);
    }
    out
}

/// The `ipam-leak` finding of a netavark network. netlens does not write podman's BoltDB
/// (podman holds it locked while it changes it, and a torn write loses every allocation), so
/// the finding says how to release the addresses instead of offering a fix.
pub fn netavark_leak(
    mut finding: Finding,
    net: &IpamNetwork,
    list: &[String],
    more: &str,
    usage: &str,
) -> Finding {
    finding.title = finding
        .title
        .replace("IPAM leases", "netavark addresses")
        .replace("IPAM lease", "netavark address");
    finding.explanation = format!(
        "podman's IPAM database {} keeps {} allocated in network {}, but no namespace on the \
         host holds {}: the container{} went away without podman's cleanup (a killed podman or \
         conmon, a crash). podman never hands these addresses out again; once the subnet is \
         used up, new containers on it fail with \"IPAM error: failed to find free IP in \
         range\".{usage} netlens does not edit the database: `podman container cleanup` of a \
         container that still exists releases its address; otherwise, with every container \
         of the host stopped, the file (on tmpfs, rebuilt by podman) can be removed — a \
         reboot does the same.",
        net.dir,
        list.join(", ") + more,
        net.network,
        if list.len() == 1 { "it" } else { "them" },
        if list.len() == 1 { "" } else { "s" },
    );
    finding
}
