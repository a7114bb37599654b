//! `netlens cni` on podman hosts rebuilt below a temporary root from the real files of
//! tests/samples/podman (podman 4.3.1, netavark and CNI backends; see its README): the
//! runtime and its rule, each file's status, the networks and the addresses podman itself
//! reported (podman-inspect.txt).

use std::path::{Path, PathBuf};

use netlens::cni::Dirs;
use netlens::model::{Link, Namespace, NamespaceKind, Snapshot};
use netlens::report::cni::{report, CniReport};

const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/samples/podman");

/// A host below a temporary root: `files` are (path on the host, sample to copy there,
/// or `None` for an empty file).
fn host(files: &[(&str, Option<&str>)]) -> (tempfile::TempDir, Dirs) {
    let root = tempfile::tempdir().unwrap();
    for (at, from) in files {
        let to = root.path().join(at.trim_start_matches('/'));
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        match from {
            Some(f) => copy(&Path::new(SAMPLES).join(f), &to),
            None => std::fs::write(&to, "").unwrap(),
        }
    }
    let r = root.path();
    let dirs = Dirs {
        conf_dir: r.join("etc/cni/net.d"),
        bin_dirs: vec![r.join("usr/lib/cni")],
        data_dir: r.join("var/lib/cni/networks"),
        root: r.to_path_buf(),
        conf_dir_given: false,
    };
    (root, dirs)
}

fn copy(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            copy(&e.path(), &to.join(e.file_name()));
        }
    } else {
        std::fs::copy(from, to).unwrap();
    }
}

/// A snapshot holding only the host namespace with `links` (no container holds an
/// address: every allocation is unheld).
fn snapshot(dirs: &Dirs, links: &[&str]) -> Snapshot {
    let mut host = Namespace::new("host".into(), NamespaceKind::Host, 1);
    for (i, l) in links.iter().enumerate() {
        host.links.push(Link::new(i as u32 + 1, *l, "bridge"));
    }
    Snapshot {
        schema_version: 1,
        taken_at: 4_000_000_000,
        hostname: "h".into(),
        namespaces: vec![host],
        warnings: Vec::new(),
        cni: Some(netlens::cni::read(dirs)),
    }
}

/// (network, ip, container id) from `podman inspect` (podman-inspect.txt).
fn podman_says(file: &str) -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(Path::new(SAMPLES).join(file)).unwrap();
    let mut out: Vec<(String, String, String)> = text
        .lines()
        .filter_map(|l| {
            let (id, nets) = l.split_once(' ')?;
            let (net, ip) = nets.trim().split_once('=')?;
            Some((net.to_string(), ip.to_string(), id.to_string()))
        })
        .collect();
    out.sort();
    out
}

fn allocations(r: &CniReport) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = r
        .networks
        .iter()
        .flat_map(|n| {
            n.allocations
                .iter()
                .map(|a| (n.network.clone(), a.ip.clone(), a.container_id.clone()))
        })
        .collect();
    out.sort();
    out
}

/// The configuration findings only (every lease is unheld in these snapshots).
fn config_ids(r: &CniReport) -> Vec<String> {
    ids(r)
        .into_iter()
        .filter(|i| i.starts_with("cni-config") || i.starts_with("cni-plugin"))
        .collect()
}

fn ids(r: &CniReport) -> Vec<String> {
    r.findings
        .iter()
        .map(|f| format!("{} {}", f.id, f.severity))
        .collect()
}

const NETAVARK_HOST: &[(&str, Option<&str>)] = &[
    ("/usr/bin/podman", None),
    ("/usr/lib/podman/netavark", None),
    (
        "/etc/containers/containers.conf",
        Some("netavark/containers.conf"),
    ),
    ("/etc/containers/networks", Some("netavark/networks")),
    ("/run/containers/networks/ipam.db", Some("netavark/ipam.db")),
    // Debian's podman package installs it; netavark never reads it.
    (
        "/etc/cni/net.d/87-podman-bridge.conflist",
        Some("cni/net.d/87-podman-bridge.conflist"),
    ),
];

#[test]
fn netavark_networks_and_ipam_db() {
    let (_root, dirs) = host(NETAVARK_HOST);
    let snap = snapshot(&dirs, &["podman0"]);
    let r = report(&snap);
    let rt: Vec<(String, Option<String>)> = r
        .runtimes
        .iter()
        .map(|r| (r.name.clone(), r.backend.clone()))
        .collect();
    assert_eq!(rt, [("podman".to_string(), Some("netavark".to_string()))]);
    assert!(r.runtimes[0]
        .evidence
        .iter()
        .any(|e| e.contains("network_backend")));
    // The CNI directory is nobody's: not "used", and no bridge of it shown.
    assert_eq!(r.selected, None);
    assert_eq!(r.configs.len(), 1);
    assert!(
        r.configs[0].status.starts_with("not read"),
        "{}",
        r.configs[0].status
    );
    let nets: Vec<(&str, &str, Option<&str>, Option<&str>)> = r
        .networks
        .iter()
        .map(|n| {
            (
                n.network.as_str(),
                n.backend.as_str(),
                n.bridge.as_deref(),
                n.bridge_missing.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        nets,
        [
            ("podman", "netavark", Some("podman0"), None),
            ("small", "netavark", None, Some("podman1")),
        ]
    );
    assert!(r.networks[0].default_network);
    assert_eq!(r.networks[0].ranges[0].subnet, "10.88.0.0/16");
    // What podman itself said about its containers.
    assert_eq!(allocations(&r), podman_says("netavark/podman-inspect.txt"));
    // small (10.77.0.0/29) holds c3…c7: full, as c8's failure showed.
    let small = &r.networks[1];
    assert_eq!((small.used, small.total), (5, 5));
    // No namespace holds any address: all leaked; the netavark leak has no fix.
    assert_eq!(
        ids(&r),
        [
            "cni-subnet-full:host:small error",
            "ipam-leak:host:small error",
            "ipam-leak:host:podman warning",
        ]
    );
    let leak = &r.findings[1];
    assert!(leak.fix.is_none());
    assert!(leak.explanation.contains("ipam.db"), "{}", leak.explanation);
    print!("{}", netlens::report::cni::render(&r));
}

#[test]
fn netavark_after_rm_and_damaged_db() {
    let mut files = NETAVARK_HOST.to_vec();
    files[4] = (
        "/run/containers/networks/ipam.db",
        Some("netavark/ipam-after-rm.db"),
    );
    let (root, dirs) = host(&files);
    let r = report(&snapshot(&dirs, &[]));
    let left: Vec<String> =
        std::fs::read_to_string(Path::new(SAMPLES).join("netavark/after-rm-c1.txt"))
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
    let mut held: Vec<String> = allocations(&r).into_iter().map(|a| a.2).collect();
    held.sort();
    let mut left_sorted = left.clone();
    left_sorted.sort();
    assert_eq!(held, left_sorted);
    // A damaged database is an error on the report, not a panic or a wrong "healthy".
    let db: PathBuf = root.path().join("run/containers/networks/ipam.db");
    let bytes = std::fs::read(&db).unwrap();
    // Cut after the meta pages: the tree they point to is gone.
    std::fs::write(&db, &bytes[..8192]).unwrap();
    let r = report(&snapshot(&dirs, &[]));
    assert!(
        r.errors.iter().any(|e| e.contains("ipam.db")),
        "{:?}",
        r.errors
    );
}

/// A directory the user names is judged by the first-file rule even where only netavark
/// is recognised (a kubelet netlens does not know may read it).
#[test]
fn a_named_conf_dir_is_read() {
    let (_root, mut dirs) = host(NETAVARK_HOST);
    dirs.conf_dir_given = true;
    let r = report(&snapshot(&dirs, &[]));
    let names: Vec<&str> = r.runtimes.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["unknown", "podman"]);
    assert_eq!(r.configs[0].status, "used");
    assert!(r.selected.is_some());
}

const CNI_HOST: &[(&str, Option<&str>)] = &[
    ("/usr/bin/podman", None),
    (
        "/etc/containers/containers.conf",
        Some("cni/containers.conf"),
    ),
    ("/etc/cni/net.d", Some("cni/net.d")),
    ("/var/lib/cni/networks", Some("cni/networks")),
];

fn plugins_installed(dirs: &Dirs) {
    std::fs::create_dir_all(&dirs.bin_dirs[0]).unwrap();
    for p in ["bridge", "host-local", "portmap", "firewall", "tuning"] {
        let bin = dirs.bin_dirs[0].join(p);
        std::fs::write(&bin, "").unwrap();
        std::fs::set_permissions(&bin, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
    }
}

#[test]
fn podman_cni_uses_every_conflist() {
    let (_root, dirs) = host(CNI_HOST);
    plugins_installed(&dirs);
    let r = report(&snapshot(&dirs, &["cni-podman0", "cni-podman1"]));
    assert_eq!(r.runtimes[0].backend.as_deref(), Some("cni"));
    assert_eq!(r.selected, None);
    let status: Vec<&str> = r.configs.iter().map(|c| c.status.as_str()).collect();
    assert_eq!(status, ["podman network podman", "podman network small"]);
    assert_eq!(allocations(&r), podman_says("cni/podman-inspect.txt"));
    let bridges: Vec<Option<&str>> = r.networks.iter().map(|n| n.bridge.as_deref()).collect();
    assert_eq!(bridges, [Some("cni-podman0"), Some("cni-podman1")]);
    assert!(config_ids(&r).is_empty(), "{:?}", ids(&r));
    // A broken conflist is skipped by podman alone: its network is missing, the others
    // work (a warning, not kubelet's "no config" error).
    std::fs::write(
        dirs.conf_dir.join("00-broken.conflist"),
        "{\"name\": \"x\",",
    )
    .unwrap();
    let r = report(&snapshot(&dirs, &["cni-podman0", "cni-podman1"]));
    assert_eq!(
        config_ids(&r),
        ["cni-config-invalid:host:00-broken.conflist warning"]
    );
    assert_eq!(r.configs[0].status, "invalid: podman skips it");
    std::fs::remove_file(dirs.conf_dir.join("00-broken.conflist")).unwrap();
    // The plugin small's chain needs is gone: podman cannot start containers on it.
    std::fs::remove_file(dirs.bin_dirs[0].join("tuning")).unwrap();
    let r = report(&snapshot(&dirs, &["cni-podman0", "cni-podman1"]));
    assert_eq!(config_ids(&r), ["cni-plugin-missing:host:tuning error"]);
}

/// Without a conflist named `podman`, podman's CNI backend makes the default network up:
/// its leases are that network's, not an orphan directory's.
#[test]
fn podman_cni_default_network_without_file() {
    let (_root, dirs) = host(CNI_HOST);
    plugins_installed(&dirs);
    std::fs::remove_file(dirs.conf_dir.join("87-podman-bridge.conflist")).unwrap();
    let r = report(&snapshot(&dirs, &["cni-podman0"]));
    let podman = r.networks.iter().find(|n| n.network == "podman").unwrap();
    assert!(podman.default_network && podman.config.is_none());
    assert_eq!(podman.bridge.as_deref(), Some("cni-podman0"));
    assert_eq!(podman.ranges[0].subnet, "10.88.0.0/16");
    assert_eq!(podman.total, 65533);
    assert_eq!(allocations(&r), podman_says("cni/podman-inspect.txt"));
}

#[test]
fn kubelet_and_podman_on_one_host() {
    let mut files = CNI_HOST.to_vec();
    files.push(("/var/lib/kubelet/config.yaml", None));
    let (_root, dirs) = host(&files);
    plugins_installed(&dirs);
    let r = report(&snapshot(&dirs, &[]));
    let names: Vec<&str> = r.runtimes.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["kubelet", "podman"]);
    assert!(r
        .selected
        .as_deref()
        .unwrap()
        .ends_with("/87-podman-bridge.conflist"));
    assert_eq!(
        r.configs[1].status,
        "ignored: only the first valid file is used; podman network small"
    );
}
