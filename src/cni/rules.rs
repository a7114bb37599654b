//! What each runtime found on the host does with each file of the CNI directory, in words
//! (`netlens cni`'s status column) and as facts the doctor uses: kubelet's runtimes take the
//! first valid file; podman's CNI backend makes every valid `.conflist` a network (the first
//! file with a given name wins, `.conf` and `.json` are not read); netavark reads none.

use crate::model::{CniConfig, CniRuntime, CniState, BACKEND_CNI, BACKEND_NETAVARK, PODMAN};

/// How `r` reads its networks.
pub fn rule(r: &CniRuntime) -> String {
    match (r.name.as_str(), r.backend.as_deref()) {
        (PODMAN, Some(BACKEND_NETAVARK)) => "netavark: networks in /etc/containers/networks \
            (the default network needs no file), addresses in \
            /run/containers/networks/ipam.db; the CNI directory is not read"
            .into(),
        (PODMAN, _) => "CNI: every valid .conflist is a podman network of its own".into(),
        _ => "the first valid file in lexical order is the network; the others are ignored".into(),
    }
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// What podman's CNI backend does with `cfg`: `Ok(network name)` when it is a network,
/// `Err(why not)` otherwise.
pub fn podman_network(cni: &CniState, cfg: &CniConfig) -> Result<String, String> {
    if cfg.format != "conflist" {
        return Err("podman reads only .conflist files".into());
    }
    if !cfg.valid() {
        return Err("invalid: podman skips it".into());
    }
    let name = cfg.name.clone().unwrap_or_default();
    let first = cni
        .configs
        .iter()
        .find(|c| c.format == "conflist" && c.valid() && c.name.as_deref() == Some(&name));
    match first {
        Some(f) if f.path != cfg.path => Err(format!(
            "podman skips it: {} already defines network {name}",
            file_name(&f.path)
        )),
        _ => Ok(name),
    }
}

/// The status of one file, for every runtime here, `; `-separated.
pub fn status(cni: &CniState, cfg: &CniConfig) -> String {
    let mut parts = Vec::new();
    if cni.first_file_rule() {
        parts.push(if Some(&cfg.path) == cni.selected.as_ref() {
            "used".to_string()
        } else if !cfg.valid() {
            "invalid: the runtime skips it".to_string()
        } else {
            "ignored: only the first valid file is used".to_string()
        });
    }
    match cni.podman_backend() {
        Some(BACKEND_CNI) => parts.push(match podman_network(cni, cfg) {
            Ok(name) => format!("podman network {name}"),
            Err(why) => why,
        }),
        Some(_) if parts.is_empty() => parts
            .push("not read: podman uses netavark, which does not read the CNI directory".into()),
        _ => {}
    }
    parts.join("; ")
}

/// Why `selected` is what it is.
pub fn selected_why(cni: &CniState) -> String {
    if !cni.first_file_rule() {
        return match cni.podman_backend() {
            Some(BACKEND_CNI) => "no runtime here takes a single file: podman (CNI backend) \
                                  uses every valid .conflist as a network"
                .into(),
            _ => "no runtime here reads the CNI directory (podman uses netavark)".into(),
        };
    }
    match cni.selected_config() {
        Some(sel) => {
            let before = cni
                .configs
                .iter()
                .take_while(|c| c.path != sel.path)
                .count();
            if before == 0 {
                "the first file in lexical order, and valid".to_string()
            } else {
                format!("the first valid file in lexical order ({before} invalid before it)")
            }
        }
        None if !cni.conf_dir_exists => format!("no {}", cni.conf_dir),
        None if cni.configs.is_empty() => format!("{} holds no config file", cni.conf_dir),
        None => "no file is valid".to_string(),
    }
}

/// The bridge a network's configuration names: the CNI config's `bridge`, or the netavark
/// network's `network_interface`.
pub fn configured_bridge(
    cni: &CniState,
    backend: &str,
    network: &str,
    config: Option<&str>,
) -> Option<String> {
    // netavark's networks, and the default network podman's CNI backend makes up.
    if backend == BACKEND_NETAVARK || config.is_none() {
        return cni
            .podman_networks
            .iter()
            .find(|n| n.name == network)
            .and_then(|n| n.interface.clone());
    }
    config
        .and_then(|p| cni.configs.iter().find(|c| c.path == p))
        .and_then(|c| c.bridge.clone())
}
