//! CNI parsers on real configs (tests/samples/cni, provenance in tests/samples/SOURCES.md):
//! what each says and why the invalid ones are refused; and property tests that the config,
//! range and lease parsers never panic on random or damaged input.

use proptest::prelude::*;

use netlens::cni::config::{parse, RangeSpec};
use netlens::cni::ipam::{flannel_subnet, parse_lease};
use netlens::cni::ranges::canonical;

const SAMPLES: &[(&str, &str)] = &[
    (
        "crio_10-crio-bridge.conflist",
        include_str!("samples/cni/crio_10-crio-bridge.conflist"),
    ),
    (
        "crio_11-crio-ipv4-bridge.conflist",
        include_str!("samples/cni/crio_11-crio-ipv4-bridge.conflist"),
    ),
    (
        "crio_99-loopback.conflist",
        include_str!("samples/cni/crio_99-loopback.conflist"),
    ),
    (
        "flannel_10-flannel.conflist",
        include_str!("samples/cni/flannel_10-flannel.conflist"),
    ),
    (
        "flannel_net-conf.json",
        include_str!("samples/cni/flannel_net-conf.json"),
    ),
    (
        "cilium_05-cilium-cni.conf",
        include_str!("samples/cni/cilium_05-cilium-cni.conf"),
    ),
    (
        "cilium_04-flannel-cilium-cni.conflist",
        include_str!("samples/cni/cilium_04-flannel-cilium-cni.conflist"),
    ),
    (
        "weave_10-weave.conflist",
        include_str!("samples/cni/weave_10-weave.conflist"),
    ),
    (
        "calico_10-calico.conflist.template",
        include_str!("samples/cni/calico_10-calico.conflist.template"),
    ),
    (
        "cni-spec_dbnet.conflist.jsonc",
        include_str!("samples/cni/cni-spec_dbnet.conflist.jsonc"),
    ),
    (
        "cniplugins_basic-bridge_network-chain-test.json",
        include_str!("samples/cni/cniplugins_basic-bridge_network-chain-test.json"),
    ),
    (
        "cniplugins_chained-bridge-bandwidth_network-chain-test.conflist",
        include_str!("samples/cni/cniplugins_chained-bridge-bandwidth_network-chain-test.conflist"),
    ),
    (
        "insights_87-podman-bridge.conflist",
        include_str!("samples/cni/insights_87-podman-bridge.conflist"),
    ),
];

fn sample(name: &str) -> &'static str {
    SAMPLES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
        .unwrap()
}

/// Parsed as the runtime would see it installed as `name` (the templates and JSONC as
/// `.conflist`, which is what they become).
fn parsed(name: &str, installed_as: &str) -> netlens::cni::config::Parsed {
    parse(
        &format!("/etc/cni/net.d/{installed_as}"),
        sample(name).as_bytes(),
    )
}

fn plugins(p: &netlens::cni::config::Parsed) -> Vec<String> {
    p.config
        .plugins
        .iter()
        .map(|p| format!("{}:{}", p.role, p.kind))
        .collect()
}

#[test]
fn crio_bridge_dual_stack() {
    let p = parsed("crio_10-crio-bridge.conflist", "10-crio-bridge.conflist");
    assert!(p.config.valid(), "{:?}", p.config.problems);
    assert_eq!(p.config.name.as_deref(), Some("crio"));
    assert_eq!(p.config.cni_version.as_deref(), Some("1.0.0"));
    assert_eq!(p.config.bridge.as_deref(), Some("cni0"));
    assert_eq!(plugins(&p), ["plugin:bridge", "ipam:host-local"]);
    assert_eq!(p.ipam.len(), 1);
    let sets: Vec<Vec<String>> = p.ipam[0]
        .range_sets
        .iter()
        .map(|s| s.iter().map(|r| r.subnet.clone()).collect())
        .collect();
    assert_eq!(sets, [vec!["10.85.0.0/16"], vec!["1100:200::/24"]]);
    assert_eq!(p.ipam[0].data_dir, None);
    let v4 = canonical(&p.ipam[0].range_sets[0][0], 0).unwrap();
    assert_eq!(v4.size, 65_533);
}

#[test]
fn flannel_delegates_to_bridge_and_host_local() {
    let p = parsed("flannel_10-flannel.conflist", "10-flannel.conflist");
    assert!(p.config.valid());
    assert_eq!(
        plugins(&p),
        [
            "plugin:flannel",
            "delegate:bridge",
            "ipam:host-local",
            "plugin:portmap"
        ]
    );
    assert_eq!(p.config.bridge.as_deref(), Some("cni0"));
    assert_eq!(p.ipam[0].network, "cbr0");
    assert_eq!(
        p.ipam[0].flannel_subnet_file.as_deref(),
        Some("/run/flannel/subnet.env")
    );
    // Cilium chained on flannel: the same, plus cilium-cni.
    let p = parsed(
        "cilium_04-flannel-cilium-cni.conflist",
        "04-flannel-cilium-cni.conflist",
    );
    assert!(p.config.valid());
    assert_eq!(p.config.plugins.last().unwrap().kind, "cilium-cni");
}

#[test]
fn single_plugin_confs() {
    let p = parsed("cilium_05-cilium-cni.conf", "05-cilium.conf");
    assert!(p.config.valid());
    assert_eq!(plugins(&p), ["plugin:cilium-cni"]);
    assert!(p.config.plugins[0].known);
    assert!(p.ipam.is_empty(), "cilium does its own IPAM");
    let p = parsed(
        "cniplugins_basic-bridge_network-chain-test.json",
        "10-chain.json",
    );
    assert!(p.config.valid());
    assert_eq!(p.config.format, "conf");
    assert_eq!(p.config.bridge.as_deref(), Some("test-bridge-0"));
    assert_eq!(p.ipam[0].data_dir.as_deref(), Some("/tmp/foo"));
    // The same JSON named .conflist is a list without "plugins".
    let p = parsed(
        "cniplugins_basic-bridge_network-chain-test.json",
        "10-chain.conflist",
    );
    assert_eq!(
        p.config.problems[0].message,
        "no \"plugins\" list (a .conflist holds a chain)"
    );
}

#[test]
fn chains_and_unknown_types() {
    let p = parsed("weave_10-weave.conflist", "10-weave.conflist");
    assert!(p.config.valid());
    assert_eq!(plugins(&p), ["plugin:weave-net", "plugin:portmap"]);
    let p = parsed(
        "insights_87-podman-bridge.conflist",
        "87-podman-bridge.conflist",
    );
    assert!(p.config.valid());
    assert_eq!(p.config.bridge.as_deref(), Some("cni-podman0"));
    assert_eq!(
        plugins(&p),
        [
            "plugin:bridge",
            "ipam:host-local",
            "plugin:portmap",
            "plugin:firewall",
            "plugin:tuning"
        ]
    );
    assert_eq!(
        p.ipam[0].range_sets[0][0].gateway.as_deref(),
        Some("10.12.0.1")
    );
    let p = parsed(
        "cniplugins_chained-bridge-bandwidth_network-chain-test.conflist",
        "20-bw.conflist",
    );
    assert!(p.config.valid());
    assert_eq!(
        plugins(&p),
        ["plugin:bridge", "ipam:host-local", "plugin:bandwidth"]
    );
    let p = parsed("crio_99-loopback.conflist", "99-loopback.conflist");
    assert_eq!(plugins(&p), ["plugin:loopback"]);
}

#[test]
fn invalid_samples_say_where() {
    // install-cni fills __CNI_MTU__ in; left as is, it is not JSON.
    let p = parsed("calico_10-calico.conflist.template", "10-calico.conflist");
    let e = &p.config.problems[0];
    assert_eq!((e.line, e.column), (Some(11), Some(14)), "{e:?}");
    assert!(
        e.message.starts_with("invalid JSON: expected value"),
        "{e:?}"
    );
    // The spec's example has // comments: JSONC, which libcni does not read.
    let p = parsed("cni-spec_dbnet.conflist.jsonc", "10-dbnet.conflist");
    let e = &p.config.problems[0];
    assert_eq!((e.line, e.column), (Some(8), Some(7)), "{e:?}");
    // flannel's own net-conf.json is not a CNI config.
    let p = parsed("flannel_net-conf.json", "10-flannel.json");
    let msgs: Vec<&str> = p
        .config
        .problems
        .iter()
        .map(|p| p.message.as_str())
        .collect();
    assert_eq!(
        msgs,
        [
            "no \"name\"",
            "no \"cniVersion\" (the spec requires it; runtimes refuse the file or assume 0.1.0)",
            "the plugin has no \"type\"",
        ]
    );
}

#[test]
fn leases_and_subnet_env() {
    assert_eq!(
        parse_lease("0123456789abcdef\r\neth0"),
        ("0123456789abcdef".into(), Some("eth0".into()))
    );
    assert_eq!(
        flannel_subnet("FLANNEL_SUBNET=10.244.2.1/24\n").as_deref(),
        Some("10.244.2.1/24")
    );
}

/// A sample with random damage: cut at a point, a run of bytes replaced.
fn damaged() -> impl Strategy<Value = Vec<u8>> {
    (
        0..SAMPLES.len(),
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
        prop::collection::vec(any::<u8>(), 0..8),
    )
        .prop_map(|(i, cut, at, junk)| {
            let mut b = SAMPLES[i].1.as_bytes().to_vec();
            let at = at.index(b.len().max(1));
            b.splice(at..(at + junk.len()).min(b.len()), junk);
            b.truncate(cut.index(b.len() + 1));
            b
        })
}

proptest! {
    #[test]
    fn config_parser_never_panics(bytes in damaged(), ext in prop::sample::select(vec!["conf", "conflist", "json"])) {
        let p = parse(&format!("/x/a.{ext}"), &bytes);
        // A config with problems is never chosen; one without has a name and plugins.
        if p.config.valid() {
            prop_assert!(p.config.name.is_some());
            prop_assert!(!p.config.plugins.is_empty());
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse("/x/a.conflist", &bytes);
        let text = String::from_utf8_lossy(&bytes);
        let _ = parse_lease(&text);
        let _ = flannel_subnet(&text);
    }

    #[test]
    fn ranges_never_panic(
        subnet in "(10\\.[0-9]{1,3}\\.0\\.0|fd00::|[0-9a-f:.]{0,12})/[0-9]{1,3}",
        start in proptest::option::of("10\\.[0-9]{1,3}\\.0\\.[0-9]{1,3}|fd00::[0-9a-f]{1,4}|x"),
        end in proptest::option::of("10\\.[0-9]{1,3}\\.0\\.[0-9]{1,3}|fd00::[0-9a-f]{1,4}"),
        gateway in proptest::option::of("10\\.1\\.0\\.1|fd00::1|::"),
    ) {
        let spec = RangeSpec { subnet, range_start: start, range_end: end, gateway };
        if let Ok(r) = canonical(&spec, 0) {
            prop_assert!(r.subnet.contains(&r.range_start) && r.subnet.contains(&r.range_end));
            prop_assert!(netlens::model::ip_number(r.range_start) <= netlens::model::ip_number(r.range_end));
        }
    }
}

// ---- podman hosts, from the real files of tests/samples/podman (see its README) ----

mod podman_hosts {
    use std::path::{Path, PathBuf};

    use netlens::cli::cni::{report, CniReport};
    use netlens::cni::Dirs;
    use netlens::model::{Link, Namespace, NamespaceKind, Snapshot};

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
        print!("{}", netlens::cli::cni::render(&r));
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
            std::fs::write(dirs.bin_dirs[0].join(p), "").unwrap();
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
        // The plugin small's chain needs is gone: podman cannot start containers on it.
        std::fs::remove_file(dirs.bin_dirs[0].join("tuning")).unwrap();
        let r = report(&snapshot(&dirs, &["cni-podman0", "cni-podman1"]));
        assert!(
            ids(&r).contains(&"cni-plugin-missing:host:tuning error".to_string()),
            "{:?}",
            ids(&r)
        );
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
}
