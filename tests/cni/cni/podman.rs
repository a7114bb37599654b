//! Real podman 4.3 with netavark in a throwaway world: `netlens cni --json` must describe the
//! networks and addresses podman itself reports (`podman network inspect`, `podman inspect`),
//! and a leaked address (podman's cleanup lost, as after a crash) must be reported as such
//! while podman really refuses the next container for lack of an address.
//!
//! podman's state lives on tmpfs mounted in the world (/etc/containers, /var/lib/containers,
//! /etc/cni/net.d, /var/lib/cni; /run is the world's own); the image is imported from
//! busybox-static, since no registry is reachable.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::common::world::{in_world, netlens_bin, sh, try_sh};

const CONTAINERS_CONF: &str = "[engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n\
     runtime = \"runc\"\n[network]\nnetwork_backend = ";
const STORAGE_CONF: &str = "[storage]\ndriver = \"vfs\"\nrunroot = \"/run/containers/storage\"\n\
     graphroot = \"/var/lib/containers/storage\"\n";
/// A /30: .1 is the gateway, .2 the only address to hand out.
const SMALL: &str = "10.77.0.0/30";

fn podman(args: &[&str]) -> String {
    let mut argv = vec!["podman"];
    argv.extend_from_slice(args);
    sh(&argv)
}

/// podman on tmpfs with network backend `backend`, with `localhost/bb` imported from
/// busybox-static.
fn podman_world(backend: &str) {
    for tool in [
        "/usr/bin/podman",
        "/usr/lib/podman/netavark",
        "/bin/busybox",
    ] {
        assert!(
            Path::new(tool).exists(),
            "{tool} is needed: apt-get install podman netavark aardvark-dns runc busybox-static"
        );
    }
    // podman import checks the host's signature policy: keep it.
    let policy = std::fs::read("/etc/containers/policy.json").ok();
    for dir in [
        "/etc/containers",
        "/var/lib/containers",
        "/etc/cni/net.d",
        "/var/lib/cni",
    ] {
        std::fs::create_dir_all(dir).unwrap();
        sh(&["mount", "-t", "tmpfs", "tmpfs", dir]);
    }
    if let Some(p) = policy {
        std::fs::write("/etc/containers/policy.json", p).unwrap();
    }
    std::fs::write(
        "/etc/containers/containers.conf",
        format!("{CONTAINERS_CONF}\"{backend}\"\n"),
    )
    .unwrap();
    std::fs::write("/etc/containers/storage.conf", STORAGE_CONF).unwrap();
    let root = "/var/lib/containers/bb-root";
    std::fs::create_dir_all(format!("{root}/bin")).unwrap();
    std::fs::create_dir_all(format!("{root}/etc")).unwrap();
    std::fs::copy("/bin/busybox", format!("{root}/bin/busybox")).unwrap();
    sh(&["chroot", root, "/bin/busybox", "--install", "-s", "/bin"]);
    std::fs::write(
        format!("{root}/etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\n",
    )
    .unwrap();
    sh(&["tar", "-C", root, "-cf", "/var/lib/containers/bb.tar", "."]);
    podman(&["import", "-q", "/var/lib/containers/bb.tar", "localhost/bb"]);
}

fn cni_json() -> (i32, Value) {
    let out = Command::new(netlens_bin())
        .args(["cni", "--json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.stderr));
    });
    (out.status.code().unwrap_or(-1), v)
}

/// (network, subnet, bridge) as podman has them.
fn podman_networks() -> Vec<(String, String, String)> {
    let v: Value =
        serde_json::from_str(&podman(&["network", "inspect", "podman", "small"])).unwrap();
    let mut out: Vec<(String, String, String)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["name"].as_str().unwrap().to_string(),
                n["subnets"][0]["subnet"].as_str().unwrap().to_string(),
                n["network_interface"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

/// (network, address, container id) of running containers, as podman has them.
fn podman_addresses(names: &[&str]) -> Vec<(String, String, String)> {
    let mut args = vec!["inspect", "--format"];
    args.push(
        "{{.Id}}{{range $k, $v := .NetworkSettings.Networks}} {{$k}}={{$v.IPAddress}}{{end}}",
    );
    args.extend_from_slice(names);
    let mut out: Vec<(String, String, String)> = podman(&args)
        .lines()
        .flat_map(|l| {
            let mut words = l.split_whitespace();
            let id = words.next().unwrap_or_default().to_string();
            words
                .filter_map(|w| w.split_once('='))
                .map(|(n, ip)| (n.to_string(), ip.to_string(), id.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    out.sort();
    out
}

fn netlens_networks(v: &Value) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = v["networks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["network"].as_str().unwrap().to_string(),
                n["ranges"][0]["subnet"].as_str().unwrap_or("?").to_string(),
                n["bridge"].as_str().unwrap_or("(missing)").to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

/// (network, address, container id, state) of every allocation netlens shows.
fn netlens_allocations(v: &Value) -> Vec<(String, String, String, String)> {
    let mut out = Vec::new();
    for n in v["networks"].as_array().unwrap() {
        for a in n["allocations"].as_array().unwrap() {
            out.push((
                n["network"].as_str().unwrap().to_string(),
                a["ip"].as_str().unwrap().to_string(),
                a["container_id"].as_str().unwrap().to_string(),
                a["state"].as_str().unwrap().to_string(),
            ));
        }
    }
    out.sort();
    out
}

fn finding_ids(v: &Value) -> Vec<String> {
    let mut ids: Vec<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                f["id"].as_str().unwrap(),
                f["severity"].as_str().unwrap()
            )
        })
        .collect();
    ids.sort();
    ids
}

#[test]
fn podman_netavark_as_podman_sees_it() {
    in_world("cni::podman::podman_netavark_as_podman_sees_it", || {
        podman_world("netavark");
        podman(&["network", "create", "--subnet", SMALL, "small"]);
        podman(&["run", "-d", "--name", "c1", "localhost/bb", "sleep", "600"]);
        podman(&[
            "run",
            "-d",
            "--name",
            "c2",
            "--network",
            "small",
            "localhost/bb",
            "sleep",
            "600",
        ]);

        let (code, v) = cni_json();
        let rt = &v["runtimes"][0];
        assert_eq!(
            (rt["name"].as_str(), rt["backend"].as_str()),
            (Some("podman"), Some("netavark")),
            "{v:#}"
        );
        assert_eq!(netlens_networks(&v), podman_networks());
        let want: Vec<(String, String, String, String)> = podman_addresses(&["c1", "c2"])
            .into_iter()
            .map(|(n, ip, id)| (n, ip, id, "held".to_string()))
            .collect();
        assert_eq!(netlens_allocations(&v), want);
        // small's one address is taken: full, nothing leaked.
        assert_eq!(
            finding_ids(&v),
            ["cni-subnet-full:host:small error"],
            "{v:#}"
        );
        assert_eq!(code, 1);

        // c2 goes, but its address stays allocated (podman's cleanup lost, as after a crash
        // of podman between tearing the container down and releasing the address).
        let db = "/run/containers/networks/ipam.db";
        let kept = std::fs::read(db).unwrap();
        let c2 = podman(&["inspect", "--format", "{{.Id}}", "c2"])
            .trim()
            .to_string();
        podman(&["rm", "-f", "-t", "0", "c2"]);
        std::fs::write(db, &kept).unwrap();
        // The oracle: podman cannot start a container on small any more.
        let out = try_sh(&[
            "podman",
            "run",
            "-d",
            "--name",
            "c3",
            "--network",
            "small",
            "localhost/bb",
            "sleep",
            "600",
        ]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains("failed to find free IP"),
            "{err}"
        );

        // An allocation changed seconds ago may be a container still starting: "unknown".
        let (_, v) = cni_json();
        assert!(
            netlens_allocations(&v).iter().all(|a| a.3 != "leaked"),
            "{v:#}"
        );
        std::thread::sleep(std::time::Duration::from_secs(
            netlens::cni::usage::LEASE_GRACE_SECS + 1,
        ));
        let (code, v) = cni_json();
        assert_eq!(code, 1);
        let small: Vec<_> = netlens_allocations(&v)
            .into_iter()
            .filter(|a| a.0 == "small")
            .collect();
        assert_eq!(
            small,
            [("small".into(), "10.77.0.2".into(), c2, "leaked".into())]
        );
        assert_eq!(
            finding_ids(&v),
            [
                "cni-subnet-full:host:small error",
                "ipam-leak:host:small error"
            ],
            "{v:#}"
        );
        let leak = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule"] == "ipam-leak")
            .unwrap();
        assert!(
            leak["fix"].is_null(),
            "netlens must not write podman's database: {leak:#}"
        );
        podman(&["rm", "-f", "-a", "-t", "0"]);
    });
}

/// podman's CNI backend: every conflist is a network, none "ignored"; addresses from
/// host-local's lease files match podman's view.
#[test]
fn podman_cni_as_podman_sees_it() {
    in_world("cni::podman::podman_cni_as_podman_sees_it", || {
        // Debian's podman package installs the default network's conflist; the world's
        // /etc/cni/net.d is a fresh tmpfs, so it is copied in as on a real host.
        let conflist = "/etc/cni/net.d/87-podman-bridge.conflist";
        let debian = std::fs::read(conflist).expect("Debian's podman installs 87-podman-bridge");
        podman_world("cni");
        std::fs::write(conflist, debian).unwrap();
        podman(&["network", "create", "--subnet", SMALL, "small"]);
        podman(&["run", "-d", "--name", "c1", "localhost/bb", "sleep", "600"]);
        podman(&[
            "run",
            "-d",
            "--name",
            "c2",
            "--network",
            "small",
            "localhost/bb",
            "sleep",
            "600",
        ]);
        let (_, v) = cni_json();
        let rt = &v["runtimes"][0];
        assert_eq!(
            (rt["name"].as_str(), rt["backend"].as_str()),
            (Some("podman"), Some("cni")),
            "{v:#}"
        );
        assert!(v["selected"].is_null());
        let status: Vec<&str> = v["configs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["status"].as_str().unwrap())
            .collect();
        assert_eq!(
            status,
            ["podman network podman", "podman network small"],
            "{v:#}"
        );
        assert_eq!(netlens_networks(&v), podman_networks());
        let want: Vec<(String, String, String, String)> = podman_addresses(&["c1", "c2"])
            .into_iter()
            .map(|(n, ip, id)| (n, ip, id, "held".to_string()))
            .collect();
        assert_eq!(netlens_allocations(&v), want);
        podman(&["rm", "-f", "-a", "-t", "0"]);
    });
}
