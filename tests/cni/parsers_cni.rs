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
        include_str!("../samples/cni/crio_10-crio-bridge.conflist"),
    ),
    (
        "crio_11-crio-ipv4-bridge.conflist",
        include_str!("../samples/cni/crio_11-crio-ipv4-bridge.conflist"),
    ),
    (
        "crio_99-loopback.conflist",
        include_str!("../samples/cni/crio_99-loopback.conflist"),
    ),
    (
        "flannel_10-flannel.conflist",
        include_str!("../samples/cni/flannel_10-flannel.conflist"),
    ),
    (
        "flannel_net-conf.json",
        include_str!("../samples/cni/flannel_net-conf.json"),
    ),
    (
        "cilium_05-cilium-cni.conf",
        include_str!("../samples/cni/cilium_05-cilium-cni.conf"),
    ),
    (
        "cilium_04-flannel-cilium-cni.conflist",
        include_str!("../samples/cni/cilium_04-flannel-cilium-cni.conflist"),
    ),
    (
        "weave_10-weave.conflist",
        include_str!("../samples/cni/weave_10-weave.conflist"),
    ),
    (
        "calico_10-calico.conflist.template",
        include_str!("../samples/cni/calico_10-calico.conflist.template"),
    ),
    (
        "cni-spec_dbnet.conflist.jsonc",
        include_str!("../samples/cni/cni-spec_dbnet.conflist.jsonc"),
    ),
    (
        "cniplugins_basic-bridge_network-chain-test.json",
        include_str!("../samples/cni/cniplugins_basic-bridge_network-chain-test.json"),
    ),
    (
        "cniplugins_chained-bridge-bandwidth_network-chain-test.conflist",
        include_str!(
            "../samples/cni/cniplugins_chained-bridge-bandwidth_network-chain-test.conflist"
        ),
    ),
    (
        "insights_87-podman-bridge.conflist",
        include_str!("../samples/cni/insights_87-podman-bridge.conflist"),
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

// podman hosts, from the real files of tests/samples/podman (see its README).
mod podman_hosts;
