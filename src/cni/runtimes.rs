//! Which container runtimes are on the host, and so which rule decides what the CNI
//! directory means:
//! - kubelet with containerd or CRI-O (and dockershim): the first valid file, in lexical
//!   order, is the node's network; the others are ignored;
//! - podman with its CNI backend: every `.conflist` is a podman network of its own (named by
//!   its `name`), and the default network `podman` exists even without a file;
//! - podman with netavark: `/etc/cni/net.d` is not read at all; networks are
//!   `/etc/containers/networks/*.json` and the IPAM is netavark's `ipam.db`.
//!
//! podman's backend is decided as containers/common's `NetworkBackend` does (podman 4.3):
//! `[network] network_backend` in containers.conf; else the backend cached in
//! `GRAPHROOT/defaultNetworkBackend`; else CNI when the netavark binary is missing, or when the
//! host already has containers, images or more than one CNI network; else netavark.
//!
//! Every path is read below [`Dirs::root`], so tests describe a host in a temporary directory.

use std::path::{Path, PathBuf};

use super::Dirs;
use crate::model::{CniRuntime, BACKEND_CNI, BACKEND_NETAVARK, PODMAN};
use crate::saved::read::read_regular;

const MAX_CONF_BYTES: u64 = 1 << 20;
/// containers.conf, in the order podman reads them (later files override earlier keys).
const CONTAINERS_CONF: [&str; 2] = [
    "/usr/share/containers/containers.conf",
    "/etc/containers/containers.conf",
];
const CONTAINERS_CONF_D: &str = "/etc/containers/containers.conf.d";
const STORAGE_CONF: &str = "/etc/containers/storage.conf";
const DEFAULT_GRAPHROOT: &str = "/var/lib/containers/storage";
/// Where podman looks for netavark when containers.conf names no `helper_binaries_dir`.
const HELPER_DIRS: [&str; 4] = [
    "/usr/local/libexec/podman",
    "/usr/local/lib/podman",
    "/usr/libexec/podman",
    "/usr/lib/podman",
];
pub const NETAVARK_CONFIG_DIR: &str = "/etc/containers/networks";
pub const NETAVARK_IPAM_DB: &str = "/run/containers/networks/ipam.db";
pub const DEFAULT_NETWORK: &str = "podman";
pub const DEFAULT_SUBNET: &str = "10.88.0.0/16";

/// The keys of containers.conf (and storage.conf) netlens needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodmanConf {
    /// (value, file it came from)
    pub network_backend: Option<(String, String)>,
    pub network_config_dir: Option<String>,
    pub default_network: Option<String>,
    pub default_subnet: Option<String>,
    pub helper_binaries_dir: Vec<String>,
    pub graphroot: Option<String>,
    /// The files read.
    pub files: Vec<String>,
}

/// `path` (absolute, as on the host) below the root.
pub fn under(root: &Path, path: &str) -> PathBuf {
    root.join(path.trim_start_matches('/'))
}

/// A TOML string or string array value, the only kinds these keys take.
fn values(raw: &str) -> Vec<String> {
    let raw = raw.trim();
    let inner = raw
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or(raw);
    inner
        .split(',')
        .map(|v| v.trim().trim_matches(|c| c == '"' || c == '\'').to_string())
        .filter(|v| !v.is_empty())
        .collect()
}

/// Reads the keys of one containers.conf / storage.conf text (a TOML subset: `[section]`
/// headers, `key = "value"` lines, `#` comments). Later calls override earlier values.
pub fn parse_conf(text: &str, file: &str, into: &mut PodmanConf) {
    let mut section = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if let Some(s) = line.strip_prefix('[') {
            section = s.trim_end_matches(']').trim().to_string();
            continue;
        }
        let Some((key, raw)) = line.split_once('=') else {
            continue;
        };
        // A value may end in a comment: `key = "x" # why`.
        let raw = raw.split(" #").next().unwrap_or(raw);
        let first = values(raw).into_iter().next();
        match (section.as_str(), key.trim()) {
            ("network", "network_backend") => {
                into.network_backend = first.map(|v| (v, file.to_string()));
            }
            ("network", "network_config_dir") => into.network_config_dir = first,
            ("network", "default_network") => into.default_network = first,
            ("network", "default_subnet") => into.default_subnet = first,
            ("engine", "helper_binaries_dir") => into.helper_binaries_dir = values(raw),
            ("storage", "graphroot") => into.graphroot = first,
            _ => {}
        }
    }
}

fn read_text(path: &Path) -> Option<String> {
    read_regular(path, MAX_CONF_BYTES, "a container runtime config")
        .ok()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// containers.conf (all of them, in order) and storage.conf below `root`.
pub fn podman_conf(root: &Path) -> PodmanConf {
    let mut conf = PodmanConf::default();
    let mut files: Vec<String> = CONTAINERS_CONF.iter().map(|f| f.to_string()).collect();
    if let Ok(rd) = std::fs::read_dir(under(root, CONTAINERS_CONF_D)) {
        let mut drop_ins: Vec<String> = rd
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| n.ends_with(".conf"))
            .map(|n| format!("{CONTAINERS_CONF_D}/{n}"))
            .collect();
        drop_ins.sort();
        files.extend(drop_ins);
    }
    files.push(STORAGE_CONF.to_string());
    for f in files {
        if let Some(text) = read_text(&under(root, &f)) {
            parse_conf(&text, &f, &mut conf);
            conf.files.push(f);
        }
    }
    conf
}

/// Whether podman's store holds containers or images (a non-empty `*-containers.json` /
/// `*-images.json` list): then an existing install keeps CNI.
fn store_in_use(graphroot: &Path) -> bool {
    let Ok(rd) = std::fs::read_dir(graphroot) else {
        return false;
    };
    rd.filter_map(Result::ok).any(|e| {
        let name = e.file_name().to_string_lossy().into_owned();
        let file = if name.ends_with("-containers") {
            "containers.json"
        } else if name.ends_with("-images") {
            "images.json"
        } else {
            return false;
        };
        read_text(&e.path().join(file)).is_some_and(|t| {
            serde_json::from_str::<serde_json::Value>(&t)
                .ok()
                .and_then(|v| v.as_array().map(|a| !a.is_empty()))
                .unwrap_or(false)
        })
    })
}

/// podman's backend and why. `cni_networks`: valid `.conflist` files in the CNI directory.
pub fn podman_backend(root: &Path, conf: &PodmanConf, cni_networks: usize) -> (String, String) {
    if let Some((b, file)) = &conf.network_backend {
        return (b.clone(), format!("network_backend = \"{b}\" in {file}"));
    }
    let graphroot = conf.graphroot.as_deref().unwrap_or(DEFAULT_GRAPHROOT);
    let cached = format!("{graphroot}/defaultNetworkBackend");
    if let Some(b) = read_text(&under(root, &cached)) {
        let b = b.trim();
        if b == BACKEND_CNI || b == BACKEND_NETAVARK {
            return (
                b.to_string(),
                format!("{b}, as podman recorded in {cached}"),
            );
        }
    }
    let dirs: Vec<&str> = if conf.helper_binaries_dir.is_empty() {
        HELPER_DIRS.to_vec()
    } else {
        conf.helper_binaries_dir
            .iter()
            .map(String::as_str)
            .collect()
    };
    let netavark = dirs
        .iter()
        .map(|d| format!("{d}/netavark"))
        .find(|p| under(root, p).is_file());
    let Some(netavark) = netavark else {
        return (BACKEND_CNI.into(), "cni: netavark is not installed".into());
    };
    if store_in_use(&under(root, graphroot)) {
        return (
            BACKEND_CNI.into(),
            format!("cni: {graphroot} already holds containers or images"),
        );
    }
    if cni_networks > 1 {
        return (
            BACKEND_CNI.into(),
            format!("cni: {cni_networks} CNI networks already exist"),
        );
    }
    (
        BACKEND_NETAVARK.into(),
        format!("netavark: a fresh install with {netavark}"),
    )
}

/// (name, files any of which shows the runtime is in use here)
const OTHERS: [(&str, &[&str]); 3] = [
    (
        "kubelet",
        &[
            "/var/lib/kubelet/config.yaml",
            "/etc/kubernetes/kubelet.conf",
        ],
    ),
    (
        "containerd",
        &[
            "/run/containerd/containerd.sock",
            "/var/run/containerd/containerd.sock",
        ],
    ),
    ("cri-o", &["/run/crio/crio.sock", "/var/run/crio/crio.sock"]),
];

/// The runtime of a configuration directory the user named, when no runtime is recognised.
pub const GIVEN: &str = "unknown";

const PODMAN_SIGNS: [&str; 4] = [
    "/usr/bin/podman",
    "/usr/local/bin/podman",
    "/etc/containers/containers.conf",
    "/run/libpod",
];

/// The runtimes found below `dirs.root`.
pub fn detect(dirs: &Dirs, cni_networks: usize) -> Vec<CniRuntime> {
    let root = &dirs.root;
    let mut out = Vec::new();
    for (name, files) in OTHERS {
        let evidence: Vec<String> = files
            .iter()
            .filter(|f| under(root, f).exists())
            .map(|f| format!("{f} exists"))
            .collect();
        if !evidence.is_empty() {
            out.push(CniRuntime {
                name: name.into(),
                backend: None,
                evidence,
            });
        }
    }
    if dirs.conf_dir_given && out.is_empty() {
        out.push(CniRuntime {
            name: GIVEN.into(),
            backend: None,
            evidence: vec![format!(
                "{} was named (--conf-dir or {}): its reader is taken to use the first \
                 valid file",
                dirs.conf_dir.display(),
                super::CONF_DIR_ENV
            )],
        });
    }
    let mut evidence: Vec<String> = PODMAN_SIGNS
        .iter()
        .filter(|f| under(root, f).exists())
        .map(|f| format!("{f} exists"))
        .collect();
    if !evidence.is_empty() {
        let conf = podman_conf(root);
        let (backend, why) = podman_backend(root, &conf, cni_networks);
        evidence.push(format!("network backend {why}"));
        out.push(CniRuntime {
            name: PODMAN.into(),
            backend: Some(backend),
            evidence,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conf_keys_and_overrides() {
        let mut c = PodmanConf::default();
        parse_conf(
            "[network]\n#network_backend = \"cni\"\nnetwork_backend = \"\"\n[engine]\nhelper_binaries_dir = [\"/opt/h\", \"/x\"]\n",
            "/usr/share/containers/containers.conf",
            &mut c,
        );
        assert_eq!(c.network_backend, None);
        assert_eq!(c.helper_binaries_dir, ["/opt/h", "/x"]);
        parse_conf(
            "[containers]\nnetwork_backend = \"x\"\n[network]\nnetwork_backend = \"cni\" # old host\ndefault_subnet = \"10.1.0.0/16\"\n",
            "/etc/containers/containers.conf",
            &mut c,
        );
        assert_eq!(
            c.network_backend,
            Some(("cni".into(), "/etc/containers/containers.conf".into()))
        );
        assert_eq!(c.default_subnet.as_deref(), Some("10.1.0.0/16"));
    }

    /// podman 4.3's choice, step by step (containers/common `defaultNetworkBackend`).
    #[test]
    fn backend_rule() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        let put = |p: &str, text: &str| {
            let at = under(r, p);
            std::fs::create_dir_all(at.parent().unwrap()).unwrap();
            std::fs::write(at, text).unwrap();
        };
        let backend = |n: usize| podman_backend(r, &podman_conf(r), n).0;
        assert_eq!(backend(0), "cni", "no netavark binary");
        put("/usr/lib/podman/netavark", "");
        assert_eq!(backend(1), "netavark", "fresh install");
        assert_eq!(backend(2), "cni", "CNI networks already made");
        put(
            "/var/lib/containers/storage/vfs-containers/containers.json",
            "[]",
        );
        assert_eq!(backend(0), "netavark", "an empty store is fresh");
        put(
            "/var/lib/containers/storage/vfs-images/images.json",
            r#"[{"id":"x"}]"#,
        );
        assert_eq!(backend(0), "cni", "images exist");
        put(
            "/var/lib/containers/storage/defaultNetworkBackend",
            "netavark",
        );
        assert_eq!(backend(0), "netavark", "what podman recorded");
        put(
            "/etc/containers/containers.conf",
            "[network]\nnetwork_backend = \"cni\"\n",
        );
        let (b, why) = podman_backend(r, &podman_conf(r), 0);
        assert_eq!(b, "cni");
        assert!(why.contains("/etc/containers/containers.conf"), "{why}");
    }
}
