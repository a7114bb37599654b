//! `netlens cni`, the doctor's CNI rules and `netlens fix ipam-leak:…` against Debian's real
//! CNI plugins (containernetworking-plugins: bridge + host-local) wiring pods inside a
//! throwaway world. The config directory and host-local's dataDir live in the world's /run
//! (pointed at with NETLENS_CNI_* variables); the range has two addresses, so one leaked lease
//! really blocks the next pod until it is released.

use crate::common;
mod podman;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::world::{in_world, netlens_bin, sh};
use serde_json::Value;

use common::cni::PLUGIN_DIR;
const CONF_DIR: &str = "/run/nl-cni/net.d";
const LEASES: &str = "/run/nl-cni/leases/tiny";
const STATE_DIR: &str = "/run/nl-cni/state";

/// What the runtime hands the bridge plugin for network `tiny`: a /29 whose range holds two
/// addresses (.2 and .3; .1 is the gateway on the bridge).
const PLUGIN_CONF: &str = r#"{
  "cniVersion": "1.0.0",
  "name": "tiny",
  "type": "bridge",
  "bridge": "tb0",
  "isGateway": true,
  "ipam": {
    "type": "host-local",
    "dataDir": "/run/nl-cni/leases",
    "ranges": [[{"subnet": "10.77.0.0/29", "rangeStart": "10.77.0.2", "rangeEnd": "10.77.0.3"}]]
  }
}"#;

fn conflist() -> String {
    let plugin: Value = serde_json::from_str(PLUGIN_CONF).unwrap();
    let mut p = plugin.as_object().unwrap().clone();
    p.remove("cniVersion");
    p.remove("name");
    serde_json::json!({"cniVersion": "1.0.0", "name": "tiny", "plugins": [p, {"type": "portmap", "capabilities": {"portMappings": true}}]})
        .to_string()
}

/// CNI ADD of `pod` through the real bridge plugin: Ok(IPv4 address) or Err(plugin output).
/// A failed ADD is followed by a DEL, as runtimes do (the plugin leaves its veth behind).
fn cni_add(pod: &str) -> Result<String, String> {
    let r = cni("ADD", pod);
    if r.is_err() {
        cni("DEL", pod).expect("DEL after a failed ADD");
    }
    r
}

/// ADD or DEL for `pod`; an ADD returns the pod's address.
fn cni(command: &str, pod: &str) -> Result<String, String> {
    let id = format!("nlcni-{pod}-5f3c9a2b7e10d4");
    let out = common::cni::bridge(command, pod, &id, PLUGIN_CONF)?;
    if command == "DEL" {
        return Ok(String::new());
    }
    let v: Value = serde_json::from_str(&out).map_err(|e| format!("{e}: {out}"))?;
    let cidr = v["ips"][0]["address"].as_str().unwrap_or_default();
    Ok(cidr.split('/').next().unwrap_or_default().to_string())
}

fn netlens(args: &[&str]) -> Output {
    Command::new(netlens_bin())
        .args(args)
        .env("NETLENS_CNI_CONF_DIR", CONF_DIR)
        .env("NETLENS_CNI_BIN_DIRS", PLUGIN_DIR)
        .env("NETLENS_CNI_DATA_DIR", "/run/nl-cni/none")
        .env("NETLENS_STATE_DIR", STATE_DIR)
        // No runtime's files: the kubelet rule (first valid file) is what these tests check,
        // whether or not podman is installed on the machine.
        .env("NETLENS_RUNTIME_ROOT", "/run/nl-cni/no-runtime")
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// (exit code, `netlens cni --json`)
fn cni_json() -> (i32, Value) {
    let out = netlens(&["cni", "--json"]);
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    (out.status.code().unwrap_or(-1), v)
}

/// The doctor's CNI findings as (id, severity, finding). Others (the machine's nameserver is
/// out of the world's reach) are not this test's business.
fn doctor() -> Vec<(String, String, Value)> {
    let out = netlens(&["doctor", "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| netlens::diagnose::cni::RULES.contains(&f["rule"].as_str().unwrap_or_default()))
        .map(|f| {
            (
                f["id"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
                f.clone(),
            )
        })
        .collect()
}

fn ids(findings: &[(String, String, Value)]) -> Vec<String> {
    findings
        .iter()
        .map(|f| format!("{} {}", f.0, f.1))
        .collect()
}

fn allocations(v: &Value) -> Vec<(String, String, String)> {
    v["networks"][0]["allocations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["ip"].as_str().unwrap().to_string(),
                a["state"].as_str().unwrap().to_string(),
                a["held_by"].as_str().unwrap_or("-").to_string(),
            )
        })
        .collect()
}

#[test]
fn cni_leak_found_fixed_and_undone() {
    in_world("cni::cni_leak_found_fixed_and_undone", || {
        assert!(
            Path::new(&format!("{PLUGIN_DIR}/bridge")).exists(),
            "apt package containernetworking-plugins is needed"
        );
        std::fs::create_dir_all(CONF_DIR).unwrap();
        std::fs::write(format!("{CONF_DIR}/10-tiny.conflist"), conflist()).unwrap();
        for ns in ["tenant-a", "tenant-b", "tenant-c"] {
            sh(&["ip", "netns", "add", ns]);
        }

        // Healthy and empty: nothing leased yet.
        let (code, v) = cni_json();
        assert_eq!(code, 0, "{v:#}");
        assert!(v["selected"]
            .as_str()
            .unwrap()
            .ends_with("/10-tiny.conflist"));
        assert!(doctor().is_empty());

        let a = cni_add("tenant-a").unwrap();
        let b = cni_add("tenant-b").unwrap();
        assert_eq!((a.as_str(), b.as_str()), ("10.77.0.2", "10.77.0.3"));
        let added = Instant::now();

        let (code, v) = cni_json();
        println!("{}", text(&netlens(&["cni"])));
        assert_two_pods_hold_the_range(&v);
        // Full, but nothing leaked: the range is simply used up.
        assert_eq!(code, 1);
        assert_eq!(ids(&doctor()), ["cni-subnet-full:host:tiny error"]);

        // tenant-b goes away without a CNI DEL: its lease stays.
        sh(&["ip", "netns", "del", "tenant-b"]);
        let deadline = Instant::now() + Duration::from_secs(5);
        while sh(&["ip", "-o", "link", "show", "master", "tb0"])
            .lines()
            .count()
            > 1
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        let lease_b = format!("{LEASES}/10.77.0.3");
        let old_content = std::fs::read_to_string(&lease_b).unwrap();
        let err = cni_add("tenant-c").unwrap_err();
        println!("ADD tenant-c before the fix: {err}");
        assert!(err.contains("no IP addresses available"), "{err}");

        // A lease seconds old may be a pod still starting: wait out the grace period.
        let grace = Duration::from_secs(netlens::cni::usage::LEASE_GRACE_SECS + 1);
        std::thread::sleep(grace.saturating_sub(added.elapsed()));
        let (code, v) = cni_json();
        assert_eq!(code, 1);
        assert_eq!(
            allocations(&v),
            [
                ("10.77.0.2".into(), "held".into(), "tenant-a".into()),
                ("10.77.0.3".into(), "leaked".into(), "-".into()),
            ]
        );
        let found = doctor();
        assert_eq!(
            ids(&found),
            [
                "cni-subnet-full:host:tiny error",
                "ipam-leak:host:tiny error"
            ]
        );
        let leak = &found[1].2;
        println!("{leak:#}");
        assert!(leak["explanation"].as_str().unwrap().contains("10.77.0.3"));

        fix_removes_lease_and_undo_restores_it(&lease_b, &old_content);

        // Fix again (once the restored lease is past the grace period), and the next pod
        // gets the address.
        std::thread::sleep(grace);
        let out = netlens(&["fix", "ipam-leak:host:tiny", "--yes"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        assert_eq!(cni_add("tenant-c").as_deref(), Ok("10.77.0.3"));
        let (_, v) = cni_json();
        assert_eq!(
            allocations(&v)[1],
            ("10.77.0.3".into(), "held".into(), "tenant-c".into())
        );
        // Undoing now would give tenant-c's address to the dead pod too: refused.
        let out = netlens(&["undo", "--yes"]);
        assert_ne!(out.status.code(), Some(0), "{}", text(&out));
        assert!(
            text(&out).contains("is leased to container"),
            "{}",
            text(&out)
        );
        assert!(std::fs::read_to_string(&lease_b)
            .unwrap()
            .contains("tenant-c"));
    });
}

/// Two pods hold both addresses of the /29: the network, its leases, pods and plugins.
fn assert_two_pods_hold_the_range(v: &Value) {
    let net = &v["networks"][0];
    assert_eq!(net["network"], "tiny");
    assert_eq!(net["dir"], LEASES);
    assert_eq!(net["bridge"], "tb0");
    assert_eq!(
        (net["used"].as_u64(), net["total"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(net["percent"].as_f64(), Some(100.0));
    assert_eq!(
        allocations(v),
        [
            ("10.77.0.2".into(), "held".into(), "tenant-a".into()),
            ("10.77.0.3".into(), "held".into(), "tenant-b".into()),
        ]
    );
    let a0 = &net["allocations"][0];
    assert_eq!(a0["container_id"], "nlcni-tenant-a-5f3c9a2b7e10d4");
    assert_eq!(
        (a0["ifname"].as_str(), a0["held_on"].as_str()),
        (Some("eth0"), Some("eth0"))
    );
    let pods: Vec<(String, String, bool)> = net["pods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["namespace"].as_str().unwrap().to_string(),
                p["address"].as_str().unwrap().to_string(),
                p["host_veth"]
                    .as_str()
                    .is_some_and(|h| h.starts_with("veth")),
            )
        })
        .collect();
    assert_eq!(
        pods,
        [
            ("tenant-a".into(), "10.77.0.2/29".into(), true),
            ("tenant-b".into(), "10.77.0.3/29".into(), true),
        ]
    );
    let plugins: Vec<(String, bool)> = v["configs"][0]["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["type"].as_str().unwrap().to_string(),
                p["found"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        plugins,
        [
            ("bridge".into(), true),
            ("host-local".into(), true),
            ("portmap".into(), true)
        ]
    );
}

/// Fix: the lease file goes; undo puts it back byte for byte.
fn fix_removes_lease_and_undo_restores_it(lease_b: &str, old_content: &str) {
    let out = netlens(&["fix", "ipam-leak:host:tiny", "--yes"]);
    println!("{}", text(&out));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains(&format!("rm -f {lease_b}")));
    assert!(!Path::new(&lease_b).exists());
    let out = netlens(&["undo", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(lease_b).unwrap(), old_content);
    assert!(cni_add("tenant-c").is_err(), "the lease is back");
}

#[test]
fn cni_missing_plugin_and_invalid_config() {
    in_world("cni::cni_missing_plugin_and_invalid_config", || {
        std::fs::create_dir_all(CONF_DIR).unwrap();
        std::fs::write(format!("{CONF_DIR}/10-tiny.conflist"), conflist()).unwrap();
        assert!(doctor().is_empty());

        // A chain whose first plugin is not installed, sorted ahead: the runtime uses it.
        std::fs::write(
            format!("{CONF_DIR}/05-meshy.conflist"),
            r#"{"cniVersion":"0.4.0","name":"meshy","plugins":[{"type":"meshy-cni"},{"type":"portmap"}]}"#,
        )
        .unwrap();
        let (code, v) = cni_json();
        assert_eq!(code, 1);
        assert!(v["selected"]
            .as_str()
            .unwrap()
            .ends_with("/05-meshy.conflist"));
        assert_eq!(
            v["configs"][1]["status"],
            "ignored: only the first valid file is used"
        );
        assert_eq!(ids(&doctor()), ["cni-plugin-missing:host:meshy-cni error"]);
        std::fs::remove_file(format!("{CONF_DIR}/05-meshy.conflist")).unwrap();

        // Broken JSON ahead of the good file.
        std::fs::write(
            format!("{CONF_DIR}/01-broken.conf"),
            "{\n  \"cniVersion\": \"1.0.0\",\n  \"name\": \"broken\"\n  \"type\": \"bridge\"\n}\n",
        )
        .unwrap();
        let (code, v) = cni_json();
        assert_eq!(code, 1);
        let p = &v["configs"][0]["problems"][0];
        assert_eq!(
            (p["line"].as_u64(), p["column"].as_u64()),
            (Some(4), Some(3)),
            "{p}"
        );
        assert!(v["selected"]
            .as_str()
            .unwrap()
            .ends_with("/10-tiny.conflist"));
        let found = doctor();
        assert_eq!(
            ids(&found),
            ["cni-config-invalid:host:01-broken.conf error"]
        );
        let why = found[0].2["explanation"].as_str().unwrap();
        assert!(why.contains("line 4 column 3"), "{why}");
        println!("{why}");

        // Nothing valid left: the invalid file is all there is.
        std::fs::remove_file(format!("{CONF_DIR}/10-tiny.conflist")).unwrap();
        let (_, v) = cni_json();
        assert!(v["selected"].is_null());
        // An empty directory on a CNI node is a missing config.
        std::fs::remove_file(format!("{CONF_DIR}/01-broken.conf")).unwrap();
        assert_eq!(ids(&doctor()), ["cni-config-missing:host error"]);
    });
}
